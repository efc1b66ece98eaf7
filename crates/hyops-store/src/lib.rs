//! The ledger (sqlx: SQLite now, PostgreSQL later) and the content-addressed artifact store.
//!
//! The ledger is hyops' authoritative state: runs, attempts and their append-only status events,
//! published outputs (readable only after PASS), config versions, artifacts, locks and admin
//! events. See `ARCHITECTURE.md` in this crate for the schema, its rules and measured costs.

mod artifact_store;
mod backend;
mod error;
mod ledger;
mod ledger_admin;
mod ledger_attempts;
mod ledger_locks;
mod ledger_outputs;
mod ledger_promotions;
mod ledger_sync;
mod ledger_types;
mod read_only;
mod write_batch;

pub use artifact_store::{ArtifactStore, DIGEST_ALG};
pub use backend::BackendKind;
pub use error::{LockError, StoreError};
pub use ledger::Ledger;
pub use ledger_locks::{local_holder_is_dead, pid_is_alive};
pub use ledger_promotions::Promotion;
pub use ledger_sync::FOLD_WAL_FROM_BYTES;
pub use ledger_types::{
    AttemptEvent, AttemptEventRecord, CreatedRun, FinishWith, Holder, LockInfo, LockKey,
    NewAttempt, NewOutputs, NewRun, PassedOutputs, PruneReport, PruneRequest, PrunedRun, RunFilter,
    RunHolder, run_id_for,
};

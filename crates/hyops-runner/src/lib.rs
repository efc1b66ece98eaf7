//! Run lifecycle: attempts, retries, timeouts, probes, locks, crash recovery, events, and the
//! stack scheduler (a gated parallel DAG of members).
//!
//! [`Runner::run`] turns a RunRequest into a verified result: ledger first, an isolated work dir
//! per attempt, the driver through `hyops-process` with output redacted before it is kept,
//! outputs published, probes gating PASS, evidence sealed, the final status appended.

mod attempt;
mod attempt_driver;
mod attempt_record;
mod error;
mod evidence_sink;
pub mod layout;
pub mod outputs;
pub mod probe;
pub mod progress;
mod recovery;
pub mod retention;
mod run;
pub mod secrets;
mod stack_input_check;
mod stack_member;
mod stack_run;
mod stack_slots;
pub mod stack_wiring;
pub mod template;
mod work_dirs;

pub use attempt::AttemptSummary;
pub use error::{AttemptFailure, RunError};
pub use layout::StateLayout;
pub use progress::{NoProgress, Progress, RunEvent};
pub use retention::PruneOutcome;
pub use run::{EnvLookup, RunOptions, RunReport, Runner, host_name, now_ms, stage_name};
pub use secrets::{RunSecrets, SecretError, fetch_one as fetch_secret};
pub use stack_input_check::{InputMismatch, check_wired_inputs};
pub use stack_member::GONE_WITH_PRODUCERS;
pub use stack_run::{
    MemberReport, StackMemberPlan, StackOptions, StackPlan, StackProgress, StackReport,
};
pub use stack_slots::{MemberSlot, SlotRefused};
pub use stack_wiring::{UpstreamOutputs, Wired, WiringError, wire};
pub use work_dirs::DeferredRemovals;

//! Inputs and outputs of the ledger API that are not wire records of `hyops-contract`.

use hyops_contract::{ArtifactRef, AttemptStatus};
use serde::{Deserialize, Serialize};

/// A run to create. `run_id` and `seq` are assigned by [`crate::Ledger::create_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Module id or `STACK.MEMBER`.
    pub target: String,
    /// Environment name.
    pub env: String,
    /// RunRequest fingerprint, `sha256:<hex>`.
    pub fingerprint: String,
    /// `run`, `plan`, `apply`, `destroy`.
    pub stage: String,
    /// The RunRequest as JSON, already redacted by the caller.
    pub request_json: String,
    /// Creation time, epoch ms.
    pub created_at_ms: i64,
}

/// Who takes a new run's lock in [`crate::Ledger::create_run_and_lock`], and whether the run's
/// first attempt starts in the same transaction.
#[derive(Clone, Copy)]
pub struct RunHolder<'a> {
    /// The hyops process running the run.
    pub pid: u32,
    /// Its host.
    pub host: &'a str,
    /// When the lock is taken, also record attempt 1 as `running`, with the evidence folder this
    /// returns for the run id (known only inside the transaction). One commit instead of two
    /// before the driver is spawned.
    pub start_first_attempt: Option<&'a (dyn Fn(&str) -> String + Sync)>,
    /// On SQLite, commit without an fsync while holding the single connection; the caller
    /// calls [`crate::Ledger::sync`] before it spawns anything (see `ledger_sync.rs`). Off by
    /// default: the commit is synced before it returns.
    pub defer_sync: bool,
}

impl std::fmt::Debug for RunHolder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHolder")
            .field("pid", &self.pid)
            .field("host", &self.host)
            .field("start_first_attempt", &self.start_first_attempt.is_some())
            .field("defer_sync", &self.defer_sync)
            .finish()
    }
}

/// What [`crate::Ledger::create_run_and_lock`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedRun {
    /// The run as recorded.
    pub run: hyops_contract::RunRecord,
    /// Whether the run holds its (target, env) lock.
    pub locked: bool,
    /// Whether attempt 1 is recorded as `running` (only with the lock).
    pub first_attempt_started: bool,
}

/// An attempt to start; recorded as `running` before the driver is spawned.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttempt {
    /// The run.
    pub run_id: String,
    /// 1-based; must be one more than the previous attempt, which must have ended.
    pub attempt: u32,
    /// Host that runs the attempt.
    pub host: String,
    /// The hyops process that owns the attempt (used by crash recovery).
    pub runner_pid: u32,
    /// Evidence folder, relative to the state dir.
    pub evidence_path: Option<String>,
    /// When, epoch ms.
    pub at_ms: i64,
}

/// A status change of an attempt. Appended, never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptEvent {
    /// The new status.
    pub status: AttemptStatus,
    /// When, epoch ms.
    pub at_ms: i64,
    /// Tool exit code, when the tool exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Machine-readable error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Human message, already redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the failure was classified retryable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// Extra structured detail, already redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl AttemptEvent {
    /// An event with only a status and a time.
    pub fn new(status: AttemptStatus, at_ms: i64) -> Self {
        Self {
            status,
            at_ms,
            exit_code: None,
            error_code: None,
            message: None,
            retryable: None,
            detail: None,
        }
    }
}

/// A stored [`AttemptEvent`] with its position in the append-only log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptEventRecord {
    /// Monotonic id: the highest id of an attempt is its current status.
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// The attempt.
    pub attempt: u32,
    /// The event.
    pub event: AttemptEvent,
}

/// Published outputs recorded together with an attempt's final event
/// ([`crate::Ledger::finish_attempt`]).
#[derive(Debug, Clone, Copy)]
pub struct NewOutputs<'a> {
    /// The content-addressed artifact holding them.
    pub artifact: &'a hyops_contract::ArtifactRef,
    /// The (redacted) canonical JSON.
    pub outputs_json: &'a str,
    /// When they were recorded.
    pub created_at_ms: i64,
}

/// What [`crate::Ledger::finish_attempt`] writes together with an attempt's final event, in the
/// same transaction: one commit instead of one per write.
#[derive(Debug, Clone, Copy, Default)]
pub struct FinishWith<'a> {
    /// The published outputs of a passed attempt.
    pub outputs: Option<NewOutputs<'a>>,
    /// Artifacts the attempt stored (a driver's plan, manifest, …), registered with the final
    /// event: the caller made their bytes durable first (see `ArtifactStore::local_unsynced`).
    pub artifacts: &'a [ArtifactRef],
    /// The run's (target, env) lock, released if this run holds it: set on a run's last attempt.
    pub release_lock: Option<LockKey<'a>>,
    /// On SQLite, commit without an fsync of its own: the next synced commit or
    /// [`crate::Ledger::sync`] makes it durable (see `ledger_sync.rs`). For a stack's members,
    /// whose dependents start only after a synced write-ahead commit; off by default.
    pub defer_sync: bool,
}

/// One (target, env) lock, named for release.
#[derive(Debug, Clone, Copy)]
pub struct LockKey<'a> {
    /// The lock's target.
    pub target: &'a str,
    /// The lock's environment.
    pub env: &'a str,
}

/// Which runs [`crate::Ledger::list_runs`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// Only this target; a stack's name also matches its members (`STACK.MEMBER`).
    pub target: Option<String>,
    /// Only this environment.
    pub env: Option<String>,
    /// Only runs whose current status is this.
    pub status: Option<AttemptStatus>,
    /// At most this many (newest first); `None` for all.
    pub limit: Option<u32>,
}

/// Outputs of the newest attempt that passed (invariant 5: nothing else is readable).
#[derive(Debug, Clone, PartialEq)]
pub struct PassedOutputs {
    /// The run.
    pub run_id: String,
    /// The attempt that passed.
    pub attempt: u32,
    /// The run's RunRequest fingerprint.
    pub fingerprint: String,
    /// The outputs blob.
    pub artifact: ArtifactRef,
    /// Published outputs as JSON (redacted).
    pub outputs_json: String,
}

/// The hyops process holding a (target, env) lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The run it executes.
    pub run_id: String,
    /// The hyops process id (not the tool's).
    pub pid: u32,
    /// Host name.
    pub host: String,
}

/// A held lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// Who holds it.
    pub holder: Holder,
    /// Since when, epoch ms.
    pub acquired_at_ms: i64,
    /// Last heartbeat, epoch ms.
    pub heartbeat_at_ms: i64,
}

/// The audit fields of a prune (who, why, when, under which id); see [`crate::Ledger::prune`].
#[derive(Debug, Clone, PartialEq)]
pub struct PruneRequest {
    /// Runs to keep per (target, env), newest first.
    pub keep: usize,
    /// Id of the admin event the prune records.
    pub admin_event_id: String,
    /// Who asked.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When (RFC 3339 UTC).
    pub observed_at_utc: String,
    /// The stage name of destroy runs: one whose tool ran after the latest run with readable
    /// outputs is kept with it, so pruning never makes destroyed outputs readable again.
    pub destroy_stage: String,
    /// The error code of a destroy that ran no tool because what the target made went with what
    /// it depended on: it counts as a destroy whose tool ran (see `Ledger::destroyed_after`).
    pub gone_code: String,
    /// Only report what would be deleted and protected: nothing is written, no admin event.
    pub dry_run: bool,
}

/// What a prune removed and what it protected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PruneReport {
    /// Runs whose rows were deleted (tombstoned in `pruned_runs`).
    pub deleted_run_ids: Vec<String>,
    /// The same runs with their target and environment (where their files live).
    pub deleted_runs: Vec<PrunedRun>,
    /// Runs older than `keep` that were kept because they are their (target, env)'s latest passed
    /// run or still in flight.
    pub protected_run_ids: Vec<String>,
    /// The admin event recording the prune.
    pub admin_event_id: String,
}

/// A run deleted by a prune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedRun {
    /// The run.
    pub run_id: String,
    /// Its target.
    pub target: String,
    /// Its environment.
    pub env: String,
}

/// Derives a run id from the fingerprint and the per-(target, env) sequence number (invariant 8:
/// never from time): `<first 12 hex digits of the fingerprint>-<seq>`, e.g. `3f2a9c1b7d0e-7`.
///
/// It is unique per (target, env) because `seq` is; across targets the fingerprints differ (they
/// cover target and environment), and the `runs` primary key turns the 2^-48 chance of a prefix
/// collision into a loud error rather than a silent mix-up. Only `[0-9a-f-]`: safe as a folder name.
/// Returns `None` when the fingerprint is not `sha256:` followed by at least 12 lowercase hex digits.
pub fn run_id_for(fingerprint: &str, seq: u64) -> Option<String> {
    let hex = fingerprint.strip_prefix("sha256:")?;
    let prefix = hex.get(..12)?;
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Some(format!("{prefix}-{seq}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_is_fingerprint_prefix_and_seq() {
        let fp = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(run_id_for(&fp, 7).unwrap(), "0123456789ab-7");
    }

    #[test]
    fn run_id_rejects_non_hex_fingerprints() {
        assert_eq!(run_id_for("sha256:../../etc/passwd", 1), None);
        assert_eq!(run_id_for("md5:0123456789abcdef", 1), None);
        assert_eq!(run_id_for("sha256:0123", 1), None);
        assert_eq!(run_id_for("sha256:0123456789ABCDEF", 1), None);
    }
}

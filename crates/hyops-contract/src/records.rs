//! Public records (seed 004): artifact refs, attempts, config versions, admin events, errors.
//! Times are epoch milliseconds (`*_ms`) plus RFC 3339 text where humans read them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A content-addressed artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRef {
    /// Locator, e.g. `artifacts/sha256/ab/ab12…`.
    #[serde(rename = "ref")]
    pub locator: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Always `sha256` today.
    pub digest_alg: String,
    /// Size of the blob.
    pub size_bytes: u64,
    /// Schema version of the blob's content (e.g. `outputs/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
}

/// Attempt status. Status changes are appended as events; the latest event is the status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Waiting to start.
    Queued,
    /// The driver was (or is about to be) spawned.
    Running,
    /// Driver succeeded and every probe passed.
    Passed,
    /// The tool said no.
    Failed,
    /// The tool succeeded, a probe did not.
    ProbeFailed,
    /// hyops or the machine broke.
    Errored,
    /// The attempt exceeded its timeout.
    TimedOut,
    /// Stopped by the operator.
    Cancelled,
    /// The holder died.
    Lost,
    /// Not run because an upstream did not pass.
    Skipped,
}

impl AttemptStatus {
    /// Every status, in declaration order.
    pub const ALL: [AttemptStatus; 10] = [
        Self::Queued,
        Self::Running,
        Self::Passed,
        Self::Failed,
        Self::ProbeFailed,
        Self::Errored,
        Self::TimedOut,
        Self::Cancelled,
        Self::Lost,
        Self::Skipped,
    ];

    /// The snake_case name stored in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::ProbeFailed => "probe_failed",
            Self::Errored => "errored",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Lost => "lost",
            Self::Skipped => "skipped",
        }
    }

    /// Parses the ledger name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether no further transition can follow.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

impl std::fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`: table columns (`{:<13}`) must apply to it.
        f.pad(self.as_str())
    }
}

/// A run: one invocation for one (target, environment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// `<target>@<env>#<seq>-<fingerprint prefix>`-style id derived from fingerprint and sequence.
    pub run_id: String,
    /// Module id or `STACK.MEMBER`.
    pub target: String,
    /// Environment name.
    pub env: String,
    /// Per-(target, env) sequence number, from 1.
    pub seq: u64,
    /// RunRequest fingerprint.
    pub fingerprint: String,
    /// `run`, `plan`, `apply`, `destroy`.
    pub stage: String,
    /// Status of the latest attempt.
    pub status: AttemptStatus,
    /// Number of attempts made.
    pub attempts: u32,
    /// Creation time.
    pub created_at_ms: i64,
    /// Last status change.
    pub updated_at_ms: i64,
}

/// One attempt of a run (seed 004 JobAttemptRecord).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptRecord {
    /// The run.
    pub run_id: String,
    /// 1-based attempt number.
    pub attempt: u32,
    /// Current status (latest event).
    pub status: AttemptStatus,
    /// When the attempt was created.
    pub created_at_ms: i64,
    /// Last status change.
    pub updated_at_ms: i64,
    /// Driver process id, once spawned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Host that ran the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Tool exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Machine-readable error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Human message (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the failure was classified retryable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// Evidence folder, relative to the state dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_path: Option<String>,
}

/// A configuration version that went into a run (no invisible config drift).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigVersionRef {
    /// `module:web/site`, `profile:shell-default`, `pack:web-site`, `environment:dev`,
    /// `source:images`.
    pub config_name: String,
    /// Declared version, or `-` for unversioned kinds.
    pub config_version: String,
    /// `sha256:<hex>` (a pinned source: `git:<commit>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Catalog-relative path.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    pub locator: Option<String>,
}

/// Allowed admin actions; each produces an append-only [`AdminEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminActionType {
    /// Pause scheduling.
    Pause,
    /// Resume scheduling.
    Resume,
    /// Drain queued work.
    Drain,
    /// Request a replay.
    ReplayRequest,
    /// Rotate a secret.
    RotateSecret,
    /// Change retention.
    ChangeRetention,
    /// Prune old runs.
    Prune,
    /// Promote between environments.
    Promote,
    /// Approve a run.
    Approve,
}

/// An audited operator action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminEvent {
    /// Unique id.
    pub admin_event_id: String,
    /// What was done.
    pub action_type: AdminActionType,
    /// Who did it.
    pub actor: String,
    /// When (RFC 3339 UTC).
    pub observed_at_utc: String,
    /// Why.
    pub reason: String,
    /// What it touched (run ids, targets, streams).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// State before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// State after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// Outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// The error shape of `--output json` and the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorResponse {
    /// Stable machine code, e.g. `hyops::catalog::unknown_profile`.
    pub code: String,
    /// Lowercase message.
    pub message: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where: catalog-relative `file:line:col`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Extra structured detail.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

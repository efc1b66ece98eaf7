//! Errors of the ledger and the artifact store, classified once as retryable or not.

use std::path::PathBuf;

use crate::Holder;

/// Everything that can go wrong in `hyops-store`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names a backend the ledger does not speak.
    #[error(
        "unsupported ledger url scheme in `{url}`\nhelp: use `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`"
    )]
    UnsupportedUrl {
        /// The URL (without password: callers pass what the user typed).
        url: String,
    },
    /// The ledger could not be opened or its migrations could not be applied.
    #[error("failed to open the ledger at {location}")]
    Open {
        /// File path or URL (password removed).
        location: String,
        /// Cause.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error(
        "failed to migrate the ledger at {location}\nhelp: the ledger may have been written by a newer hyops"
    )]
    Migrate {
        /// File path or URL (password removed).
        location: String,
        /// Cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A read-only ledger open found no ledger file (nothing ran with this state dir).
    #[error(
        "no ledger at {location}\nhelp: the state dir is not writable, so it cannot be created; \
         nothing has run with this state dir yet, or `--state-dir` names the wrong folder"
    )]
    ReadOnlyNoLedger {
        /// The ledger file's path.
        location: String,
    },
    /// A read-only ledger open found a schema this hyops cannot read without migrating it.
    #[error("cannot read the ledger at {location} without write access: {problem}\nhelp: {help}")]
    ReadOnlySchema {
        /// The ledger file's path.
        location: String,
        /// What differs.
        problem: String,
        /// What to do.
        help: String,
    },
    /// A query failed.
    #[error("failed to {action}")]
    Query {
        /// What the ledger was doing, e.g. `create run for web/site@dev`.
        action: String,
        /// Cause.
        #[source]
        source: sqlx::Error,
    },
    /// A stored value does not map back to a record (a newer writer, or manual edits).
    #[error("failed to read {what}: stored value `{value}` is not valid")]
    Corrupt {
        /// Which column.
        what: String,
        /// The offending value.
        value: String,
    },
    /// The run does not exist.
    #[error("unknown run `{run_id}`\nhelp: `hyops runs list` shows known runs")]
    UnknownRun {
        /// The run.
        run_id: String,
    },
    /// The attempt does not exist.
    #[error("unknown attempt {attempt} of run `{run_id}`")]
    UnknownAttempt {
        /// The run.
        run_id: String,
        /// The attempt.
        attempt: u32,
    },
    /// An event was appended after a terminal event (attempts are append-only and end once).
    #[error(
        "attempt {attempt} of run `{run_id}` already ended as `{status}`; cannot record `{new_status}`"
    )]
    AttemptEnded {
        /// The run.
        run_id: String,
        /// The attempt.
        attempt: u32,
        /// The terminal status it has.
        status: hyops_contract::AttemptStatus,
        /// The status that was refused.
        new_status: hyops_contract::AttemptStatus,
    },
    /// A fingerprint is not `sha256:<hex>`, so no run id can be derived from it.
    #[error(
        "invalid fingerprint `{fingerprint}` for {target}@{env}: expected `sha256:` and lowercase hex digits"
    )]
    InvalidFingerprint {
        /// Target.
        target: String,
        /// Environment.
        env: String,
        /// The offending value.
        fingerprint: String,
    },
    /// An attempt was started out of order (attempts are numbered 1, 2, … and start after the
    /// previous one ended).
    #[error("cannot start attempt {attempt} of run `{run_id}`: {reason}")]
    AttemptOutOfOrder {
        /// The run.
        run_id: String,
        /// The refused attempt number.
        attempt: u32,
        /// Why, e.g. `attempt 1 is still running`.
        reason: String,
    },
    /// The attempt's pid was already recorded with another value (write-once column).
    #[error(
        "attempt {attempt} of run `{run_id}` already has pid {recorded}; refusing to record {pid}"
    )]
    PidAlreadyRecorded {
        /// The run.
        run_id: String,
        /// The attempt.
        attempt: u32,
        /// Stored pid.
        recorded: u32,
        /// Refused pid.
        pid: u32,
    },
    /// A JSON value could not be serialised for the ledger.
    #[error("failed to serialise {what} for the ledger")]
    Json {
        /// What was serialised.
        what: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// An artifact's bytes do not match its digest: fail closed (invariant 4).
    #[error(
        "artifact {locator} is corrupt: expected {expected}, found {actual}\nhelp: the blob was modified after it was written; restore it from a backup or re-run the producing run"
    )]
    DigestMismatch {
        /// The artifact's locator.
        locator: String,
        /// The digest the reference promises.
        expected: String,
        /// The digest of the bytes found.
        actual: String,
    },
    /// An artifact reference is malformed (bad digest, algorithm or locator).
    #[error("invalid artifact reference {locator}: {reason}")]
    InvalidArtifactRef {
        /// The locator as given.
        locator: String,
        /// What is wrong.
        reason: String,
    },
    /// The object store failed.
    #[error("failed to {action} artifact {locator}")]
    ObjectStore {
        /// `write`, `read`, ...
        action: &'static str,
        /// The artifact's locator.
        locator: String,
        /// Cause.
        #[source]
        source: object_store::Error,
    },
    /// A local file operation of the artifact store failed.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn query(action: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let action = action.into();
        move |source| StoreError::Query { action, source }
    }

    /// Whether retrying the same operation later may succeed: a busy/locked SQLite file, a lost or
    /// refused connection, a PostgreSQL serialization failure or deadlock. Constraint violations,
    /// corrupt values and digest mismatches are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Open { source, .. } | StoreError::Query { source, .. } => {
                sqlx_error_is_retryable(source)
            }
            StoreError::ObjectStore { source, .. } => matches!(
                source,
                object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
            ),
            StoreError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }

    /// Whether the cause is a unique or primary-key violation.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Query {
                source: sqlx::Error::Database(db),
                ..
            } => db.is_unique_violation(),
            _ => false,
        }
    }
}

/// SQLite result codes are reported as the extended code in decimal; the primary code is the low
/// byte. PostgreSQL reports SQLSTATE.
fn sqlx_error_is_retryable(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i64 = 5;
    const SQLITE_LOCKED: i64 = 6;
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if let Ok(numeric) = code.parse::<i64>() {
                let primary = numeric & 0xff;
                return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
            }
            // 40001 serialization_failure, 40P01 deadlock_detected, 08xxx connection exceptions,
            // 57P0x operator intervention (shutdown), 53300 too_many_connections.
            code == "40001"
                || code == "40P01"
                || code.starts_with("08")
                || code.starts_with("57P0")
                || code == "53300"
        }
        _ => false,
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the (target, env) lock.
    #[error(
        "{target}@{env} is locked by run `{}` (pid {} on {}, since {})\nhelp: wait for that run \
         to finish, or pass `--wait-lock [DURATION]` to wait for it; if its process is gone, the \
         lock is taken over as stale",
        holder.run_id,
        holder.pid,
        holder.host,
        hyops_contract::timestamp::format_epoch_ms(*acquired_at_ms)
    )]
    Held {
        /// Target.
        target: String,
        /// Environment.
        env: String,
        /// Who holds it.
        holder: Holder,
        /// Since when (epoch ms).
        acquired_at_ms: i64,
    },
    /// The ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

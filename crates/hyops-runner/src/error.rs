//! Errors of the run lifecycle. Each wraps the lower layer with what hyops was doing.

use hyops_store::{LockError, StoreError};

use crate::secrets::SecretError;

/// A run could not be carried out (as opposed to a run that ran and did not pass, which is a
/// [`crate::RunReport`] with a non-passed status).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The ledger or artifact store failed.
    #[error("failed to {action}: {source}")]
    Store {
        /// What hyops was doing.
        action: String,
        /// The store error.
        #[source]
        source: StoreError,
    },
    /// Another run holds the (target, env) lock.
    #[error(transparent)]
    Locked(LockError),
    /// Another hyops process is running the same stack in the same environment.
    #[error(
        "stack `{stack}` is already running in `{env}` (pid {pid} on {host}, since {})\nhelp: wait \
         for it to finish, or pass `--wait-lock [DURATION]` to wait for it; if its process is \
         gone, the lock is taken over as stale",
        hyops_contract::timestamp::format_epoch_ms(*since_ms)
    )]
    StackBusy {
        /// Stack name.
        stack: String,
        /// Environment.
        env: String,
        /// The hyops process running it.
        pid: u32,
        /// Its host.
        host: String,
        /// Since when (epoch ms).
        since_ms: i64,
    },
    /// A secret could not be fetched or is unsafe to redact.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The state dir, or a folder above it, is a file.
    #[error(
        "cannot use the state dir {path}: {file} is a file, not a directory\nhelp: pass \
         --state-dir (or set HYOPS_STATE_DIR) to a directory, or to a path hyops may create"
    )]
    StateDirIsFile {
        /// The state dir.
        path: String,
        /// The file in its way.
        file: String,
    },
    /// The state dir could not be prepared.
    #[error("failed to prepare the state dir {path}: {source}")]
    StateDir {
        /// The state dir.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A stack member run on its own cannot have its wired inputs filled from its producers'
    /// last PASS, or a wired value does not fit the member's input schema. Nothing started.
    #[error("cannot start `{target}` in `{env}`: {problem}")]
    Wiring {
        /// `STACK.MEMBER`.
        target: String,
        /// Environment.
        env: String,
        /// What is missing or wrong, with a `help:` line.
        problem: String,
    },
    /// A stack plan's members do not form a DAG (the catalog check prevents this).
    #[error("stack `{stack}` cannot be scheduled: {problem}\nhelp: run `hyops validate`")]
    StackGraph {
        /// Stack name.
        stack: String,
        /// What is wrong.
        problem: String,
    },
    /// No run or attempt by that id.
    #[error("no run `{run_id}` in the ledger\nhelp: `hyops runs list` shows recorded runs")]
    UnknownRun {
        /// The id asked for.
        run_id: String,
    },
}

impl RunError {
    /// Wraps a store error with what hyops was doing.
    pub fn store(action: impl Into<String>) -> impl FnOnce(StoreError) -> RunError {
        let action = action.into();
        move |source| RunError::Store { action, source }
    }
}

impl From<LockError> for RunError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::Store(source) => RunError::Store {
                action: "use the run lock".to_owned(),
                source,
            },
            held => RunError::Locked(held),
        }
    }
}

/// Why an attempt did not pass, classified once: the retry policy reads `retryable`, never text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    /// Stable code, e.g. `hyops::run::tool_failed`.
    pub code: &'static str,
    /// Redacted, lowercase message.
    pub message: String,
    /// Whether another attempt may succeed.
    pub retryable: bool,
}

impl AttemptFailure {
    /// A failure.
    pub fn new(code: &'static str, message: impl Into<String>, retryable: bool) -> Self {
        Self {
            code,
            message: message.into(),
            retryable,
        }
    }
}

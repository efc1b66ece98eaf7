//! How a process ended: exit status, whether we had to stop it and with what, timings, stderr tail.

use std::time::{Duration, SystemTime};

/// How the process (the group leader) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by a signal.
    Signaled {
        /// Signal number.
        signal: i32,
        /// Signal name, e.g. `SIGKILL` (or `SIG<n>` if unknown).
        name: String,
    },
}

impl ExitStatus {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        matches!(self, Self::Exited(0))
    }

    /// The exit code, if it exited normally.
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Exited(code) => Some(*code),
            Self::Signaled { .. } => None,
        }
    }

    pub(crate) fn from_std(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Exited(code),
            (None, Some(signal)) => Self::Signaled {
                signal,
                name: signal_name(signal),
            },
            // Neither code nor signal only happens for stopped/continued states, which `wait` never returns.
            (None, None) => Self::Exited(-1),
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exit code {code}"),
            Self::Signaled { signal, name } => write!(f, "killed by {name} ({signal})"),
        }
    }
}

/// The strongest signal we sent to the process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopSignal {
    /// SIGTERM was enough: the group was gone within the grace period.
    Term,
    /// The grace period ran out and SIGKILL was sent.
    Kill,
}

/// Why we stopped the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The timeout elapsed.
    Timeout,
    /// The caller cancelled.
    Cancelled,
    /// The leader exited but other processes were still in its group.
    Stragglers,
}

/// What happened to a process run to completion (or stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// Leader's exit status.
    pub status: ExitStatus,
    /// The timeout elapsed and the group was stopped.
    pub timed_out: bool,
    /// The caller cancelled and the group was stopped.
    pub cancelled: bool,
    /// The leader exited while other processes of its group were still running; they were stopped.
    pub stragglers: bool,
    /// The strongest signal we had to send to the group, if any.
    pub stop: Option<StopSignal>,
    /// Output pipes were still open `drain_timeout` after the group was gone (a process that left
    /// the group holds them); reading stopped, so output may be missing its end.
    pub output_incomplete: bool,
    /// Leader pid (also the process group id, and the session id in a new session).
    pub pid: u32,
    /// When the process was spawned.
    pub started_at: SystemTime,
    /// When the leader was reaped and output drained.
    pub finished_at: SystemTime,
    /// The last lines of (filtered) stderr.
    pub stderr_tail: Vec<u8>,
}

impl ProcessOutcome {
    /// Exited 0 and was neither timed out nor cancelled.
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out && !self.cancelled
    }

    /// Wall time from spawn to finish.
    pub fn duration(&self) -> Duration {
        self.finished_at
            .duration_since(self.started_at)
            .unwrap_or_default()
    }
}

/// `SIGTERM`-style name of a signal number, or `SIG<n>` when unknown.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

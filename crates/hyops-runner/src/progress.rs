//! Progress events a run reports while it works, for terminals, JSON streams and tests.

use hyops_contract::AttemptStatus;

use crate::probe::ProbeResult;

/// Something that happened during a run. Text is already redacted.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// The run is recorded in the ledger.
    RunCreated {
        /// Run id.
        run_id: String,
        /// Target.
        target: String,
        /// Environment.
        env: String,
    },
    /// An attempt begins.
    AttemptStarted {
        /// 1-based attempt.
        attempt: u32,
        /// Attempts allowed.
        max_attempts: u32,
    },
    /// A phase of the attempt begins: `prepare`, `driver`, `outputs`, `probes`, `evidence`, and
    /// for a stack member admitted before a concurrency slot is free, `waiting for a slot`.
    Phase {
        /// Phase name.
        name: &'static str,
    },
    /// A driver step begins (`init`, `plan`, `apply`, `entry`); reported after the `driver`
    /// phase, once per step.
    Step {
        /// 1-based step number within the attempt.
        n: u32,
        /// Step name.
        name: String,
    },
    /// A line of tool output.
    Output {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The line.
        line: String,
    },
    /// A probe finished.
    Probe(ProbeResult),
    /// An attempt ended.
    AttemptFinished {
        /// 1-based attempt.
        attempt: u32,
        /// Its status.
        status: AttemptStatus,
        /// Why it did not pass, if it did not.
        message: Option<String>,
    },
    /// Waiting before the next attempt.
    Retrying {
        /// Next attempt.
        next_attempt: u32,
        /// Pause.
        backoff_ms: u64,
    },
    /// Waiting for another run to release the lock.
    WaitingForLock {
        /// Who holds it.
        holder: String,
    },
}

/// Receives [`RunEvent`]s. Called from the run's task; keep it quick.
pub trait Progress: Send + Sync {
    /// Handles one event.
    fn event(&self, event: &RunEvent);
}

/// Ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: &RunEvent) {}
}

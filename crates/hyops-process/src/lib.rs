//! Spawn tool processes in their own group, stream and capture output, stop them on timeout or cancel.
//!
//! This is the only place hyops spawns processes; drivers and probes build a [`ProcessSpec`] and
//! call [`run`] (streamed) or [`run_capture`] / [`capture`] (short commands).

mod capture;
mod error;
mod isolation;
mod outcome;
mod output;
mod privileges;
mod spec;
mod supervise;

pub use capture::{CaptureFilters, Captured, capture, run_capture};
pub use error::ProcessError;
pub use isolation::{Isolation, has_controlling_terminal};
pub use outcome::{ExitStatus, ProcessOutcome, StopReason, StopSignal, signal_name};
pub use output::{
    DiscardSink, LineSink, MAX_LINE_BYTES, OutputLine, OutputStream, STDERR_TAIL_BYTES,
    STDERR_TAIL_LINES, StreamFilter,
};
pub use privileges::current_uid_is_root;
pub use spec::{DEFAULT_DRAIN_TIMEOUT, DEFAULT_KILL_GRACE, ProcessSpec};
pub use supervise::{ProcessIo, run};
pub use tokio_util::sync::CancellationToken;

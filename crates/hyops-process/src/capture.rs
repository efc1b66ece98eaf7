//! Short commands whose output is wanted whole (`terraform version -json`, command probes).

use tokio_util::sync::CancellationToken;

use crate::error::ProcessError;
use crate::outcome::ProcessOutcome;
use crate::output::{LineSink, OutputLine, OutputStream, StreamFilter};
use crate::spec::ProcessSpec;
use crate::supervise::{ProcessIo, run};

/// Output of a captured command, each stream bounded by the `max_bytes` given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// How it ended.
    pub outcome: ProcessOutcome,
    /// The first `max_bytes` of stdout, byte-exact.
    pub stdout: Vec<u8>,
    /// stdout was longer than `max_bytes`.
    pub stdout_truncated: bool,
    /// The first `max_bytes` of stderr, byte-exact.
    pub stderr: Vec<u8>,
    /// stderr was longer than `max_bytes`.
    pub stderr_truncated: bool,
}

/// Optional byte filters for a capture (the redactor, usually).
#[derive(Default)]
pub struct CaptureFilters {
    /// Applied to stdout.
    pub stdout: Option<Box<dyn StreamFilter>>,
    /// Applied to stderr.
    pub stderr: Option<Box<dyn StreamFilter>>,
}

impl std::fmt::Debug for CaptureFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureFilters")
            .field("stdout", &self.stdout.is_some())
            .field("stderr", &self.stderr.is_some())
            .finish()
    }
}

struct BoundedCapture {
    max_bytes: usize,
    stdout: Vec<u8>,
    stdout_truncated: bool,
    stderr: Vec<u8>,
    stderr_truncated: bool,
}

impl LineSink for BoundedCapture {
    fn line(&mut self, line: OutputLine) {
        let (buf, truncated) = match line.stream {
            OutputStream::Stdout => (&mut self.stdout, &mut self.stdout_truncated),
            OutputStream::Stderr => (&mut self.stderr, &mut self.stderr_truncated),
        };
        let wanted = line.text.len() + usize::from(line.newline);
        let room = self.max_bytes.saturating_sub(buf.len());
        if wanted > room {
            *truncated = true;
        }
        let text = &line.text[..line.text.len().min(room)];
        buf.extend_from_slice(text);
        if line.newline && buf.len() < self.max_bytes {
            buf.push(b'\n');
        }
    }
}

/// Runs `spec` and keeps up to `max_bytes` of each stream (async form of [`run_capture`]).
pub async fn capture(
    spec: &ProcessSpec,
    max_bytes: usize,
    filters: CaptureFilters,
    cancel: CancellationToken,
) -> Result<Captured, ProcessError> {
    let mut sink = BoundedCapture {
        max_bytes,
        stdout: Vec::new(),
        stdout_truncated: false,
        stderr: Vec::new(),
        stderr_truncated: false,
    };
    let mut io = ProcessIo::new(&mut sink).cancel_on(cancel);
    if let Some(f) = filters.stdout {
        io = io.stdout_filter(f);
    }
    if let Some(f) = filters.stderr {
        io = io.stderr_filter(f);
    }
    let outcome = run(spec, io).await?;
    Ok(Captured {
        outcome,
        stdout: sink.stdout,
        stdout_truncated: sink.stdout_truncated,
        stderr: sink.stderr,
        stderr_truncated: sink.stderr_truncated,
    })
}

/// Runs `spec` to completion on a private single-threaded runtime and returns its output.
///
/// For synchronous callers only: it must not be called from inside a tokio runtime (use
/// [`capture`] there).
pub fn run_capture(
    spec: &ProcessSpec,
    max_bytes: usize,
    filters: CaptureFilters,
) -> Result<Captured, ProcessError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ProcessError::Runtime { source })?;
    runtime.block_on(capture(spec, max_bytes, filters, CancellationToken::new()))
}

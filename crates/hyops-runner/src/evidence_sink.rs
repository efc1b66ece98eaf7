//! Adapters between the process module and evidence: the redacting stream filter and the line
//! sink that writes `driver.log` and reports progress.

use std::sync::Arc;

use hyops_drivers::{LineView, ShownLevel};
use hyops_evidence::{LogLevel, LogWriter, StreamRedactor, format_log_line};
use hyops_process::{LineSink, OutputLine, OutputStream, StreamFilter};

use crate::progress::{Progress, RunEvent};

/// Runs the streaming redactor on raw tool output, before it is split into lines or kept.
pub(crate) struct RedactFilter(pub(crate) StreamRedactor);

impl StreamFilter for RedactFilter {
    fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.0.push(chunk)
    }

    fn finish(&mut self) -> Vec<u8> {
        self.0.finish()
    }
}

/// Writes every (already redacted) line to `driver.log` in the shared log format and forwards it
/// to progress. The first write error is kept and reported after the process ends: a full disk
/// must fail the attempt as `errored`, not silently drop evidence.
pub(crate) struct DriverLogSink {
    pub(crate) log: LogWriter,
    pub(crate) progress: Arc<dyn Progress>,
    pub(crate) error: Option<hyops_evidence::EvidenceError>,
    /// For a capturing step: stdout is collected here (bounded) instead of logged.
    pub(crate) capture: Option<Vec<u8>>,
    /// For a captured step the driver also wants shown: how each line reads in `driver.log`.
    pub(crate) view: Option<LineView>,
    /// How the step's stderr lines read in `driver.log` (see `Step::stderr_view`).
    pub(crate) stderr_view: Option<LineView>,
}

impl LineSink for DriverLogSink {
    fn line(&mut self, line: OutputLine) {
        if line.stream == OutputStream::Stdout
            && let Some(buffer) = &mut self.capture
        {
            if buffer.len() + line.text.len() < hyops_drivers::Step::MAX_CAPTURE {
                buffer.extend_from_slice(&line.text);
                if line.newline {
                    buffer.push(b'\n');
                }
            }
            if let Some(view) = self.view {
                self.shown(&line, view, "stdout");
            }
            return;
        }
        if line.stream == OutputStream::Stderr
            && let Some(view) = self.stderr_view
        {
            self.shown(&line, view, "stderr");
            return;
        }
        let text = String::from_utf8_lossy(&line.text);
        let (stream, level) = match line.stream {
            OutputStream::Stdout => ("stdout", LogLevel::Info),
            OutputStream::Stderr => ("stderr", LogLevel::Warn),
        };
        let component = format!("driver.{stream}");
        self.write(line.at, level, &component, &text, Some(stream));
    }
}

impl DriverLogSink {
    /// Logs `line` as the driver's `view` renders it (nothing when it returns `None`).
    fn shown(&mut self, line: &OutputLine, view: LineView, stream: &'static str) {
        let Some(shown) = view(&String::from_utf8_lossy(&line.text)) else {
            return;
        };
        let (level, shown_in) = match shown.level {
            ShownLevel::Debug => (LogLevel::Debug, None),
            ShownLevel::Info => (LogLevel::Info, Some(stream)),
            ShownLevel::Warn => (LogLevel::Warn, Some(stream)),
            ShownLevel::Error => (LogLevel::Error, Some(stream)),
        };
        // One record per line of text: `driver.log` and progress stay line-oriented.
        for text in shown.text.lines().filter(|l| !l.trim().is_empty()) {
            self.write(line.at, level, shown.component, text, shown_in);
        }
    }

    /// Writes one `driver.log` record, and shows it in progress as `stream` output if given.
    fn write(
        &mut self,
        at: std::time::SystemTime,
        level: LogLevel,
        component: &str,
        text: &str,
        stream: Option<&'static str>,
    ) {
        let formatted = format_log_line(at, level, component, text);
        if self.error.is_none()
            && let Err(e) = self.log.line(formatted.as_bytes())
        {
            self.error = Some(e);
        }
        if let Some(stream) = stream {
            self.progress.event(&RunEvent::Output {
                stream,
                line: text.to_owned(),
            });
        }
    }
}

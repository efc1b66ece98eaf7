//! Output plumbing: byte filters (the redactor plugs in here), line splitting, line sinks, stderr tail.

use std::collections::VecDeque;
use std::time::SystemTime;

/// Longest line piece delivered to a [`LineSink`]; longer lines arrive cut into pieces of this size.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Lines of stderr kept in [`crate::ProcessOutcome::stderr_tail`].
pub const STDERR_TAIL_LINES: usize = 64;

/// Bytes of stderr kept in [`crate::ProcessOutcome::stderr_tail`].
pub const STDERR_TAIL_BYTES: usize = 16 * 1024;

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputStream {
    /// The child's stdout.
    Stdout,
    /// The child's stderr.
    Stderr,
}

impl OutputStream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// One line (or piece of an over-long line) of filtered output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The stream it came from.
    pub stream: OutputStream,
    /// When it was read.
    pub at: SystemTime,
    /// The bytes, without the trailing `\n`.
    pub text: Vec<u8>,
    /// Whether a `\n` ended it. `false` for the final unterminated line and for all but the last
    /// piece of a line longer than [`MAX_LINE_BYTES`]; lets a consumer rebuild the exact bytes.
    pub newline: bool,
}

/// A byte-stream transformer applied to raw output before it is split into lines or kept anywhere.
///
/// The runner plugs the streaming redactor in here, so secrets split across reads are still caught
/// and never reach a line, the stderr tail or evidence.
pub trait StreamFilter: Send {
    /// Transforms the next chunk; may hold bytes back until a later call.
    fn push(&mut self, chunk: &[u8]) -> Vec<u8>;
    /// Returns whatever was held back; called once at end of stream.
    fn finish(&mut self) -> Vec<u8>;
}

/// Receives lines from both streams; per-stream order is preserved.
///
/// Called on the supervising task, so it should not block for long (writing a log line is fine).
pub trait LineSink: Send {
    /// Handles one line.
    fn line(&mut self, line: OutputLine);
}

/// A sink that drops everything (the stderr tail is still kept in the outcome).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSink;

impl LineSink for DiscardSink {
    fn line(&mut self, _line: OutputLine) {}
}

impl LineSink for Vec<OutputLine> {
    fn line(&mut self, line: OutputLine) {
        self.push(line);
    }
}

/// Splits a byte stream into lines of at most [`MAX_LINE_BYTES`], holding only the current partial line.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    stream: OutputStream,
    partial: Vec<u8>,
}

impl LineSplitter {
    pub(crate) fn new(stream: OutputStream) -> Self {
        Self {
            stream,
            partial: Vec::new(),
        }
    }

    /// Feeds bytes; calls `emit` for each completed line or full-size piece.
    pub(crate) fn push(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(OutputLine)) {
        while !bytes.is_empty() {
            let room = MAX_LINE_BYTES - self.partial.len();
            let window = &bytes[..bytes.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    self.partial.extend_from_slice(&window[..nl]);
                    emit(self.take(true));
                    bytes = &bytes[nl + 1..];
                }
                None => {
                    self.partial.extend_from_slice(window);
                    bytes = &bytes[window.len()..];
                    if self.partial.len() == MAX_LINE_BYTES {
                        emit(self.take(false));
                    }
                }
            }
        }
    }

    /// Emits the final unterminated line, if any.
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut(OutputLine)) {
        if !self.partial.is_empty() {
            emit(self.take(false));
        }
    }

    fn take(&mut self, newline: bool) -> OutputLine {
        OutputLine {
            stream: self.stream,
            at: SystemTime::now(),
            text: std::mem::take(&mut self.partial),
            newline,
        }
    }
}

/// The last lines of stderr, bounded by [`STDERR_TAIL_LINES`] and [`STDERR_TAIL_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct StderrTail {
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
}

impl StderrTail {
    pub(crate) fn push(&mut self, line: &OutputLine) {
        // Keep only the end of a line that alone exceeds the byte budget.
        let text = &line.text[line.text.len().saturating_sub(STDERR_TAIL_BYTES)..];
        let mut kept = text.to_vec();
        if line.newline {
            kept.push(b'\n');
        }
        self.bytes += kept.len();
        self.lines.push_back(kept);
        while self.lines.len() > STDERR_TAIL_LINES || self.bytes > STDERR_TAIL_BYTES {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.lines.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        let mut s = LineSplitter::new(OutputStream::Stdout);
        for c in chunks {
            s.push(c, &mut |l| out.push((l.text, l.newline)));
        }
        s.finish(&mut |l| out.push((l.text, l.newline)));
        out
    }

    #[test]
    fn lines_across_chunks_and_final_partial_line() {
        let got = split(&[b"ab", b"c\nde\n\nf", b"g"]);
        assert_eq!(
            got,
            vec![
                (b"abc".to_vec(), true),
                (b"de".to_vec(), true),
                (Vec::new(), true),
                (b"fg".to_vec(), false)
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_into_pieces() {
        let long = vec![b'x'; MAX_LINE_BYTES * 2 + 10];
        let mut input = long.clone();
        input.push(b'\n');
        let got = split(&[&input]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.len(), MAX_LINE_BYTES);
        assert!(!got[0].1);
        assert_eq!(got[2], (vec![b'x'; 10], true));
    }

    #[test]
    fn tail_is_bounded() {
        let mut tail = StderrTail::default();
        for i in 0..1000 {
            tail.push(&OutputLine {
                stream: OutputStream::Stderr,
                at: SystemTime::now(),
                text: format!("line {i}").into_bytes(),
                newline: true,
            });
        }
        let bytes = tail.into_bytes();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), STDERR_TAIL_LINES);
        assert!(text.ends_with("line 999\n"));
    }
}

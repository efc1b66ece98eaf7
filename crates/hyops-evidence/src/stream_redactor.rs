//! Streaming redaction: catches secrets split across reads while holding back fewer bytes than the
//! longest pattern.

use std::sync::Arc;

use crate::redactor::Compiled;

/// Redacts one byte stream chunk by chunk; output equals one-shot redaction of the whole stream.
///
/// Why it is exact: a match starting at `s` is final once `s + longest_pattern` bytes are visible,
/// because no pattern reaching further can start there, and any match starting earlier would have
/// been fully visible too (leftmost-longest). Bytes that cannot start a final match yet — at most
/// `longest_pattern − 1` of them — are carried into the next call. Memory stays constant.
pub struct StreamRedactor {
    compiled: Option<Arc<Compiled>>,
    carry: Vec<u8>,
}

impl std::fmt::Debug for StreamRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRedactor")
            .field("held_back", &self.carry.len())
            .finish()
    }
}

impl StreamRedactor {
    pub(crate) fn new(compiled: Option<Arc<Compiled>>) -> Self {
        Self {
            compiled,
            carry: Vec::new(),
        }
    }

    /// Redacts the next chunk; returns what can be released now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(compiled) = self.compiled.as_deref() else {
            return chunk.to_vec();
        };
        let mut out = Vec::with_capacity(self.carry.len() + chunk.len());
        if self.carry.is_empty() {
            self.carry = scan(compiled, chunk, &mut out).to_vec();
        } else {
            let mut buf = std::mem::take(&mut self.carry);
            buf.extend_from_slice(chunk);
            let rest = scan(compiled, &buf, &mut out).to_vec();
            self.carry = rest;
        }
        out
    }

    /// Releases the held-back bytes, redacted; the stream is over.
    pub fn finish(&mut self) -> Vec<u8> {
        let carry = std::mem::take(&mut self.carry);
        match self.compiled.as_deref() {
            Some(compiled) => {
                let mut out = Vec::with_capacity(carry.len());
                compiled.redact_into(&carry, &mut out);
                out
            }
            None => carry,
        }
    }

    /// Bytes currently held back.
    pub fn held_back(&self) -> usize {
        self.carry.len()
    }
}

/// Emits everything of `buf` that is decided into `out` and returns the undecided tail.
fn scan<'b>(compiled: &Compiled, buf: &'b [u8], out: &mut Vec<u8>) -> &'b [u8] {
    let len = buf.len();
    let mut pos = 0;
    let mut undecided = len;
    for m in compiled.automaton.find_iter(buf) {
        if m.start() + compiled.max_len > len {
            undecided = m.start();
            break;
        }
        out.extend_from_slice(&buf[pos..m.start()]);
        out.extend_from_slice(&compiled.replacements[m.pattern().as_usize()]);
        pos = m.end();
    }
    // No match can start before `len - (max_len - 1)` without being fully visible.
    let safe = len
        .saturating_sub(compiled.max_len - 1)
        .min(undecided)
        .max(pos);
    out.extend_from_slice(&buf[pos..safe]);
    &buf[safe..]
}

//! Streaming redaction: catches secrets split across reads while holding back fewer bytes than the
//! longest pattern.

use std::sync::Arc;

use crate::gram_filter::Window;
use crate::redactor::Compiled;

/// Redacts one byte stream chunk by chunk; output equals one-shot redaction of the whole stream.
///
/// Why it is exact: a match starting at `s` is final once `s + longest_pattern` bytes are visible,
/// because no pattern reaching further can start there, and any match starting earlier would have
/// been fully visible too (leftmost-longest). Bytes that cannot start a final match yet — at most
/// `longest_pattern − 1` of them — are carried into the next call. Memory stays constant: the
/// carry buffer holds one chunk plus that tail, and is shrunk again after an unusually large chunk.
pub struct StreamRedactor {
    compiled: Option<Arc<Compiled>>,
    /// The undecided tail between calls; the tail plus the current chunk during one.
    carry: Vec<u8>,
    /// Scratch for the prefilter's windows, reused across calls.
    windows: Vec<Window>,
}

/// Carry capacity kept between calls; larger buffers (after a huge chunk) are given back.
const KEEP_CAPACITY: usize = 256 * 1024;

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
            windows: Vec::new(),
        }
    }

    /// Redacts the next chunk; returns what can be released now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.carry.len() + chunk.len());
        self.push_into(chunk, &mut out);
        out
    }

    /// Like [`push`](Self::push), appending the releasable bytes to `out` (lets callers reuse one
    /// output buffer).
    pub fn push_into(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let Some(compiled) = self.compiled.as_deref() else {
            out.extend_from_slice(chunk);
            return;
        };
        // The held-back tail is joined with only the chunk's first `max_len` bytes; once that
        // junction is decided past the old tail, the rest of the chunk is scanned in place instead
        // of being copied behind the tail. Restarting at a decided offset is what the carry does
        // anyway: no match straddles it and the search resumes there.
        let mut rest = chunk;
        if !self.carry.is_empty() {
            let held = self.carry.len();
            let head = chunk.len().min(compiled.max_len);
            self.carry.extend_from_slice(&chunk[..head]);
            if head == chunk.len() {
                rest = &[];
            } else {
                let decided = compiled.redact_decided(&self.carry, false, out, &mut self.windows);
                if decided >= held {
                    rest = &chunk[decided - held..];
                    self.carry.clear();
                } else {
                    // Not reached: the junction is `held + max_len` bytes long and
                    // `redact_decided` holds back fewer than `max_len`, so `decided > held`.
                    // Kept so that a change to the hold-back rule degrades to copying the chunk
                    // behind the tail instead of dropping bytes.
                    self.carry.drain(..decided);
                    self.carry.truncate(held - decided);
                }
            }
        }
        if self.carry.is_empty() {
            let decided = compiled.redact_decided(rest, false, out, &mut self.windows);
            self.carry.extend_from_slice(&rest[decided..]);
        } else {
            self.carry.extend_from_slice(rest);
            let decided = compiled.redact_decided(&self.carry, false, out, &mut self.windows);
            self.carry.drain(..decided);
        }
        if self.carry.capacity() > KEEP_CAPACITY {
            self.carry.shrink_to(KEEP_CAPACITY.max(compiled.max_len));
        }
    }

    /// Releases the held-back bytes, redacted; the stream is over.
    pub fn finish(&mut self) -> Vec<u8> {
        let carry = std::mem::take(&mut self.carry);
        match self.compiled.as_deref() {
            Some(compiled) => {
                let mut out = Vec::with_capacity(carry.len());
                compiled.redact_decided(&carry, true, &mut out, &mut self.windows);
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

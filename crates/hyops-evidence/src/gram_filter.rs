//! Sampled 4-gram prefilter: narrows a buffer down to the few short windows that can hold a
//! pattern occurrence, so the Aho-Corasick automaton only runs where a secret may be.
//!
//! Why it is sound: every pattern is at least `min_len` bytes long. Looking at the 4-gram at every
//! `step = min_len − 3`-th position, every occurrence `[a, b)` of a pattern contains a sampled
//! position `p` with `[p, p + 4) ⊆ [a, b)`, and that 4-gram is a 4-gram of the pattern at offset
//! `p − a`. So for every sampled 4-gram that belongs to some pattern we check each
//! `(pattern, offset)` it occurs at: a verified occurrence becomes a window of exactly its bytes.
//! A 4-gram occurring at too many `(pattern, offset)` pairs (repetitive secrets) instead yields the
//! window `[p + 4 − max_len, p + max_len)`, which holds every occurrence through `p`. Every
//! occurrence therefore lies entirely inside one merged window, and leftmost-longest matching
//! window by window equals leftmost-longest matching of the whole buffer: matches of earlier
//! windows end before a later window starts, so each window starts the search afresh.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// Bytes per sampled gram (one unaligned `u32` load).
const GRAM: usize = 4;
/// More `(pattern, offset)` pairs than this per gram: fall back to a wide window instead of
/// verifying each pair, to bound the work per sample.
const MAX_VERIFY: usize = 16;
/// Multiplicative hash constant (Knuth); good enough spread for a bitset index.
const MUL: u32 = 0x9E37_79B1;
/// Bitset sizes, in log2 bits: at least 64 bits per distinct gram keeps false hits under 1.6 %,
/// within 2 MiB so it stays in cache.
const MIN_BITS_LOG2: u32 = 12;
const MAX_BITS_LOG2: u32 = 24;

/// A stretch of the buffer that may hold pattern occurrences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) range: Range<usize>,
    /// `Some(id)` when the window is exactly one verified occurrence of pattern `id` and nothing
    /// else: then it is the window's only match and the automaton need not run.
    pub(crate) only: Option<u32>,
}

impl Window {
    fn wide(range: Range<usize>) -> Self {
        Self { range, only: None }
    }
}

pub(crate) struct GramFilter {
    /// Distance between sampled positions; 0 means "no filtering" (a pattern shorter than a gram).
    step: usize,
    max_len: usize,
    /// One bit per hash bucket of the grams of all patterns.
    bits: Vec<u64>,
    shift: u32,
    /// Gram → range of `entries` holding its `(pattern, offset)` pairs.
    index: HashMap<u32, Range<u32>, BuildHasherDefault<GramHasher>>,
    entries: Vec<(u32, u32)>,
    patterns: Vec<Vec<u8>>,
}

impl GramFilter {
    /// Indexes every gram of every pattern. `patterns` must be non-empty.
    pub(crate) fn new(patterns: &[Vec<u8>]) -> Self {
        let min_len = patterns.iter().map(Vec::len).min().unwrap_or(0);
        let max_len = patterns.iter().map(Vec::len).max().unwrap_or(0);
        let mut pairs: Vec<(u32, u32, u32)> = Vec::new();
        if min_len >= GRAM {
            for (id, pattern) in patterns.iter().enumerate() {
                for (offset, window) in pattern.windows(GRAM).enumerate() {
                    pairs.push((gram(window), to_u32(id), to_u32(offset)));
                }
            }
        }
        pairs.sort_unstable();
        let mut index = HashMap::default();
        let mut entries = Vec::with_capacity(pairs.len());
        for group in pairs.chunk_by(|x, y| x.0 == y.0) {
            let start = to_u32(entries.len());
            entries.extend(group.iter().map(|&(_, id, offset)| (id, offset)));
            index.insert(group[0].0, start..to_u32(entries.len()));
        }
        let bits_log2 = (index.len().max(1) * 64)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(MIN_BITS_LOG2, MAX_BITS_LOG2);
        let mut bits = vec![0u64; 1 << (bits_log2 - 6)];
        let shift = 32 - bits_log2;
        for &g in index.keys() {
            let h = bucket(g, shift);
            bits[h >> 6] |= 1 << (h & 63);
        }
        Self {
            step: if min_len >= GRAM {
                min_len - GRAM + 1
            } else {
                0
            },
            max_len,
            bits,
            shift,
            index,
            entries,
            patterns: patterns.to_vec(),
        }
    }

    /// Fills `out` with sorted, disjoint windows of `buf` holding every pattern occurrence in it.
    pub(crate) fn windows(&self, buf: &[u8], out: &mut Vec<Window>) {
        out.clear();
        if self.step == 0 {
            if !buf.is_empty() {
                out.push(Window::wide(0..buf.len()));
            }
            return;
        }
        // Four samples per round, tested together: the bits are almost always clear, so one
        // well-predicted branch per round instead of four.
        let step = self.step;
        let last = buf.len().saturating_sub(GRAM);
        let mut p = 0;
        while buf.len() >= GRAM && p + 3 * step <= last {
            let hs = [
                bucket(gram(&buf[p..]), self.shift),
                bucket(gram(&buf[p + step..]), self.shift),
                bucket(gram(&buf[p + 2 * step..]), self.shift),
                bucket(gram(&buf[p + 3 * step..]), self.shift),
            ];
            if hs.iter().any(|&h| self.bits[h >> 6] & (1 << (h & 63)) != 0) {
                for q in [p, p + step, p + 2 * step, p + 3 * step] {
                    self.sample(buf, q, out);
                }
            }
            p += 4 * step;
        }
        while buf.len() >= GRAM && p <= last {
            self.sample(buf, p, out);
            p += step;
        }
        merge(out);
    }

    /// Tests the gram at `p` against the bitset and pushes its windows.
    fn sample(&self, buf: &[u8], p: usize, out: &mut Vec<Window>) {
        let g = gram(&buf[p..]);
        let h = bucket(g, self.shift);
        if self.bits[h >> 6] & (1 << (h & 63)) != 0 {
            self.candidates(buf, p, g, out);
        }
    }

    /// Pushes the windows for a sampled gram `g` at `p` that passed the bitset.
    #[cold]
    fn candidates(&self, buf: &[u8], p: usize, g: u32, out: &mut Vec<Window>) {
        let Some(range) = self.index.get(&g) else {
            return;
        };
        let pairs = &self.entries[range.start as usize..range.end as usize];
        if pairs.len() > MAX_VERIFY {
            let start = (p + GRAM).saturating_sub(self.max_len);
            out.push(Window::wide(start..(p + self.max_len).min(buf.len())));
            return;
        }
        for &(id, offset) in pairs {
            let Some(start) = p.checked_sub(offset as usize) else {
                continue;
            };
            let pattern = &self.patterns[id as usize];
            let end = start + pattern.len();
            if buf.get(start..end) == Some(pattern.as_slice()) {
                out.push(Window {
                    range: start..end,
                    only: Some(id),
                });
            }
        }
    }
}

/// Sorts windows by start and merges the overlapping or touching ones; a merged window is `only`
/// one occurrence when all its parts are that same occurrence (found from several samples).
fn merge(windows: &mut Vec<Window>) {
    windows.sort_unstable_by_key(|w| w.range.start);
    let mut kept = 0;
    for i in 0..windows.len() {
        let w = windows[i].clone();
        if kept > 0 && w.range.start <= windows[kept - 1].range.end {
            let last = &mut windows[kept - 1];
            if last.range != w.range || last.only != w.only {
                last.only = None;
            }
            last.range.end = last.range.end.max(w.range.end);
        } else {
            windows[kept] = w;
            kept += 1;
        }
    }
    windows.truncate(kept);
}

fn gram(window: &[u8]) -> u32 {
    let mut bytes = [0u8; GRAM];
    bytes.copy_from_slice(&window[..GRAM]);
    u32::from_le_bytes(bytes)
}

fn bucket(g: u32, shift: u32) -> usize {
    (g.wrapping_mul(MUL) >> shift) as usize
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("pattern sets are far below 4 GiB")
}

/// The `HashMap` hasher for grams: one multiply instead of SipHash (keys are not attacker-chosen
/// in a way that matters: a collision only costs a probe).
#[derive(Default)]
struct GramHasher(u64);

impl Hasher for GramHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_joins_overlapping_and_touching() {
        let exact = |range: Range<usize>| Window {
            range,
            only: Some(7),
        };
        let mut w = vec![
            exact(10..20),
            exact(0..5),
            exact(5..7),
            exact(15..30),
            exact(40..41),
            exact(40..41),
        ];
        merge(&mut w);
        let wide = Window::wide;
        assert_eq!(w, vec![wide(0..7), wide(10..30), exact(40..41)]);
    }

    #[test]
    fn windows_cover_every_occurrence() {
        let patterns = vec![b"abcdefg".to_vec(), b"zzzzzzzzzz".to_vec()];
        let f = GramFilter::new(&patterns);
        let text = b"xxabcdefgxxxxxxxxxxxxxxzzzzzzzzzzzzzabcdef";
        let mut w = Vec::new();
        f.windows(text, &mut w);
        let covers = |a, b| w.iter().any(|w| w.range.start <= a && w.range.end >= b);
        assert!(covers(2, 9), "{w:?}");
        assert!(covers(23, 36), "{w:?}");
        // The truncated `abcdef` at the end is no occurrence and yields no window.
        assert!(w.iter().all(|w| w.range.end <= 36), "{w:?}");
    }
}

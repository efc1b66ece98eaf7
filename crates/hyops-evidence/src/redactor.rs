//! The redactor: every encoded form of every secret, replaced by `[REDACTED:<name>]` in one pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::gram_filter::{GramFilter, Window};
use crate::secret::Secret;
use crate::stream_redactor::StreamRedactor;

/// Secrets shorter than this (in characters) are refused.
pub const MIN_SECRET_CHARS: usize = 6;

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a redactor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RedactorError {
    /// The value is too short to be redacted without destroying the log.
    #[error(
        "secret `{name}` is too short to redact ({chars} characters, minimum {MIN_SECRET_CHARS})\n\
         help: replacing every occurrence of so short a value would mangle ordinary log text and \
         hint at the value by what went missing; use a longer secret"
    )]
    TooShort {
        /// The secret's name.
        name: String,
        /// Its length in characters.
        chars: usize,
    },
    /// The automaton could not be built (pattern set too large).
    #[error("failed to build the redaction automaton")]
    Build {
        /// The underlying error.
        #[source]
        source: aho_corasick::BuildError,
    },
}

pub(crate) struct Compiled {
    pub(crate) automaton: AhoCorasick,
    /// Finds the short windows the automaton has to look at.
    filter: GramFilter,
    /// Replacement per pattern id.
    pub(crate) replacements: Vec<Vec<u8>>,
    /// Longest pattern in bytes (≥ 1).
    pub(crate) max_len: usize,
}

impl Compiled {
    /// Replaces every match in `haystack`, appending to `out`.
    pub(crate) fn redact_into(&self, haystack: &[u8], out: &mut Vec<u8>) {
        self.redact_decided(haystack, true, out, &mut Vec::new());
    }

    /// Redacts the part of `buf` that is decided into `out` and returns its length: all of it when
    /// `last`, otherwise all but a tail of fewer than `max_len` bytes that could still begin a
    /// match continuing past `buf` (the caller prepends that tail to the next bytes).
    ///
    /// A match starting at `s` is final once `s + max_len` bytes are visible: no pattern reaching
    /// further can start there, and any match starting earlier was fully visible too
    /// (leftmost-longest). `windows` is scratch space, kept by the caller to avoid allocations.
    pub(crate) fn redact_decided(
        &self,
        buf: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        windows: &mut Vec<Window>,
    ) -> usize {
        let len = buf.len();
        let mut pos = 0;
        let mut undecided = len;
        self.filter.windows(buf, windows);
        'windows: for window in windows.iter() {
            let base = window.range.start;
            let single;
            let matches: &mut dyn Iterator<Item = (usize, usize, usize)> = match window.only {
                Some(id) => {
                    single = [(0, window.range.len(), id as usize)];
                    &mut single.into_iter()
                }
                None => &mut self
                    .automaton
                    .find_iter(&buf[window.range.clone()])
                    .map(|m| (m.start(), m.end(), m.pattern().as_usize())),
            };
            for (start, end, id) in matches {
                let (start, end) = (base + start, base + end);
                if !last && start + self.max_len > len {
                    undecided = start;
                    break 'windows;
                }
                out.extend_from_slice(&buf[pos..start]);
                out.extend_from_slice(&self.replacements[id]);
                pos = end;
            }
        }
        let decided = if last {
            len
        } else {
            // No match can start before `len - (max_len - 1)` without being fully visible.
            len.saturating_sub(self.max_len - 1).min(undecided).max(pos)
        };
        out.extend_from_slice(&buf[pos..decided]);
        decided
    }

    /// The plain automaton over the whole haystack: the reference the windowed path must equal.
    #[cfg(test)]
    pub(crate) fn reference_redact_into(&self, haystack: &[u8], out: &mut Vec<u8>) {
        let mut pos = 0;
        for m in self.automaton.find_iter(haystack) {
            out.extend_from_slice(&haystack[pos..m.start()]);
            out.extend_from_slice(&self.replacements[m.pattern().as_usize()]);
            pos = m.end();
        }
        out.extend_from_slice(&haystack[pos..]);
    }
}

/// Replaces secrets (and their base64, percent-encoded and JSON-escaped forms) with
/// `[REDACTED:<name>]`. Cheap to clone; shareable across threads.
#[derive(Clone)]
pub struct Redactor {
    compiled: Option<Arc<Compiled>>,
    names: Arc<Vec<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.names)
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// Builds a redactor for `(name, value)` pairs; refuses values shorter than [`MIN_SECRET_CHARS`].
    pub fn new(secrets: &[(&str, &str)]) -> Result<Self, RedactorError> {
        let mut patterns: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let mut names = Vec::with_capacity(secrets.len());
        for (index, (name, value)) in secrets.iter().enumerate() {
            let chars = value.chars().count();
            if chars < MIN_SECRET_CHARS {
                return Err(RedactorError::TooShort {
                    name: (*name).to_owned(),
                    chars,
                });
            }
            names.push((*name).to_owned());
            for form in secret_forms(value) {
                // Identical patterns (same value under two names, encodings equal to the value)
                // are kept once; the first secret's name wins.
                patterns.entry(form).or_insert(index);
            }
        }
        if patterns.is_empty() {
            return Ok(Self {
                compiled: None,
                names: Arc::new(names),
            });
        }
        let max_len = patterns.keys().map(Vec::len).max().unwrap_or(1);
        let (pattern_bytes, owners): (Vec<Vec<u8>>, Vec<usize>) = patterns.into_iter().unzip();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // A full DFA costs memory per pattern byte but scans fastest; secret sets are small.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&pattern_bytes)
            .or_else(|_| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&pattern_bytes)
            })
            .map_err(|source| RedactorError::Build { source })?;
        let filter = GramFilter::new(&pattern_bytes);
        let replacements = owners
            .iter()
            .map(|&i| format!("[REDACTED:{}]", names[i]).into_bytes())
            .collect();
        Ok(Self {
            compiled: Some(Arc::new(Compiled {
                automaton,
                filter,
                replacements,
                max_len,
            })),
            names: Arc::new(names),
        })
    }

    /// Builds a redactor from [`Secret`] values.
    pub fn from_secrets(secrets: &[Secret]) -> Result<Self, RedactorError> {
        let pairs: Vec<(&str, &str)> = secrets.iter().map(|s| (s.name(), s.expose())).collect();
        Self::new(&pairs)
    }

    /// A redactor that changes nothing (no secrets in play).
    pub fn empty() -> Self {
        Self {
            compiled: None,
            names: Arc::new(Vec::new()),
        }
    }

    /// Names of the secrets it redacts.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Longest pattern in bytes; a [`StreamRedactor`] holds back at most one byte less.
    pub fn longest_pattern(&self) -> usize {
        self.compiled.as_ref().map_or(0, |c| c.max_len)
    }

    /// A streaming redactor for one byte stream.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor::new(self.compiled.clone())
    }

    /// Redacts a complete byte string.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.compiled {
            Some(c) => {
                let mut out = Vec::with_capacity(bytes.len());
                c.redact_into(bytes, &mut out);
                out
            }
            None => bytes.to_vec(),
        }
    }

    /// Redacts a string.
    pub fn redact_str(&self, text: &str) -> String {
        // Patterns are whole UTF-8 strings, so matches start and end on character boundaries
        // and the result stays valid UTF-8; the lossy path is only a guard.
        match String::from_utf8(self.redact_bytes(text.as_bytes())) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// Redacts every string (and object key) in a JSON value.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact_str(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact_str(k), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Every byte form in which `value` may show up in output.
///
/// For multi-line values (PEM keys, kubeconfigs) we also match the CRLF variant of the whole value
/// and each of its lines on its own: tools often re-indent or re-wrap multi-line values (terraform
/// plans, YAML dumps), which would otherwise leak the value line by line.
fn secret_forms(value: &str) -> Vec<Vec<u8>> {
    let mut wholes = vec![value.to_owned()];
    if value.contains('\n') {
        if !value.contains("\r\n") {
            wholes.push(value.replace('\n', "\r\n"));
        }
        for line in value.lines() {
            let line = line.trim();
            if line.chars().count() >= MIN_SECRET_CHARS {
                wholes.push(line.to_owned());
            }
        }
    }
    let mut forms = Vec::new();
    for whole in &wholes {
        forms.push(whole.as_bytes().to_vec());
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(whole).into_bytes());
        }
        forms.extend(embedded_base64_cores(whole.as_bytes()));
        let percent = utf8_percent_encode(whole, NOT_UNRESERVED).to_string();
        forms.push(lowercase_percent_hex(&percent).into_bytes());
        forms.push(percent.into_bytes());
        forms.push(json_escaped(whole).into_bytes());
    }
    forms
}

/// The base64 text that encodes `value` wherever it sits inside a longer encoded text
/// (`user:password` in a basic-auth header, a token inside an encoded config): for each of the
/// three byte offsets modulo 3, the characters that depend on `value`'s bytes only. Cores shorter
/// than [`MIN_BASE64_CORE`] are skipped: they would redact unrelated text.
fn embedded_base64_cores(value: &[u8]) -> Vec<Vec<u8>> {
    let mut cores = Vec::new();
    for shift in 0..3usize {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(value);
        // Characters of the first group that mix in the unknown preceding bytes.
        let skip = [0, 2, 3][shift];
        // Only complete 3-byte groups: a trailing partial group mixes in the bytes that follow.
        let end = shifted.len() / 3 * 4;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&shifted).into_bytes();
            if end >= skip + MIN_BASE64_CORE && end <= encoded.len() {
                let core = encoded[skip..end].to_vec();
                if !cores.contains(&core) {
                    cores.push(core);
                }
            }
        }
    }
    cores
}

/// Shortest embedded-base64 core worth matching (6 bytes of secret).
const MIN_BASE64_CORE: usize = 8;

/// `serde_json`'s escaping of `s` without the surrounding quotes.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// `%2F` → `%2f`: some encoders emit lowercase hex digits.
fn lowercase_percent_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_percent = 0;
    for c in s.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_cover_encodings() {
        let forms = secret_forms("a/b c\"d");
        let has = |s: &str| forms.iter().any(|f| f == s.as_bytes());
        assert!(has("a/b c\"d"));
        assert!(has(&STANDARD.encode("a/b c\"d")));
        assert!(has("a%2Fb%20c%22d"));
        assert!(has("a%2fb%20c%22d"));
        assert!(has("a/b c\\\"d"));
    }

    #[test]
    fn base64_of_a_secret_inside_a_longer_text_is_redacted_at_every_offset() {
        let redactor = Redactor::new(&[("pw", "hunter2-correct-horse")]).unwrap();
        for prefix in ["", "a", "ab", "user:", "admin:"] {
            for suffix in ["", "x", "@host:5432/db"] {
                let plain = format!("{prefix}hunter2-correct-horse{suffix}");
                for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                    let encoded = engine.encode(&plain);
                    let out = redactor.redact_str(&format!("Authorization: Basic {encoded}"));
                    assert!(out.contains("[REDACTED:pw]"), "{prefix}|{suffix}: {out}");
                    // What is left cannot decode back to the secret.
                    assert!(!out.contains(&encoded), "{out}");
                }
            }
        }
    }

    #[test]
    fn json_escape_matches_serde() {
        assert_eq!(json_escaped("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\u0001");
    }

    mod windowed_equals_reference {
        use proptest::prelude::*;

        use super::super::*;

        /// Stresses the prefilter: overlapping secrets (one a prefix of another), a 6-character
        /// one, special characters (percent/JSON/base64 forms differ), a repetitive one (grams at
        /// many offsets: the wide-window path) and a multi-line one (per-line patterns).
        const SECRETS: [(&str, &str); 7] = [
            ("short", "abc123"),
            ("gamma", "gamma-gamma-gamma"),
            ("gamma_long", "gamma-gamma-gamma-gamma-42"),
            ("special", "p@ss/w+rd=\"q\\ %x"),
            ("repeat", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
            (
                "pem",
                "-----BEGIN KEY-----\nMIIBOgIBAAJBAK\nzzzzzz1\n-----END KEY-----",
            ),
            ("unicode", "pässwörd-ünïcode"),
        ];

        fn redactor() -> Redactor {
            Redactor::new(&SECRETS).unwrap()
        }

        /// Every encoded form of every secret, plus near misses: truncated at either end and with
        /// one byte changed.
        fn pieces() -> Vec<Vec<u8>> {
            let mut pieces = Vec::new();
            for (_, value) in SECRETS {
                for form in secret_forms(value) {
                    pieces.push(form[1..].to_vec());
                    pieces.push(form[..form.len() - 1].to_vec());
                    let mut changed = form.clone();
                    let mid = changed.len() / 2;
                    changed[mid] ^= 1;
                    pieces.push(changed);
                    pieces.push(form);
                }
            }
            pieces
        }

        fn text() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                3 => proptest::collection::vec(
                    proptest::sample::select(b"az-=%2F\\n\"Zga0".to_vec()),
                    0..12
                ),
                1 => proptest::collection::vec(any::<u8>(), 0..8),
                4 => proptest::sample::select(pieces()),
            ];
            proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            #[test]
            fn one_shot_and_streaming_equal_the_plain_automaton(
                text in text(),
                cuts in proptest::collection::vec(0usize..100_000, 0..16),
            ) {
                let r = redactor();
                let compiled = r.compiled.as_deref().unwrap();
                let mut reference = Vec::new();
                compiled.reference_redact_into(&text, &mut reference);
                prop_assert_eq!(&r.redact_bytes(&text), &reference);

                let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
                cuts.sort_unstable();
                let mut stream = r.stream();
                let mut streamed = Vec::new();
                let mut prev = 0;
                for cut in cuts.into_iter().chain([text.len()]) {
                    stream.push_into(&text[prev..cut], &mut streamed);
                    prop_assert!(stream.held_back() < r.longest_pattern());
                    prev = cut;
                }
                streamed.extend(stream.finish());
                prop_assert_eq!(&streamed, &reference);
            }
        }
    }
}

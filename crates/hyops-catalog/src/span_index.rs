//! Per-file index from a YAML path (`execution.profile`, `probes[1].http.url`) to the source span of
//! the key and the value, built by walking the YAML event stream once. Built lazily: only files
//! with a finding pay for it.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

use crate::diagnostic::Span;

/// Stop indexing past this depth or event count; hostile files are rejected by the parser anyway.
const MAX_DEPTH: usize = 128;
const MAX_EVENTS: usize = 2_000_000;

/// Where a node sits in the file.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    key: Option<Span>,
    value: Option<Span>,
    value_is_container: bool,
}

/// YAML path -> spans of one file.
#[derive(Debug, Default)]
pub struct SpanIndex {
    entries: HashMap<String, Entry>,
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Span)>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

/// Joins a mapping key onto a path: `a` + `b` -> `a.b`.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Joins a sequence index onto a path: `a` + 1 -> `a[1]`.
pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

fn to_span(span: &serde_saphyr::granit_parser::Span) -> Option<Span> {
    let range = span.byte_range()?;
    Some(Span::new(
        range.start,
        range.end.saturating_sub(range.start),
    ))
}

impl SpanIndex {
    /// Indexes `text`. Malformed YAML yields a partial index (whatever came before the error).
    pub fn build(text: &str) -> Self {
        let mut index = SpanIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        // Comments are not nodes; not capturing their text saves work on commented files.
        let mut options = serde_saphyr::granit_parser::Options::default();
        options.emit_comments = false;
        let mut parser = Parser::new_from_str_with_options(text, options);
        let mut events = 0usize;
        while let Some(Ok((event, span))) = parser.next_event() {
            events += 1;
            if events > MAX_EVENTS {
                break;
            }
            let is_node = matches!(
                event,
                Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::MappingStart(..)
                    | Event::Alias(..)
            );
            if is_node {
                // A scalar in key position of a mapping is a key, not a node with a path.
                if let (Some(Frame::Map { key, .. }), Event::Scalar(text, ..)) =
                    (stack.last_mut(), &event)
                    && key.is_none()
                {
                    *key = Some((text.to_string(), to_span(&span).unwrap_or(Span::new(0, 0))));
                    continue;
                }
                let (path, key_span) = match stack.last_mut() {
                    None => (String::new(), None),
                    Some(Frame::Map { path, key }) => match key.take() {
                        Some((k, ks)) => (join_key(path, &k), Some(ks)),
                        // A complex (non-scalar) key: index it under a placeholder.
                        None => (join_key(path, "?"), None),
                    },
                    Some(Frame::Seq { path, index }) => {
                        let p = join_index(path, *index);
                        *index += 1;
                        (p, None)
                    }
                };
                let container = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
                index.entries.insert(
                    path.clone(),
                    Entry {
                        key: key_span,
                        value: to_span(&span),
                        value_is_container: container,
                    },
                );
                if container {
                    if stack.len() >= MAX_DEPTH {
                        break;
                    }
                    stack.push(match event {
                        Event::MappingStart(..) => Frame::Map { path, key: None },
                        _ => Frame::Seq { path, index: 0 },
                    });
                }
            } else if matches!(event, Event::SequenceEnd | Event::MappingEnd) {
                stack.pop();
            }
        }
        index
    }

    /// The best span for pointing at `path`: the scalar value itself; for a mapping or sequence,
    /// its key; for an absent path, the nearest present ancestor.
    pub fn locate(&self, path: &str) -> Option<Span> {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                let best = if e.value_is_container {
                    e.key.or(e.value)
                } else {
                    e.value.or(e.key)
                };
                if best.is_some() {
                    return best;
                }
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// The span of the key naming `path` (e.g. the `port` in `inputs.port`), else [`Self::locate`].
    pub fn locate_key(&self, path: &str) -> Option<Span> {
        self.entries
            .get(path)
            .and_then(|e| e.key)
            .or_else(|| self.locate(path))
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> ``.
fn parent_path(p: &str) -> &str {
    match p.rfind(['.', '[']) {
        Some(i) => &p[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_sequences_and_flow_maps() {
        let text = "# head\na: 1 # trailing\nprobes:\n  # inside\n  - name: x\n    http: { url: \"u\" }\ninputs:\n  web/site:\n    port: 8\n";
        let idx = SpanIndex::build(text);
        let at = |p: &str| {
            let s = idx.locate(p).unwrap();
            &text[s.offset..s.offset + s.len]
        };
        assert_eq!(at("a"), "1");
        assert_eq!(at("probes[0].name"), "x");
        assert_eq!(at("probes[0].http.url"), "\"u\"");
        assert_eq!(at("inputs.web/site.port"), "8");
        assert_eq!(at("inputs.web/site"), "web/site");
        let k = idx.locate_key("inputs.web/site.port").unwrap();
        assert_eq!(&text[k.offset..k.offset + k.len], "port");
        // Missing paths fall back to the nearest ancestor.
        assert_eq!(at("probes[0].http.nope"), "http");
    }
}

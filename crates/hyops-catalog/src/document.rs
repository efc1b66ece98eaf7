//! A parsed catalog document together with its file, and lazy access to the spans of its values.

use std::sync::OnceLock;

use crate::diagnostic::{Diagnostic, Span};
use crate::source_file::SourceFile;
use crate::span_index::SpanIndex;

/// One parsed document: the wire value, the file it came from, and (on demand) its span index.
#[derive(Debug)]
pub struct Doc<T> {
    /// The parsed wire value.
    pub value: T,
    /// The file (catalog-relative path and text).
    pub file: SourceFile,
    spans: OnceLock<SpanIndex>,
}

impl<T> Doc<T> {
    /// Wraps a parsed value.
    pub fn new(value: T, file: SourceFile) -> Self {
        Self {
            value,
            file,
            spans: OnceLock::new(),
        }
    }

    /// The span index, built on first use.
    pub fn spans(&self) -> &SpanIndex {
        self.spans.get_or_init(|| SpanIndex::build(&self.file.text))
    }

    /// Catalog-relative path.
    pub fn path(&self) -> &str {
        &self.file.rel_path
    }

    /// Span of the value at a YAML path (or its nearest ancestor; else the file start).
    pub fn span_of(&self, path: &str) -> Span {
        self.spans().locate(path).unwrap_or(Span::new(0, 0))
    }

    /// Span of the key naming a YAML path.
    pub fn key_span_of(&self, path: &str) -> Span {
        self.spans().locate_key(path).unwrap_or(Span::new(0, 0))
    }

    /// `file:line:col` of the value at a YAML path.
    pub fn location_of(&self, path: &str) -> String {
        let (line, col) = self.file.line_col(self.span_of(path).offset);
        format!("{}:{line}:{col}", self.file.rel_path)
    }

    /// An error pointing at the value at `path`.
    pub fn error_at(
        &self,
        code: &'static str,
        message: impl Into<String>,
        path: &str,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error(code, message).at(&self.file, self.span_of(path), label)
    }

    /// An error pointing at the key naming `path`.
    pub fn error_at_key(
        &self,
        code: &'static str,
        message: impl Into<String>,
        path: &str,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::error(code, message).at(&self.file, self.key_span_of(path), label)
    }
}

//! The catalog diagnostic: code, severity, catalog-relative location, source snippet, help; rendered
//! rustc-style through miette or as JSON.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use crate::source_file::SourceFile;

/// Lines longer than this are not shown as snippets.
const MAX_SNIPPET_LINE: usize = 400;

/// How bad a diagnostic is. Errors fail `validate` (exit 1); warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something to fix soon; does not fail validation.
    Warning,
    /// The catalog is invalid.
    Error,
}

/// A byte range in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// Length in bytes (0 is allowed: a point).
    pub len: usize,
}

impl Span {
    /// A span of `len` bytes at `offset`.
    pub fn new(offset: usize, len: usize) -> Self {
        Self { offset, len }
    }
}

/// One finding about the catalog (or about a resolution request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable machine code, `hyops::catalog::<name>`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// Lowercase message saying what is wrong and what was expected.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Catalog-relative file path, when the finding is about a file.
    pub file: Option<String>,
    /// 1-based line (1 when the finding is about a whole file).
    pub line: usize,
    /// 1-based column in characters.
    pub col: usize,
    /// Byte span of the offending text, when known.
    pub span: Option<Span>,
    /// Short text shown under the caret.
    pub label: Option<String>,
    source: Option<Excerpt>,
}

/// The lines of a file around one finding, at their place in the file. miette reads the snippet
/// from these (a whole-file source is scanned from its first byte for every finding, which made
/// rendering thousands of findings in one big file quadratic: 6,000 took 8.5 s) and still shows
/// the file's own line numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Excerpt {
    name: String,
    text: Arc<str>,
    /// Byte range of the lines in `text`.
    start: usize,
    end: usize,
    /// 0-based line number of `start`.
    first_line: usize,
}

/// Lines shown around a finding's own (miette shows one; the excerpt keeps a few more).
const EXCERPT_MARGIN: usize = 3;

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let lines = self.text.get(self.start..self.end).unwrap_or_default();
        let local = SourceSpan::new(span.offset().saturating_sub(self.start).into(), span.len());
        let read = lines.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            read.data(),
            SourceSpan::new(
                (read.span().offset() + self.start).into(),
                read.span().len(),
            ),
            read.line() + self.first_line,
            read.column(),
            read.line_count(),
        )))
    }
}

impl Diagnostic {
    /// A new error with no location yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    /// A new warning with no location yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            severity,
            message: message.into(),
            help: None,
            file: None,
            line: 0,
            col: 0,
            span: None,
            label: None,
            source: None,
        }
    }

    /// Points at a whole file (line 1, column 1, no snippet).
    pub fn with_file(mut self, rel_path: &str) -> Self {
        self.file = Some(rel_path.to_string());
        self.line = 1;
        self.col = 1;
        self
    }

    /// Points at `span` in `file`, with a label under the caret.
    pub fn at(mut self, file: &SourceFile, span: Span, label: impl Into<String>) -> Self {
        let offset = span.offset.min(file.text.len());
        let len = span.len.min(file.text.len() - offset);
        let (line, col) = file.line_col(offset);
        self.file = Some(file.rel_path.clone());
        self.line = line;
        self.col = col;
        self.span = Some(Span::new(offset, len));
        self.label = Some(label.into());
        // A snippet of a huge line (generated or hostile input) helps nobody; keep the location.
        let text = &file.text;
        let line_start = text
            .get(..offset)
            .map_or(0, |t| t.rfind('\n').map_or(0, |i| i + 1));
        let line_end = text
            .get(offset..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |i| offset + i);
        if text.is_char_boundary(offset) && line_end - line_start <= MAX_SNIPPET_LINE {
            let (start, end, first_line) = file.line_window(offset, offset + len, EXCERPT_MARGIN);
            self.source = Some(Excerpt {
                name: file.rel_path.clone(),
                text: text.clone(),
                start,
                end,
                first_line,
            });
        }
        self
    }

    /// Adds the `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col`, or `file`, or nothing.
    pub fn location(&self) -> Option<String> {
        self.file
            .as_ref()
            .map(|f| format!("{f}:{}:{}", self.line, self.col))
    }

    /// The JSON form used by `--output json`.
    pub fn to_json(&self) -> DiagnosticJson {
        DiagnosticJson {
            code: self.code.to_string(),
            severity: self.severity,
            message: self.message.clone(),
            help: self.help.clone(),
            file: self.file.clone(),
            line: self.file.as_ref().map(|_| self.line),
            col: self.file.as_ref().map(|_| self.col),
            offset: self.span.map(|s| s.offset),
            len: self.span.map(|s| s.len),
        }
    }

    /// The public error record (`hyops_contract::ErrorResponse`) for APIs.
    pub fn to_error_response(&self) -> hyops_contract::ErrorResponse {
        let mut details = std::collections::BTreeMap::new();
        details.insert(
            "severity".to_string(),
            serde_json::Value::String(
                match self.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                }
                .to_string(),
            ),
        );
        hyops_contract::ErrorResponse {
            code: self.code.to_string(),
            message: self.message.clone(),
            help: self.help.clone(),
            location: self.location(),
            details,
        }
    }
}

/// JSON form of a [`Diagnostic`]: stable field names for machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticJson {
    /// Stable code.
    pub code: String,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Catalog-relative file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<usize>,
    /// Byte offset of the span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Byte length of the span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<usize>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        // Without a snippet miette shows no location, so the message itself says where.
        if self.source.is_none()
            && let Some(loc) = self.location()
        {
            write!(f, "\n  --> {loc}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            self.label.clone(),
            span.offset,
            span.len,
        ))))
    }
}

/// Renders a diagnostic rustc-style as plain text: no colour, ASCII art, 100 columns wide, with the
/// catalog-relative `file:line:col` in the snippet header.
pub fn render_text(diag: &Diagnostic) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::none())
        .with_width(100)
        .with_links(false)
        .with_urls(false);
    let mut out = String::new();
    if handler.render_report(&mut out, diag).is_err() {
        // Rendering into a String cannot fail on I/O; fall back to the bare facts anyway.
        out = format!("{}: {}", diag.code, diag.message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_renders_like_the_whole_file_with_the_files_line_numbers() {
        let text: String = (1..=5000).map(|i| format!("key{i}: value{i}\n")).collect();
        let file = SourceFile::new("big.yaml", text.clone());
        let offset = text.find("key4000:").unwrap();
        let d = Diagnostic::error("hyops::catalog::test", "something is wrong").at(
            &file,
            Span::new(offset, 7),
            "here",
        );
        let excerpt = d.source.clone().unwrap();
        assert!(excerpt.end - excerpt.start < 200, "{excerpt:?}");
        let mut whole = d.clone();
        whole.source = Some(Excerpt {
            start: 0,
            end: text.len(),
            first_line: 0,
            ..excerpt
        });
        let rendered = render_text(&d);
        assert_eq!(rendered, render_text(&whole));
        assert!(rendered.contains("[big.yaml:4000:1]"), "{rendered}");
        assert!(
            rendered.contains(" 3999 | key3999: value3999"),
            "{rendered}"
        );
        // The last line of a file without a trailing newline, and the first line.
        let short = SourceFile::new("s.yaml", "a: 1\nb: 2");
        for (at, line) in [(8, "[s.yaml:2:4]"), (0, "[s.yaml:1:1]")] {
            let d =
                Diagnostic::error("hyops::catalog::test", "x").at(&short, Span::new(at, 1), "l");
            assert!(render_text(&d).contains(line), "{}", render_text(&d));
        }
    }
}

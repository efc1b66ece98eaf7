//! One catalog file read into memory: catalog-relative path, UTF-8 text, line index.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::codes;
use crate::diagnostic::{Diagnostic, Span};

/// Files larger than this are refused before parsing (a catalog document is a few KiB).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A file's text and where it lives, relative to the catalog root (`/` separators).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Catalog-relative path, e.g. `modules/web/site/module.yaml`.
    pub rel_path: String,
    /// The whole text.
    pub text: Arc<str>,
    /// Byte offset of each line start; built on first use (only files with a finding need it).
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    /// Wraps text already in memory.
    pub fn new(rel_path: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self {
            rel_path: rel_path.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
            starts
        })
    }

    /// Reads `abs` (which is `rel_path` under the root), refusing oversized and non-UTF-8 files.
    pub fn read(abs: &Path, rel_path: &str) -> Result<Self, Box<Diagnostic>> {
        use std::io::Read;
        // One open, one fstat, one read: the size cap is checked before reading anything.
        let mut f = std::fs::File::open(abs).map_err(|e| io_diagnostic(rel_path, &e))?;
        let len = f.metadata().map_err(|e| io_diagnostic(rel_path, &e))?.len();
        if len > MAX_FILE_BYTES {
            return Err(Box::new(
                Diagnostic::error(
                    codes::FILE_TOO_LARGE,
                    format!(
                        "file is {len} bytes, more than the limit of {MAX_FILE_BYTES} bytes (4 MiB)"
                    ),
                )
                .with_file(rel_path)
                .with_help(
                    "catalog documents are small; split the file or remove generated content",
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0) + 1);
        // `take` keeps a file that grows while being read within the cap.
        (&mut f)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_diagnostic(rel_path, &e))?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(rel_path, text)),
            Err(err) => {
                let bad = err.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(err.as_bytes()).into_owned();
                let file = Self::new(rel_path, lossy);
                Err(Box::new(
                    Diagnostic::error(
                        codes::NOT_UTF8,
                        format!("file is not valid UTF-8 (first bad byte at offset {bad})"),
                    )
                    .at(&file, Span::new(bad, 1), "invalid UTF-8 here")
                    .with_help("save the file as UTF-8"),
                ))
            }
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    /// The whole lines from `margin` lines before the one holding byte `from` to `margin` lines
    /// after the one holding byte `to`: `(start byte, end byte, 0-based line of start)`.
    pub(crate) fn line_window(
        &self,
        from: usize,
        to: usize,
        margin: usize,
    ) -> (usize, usize, usize) {
        let starts = self.line_starts();
        let line_of = |offset: usize| {
            starts
                .partition_point(|&s| s <= offset.min(self.text.len()))
                .max(1)
                - 1
        };
        let first = line_of(from).saturating_sub(margin);
        let last = line_of(to).saturating_add(margin);
        let end = starts.get(last + 1).map_or(self.text.len(), |&s| s);
        (starts[first], end, first)
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line = line_starts.partition_point(|&s| s <= offset).max(1);
        let start = line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, col)
    }

    /// Byte offset of a 1-based (line, column), clamped to the text.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts().get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(col.saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| start + i)
    }
}

fn io_diagnostic(rel_path: &str, err: &std::io::Error) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(codes::IO, format!("cannot read file: {err}"))
            .with_file(rel_path)
            .with_help("check the file's permissions"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_and_offset_round_trip() {
        let f = SourceFile::new("a.yaml", "ab\ncdé\nx");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.offset_of(2, 3), 5);
        assert_eq!(f.offset_of(3, 1), 8);
    }
}

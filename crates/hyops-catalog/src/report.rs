//! The validation report: every finding of one pass, with counts and renderings.

use std::path::Path;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, DiagnosticJson, render_text};
use crate::loader::{Loaded, load};

/// Every finding of one validation pass, sorted by file and position.
#[derive(Debug, Default)]
pub struct Report {
    /// The findings.
    pub diagnostics: Vec<Diagnostic>,
    /// How many documents were read.
    pub files_checked: usize,
}

/// JSON form of a report (`hyops validate --output json`).
#[derive(Debug, Serialize)]
pub struct ReportJson {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Number of documents read.
    pub files: usize,
    /// Every finding.
    pub diagnostics: Vec<DiagnosticJson>,
}

impl Report {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// Whether any error was found.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// `N errors, M warnings in K files`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        format!(
            "{}, {} in {}",
            plural(self.error_count(), "error"),
            plural(self.warning_count(), "warning"),
            plural(self.files_checked, "file")
        )
    }

    /// Every diagnostic rendered rustc-style, then the summary line.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&render_text(d));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The JSON form.
    pub fn to_json(&self) -> ReportJson {
        ReportJson {
            errors: self.error_count(),
            warnings: self.warning_count(),
            files: self.files_checked,
            diagnostics: self.diagnostics.iter().map(Diagnostic::to_json).collect(),
        }
    }
}

/// Loads and checks every document under `root`; collects every finding.
pub fn validate(root: &Path) -> Report {
    check(load(root)).1
}

/// Runs every semantic check over a loaded catalog. Returns the catalog (for resolving without
/// reading it again) and the full report (load findings included).
pub fn check(loaded: Loaded) -> (Catalog, Report) {
    let Loaded {
        catalog,
        mut diagnostics,
    } = loaded;
    diagnostics.extend(crate::checks::check_all(&catalog));
    // Stable order: by file, then position; findings without a file first.
    diagnostics.sort_by(|a, b| {
        (a.file.as_deref(), a.line, a.col, a.code).cmp(&(b.file.as_deref(), b.line, b.col, b.code))
    });
    let report = Report {
        diagnostics,
        files_checked: catalog.files_read,
    };
    (catalog, report)
}

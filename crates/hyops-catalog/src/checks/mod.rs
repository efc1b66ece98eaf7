//! Every semantic check of a loaded catalog, run in one pass that collects all findings.

mod documents;
pub(crate) mod environments;
pub(crate) mod inputs;
mod lint;
mod packs;
pub(crate) mod references;
mod stacks;
mod templates;

use std::path::PathBuf;

use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::input_schema::SchemaCache;

/// Shared state of one validation pass.
pub(crate) struct Checker<'a> {
    pub catalog: &'a Catalog,
    pub schemas: SchemaCache,
    pub canonical_root: PathBuf,
    pub out: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }
}

/// Runs every check; returns the findings in a stable order (by file, then position).
pub(crate) fn check_all(catalog: &Catalog) -> Vec<Diagnostic> {
    let canonical_root =
        std::fs::canonicalize(&catalog.root).unwrap_or_else(|_| catalog.root.clone());
    let mut c = Checker {
        catalog,
        schemas: SchemaCache::default(),
        canonical_root,
        out: Vec::new(),
    };
    documents::check(&mut c);
    references::check(&mut c);
    inputs::check(&mut c);
    lint::check(&mut c);
    templates::check(&mut c);
    packs::check(&mut c);
    environments::check(&mut c);
    stacks::check(&mut c);
    c.out
}

//! Every semantic check of a loaded catalog, run in one pass that collects all findings.

mod ansible;
mod documents;
pub(crate) mod environments;
pub(crate) mod inputs;
mod lint;
mod packer;
mod packer_vars;
mod packs;
pub(crate) mod references;
mod settings;
mod sources;
mod stack_cycles;
mod stacks;
mod templates;
mod terraform;

use std::path::Path;

use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::input_schema::SchemaCache;
use crate::parallel::map_ordered;

/// Shared state of one validation pass (one per thread while modules are checked in parallel).
pub(crate) struct Checker<'a> {
    pub catalog: &'a Catalog,
    pub schemas: &'a SchemaCache,
    pub canonical_root: &'a Path,
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
    let schemas = SchemaCache::default();
    let duplicate_ids = documents::duplicate_ids(catalog);
    // Modules are checked on every core (when there are enough of them). Each module's findings keep the order of the sequential
    // pass (documents, references, inputs, lint, templates); the report sorts findings by file and
    // position with a stable sort, and findings of one file only ever tie with findings of the same
    // file, so the report is identical to checking every module phase by phase on one thread.
    let per_module: Vec<Vec<Diagnostic>> =
        map_ordered(&catalog.modules, catalog.modules.len(), |(folder_id, m)| {
            let mut c = Checker {
                catalog,
                schemas: &schemas,
                canonical_root: &canonical_root,
                out: Vec::new(),
            };
            let first = duplicate_ids.get(folder_id.as_str()).copied();
            documents::check_module(&mut c, folder_id, m, first);
            references::check_module(&mut c, m);
            inputs::check_module(&mut c, m);
            lint::check_module(&mut c, m);
            templates::check_module(&mut c, m);
            c.out
        });
    let mut c = Checker {
        catalog,
        schemas: &schemas,
        canonical_root: &canonical_root,
        out: per_module.into_iter().flatten().collect(),
    };
    documents::check_others(&mut c);
    packs::check(&mut c);
    packer::check(&mut c);
    settings::check(&mut c);
    sources::check(&mut c);
    terraform::check(&mut c);
    ansible::check(&mut c);
    environments::check(&mut c);
    stacks::check(&mut c);
    c.out
}

//! The loaded catalog: every document that parsed, keyed by where it lives.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hyops_contract::{Environment, Module, Pack, Profile, Stack};

use crate::document::Doc;

/// Every document of a catalog that parsed. Documents that failed to parse are absent (their
/// diagnostics are in the load report).
#[derive(Debug, Default)]
pub struct Catalog {
    /// The root directory as given by the caller. Never copied into a RunRequest or a message.
    pub root: PathBuf,
    /// `hyops.yaml`.
    pub manifest: Option<Doc<hyops_contract::Catalog>>,
    /// Module folder path under `modules/` (which must equal the document's `id`) -> module.
    pub modules: BTreeMap<String, Doc<Module>>,
    /// File stem under `profiles/` -> profile.
    pub profiles: BTreeMap<String, Doc<Profile>>,
    /// (`<driver>` folder, `<id>` folder) under `packs/` -> pack.
    pub packs: BTreeMap<(String, String), Doc<Pack>>,
    /// File stem under `environments/` -> environment.
    pub environments: BTreeMap<String, Doc<Environment>>,
    /// File stem under `stacks/` -> stack.
    pub stacks: BTreeMap<String, Doc<Stack>>,
    /// `hyops.lock` (the commit each source is pinned to), when present and valid.
    pub lock: Option<hyops_contract::Lock>,
    /// Number of documents read (parsed or not).
    pub files_read: usize,
    /// Catalog-relative paths of documents that exist but failed to load. References to them are
    /// not reported again as "unknown": the load error already explains them.
    pub broken: BTreeSet<String>,
}

impl Catalog {
    /// Whether the document at `rel_path` exists but failed to load.
    pub fn is_broken(&self, rel_path: &str) -> bool {
        self.broken.contains(rel_path)
    }

    /// The pack at `packs/<driver>/<id>/`.
    pub fn pack(&self, driver: &str, id: &str) -> Option<&Doc<Pack>> {
        self.packs.get(&(driver.to_string(), id.to_string()))
    }
}

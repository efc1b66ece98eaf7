//! Loading a catalog from an explicit root: walk the known folders (sorted), read each document,
//! parse it into its wire type, and report what does not fit. Never looks for `.git`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::catalog::Catalog;
use crate::codes;
use crate::diagnostic::{Diagnostic, Span};
use crate::document::Doc;
use crate::parallel::map_ordered;
use crate::source_file::SourceFile;
use crate::span_index::SpanIndex;
use crate::walk::{self, Found};
use crate::yaml;

/// The result of loading: what parsed, and every problem found while loading.
#[derive(Debug)]
pub struct Loaded {
    /// Documents that parsed.
    pub catalog: Catalog,
    /// Problems found while loading (I/O, YAML, schema, layout).
    pub diagnostics: Vec<Diagnostic>,
}

/// Just enough of a document to tell a wrong `kind` or `apiVersion` from other schema errors.
#[derive(Deserialize)]
struct Header {
    #[serde(rename = "apiVersion")]
    api_version: Option<serde_json::Value>,
    kind: Option<serde_json::Value>,
}

struct Loader {
    root: PathBuf,
    canonical_root: PathBuf,
    catalog: Catalog,
    diagnostics: Vec<Diagnostic>,
    /// (module id, catalog-relative path) found by the walk, parsed later in parallel.
    pending_modules: Vec<(String, String)>,
}

/// (module id, catalog-relative path, parse result).
type ParsedModule = (
    String,
    String,
    Result<Doc<hyops_contract::Module>, Box<Diagnostic>>,
);

/// Loads every document under `root`. Never fails as a whole: a missing or unreadable root is a
/// diagnostic like any other.
pub fn load(root: &Path) -> Loaded {
    let canonical_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut loader = Loader {
        root: root.to_path_buf(),
        canonical_root,
        catalog: Catalog {
            root: root.to_path_buf(),
            ..Catalog::default()
        },
        diagnostics: Vec::new(),
        pending_modules: Vec::new(),
    };
    loader.load_manifest();
    loader.load_lock();
    loader.walk("modules", Loader::on_module_file);
    loader.parse_pending_modules();
    loader.walk("profiles", |l, rel, depth| {
        l.on_flat_file(rel, depth, "profiles", "Profile", |l, stem, doc| {
            l.catalog.profiles.insert(stem, doc);
        })
    });
    loader.walk("packs", Loader::on_pack_file);
    loader.walk("environments", |l, rel, depth| {
        l.on_flat_file(rel, depth, "environments", "Environment", |l, stem, doc| {
            l.catalog.environments.insert(stem, doc);
        })
    });
    loader.walk("stacks", |l, rel, depth| {
        l.on_flat_file(rel, depth, "stacks", "Stack", |l, stem, doc| {
            l.catalog.stacks.insert(stem, doc);
        })
    });
    Loaded {
        catalog: loader.catalog,
        diagnostics: loader.diagnostics,
    }
}

/// Checks that `abs` (a symlink) resolves inside the root; returns the diagnostic if not.
pub(crate) fn check_symlink(canonical_root: &Path, abs: &Path, rel: &str) -> Option<Diagnostic> {
    match std::fs::canonicalize(abs) {
        Ok(target) if target.starts_with(canonical_root) => None,
        Ok(_) => Some(
            Diagnostic::error(
                codes::PATH_ESCAPES_ROOT,
                "symlink points outside the catalog root",
            )
            .with_file(rel)
            .with_help("copy the target into the catalog; a catalog must work as a tarball"),
        ),
        Err(_) => Some(
            Diagnostic::error(codes::PATH_ESCAPES_ROOT, "symlink target does not exist")
                .with_file(rel)
                .with_help("remove the dangling symlink or point it at a file inside the catalog"),
        ),
    }
}

impl Loader {
    fn load_manifest(&mut self) {
        let abs = self.root.join("hyops.yaml");
        if std::fs::symlink_metadata(&abs).is_err() {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::MISSING_CATALOG_FILE,
                    "the catalog root has no `hyops.yaml`",
                )
                .with_file("hyops.yaml")
                .with_help("create it with `apiVersion: hyops/v1`, `kind: Catalog` and a `name`, or point --catalog at the right folder"),
            );
            return;
        }
        if let Some(doc) = self.read_doc(&abs, "hyops.yaml", "Catalog") {
            self.catalog.manifest = Some(doc);
        }
    }

    /// `hyops.lock`, if present: JSON written by `hyops sources sync` (its schema is
    /// `hyops_contract::Lock`). Resolution reads the pinned commits from it.
    fn load_lock(&mut self) {
        const LOCK: &str = "hyops.lock";
        let abs = self.root.join(LOCK);
        if std::fs::symlink_metadata(&abs).is_err() {
            return;
        }
        let file = match SourceFile::read(&abs, LOCK) {
            Ok(file) => file,
            Err(d) => return self.diagnostics.push(*d),
        };
        match serde_json::from_str::<hyops_contract::Lock>(&file.text) {
            Ok(lock) => self.catalog.lock = Some(lock),
            Err(e) => {
                let offset = file.offset_of(e.line().max(1), e.column().max(1));
                self.diagnostics.push(
                    Diagnostic::error(
                        codes::LOCK_INVALID,
                        format!("hyops.lock is not a valid lock file: {}", json_problem(&e)),
                    )
                    .at(&file, Span::new(offset, 0), "here")
                    .with_help("hyops.lock is written by `hyops sources sync`: restore it from version control, or delete it and run `hyops sources sync` to pin every source again"),
                );
            }
        }
    }

    /// Walks `root/<folder>` in sorted order without following symlinks, calling `on_file` with the
    /// catalog-relative path and depth (1 = directly inside the folder) of every file.
    fn walk(&mut self, folder: &str, mut on_file: impl FnMut(&mut Self, &str, usize)) {
        for found in walk::walk(&self.root, &self.canonical_root, folder) {
            match found {
                Found::File { rel, depth } => on_file(self, &rel, depth),
                Found::Problem(d) => self.diagnostics.push(d),
            }
        }
    }

    fn ignored_yml(&mut self, rel: &str, wanted: &str) {
        self.diagnostics.push(
            Diagnostic::warning(
                codes::IGNORED_FILE,
                format!("file is ignored: hyops reads `{wanted}`, not `.yml`"),
            )
            .with_file(rel)
            .with_help("rename the file to end in `.yaml`"),
        );
    }

    fn on_module_file(&mut self, rel: &str, _depth: usize) {
        let Some((dir, name)) = rel.rsplit_once('/') else {
            return;
        };
        if name == "module.yml" {
            self.ignored_yml(rel, "module.yaml");
            return;
        }
        if name != "module.yaml" {
            return;
        }
        let Some(id) = dir.strip_prefix("modules/") else {
            self.diagnostics.push(
                Diagnostic::error(
                    codes::NAME_MISMATCH,
                    "`module.yaml` directly in `modules/` has no module id",
                )
                .with_file(rel)
                .with_help("move it to `modules/<id>/module.yaml`"),
            );
            return;
        };
        self.pending_modules.push((id.to_string(), rel.to_string()));
    }

    fn on_pack_file(&mut self, rel: &str, depth: usize) {
        let parts: Vec<&str> = rel.split('/').collect();
        if depth == 3 && parts.len() == 4 && parts[3] == "pack.yml" {
            self.ignored_yml(rel, "pack.yaml");
            return;
        }
        if depth != 3 || parts.len() != 4 || parts[3] != "pack.yaml" {
            return;
        }
        let abs = self.root.join(rel);
        if let Some(doc) = self.read_doc::<hyops_contract::Pack>(&abs, rel, "Pack") {
            self.catalog
                .packs
                .insert((parts[1].to_string(), parts[2].to_string()), doc);
        }
    }

    fn on_flat_file<T: DeserializeOwned>(
        &mut self,
        rel: &str,
        depth: usize,
        folder: &str,
        kind: &str,
        insert: impl FnOnce(&mut Self, String, Doc<T>),
    ) {
        if depth != 1 {
            return;
        }
        let Some(name) = rel.strip_prefix(folder).and_then(|r| r.strip_prefix('/')) else {
            return;
        };
        if name.ends_with(".yml") {
            self.ignored_yml(rel, "<name>.yaml");
            return;
        }
        let Some(stem) = name.strip_suffix(".yaml") else {
            return;
        };
        let abs = self.root.join(rel);
        if let Some(doc) = self.read_doc::<T>(&abs, rel, kind) {
            insert(self, stem.to_string(), doc);
        }
    }

    /// Reads and parses one document; on failure records the most specific diagnostic.
    fn read_doc<T: DeserializeOwned>(
        &mut self,
        abs: &Path,
        rel: &str,
        kind: &str,
    ) -> Option<Doc<T>> {
        self.catalog.files_read += 1;
        match parse_file(abs, rel, kind) {
            Ok(doc) => Some(doc),
            Err(d) => {
                self.catalog.broken.insert(rel.to_string());
                self.diagnostics.push(*d);
                None
            }
        }
    }

    /// Parses the collected module files on every core, then records them in path order.
    fn parse_pending_modules(&mut self) {
        let pending = std::mem::take(&mut self.pending_modules);
        let root = &self.root;
        let len = pending.len();
        let parsed: Vec<ParsedModule> = map_ordered(pending, len, |(id, rel)| {
            let doc = parse_file(&root.join(&rel), &rel, "Module");
            (id, rel, doc)
        });
        for (id, rel, doc) in parsed {
            self.catalog.files_read += 1;
            match doc {
                Ok(doc) => {
                    self.catalog.modules.insert(id, doc);
                }
                Err(d) => {
                    self.catalog.broken.insert(rel);
                    self.diagnostics.push(*d);
                }
            }
        }
    }
}

/// Reads and parses one document (no shared state, so files parse in parallel).
fn parse_file<T: DeserializeOwned>(
    abs: &Path,
    rel: &str,
    kind: &str,
) -> Result<Doc<T>, Box<Diagnostic>> {
    let file = SourceFile::read(abs, rel)?;
    if yaml::is_blank(&file.text) {
        return Err(Box::new(
            Diagnostic::error(
                codes::EMPTY_DOCUMENT,
                format!("document is empty; expected a `kind: {kind}` document"),
            )
            .at(&file, Span::new(0, 0), "empty")
            .with_help(format!(
                "write `apiVersion: hyops/v1` and `kind: {kind}` with its fields, or delete the file"
            )),
        ));
    }
    match yaml::parse::<T>(&file) {
        Ok(value) => Ok(Doc::new(value, file)),
        Err(parse_err) => Err(header_diagnostic(&file, kind).map_or(parse_err, Box::new)),
    }
}

/// A wrong `kind` or `apiVersion` explains a schema failure better than serde's message.
fn header_diagnostic(file: &SourceFile, expected_kind: &str) -> Option<Diagnostic> {
    let header: Header =
        serde_saphyr::from_str_with_options(&file.text, yaml::parse_options()).ok()?;
    let spans = SpanIndex::build(&file.text);
    let at = |path: &str| spans.locate(path).unwrap_or(Span::new(0, 0));
    match &header.kind {
        Some(serde_json::Value::String(k)) if k != expected_kind => {
            return Some(
                Diagnostic::error(
                    codes::WRONG_KIND,
                    format!("expected `kind: {expected_kind}` in this folder, found `kind: {k}`"),
                )
                .at(file, at("kind"), format!("a {k} does not belong here"))
                .with_help(format!(
                    "move the file to the folder for {k} documents (see docs/catalog.md), or fix `kind`"
                )),
            );
        }
        _ => {}
    }
    match &header.api_version {
        Some(serde_json::Value::String(v)) if v == hyops_contract::API_VERSION => None,
        Some(other) => Some(
            Diagnostic::error(
                codes::BAD_API_VERSION,
                format!(
                    "unsupported apiVersion {}; expected `{}`",
                    other,
                    hyops_contract::API_VERSION
                ),
            )
            .at(file, at("apiVersion"), "unsupported")
            .with_help(format!("set `apiVersion: {}`", hyops_contract::API_VERSION)),
        ),
        None => None,
    }
}

/// serde_json's message without its " at line L column C" suffix (the diagnostic shows where).
fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

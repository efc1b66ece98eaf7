//! Load catalog YAML with spans, validate, lint, resolve to a RunRequest, fingerprint.
//!
//! Entry points: [`load`] reads every document under an explicit root; [`validate`] loads and
//! checks everything in one pass, returning a [`Report`] with every finding; [`resolve`] turns a
//! module and an environment into a deterministic [`hyops_contract::RunRequest`].

/// Canonical JSON lives in the contract so every crate hashes the same bytes.
pub use hyops_contract::canonical_json;
pub mod catalog;
mod checks;
pub mod codes;
pub mod diagnostic;
pub mod document;
pub mod fingerprint;
pub mod hcl_files;
pub mod input_schema;
pub mod loader;
pub mod overrides;
pub mod pack_digest;
pub mod packer_builders;
mod parallel;
pub mod report;
pub mod resolve;
pub mod source_file;
pub mod span_index;
pub mod stack_graph;
pub mod stack_overrides;
pub mod template;
pub mod version_ref;
mod walk;
pub mod yaml;

pub use canonical_json::{canonical_digest, canonical_json};
pub use catalog::Catalog;
pub use checks::references::suggest;
pub use diagnostic::{Diagnostic, DiagnosticJson, Severity, Span, render_text};
pub use document::Doc;
pub use fingerprint::fingerprint;
pub use loader::{Loaded, load};
pub use overrides::Overrides;
pub use pack_digest::pack_tree_digest;
pub use report::{Report, ReportJson, check, validate};
pub use resolve::{ResolveError, Resolver, resolve, resolve_all};
pub use source_file::{MAX_FILE_BYTES, SourceFile};

//! `hyops.yaml`: the catalog root document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiVersion;

/// `kind: Catalog`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CatalogKind {
    /// The only value.
    Catalog,
}

/// `hyops.yaml` at the catalog root. Its presence marks the root (never `.git`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Always `hyops/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Always `Catalog`.
    pub kind: CatalogKind,
    /// Catalog name, used in evidence and the UI.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// External git sources, pinned in `hyops.lock` by `hyops sources sync`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceSpec>,
}

/// One external git source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Name packs use to refer to the source.
    pub name: String,
    /// Git URL (`file://`, `https://`, ...).
    pub url: String,
    /// Branch, tag or commit to check out.
    #[serde(rename = "ref")]
    pub git_ref: String,
}

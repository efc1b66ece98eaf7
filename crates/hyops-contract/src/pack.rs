//! `packs/<driver>/<id>/pack.yaml`: the implementation plan.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ApiVersion, DriverName};

/// `kind: Pack`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PackKind {
    /// The only value.
    Pack,
}

/// A replaceable implementation plan. The pack's folder (every file in it) is its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// Always `hyops/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Always `Pack`.
    pub kind: PackKind,
    /// Equals the folder name.
    pub id: String,
    /// Semantic version; must satisfy the module's `pack_ref` requirement.
    pub version: String,
    /// Equals the parent folder name.
    pub driver: DriverName,
    /// Driver-specific entry: the script (shell), `.` or a sub-folder (terraform), the template
    /// (packer), the playbook (ansible). Relative to the pack folder.
    pub entry: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Name of a catalog source (`hyops.yaml` `sources`) this pack builds from, never a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

//! `environments/<name>.yaml`: placement (input overlays, secret bindings, hosts, approvals).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ApiVersion;

/// `kind: Environment`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum EnvironmentKind {
    /// The only value.
    Environment,
}

/// Where modules run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Always `hyops/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Always `Environment`.
    pub kind: EnvironmentKind,
    /// Equals the file stem.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free variables available to templates as `{{ env.vars.x }}`.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Module id (or `*` for every module) -> input name -> value or `{secretRef: name}`.
    #[serde(default)]
    pub inputs: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Secret name -> where its value comes from at run time.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSource>,
    /// Inventory: group name -> hosts.
    #[serde(default)]
    pub hosts: BTreeMap<String, HostGroup>,
    /// Approval policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Approvals>,
}

/// Where a secret's value comes from. Exactly one field is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// Environment variable name of the hyops process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// File path (relative to the catalog root, or absolute outside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// age-encrypted file (relative to the catalog root); identity from `HYOPS_AGE_IDENTITY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
}

/// An inventory group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostGroup {
    /// Host name -> host variables (connection settings included).
    #[serde(default)]
    pub hosts: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Group variables.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
}

/// Approval policy for runs in this environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approvals {
    /// Whether an approval is required before `run`/`apply`.
    #[serde(default)]
    pub required: bool,
    /// Who may approve.
    #[serde(default)]
    pub approvers: Vec<String>,
}

//! `modules/<id>/module.yaml`: intent only (inputs, execution selection, outputs, probes, constraints).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ApiVersion, DriverName, Probe};

/// `kind: Module`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ModuleKind {
    /// The only value.
    Module,
}

/// The smallest unit of intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Always `hyops/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Always `Module`.
    pub kind: ModuleKind,
    /// `group/name` in lowercase letters, digits and dashes; equals the folder path under `modules/`.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$"))]
    pub id: String,
    /// Semantic version of the module contract.
    pub version: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Input name -> JSON Schema (2020-12). No `default` means required; `secret: true` marks a secret.
    #[serde(default)]
    pub inputs: BTreeMap<String, serde_json::Value>,
    /// Which driver, profile and pack implement this module.
    pub execution: Execution,
    /// Outputs to publish.
    #[serde(default)]
    pub outputs: Outputs,
    /// Verification steps; all must pass for PASS.
    #[serde(default)]
    pub probes: Vec<Probe>,
    /// Module ids that must have PASSed in the same environment before this one runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Where this module may run.
    #[serde(default)]
    pub constraints: Constraints,
}

/// Execution selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    /// The driver that runs the pack.
    pub driver: DriverName,
    /// Profile name, optionally `name@<semver requirement>`.
    pub profile: String,
    /// The pack implementing this module.
    pub pack_ref: PackRef,
}

/// Pack reference: `id@<semver requirement>` (a bare major `@1` means `^1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackRef {
    /// `<pack id>` or `<pack id>@<requirement>`; resolved to `packs/<driver>/<pack id>/`.
    pub id: String,
}

/// Output publication.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Published name -> where it comes from in the driver's raw outputs.
    #[serde(default)]
    pub publish: BTreeMap<String, PublishSpec>,
}

/// One published output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// Raw driver output name.
    pub from: String,
    /// Redact the value everywhere and mark it secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema `type` of the value, used to type-check stack wiring.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
}

/// Placement constraints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Environments this module may run in; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
}

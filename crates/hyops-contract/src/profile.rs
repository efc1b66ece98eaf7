//! `profiles/<name>.yaml`: policy (toolchain, backend/workspace naming, timeouts, retries, env allowlist).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ApiVersion, DriverName, DurationText};

/// `kind: Profile`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProfileKind {
    /// The only value.
    Profile,
}

/// A versioned policy bundle interpreted by a driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Always `hyops/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Always `Profile`.
    pub kind: ProfileKind,
    /// Equals the file stem.
    pub name: String,
    /// Semantic version of the policy.
    pub version: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The driver this policy governs.
    pub driver: DriverName,
    /// Tool binary and version constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<Toolchain>,
    /// State backend (terraform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// Workspace naming template, e.g. `{env}-{module}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Run governance.
    #[serde(default)]
    pub execution: ProfileExecution,
    /// Driver-specific settings (documented per driver in docs/drivers/).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// Tool binary policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// Binary name looked up on PATH, or a path.
    pub binary: String,
    /// Semver requirement checked against the binary's reported version before anything runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// State backend: type plus config values rendered from naming templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// Backend type (`local`, `s3`, ...).
    #[serde(rename = "type")]
    pub backend_type: String,
    /// Key -> template (`{state_dir}`, `{env}`, `{module}`, `{workspace}`).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Run governance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileExecution {
    /// Per-attempt timeout (default 30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationText>,
    /// Grace between SIGTERM and SIGKILL (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_grace: Option<DurationText>,
    /// Retry policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
    /// Environment variable names passed through to the tool (default: PATH, HOME, LANG, TZ, TMPDIR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_allowlist: Option<Vec<String>>,
    /// Refuse to start the driver as root.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_non_root: bool,
    /// Maximum concurrent runs governed by this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

/// Retry policy: each retry is a new attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// Total attempts including the first (>= 1).
    pub max_attempts: u32,
    /// Pause before each retry (default 0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<DurationText>,
}

//! The RunRequest: the single deterministic payload resolution produces and drivers consume.
//!
//! Everything here is a pure function of catalog content, the environment document and explicit
//! overrides. No clock, hostname, absolute path or user name may appear (DESIGN.md invariant 1).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Backend, DriverName, Probe, PublishSpec, Toolchain};

/// Bumped when the RunRequest shape changes incompatibly.
pub const RUN_REQUEST_SCHEMA_VERSION: u32 = 1;

/// The resolved request for one (target, environment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// [`RUN_REQUEST_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Module id, or `STACK.MEMBER` for a stack member.
    pub target: String,
    /// Environment name.
    pub environment: DocumentRef,
    /// The module document.
    pub module: DocumentRef,
    /// The profile document.
    pub profile: DocumentRef,
    /// The pack (folder tree digest).
    pub pack: PackInfo,
    /// The driver.
    pub driver: DriverName,
    /// Every declared input with its value (or secret reference) and where it came from.
    pub inputs: BTreeMap<String, ResolvedInput>,
    /// Secret name -> how to obtain the value at run time (never the value).
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Published outputs (from the module).
    #[serde(default)]
    pub publish: BTreeMap<String, PublishSpec>,
    /// Probes (templates unrendered), each with its declaration site.
    #[serde(default)]
    pub probes: Vec<DeclaredProbe>,
    /// Run governance from the profile.
    pub execution: ExecutionPolicy,
    /// Tool policy from the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<Toolchain>,
    /// Backend policy from the profile (templates unrendered; rendered by the driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// Workspace naming template from the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Driver-specific profile settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Environment hosts (inventory), for drivers that use them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, crate::HostGroup>,
    /// `sha256:<hex>` of the canonical JSON of this request with `fingerprint` set to "".
    pub fingerprint: String,
}

impl RunRequest {
    /// `sha256:<hex>` of the canonical JSON of this request with `fingerprint` set to "" and the
    /// provenance fields (`inputs.*.source_location`, `probes[*].declared_at`) set to "": moving a
    /// key within a file must not change the identity of a run. The environment file's digest is
    /// left out too: what of it a run uses is in the request already (input values, secret
    /// references, hosts), and the file is shared by every module placed in the environment, so
    /// editing one module's overlay must not make every other module's run new (`--affected`).
    pub fn compute_fingerprint(&self) -> String {
        let mut r = self.clone();
        r.fingerprint = String::new();
        r.environment.digest = String::new();
        for input in r.inputs.values_mut() {
            input.source_location = String::new();
        }
        for probe in &mut r.probes {
            probe.declared_at = String::new();
        }
        match serde_json::to_value(&r) {
            Ok(v) => crate::canonical_json::canonical_digest(&v),
            // A RunRequest is plain data; serialising it cannot fail.
            Err(_) => String::new(),
        }
    }

    /// The configuration that went into this request, as the ledger records it per run: module,
    /// profile, environment, pack, and the pack's pinned source (`source:<name>`, digest
    /// `git:<commit>`) when it builds from one. `hyops promote` requires a PASS with the same
    /// entries (the environment's aside).
    pub fn config_versions(&self) -> Vec<crate::ConfigVersionRef> {
        let doc = |kind: &str, d: &DocumentRef| crate::ConfigVersionRef {
            config_name: format!("{kind}:{}", d.name),
            config_version: d.version.clone().unwrap_or_else(|| "-".to_owned()),
            digest: Some(d.digest.clone()),
            locator: Some(d.path.clone()),
        };
        let mut out = vec![
            doc("module", &self.module),
            doc("profile", &self.profile),
            doc("environment", &self.environment),
            crate::ConfigVersionRef {
                config_name: format!("pack:{}", self.pack.id),
                config_version: self.pack.version.clone(),
                digest: Some(self.pack.digest.clone()),
                locator: Some(self.pack.path.clone()),
            },
        ];
        if let (Some(name), Some(commit)) = (&self.pack.source, &self.pack.source_commit) {
            out.push(crate::ConfigVersionRef {
                config_name: format!("source:{name}"),
                config_version: "-".to_owned(),
                digest: Some(format!("git:{commit}")),
                locator: None,
            });
        }
        out
    }
}

/// A probe and where it is declared (catalog-relative `file:line:col`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredProbe {
    /// The probe.
    pub probe: Probe,
    /// `modules/web/site/module.yaml:14:5`
    pub declared_at: String,
}

/// Identity of a document that went into a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// Module id, profile name or environment name.
    pub name: String,
    /// Document version, where the kind has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Catalog-relative path of the document.
    pub path: String,
    /// `sha256:<hex>` of the document's bytes.
    pub digest: String,
}

/// The resolved pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackInfo {
    /// Pack id.
    pub id: String,
    /// Pack version.
    pub version: String,
    /// `packs/<driver>/<id>` (catalog-relative).
    pub path: String,
    /// The pack's `entry`.
    pub entry: String,
    /// Named catalog source, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The commit `hyops.lock` pins [`Self::source`] to (absent when it is not pinned, which the
    /// driver refuses): a moved pin changes the fingerprint like a changed pack file does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// `sha256:<hex>` over the tree: sorted relative paths, file modes and contents.
    pub digest: String,
}

/// Where an input's value came from, lowest precedence first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InputSource {
    /// The module's schema `default`.
    Default,
    /// The environment's `inputs."*"` overlay.
    EnvironmentAll,
    /// The environment's `inputs.<module id>` overlay.
    EnvironmentModule,
    /// A stack member's `inputs`.
    StackMember,
    /// Wired from an upstream member's published output.
    Upstream,
    /// `HYOPS_INPUT_<NAME>` in hyops' environment.
    EnvVar,
    /// `--set name=value` on the command line.
    Set,
}

/// One resolved input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolvedInput {
    /// The value; absent for secret inputs (see `secret_ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The secret this input is bound to; its value is fetched at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    /// Whether the module marks the input secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// Where the value came from.
    pub source: InputSource,
    /// Where that place is: catalog-relative `file:line:col`, `HYOPS_INPUT_X`, or `--set`.
    pub source_location: String,
}

/// How to obtain a secret value at run time. Exactly one field is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// Environment variable of the hyops process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// File path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// age-encrypted file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// A secret output of an upstream stack member, held in memory by the stack run:
    /// `STACK.MEMBER:output@<producer fingerprint>` (the fingerprint ties the consumer's identity
    /// to what produced the value without revealing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

/// Run governance, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionPolicy {
    /// Per-attempt timeout.
    pub timeout_ms: u64,
    /// SIGTERM -> SIGKILL grace.
    pub kill_grace_ms: u64,
    /// Total attempts including the first.
    pub max_attempts: u32,
    /// Pause before each retry.
    pub backoff_ms: u64,
    /// Environment variable names passed to the tool.
    pub env_allowlist: Vec<String>,
    /// Refuse to start the driver as root.
    pub require_non_root: bool,
    /// Maximum concurrent runs under this profile, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

impl ExecutionPolicy {
    /// Default per-attempt timeout: 30 minutes.
    pub const DEFAULT_TIMEOUT_MS: u64 = 30 * 60 * 1000;
    /// Default kill grace: 5 seconds.
    pub const DEFAULT_KILL_GRACE_MS: u64 = 5_000;
    /// Variables passed through when the profile sets no allowlist.
    pub const DEFAULT_ENV_ALLOWLIST: [&'static str; 5] = ["PATH", "HOME", "LANG", "TZ", "TMPDIR"];
}

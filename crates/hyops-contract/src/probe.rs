//! Probes: verification steps that gate PASS. Exactly one of `command`, `http`, `tcp`, `file`,
//! `output` is set per probe (checked by `hyops-catalog`; a tagged shape keeps errors readable).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::DurationText;

/// One probe. String fields may hold `{{ inputs.x }}`, `{{ outputs.y }}` and `{{ env.Z }}` templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Unique within the module.
    pub name: String,
    /// Run a command; passes on the expected exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandProbe>,
    /// HTTP GET (or `method`) and check status/body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    /// TCP connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    /// A file exists (and contains text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileProbe>,
    /// A published output has a shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputProbe>,
    /// Readiness retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<ProbeRetry>,
    /// Overall deadline for this probe including retries (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationText>,
}

/// Readiness retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeRetry {
    /// Total tries (>= 1).
    pub attempts: u32,
    /// Pause between tries.
    pub interval: DurationText,
}

/// `command` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandProbe {
    /// argv; the first element is the program (looked up on PATH).
    pub run: Vec<String>,
    /// Expectations.
    #[serde(default)]
    pub expect: CommandExpect,
}

/// Expectations of a `command` probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandExpect {
    /// Expected exit code (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Substring expected in stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_contains: Option<String>,
}

/// `http` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    /// `http://` URL.
    pub url: String,
    /// HTTP method (default GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Expectations.
    #[serde(default)]
    pub expect: HttpExpect,
}

/// Expectations of an `http` probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    /// Expected status (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Substring expected in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
}

/// `tcp` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    /// `host:port`.
    pub address: String,
}

/// `file` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileProbe {
    /// Path; relative paths are relative to the attempt's work dir.
    pub path: String,
    /// Whether the file must exist (default true) or must not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// Substring expected in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
}

/// `output` probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputProbe {
    /// Published output name.
    pub name: String,
    /// Regular expression the value (as text) must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// Exact expected value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
}

impl Probe {
    /// Names of the probe kinds that are set, for the "exactly one kind" check.
    pub fn kinds_set(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.command.is_some() {
            kinds.push("command");
        }
        if self.http.is_some() {
            kinds.push("http");
        }
        if self.tcp.is_some() {
            kinds.push("tcp");
        }
        if self.file.is_some() {
            kinds.push("file");
        }
        if self.output.is_some() {
            kinds.push("output");
        }
        kinds
    }
}

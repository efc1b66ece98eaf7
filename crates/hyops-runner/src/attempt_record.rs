//! What the body of an attempt produced ([`AttemptBody`]) and the helpers that turn it into
//! evidence: event lines, redacted outputs, safe file names and canonical bytes.

use std::time::SystemTime;

use hyops_contract::{ArtifactRef, AttemptStatus};
use hyops_evidence::{LogWriter, Redactor, format_timestamp};
use serde_json::{Map, Value};

use crate::error::AttemptFailure;
use crate::outputs::Published;
use crate::probe::ProbeResult;

/// Outcome of the evidence-writing part of an attempt.
pub(crate) struct AttemptBody {
    pub(crate) status: AttemptStatus,
    pub(crate) exit_code: Option<i32>,
    pub(crate) failure: Option<AttemptFailure>,
    pub(crate) probes: Vec<ProbeResult>,
    pub(crate) published: Option<Published>,
    pub(crate) artifacts: Vec<ArtifactRef>,
    pub(crate) summary: Option<String>,
    /// A passed attempt's outputs artifact and its JSON text, stored before the seal.
    pub(crate) stored_outputs: Option<(ArtifactRef, String)>,
    /// The removal of a passed attempt's work and io dirs, started once its verdict was known
    /// so it overlaps writing and sealing the evidence.
    pub(crate) removal: Option<tokio::task::JoinHandle<()>>,
}

impl AttemptBody {
    /// An attempt that ended with `status` for `failure`; nothing else recorded yet.
    pub(crate) fn failed(
        status: AttemptStatus,
        exit_code: Option<i32>,
        failure: AttemptFailure,
    ) -> Self {
        Self {
            status,
            exit_code,
            failure: Some(failure),
            probes: Vec::new(),
            published: None,
            artifacts: Vec::new(),
            summary: None,
            stored_outputs: None,
            removal: None,
        }
    }

    pub(crate) fn errored(failure: AttemptFailure) -> Self {
        Self::failed(AttemptStatus::Errored, None, failure)
    }

    pub(crate) fn passed(
        exit_code: Option<i32>,
        published: Option<Published>,
        probes: Vec<ProbeResult>,
    ) -> Self {
        Self {
            status: AttemptStatus::Passed,
            exit_code,
            failure: None,
            probes,
            published,
            artifacts: Vec::new(),
            summary: None,
            stored_outputs: None,
            removal: None,
        }
    }
}

pub(crate) fn event_line(log: &mut LogWriter, event: &str, fields: Value) {
    let mut object = Map::new();
    object.insert(
        "at".into(),
        Value::String(format_timestamp(SystemTime::now())),
    );
    object.insert("event".into(), Value::String(event.to_owned()));
    if let Value::Object(extra) = fields {
        object.extend(extra);
    }
    // An events.jsonl write failure surfaces when the log is finished.
    let _ = log.line(Value::Object(object).to_string().as_bytes());
}

/// Every published value through the redactor (secret outputs are already placeholders).
pub(crate) fn redact_outputs(
    redactor: &Redactor,
    outputs: Map<String, Value>,
) -> Map<String, Value> {
    outputs
        .into_iter()
        .map(|(name, value)| (name, redactor.redact_json(&value)))
        .collect()
}

pub(crate) fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Canonical JSON bytes (RFC 8785 style, as fingerprints use) for content addressing.
pub(crate) fn canonical_bytes(value: &Value) -> Vec<u8> {
    hyops_contract::canonical_json::canonical_json(value).into_bytes()
}

//! What a packer build left behind, parsed: the `-machine-readable` stream
//! (`timestamp,target,type,data...`) and the `manifest` post-processor's JSON, combined into the
//! structured result (exit code, manifest path and hash, artifact ids, builder types, timestamps,
//! errors) that the driver publishes as outputs and stores as an artifact.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Schema version of the stored result artifact.
pub const RESULT_SCHEMA: &str = "packer-result/v1";
/// Schema version of the stored manifest artifact.
pub const MANIFEST_SCHEMA: &str = "packer-manifest/v1";

/// One machine-readable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineLine {
    /// Unix seconds.
    pub timestamp: i64,
    /// Build name (`null.linux-1`) or empty.
    pub target: String,
    /// Record type (`ui`, `artifact`, `artifact-count`, `error`).
    pub kind: String,
    /// The rest, commas restored.
    pub data: Vec<String>,
}

/// Parses one line; `None` for anything that is not a machine-readable record.
pub fn parse_machine_line(line: &str) -> Option<MachineLine> {
    let mut parts = line.trim_end_matches(['\r', '\n']).split(',');
    let timestamp = parts.next()?.parse::<i64>().ok()?;
    let target = parts.next()?.to_owned();
    let kind = parts.next()?.to_owned();
    let data = parts.map(|p| p.replace("%!(PACKER_COMMA)", ",")).collect();
    Some(MachineLine {
        timestamp,
        target,
        kind,
        data,
    })
}

/// The human text of a `ui` record (`say`, `message`, `error`) with packer's escapes undone:
/// `%!(PACKER_COMMA)` (by [`parse_machine_line`]), `\n` and `\r` become line breaks, so the text
/// may span lines (and start with an empty one, as packer's `\n==> Builds finished` does).
/// `error` is true for `ui,error`.
pub fn ui_text(line: &MachineLine) -> Option<(bool, String)> {
    if line.kind != "ui" {
        return None;
    }
    let level = line.data.first()?;
    let text = line.data.get(1..)?.join(",");
    let text = text
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\\r", "\n");
    Some((level == "error", text))
}

/// The lines a person reads in a captured stream: every `ui` record's text, split at its line
/// breaks, blank lines left out. Used for the tail of a failed build's message.
pub fn human_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(parse_machine_line)
        .filter_map(|record| ui_text(&record))
        .flat_map(|(_, text)| {
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What the stream says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// First record's time (unix seconds).
    pub first: Option<i64>,
    /// Last record's time.
    pub last: Option<i64>,
    /// `ui,error` texts and `error` records.
    pub errors: Vec<String>,
    /// (target, artifact id) from `artifact,N,id,X`.
    pub artifacts: Vec<(String, String)>,
}

/// Summarises a whole captured stream.
pub fn summarise_stream(stdout: &[u8]) -> StreamSummary {
    let mut out = StreamSummary::default();
    // `error` records (`null.a,error,Script exited…`) come with a `ui,error` line saying the
    // same (`--> null.a: Script exited…`): kept only when no ui line does.
    let mut records = Vec::new();
    for line in String::from_utf8_lossy(stdout).lines() {
        let Some(record) = parse_machine_line(line) else {
            continue;
        };
        out.first.get_or_insert(record.timestamp);
        out.last = Some(record.timestamp);
        match record.kind.as_str() {
            "ui" => {
                if let Some((true, text)) = ui_text(&record) {
                    out.errors.push(text.trim().to_owned());
                }
            }
            "error" => records.push((out.errors.len(), record.target, record.data.join(","))),
            "artifact" if record.data.get(1).map(String::as_str) == Some("id") => {
                if let Some(id) = record.data.get(2) {
                    out.artifacts.push((record.target.clone(), id.clone()));
                }
            }
            _ => {}
        }
    }
    for (at, target, text) in records.into_iter().rev() {
        if !out.errors.iter().any(|e| e.contains(&text)) {
            let text = if target.is_empty() {
                text
            } else {
                format!("{target}: {text}")
            };
            out.errors.insert(at, text);
        }
    }
    out
}

/// One build of the manifest's last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Source name (`linux-1`).
    pub name: String,
    /// Builder type (`null`).
    pub builder_type: String,
    /// Artifact id the builder reported.
    pub artifact_id: String,
    /// Unix seconds.
    pub build_time: i64,
    /// Files the artifact consists of.
    pub files: Vec<String>,
}

#[derive(Deserialize)]
struct ManifestWire {
    #[serde(default)]
    builds: Vec<ManifestBuildWire>,
    #[serde(default)]
    last_run_uuid: String,
}

#[derive(Deserialize)]
struct ManifestBuildWire {
    name: String,
    builder_type: String,
    #[serde(default)]
    build_time: i64,
    #[serde(default)]
    files: Option<Vec<ManifestFileWire>>,
    #[serde(default)]
    artifact_id: String,
    #[serde(default)]
    packer_run_uuid: String,
}

#[derive(Deserialize)]
struct ManifestFileWire {
    name: String,
}

/// The manifest's builds of its last run (the post-processor appends runs to an existing file),
/// sorted by name then type, and that run's uuid. The error explains what is wrong.
pub fn parse_manifest(bytes: &[u8]) -> Result<(String, Vec<BuildRecord>), String> {
    let wire: ManifestWire =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest is not packer JSON: {e}"))?;
    // Packer runs builds in parallel and appends them as they finish: sort so the result (and
    // `artifact_id`, the first) does not depend on which build won the race.
    let mut builds: Vec<BuildRecord> = wire
        .builds
        .into_iter()
        .filter(|b| wire.last_run_uuid.is_empty() || b.packer_run_uuid == wire.last_run_uuid)
        .map(|b| BuildRecord {
            name: b.name,
            builder_type: b.builder_type,
            artifact_id: b.artifact_id,
            build_time: b.build_time,
            files: b
                .files
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.name)
                .collect(),
        })
        .collect();
    builds.sort_by(|a, b| (&a.name, &a.builder_type).cmp(&(&b.name, &b.builder_type)));
    Ok((wire.last_run_uuid, builds))
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The structured result of one `packer build`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackerResult {
    /// Always [`RESULT_SCHEMA`].
    pub schema: String,
    /// Whether packer exited 0 and wrote a manifest.
    pub success: bool,
    /// Packer's exit code (None when killed by a signal).
    pub exit_code: Option<i32>,
    /// Manifest path relative to the template folder.
    pub manifest_path: String,
    /// `sha256:<hex>` of the manifest file.
    pub manifest_sha256: Option<String>,
    /// `last_run_uuid` of the manifest.
    pub run_uuid: Option<String>,
    /// Artifact ids of the run's builds, sorted by build name.
    pub artifact_ids: Vec<String>,
    /// Builder types used, sorted, unique.
    pub builder_types: Vec<String>,
    /// The run's builds.
    pub builds: Vec<BuildRecord>,
    /// RFC 3339 time of the first machine-readable record.
    pub started_at: Option<String>,
    /// RFC 3339 time of the last record.
    pub finished_at: Option<String>,
    /// Error messages packer printed, then hyops' own (missing manifest).
    pub errors: Vec<String>,
}

fn rfc3339(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

impl PackerResult {
    /// Combines the stream, the exit code and the manifest (None when packer wrote none).
    pub fn build(
        exit_code: Option<i32>,
        stream: &StreamSummary,
        manifest_path: &str,
        manifest: Option<&[u8]>,
    ) -> Self {
        let mut result = Self {
            schema: RESULT_SCHEMA.to_owned(),
            exit_code,
            manifest_path: manifest_path.to_owned(),
            started_at: stream.first.and_then(rfc3339),
            finished_at: stream.last.and_then(rfc3339),
            errors: stream.errors.clone(),
            ..Self::default()
        };
        match manifest.map(|bytes| (sha256(bytes), parse_manifest(bytes))) {
            None => {
                if exit_code == Some(0) {
                    result.errors.push(format!(
                        "packer wrote no manifest at {manifest_path}; add a `manifest` post-processor with `output = var.hyops_manifest`"
                    ));
                }
            }
            Some((_, Err(problem))) => result.errors.push(problem),
            Some((_, Ok((_, builds)))) if builds.is_empty() => result.errors.push(format!(
                "the manifest at {manifest_path} lists no builds of this run"
            )),
            Some((digest, Ok((uuid, builds)))) => {
                result.manifest_sha256 = Some(digest);
                result.run_uuid = (!uuid.is_empty()).then_some(uuid);
                result.artifact_ids = builds.iter().map(|b| b.artifact_id.clone()).collect();
                result.builder_types = builds
                    .iter()
                    .map(|b| b.builder_type.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                result.builds = builds;
            }
        }
        result.success = exit_code == Some(0) && result.manifest_sha256.is_some();
        result
    }

    /// Raw outputs for `outputs.publish`: `artifact_id` (the first), `artifact_ids`,
    /// `manifest_sha256`, `builder_types`, `run_uuid`, `exit_code`, and `result` (all of it).
    pub fn raw_outputs(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        if let Some(first) = self.artifact_ids.first() {
            out.insert("artifact_id".into(), first.clone().into());
        }
        out.insert("artifact_ids".into(), self.artifact_ids.clone().into());
        if let Some(digest) = &self.manifest_sha256 {
            out.insert("manifest_sha256".into(), digest.clone().into());
        }
        out.insert("builder_types".into(), self.builder_types.clone().into());
        if let Some(uuid) = &self.run_uuid {
            out.insert("run_uuid".into(), uuid.clone().into());
        }
        out.insert("exit_code".into(), self.exit_code.into());
        out.insert(
            "result".into(),
            serde_json::to_value(self).unwrap_or_default(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "1795861215,,ui,say,Warning: x%!(PACKER_COMMA) y\n\
1795861216,null.a,artifact-count,1\n\
1795861216,null.a,artifact,0,id,Null\n\
1795861217,,ui,error,Build 'b' errored\n";

    #[test]
    fn stream_records_and_commas() {
        let l = parse_machine_line("1,,ui,say,a%!(PACKER_COMMA) b").unwrap();
        assert_eq!(ui_text(&l), Some((false, "a, b".to_owned())));
        assert!(parse_machine_line("not a record").is_none());
        let s = summarise_stream(STREAM.as_bytes());
        assert_eq!(
            (s.first, s.last),
            (Some(1_795_861_215), Some(1_795_861_217))
        );
        assert_eq!(s.artifacts, [("null.a".to_owned(), "Null".to_owned())]);
        assert_eq!(s.errors, ["Build 'b' errored"]);
    }

    #[test]
    fn escaped_line_breaks_become_lines_and_error_records_are_not_repeated() {
        let stream = "1,,ui,say,\\n==> Builds finished.%!(PACKER_COMMA) done\n\
1,,ui,error,\\n==> Some builds didn't complete successfully and had errors:\n\
1,null.a,error,Script exited with non-zero exit status: 1\n\
1,,ui,error,--> null.a: Script exited with non-zero exit status: 1\n\
1,null.b,error,plugin crashed\n\
1,,ui,message,    null.a: one\\r\\ntwo\\n\n";
        let s = summarise_stream(stream.as_bytes());
        assert_eq!(
            s.errors,
            [
                "==> Some builds didn't complete successfully and had errors:",
                "--> null.a: Script exited with non-zero exit status: 1",
                "null.b: plugin crashed",
            ]
        );
        assert_eq!(
            human_lines(stream.as_bytes()),
            [
                "==> Builds finished., done",
                "==> Some builds didn't complete successfully and had errors:",
                "--> null.a: Script exited with non-zero exit status: 1",
                "    null.a: one",
                "two",
            ]
        );
    }

    #[test]
    fn manifest_keeps_only_the_last_run() {
        let manifest = br#"{"builds":[
          {"name":"old","builder_type":"null","build_time":1,"files":null,"artifact_id":"Old","packer_run_uuid":"u1"},
          {"name":"a","builder_type":"null","build_time":2,"files":[{"name":"f","size":1}],"artifact_id":"Null","packer_run_uuid":"u2"}],
          "last_run_uuid":"u2"}"#;
        let r = PackerResult::build(
            Some(0),
            &summarise_stream(STREAM.as_bytes()),
            "manifest.json",
            Some(manifest),
        );
        assert!(r.success);
        assert_eq!(r.artifact_ids, ["Null"]);
        assert_eq!(r.builds[0].files, ["f"]);
        assert_eq!(r.builder_types, ["null"]);
        assert_eq!(r.manifest_sha256, Some(sha256(manifest)));
        assert_eq!(r.started_at.as_deref(), Some("2026-11-28T10:20:15Z"));
        let raw = r.raw_outputs();
        assert_eq!(raw["artifact_id"], "Null");
        assert_eq!(raw["result"]["schema"], RESULT_SCHEMA);
    }

    #[test]
    fn missing_manifest_after_success_is_an_error() {
        let r = PackerResult::build(Some(0), &StreamSummary::default(), "m.json", None);
        assert!(!r.success);
        assert!(
            r.errors[0].contains("no manifest at m.json"),
            "{:?}",
            r.errors
        );
        let bad = PackerResult::build(Some(0), &StreamSummary::default(), "m.json", Some(b"[]"));
        assert!(!bad.success);
    }
}

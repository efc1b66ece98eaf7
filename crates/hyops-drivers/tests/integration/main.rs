//! Integration tests of the drivers: real files, real modes, a real shell script.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod command_plan;
mod end_to_end;
mod files;
mod terraform_commands;
mod workdir;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use hyops_contract::{
    DocumentRef, DriverName, ExecutionPolicy, InputSource, PackInfo, RUN_REQUEST_SCHEMA_VERSION,
    ResolvedInput, RunRequest,
};
use serde_json::{Map, Value, json};

fn doc(name: &str, path: &str) -> DocumentRef {
    DocumentRef {
        name: name.into(),
        version: None,
        path: path.into(),
        digest: "sha256:00".into(),
    }
}

fn input(value: Option<Value>, secret: bool, secret_ref: Option<&str>) -> ResolvedInput {
    ResolvedInput {
        value,
        secret_ref: secret_ref.map(str::to_owned),
        secret,
        source: InputSource::Default,
        source_location: "modules/web/site/module.yaml:8:3".into(),
    }
}

/// A RunRequest for `web/site` in `dev` with a string, an integer and a secret input.
pub fn sample_request() -> RunRequest {
    RunRequest {
        schema_version: RUN_REQUEST_SCHEMA_VERSION,
        target: "web/site".into(),
        environment: doc("dev", "environments/dev.yaml"),
        module: doc("web/site", "modules/web/site/module.yaml"),
        profile: doc("shell-default", "profiles/shell-default.yaml"),
        pack: PackInfo {
            id: "web-site".into(),
            version: "1.0.0".into(),
            path: "packs/shell/web-site".into(),
            entry: "run.sh".into(),
            source: None,
            source_commit: None,
            digest: "sha256:00".into(),
        },
        driver: DriverName::Shell,
        inputs: BTreeMap::from([
            ("api_token".to_owned(), input(None, true, Some("web-token"))),
            (
                "greeting".to_owned(),
                input(Some(json!("hello world")), false, None),
            ),
            (
                "listen-port".to_owned(),
                input(Some(json!(8080)), false, None),
            ),
        ]),
        secrets: BTreeMap::new(),
        publish: BTreeMap::new(),
        probes: Vec::new(),
        execution: ExecutionPolicy {
            timeout_ms: ExecutionPolicy::DEFAULT_TIMEOUT_MS,
            kill_grace_ms: ExecutionPolicy::DEFAULT_KILL_GRACE_MS,
            max_attempts: 1,
            backoff_ms: 0,
            env_allowlist: vec!["PATH".into()],
            require_non_root: false,
            concurrency: None,
        },
        toolchain: None,
        backend: None,
        workspace: None,
        settings: BTreeMap::new(),
        hosts: BTreeMap::new(),
        fingerprint: "sha256:00".into(),
    }
}

/// The resolved secret values matching [`sample_request`].
pub fn sample_secrets() -> Map<String, Value> {
    Map::from_iter([("api_token".to_owned(), json!("tok-s3cr3t-value"))])
}

/// Writes `path` (creating parents) with `content` and `mode`.
pub fn write_file(path: &Path, content: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

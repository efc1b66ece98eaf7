//! Shared setup of the run-engine tests: a private copy of a fixture catalog, a fresh state dir,
//! `hyops` commands aimed at both, and small readers of the ledger and evidence through the CLI.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{copy_dir, text};

/// The environment every fixture module runs in.
pub const ENV: &str = "test";

/// One test's world: a catalog copy and a state dir under a temp dir removed on drop.
pub struct World {
    /// Keeps the temp dir alive.
    pub tmp: tempfile::TempDir,
    /// The catalog root (a copy of the fixture).
    pub catalog: PathBuf,
    /// `--state-dir`.
    pub state: PathBuf,
}

impl World {
    /// A copy of `crates/hyops-cli/tests/fixtures/run/<name>` and an empty state dir.
    pub fn new(fixture: &str) -> Self {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/run")
            .join(fixture);
        Self::from_catalog(&from)
    }

    /// A copy of any catalog directory and an empty state dir.
    pub fn from_catalog(from: &Path) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let catalog = tmp.path().join("catalog");
        copy_dir(from, &catalog);
        let state = tmp.path().join("state");
        Self {
            tmp,
            catalog,
            state,
        }
    }

    /// The ledger's registration of the artifact with `digest`, read straight from SQLite.
    pub fn registered_artifact(&self, digest: &str) -> Option<hyops_contract::ArtifactRef> {
        let path = self.state.join("ledger.sqlite");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let ledger = hyops_store::Ledger::open_sqlite(&path).await.unwrap();
                let artifact = ledger.artifact(digest).await.unwrap();
                ledger.close().await;
                artifact
            })
    }

    /// A scratch path inside the temp dir but outside catalog and state dir.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `hyops --catalog C --state-dir S ARGS` with a cleared environment (PATH and HOME only),
    /// so no HYOPS_* variable of the developer's shell changes what runs.
    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hyops"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .current_dir(self.tmp.path())
            .arg("--catalog")
            .arg(&self.catalog)
            .arg("--state-dir")
            .arg(&self.state)
            .args(args);
        cmd
    }

    /// `hyops ARGS --output json` with `tool_dir` first on PATH and `env` added to hyops'
    /// environment (the tool drivers' tests: terraform, packer, ansible).
    pub fn json_with_tool(
        &self,
        tool_dir: &Path,
        env: &[(&str, &std::ffi::OsStr)],
        args: &[&str],
    ) -> (Outcome, Value) {
        let mut cmd = self.cmd_with_tool(tool_dir, env, args);
        cmd.args(["--output", "json"]);
        let out = Outcome::from(cmd.output().unwrap());
        let value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        (out, value)
    }

    /// `hyops ARGS` with `tool_dir` first on PATH and `env` set, not started.
    pub fn cmd_with_tool(
        &self,
        tool_dir: &Path,
        env: &[(&str, &std::ffi::OsStr)],
        args: &[&str],
    ) -> std::process::Command {
        let mut cmd = self.cmd(args);
        let path = std::env::join_paths(std::iter::once(tool_dir.to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        cmd.env("PATH", path).envs(env.iter().copied());
        cmd
    }

    /// Runs `hyops ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::from(self.cmd(args).output().unwrap())
    }

    /// `hyops run TARGET --env test ARGS --output json`, parsed.
    pub fn run_json(&self, target: &str, extra: &[&str]) -> (Outcome, Value) {
        let mut args = vec!["run", target, "--env", ENV, "--output", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let value = out.json();
        (out, value)
    }

    /// `hyops runs show RUN --output json`.
    pub fn show(&self, run_id: &str) -> Value {
        let out = self.run(&["runs", "show", run_id, "--output", "json"]);
        assert_eq!(
            out.code, 0,
            "runs show failed: {}{}",
            out.stdout, out.stderr
        );
        out.json()
    }

    /// `hyops runs list --output json`.
    pub fn list(&self) -> Vec<Value> {
        let out = self.run(&["runs", "list", "--output", "json"]);
        assert_eq!(
            out.code, 0,
            "runs list failed: {}{}",
            out.stdout, out.stderr
        );
        match out.json() {
            Value::Array(runs) => runs,
            other => panic!("runs list is not an array: {other}"),
        }
    }

    /// Absolute path of an attempt's evidence folder as the run report names it.
    pub fn evidence_dir(&self, attempt: &Value) -> PathBuf {
        self.state
            .join(attempt["evidence_path"].as_str().expect("evidence_path"))
    }
}

/// What a finished `hyops` process did.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<std::process::Output> for Outcome {
    fn from(out: std::process::Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }
}

impl Outcome {
    /// stdout as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `limit` naming `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process exists and is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The entries directly in `dir` (files and folders alike; none when it does not exist).
pub fn entries_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(files_under(&entry.path()));
        } else if kind.is_file() {
            found.push(entry.path());
        }
    }
    found.sort();
    found
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

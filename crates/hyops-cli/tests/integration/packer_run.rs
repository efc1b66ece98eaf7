//! The packer driver end to end with real packer 1.6.6 (`source scripts/install-tools.sh;
//! hyops_need_packer`): a null + file build with shell-local and the manifest post-processor,
//! outputs, artifacts, state, logs, provisioner toggles, fail-fast assets, fmt, determinism.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::Digest;

use crate::common::text;
use crate::run_support::{Outcome, World, files_under};

const TOKEN: &str = "pk-token-4411ee";

pub(crate) fn packer_dir() -> PathBuf {
    let packer = PathBuf::from(std::env::var_os("HYOPS_TEST_PACKER").unwrap_or_else(|| {
        panic!(
            "HYOPS_TEST_PACKER is not set: the packer tests need real packer 1.6.6\nhelp: run `source scripts/install-tools.sh; hyops_need_packer` first (scripts/test.sh does)"
        )
    }));
    packer.parent().unwrap().to_path_buf()
}

/// A copy of the packer fixture catalog with packer first on PATH.
pub(crate) struct PkWorld {
    pub(crate) world: World,
    pk_dir: PathBuf,
    pub(crate) out_dir: PathBuf,
}

impl PkWorld {
    pub(crate) fn new() -> Self {
        Self::from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packer"))
    }

    pub(crate) fn from(catalog: &Path) -> Self {
        let world = World::from_catalog(catalog);
        let out_dir = world.scratch("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        Self {
            pk_dir: packer_dir(),
            world,
            out_dir,
        }
    }

    fn env(&self) -> [(&str, &std::ffi::OsStr); 2] {
        [
            ("HYOPS_PK_TOKEN", TOKEN.as_ref()),
            ("HYOPS_INPUT_OUT_DIR", self.out_dir.as_os_str()),
        ]
    }

    /// `hyops ARGS --output json` with packer on PATH, run to completion.
    pub(crate) fn hyops(&self, args: &[&str]) -> (Outcome, Value) {
        self.world.json_with_tool(&self.pk_dir, &self.env(), args)
    }

    /// `hyops ARGS` with packer on PATH, not started.
    pub(crate) fn cmd(&self, args: &[&str]) -> std::process::Command {
        self.world.cmd_with_tool(&self.pk_dir, &self.env(), args)
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Value {
        let (out, value) = self.hyops(args);
        assert_eq!(
            out.code, 0,
            "hyops {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        value
    }

    pub(crate) fn evidence(&self, report: &Value) -> PathBuf {
        self.world.evidence_dir(&report["attempts"][0])
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn steps(evidence: &Path) -> Vec<String> {
    read(&evidence.join("events.jsonl"))
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "step_started")
        .filter_map(|e| e["step"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn null_build_end_to_end_publishes_result_stores_artifacts_and_state() {
    let w = PkWorld::new();
    let run = w.ok(&["run", "img/null", "--env", "dev"]);
    assert_eq!(run["status"], "passed", "{run:#}");
    let probes = &run["attempts"][0]["probes"];
    assert_eq!(probes[0]["passed"], true, "{run:#}");
    assert_eq!(run["outputs"]["artifact_id"], "Null", "{run:#}");

    // The provisioner got the greeting verbatim: quotes and `${…}` survived as data.
    assert_eq!(
        read(&w.out_dir.join("greeting.txt")),
        "hello \"dev\" ${var.not_interpolated} %{ if }\n"
    );
    // Ansible on by default, Puppet off: only ansible variables reached packer.
    let prov = read(&w.out_dir.join("provisioners.txt"));
    assert!(
        prov.starts_with("ansible=true playbook=templates/ansible/playbook.yml puppet=false"),
        "{prov}"
    );

    let ev = w.evidence(&run);
    let result: Value = serde_json::from_str(&read(&ev.join("driver/packer-result.json"))).unwrap();
    let manifest = std::fs::read(ev.join("driver/manifest.json")).unwrap();
    let digest = format!("sha256:{}", hex_digest(&manifest));
    assert_eq!(result["manifest_sha256"], digest.as_str(), "{result:#}");
    assert_eq!(run["outputs"]["manifest_sha256"], digest.as_str());
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["artifact_ids"], serde_json::json!(["Null", "File"]));
    assert_eq!(result["builder_types"], serde_json::json!(["file", "null"]));
    assert!(result["started_at"].as_str().unwrap().ends_with('Z'));
    let schemas: Vec<&str> = run["attempts"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["schema_version"].as_str().unwrap())
        .collect();
    assert_eq!(
        schemas,
        ["packer-result/v1", "packer-manifest/v1"],
        "{run:#}"
    );
    // The ledger registered them with the attempt's final event; the blobs are in the store.
    for a in run["attempts"][0]["artifacts"].as_array().unwrap() {
        let digest = a["digest"].as_str().unwrap();
        let registered = w.world.registered_artifact(digest);
        assert_eq!(
            registered.map(|r| r.locator),
            a["ref"].as_str().map(str::to_owned)
        );
        let blob = std::fs::read(w.world.state.join(a["ref"].as_str().unwrap())).unwrap();
        assert_eq!(format!("sha256:{}", hex_digest(&blob)), digest);
    }

    // Var-files are in the evidence; the hyops file holds no puppet variable.
    let hyops_vars = read(&ev.join("driver/configs/dev/hyops.pkrvars.hcl"));
    assert!(
        hyops_vars.contains("hyops_ansible_enabled = true"),
        "{hyops_vars}"
    );
    assert!(!hyops_vars.contains("puppet"), "{hyops_vars}");

    // driver.log: "[RFC3339] LEVEL component message", packer's ui lines as text.
    let log = read(&ev.join("driver.log"));
    let line = log
        .lines()
        .find(|l| l.contains(" INFO packer ==> null.linux-1: Running local shell script"))
        .unwrap_or_else(|| panic!("no packer ui line in driver.log:\n{log}"));
    assert!(line.starts_with("[20") && line[1..25].ends_with('Z') && line.as_bytes()[25] == b']');

    // State: packer version, plugins, manifest hash, last run.
    let state: Value =
        serde_json::from_str(&read(&w.world.state.join("packer-state.json"))).unwrap();
    assert_eq!(state["packer"]["version"], "1.6.6", "{state:#}");
    assert_eq!(state["plugins"]["null"], "bundled with packer 1.6.6");
    assert_eq!(
        state["manifests"]["dev/img/null"]["sha256"],
        digest.as_str()
    );
    assert_eq!(state["last_run"]["success"], true);

    // The secret went through PKR_VAR_token: never on disk, never in evidence.
    for file in files_under(&w.world.state) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !crate::run_support::contains(&bytes, TOKEN.as_bytes()),
            "secret in {}",
            file.display()
        );
    }
    assert!(
        steps(&ev).contains(&"version".to_owned()),
        "{:?}",
        steps(&ev)
    );

    // A second run knows this packer binary: no `packer version` step.
    let again = w.ok(&["run", "img/null", "--env", "dev"]);
    assert_eq!(steps(&w.evidence(&again)), ["build"]);
}

fn hex_digest(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn plan_runs_fmt_check_and_validate_and_refuses_unformatted_templates() {
    let w = PkWorld::new();
    let plan = w.ok(&["plan", "img/null", "--env", "dev"]);
    assert_eq!(
        plan["summary"], "packer template is formatted and valid",
        "{plan:#}"
    );
    assert!(
        !w.out_dir.join("greeting.txt").exists(),
        "plan must not build"
    );
    // Only terraform saves a plan: `apply --plan` of a packer plan says so and names the run.
    let (out, _) = w.hyops(&["apply", "--plan", plan["run_id"].as_str().unwrap()]);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 1, "{said}");
    assert!(
        said.contains("it planned a `packer` module")
            && said.contains("hyops run img/null --env dev"),
        "{said}"
    );
    let (out, report) = w.hyops(&["plan", "img/ugly", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let message = report["attempts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not formatted: packs/packer/ugly/build.pkr.hcl"),
        "{message}"
    );
}

#[test]
fn puppet_enabled_by_profile_adds_its_variables() {
    let w = PkWorld::new();
    let run = w.ok(&["run", "img/puppet", "--env", "dev"]);
    let prov = read(&w.out_dir.join("provisioners.txt"));
    assert!(prov.contains("puppet=true"), "{prov}");
    let vars = read(
        &w.evidence(&run)
            .join("driver/configs/dev/hyops.pkrvars.hcl"),
    );
    assert!(
        vars.contains("hyops_puppet_manifest = \"templates/puppet/manifests/site.pp\""),
        "{vars}"
    );
}

#[test]
fn missing_ansible_assets_fail_before_packer_starts() {
    let w = PkWorld::new();
    let (out, report) = w.hyops(&["run", "img/bare", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let message = report["attempts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("packs/packer/bare/templates/ansible/playbook.yml"),
        "{message}"
    );
    assert!(
        steps(&w.evidence(&report)).is_empty(),
        "packer must not start"
    );
}

#[test]
fn failed_build_says_packers_errors_and_logs_readable_lines() {
    let w = PkWorld::new();
    // Neither builder can write under a regular file: the file builder's mkdir and the
    // shell-local script's redirect both fail.
    let file = w.out_dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out_dir = format!("out_dir={}", file.join("x").display());
    let (out, report) = w.hyops(&["run", "img/null", "--env", "dev", "--set", &out_dir]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let message = report["attempts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("`packer build` exited with code 1\nerrors:\n"),
        "{message}"
    );
    for expected in [
        "--> null.linux-1: Script exited with non-zero exit status: 2",
        "greeting.txt: Directory nonexistent",
        "--> file.linux-2: mkdir",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    // Packer's machine-readable records and its escaped line breaks stay in the capture.
    assert!(
        !message.contains(",ui,") && !message.contains("\\n"),
        "{message}"
    );
    let evidence = w.evidence(&report);
    let log = read(&evidence.join("driver.log"));
    assert!(
        log.contains("ERROR packer ==> Some builds didn't complete"),
        "{log}"
    );
    // Packer's own debug log (kept at DEBUG) may quote the records; the shown lines do not.
    let shown: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains(" DEBUG packer.log "))
        .collect();
    assert!(!shown.iter().any(|l| l.contains("\\n==>")), "{log}");
    let capture = read(&evidence.join("driver/machine-readable.log"));
    assert!(
        capture.contains(",ui,error,\\n==> Some builds"),
        "{capture}"
    );
}

#[test]
fn var_files_are_byte_identical_across_runs_and_catalog_copies() {
    let w = PkWorld::new();
    let first = w.ok(&["run", "img/null", "--env", "dev"]);
    let second = w.ok(&["run", "img/null", "--env", "dev"]);
    // A copy of the catalog at another path, with its own state dir; same output folder.
    let copy = PkWorld::from(&w.world.catalog);
    let mut cmd_world = copy;
    cmd_world.out_dir.clone_from(&w.out_dir);
    let third = cmd_world.ok(&["run", "img/null", "--env", "dev"]);
    for name in ["build.pkrvars.hcl", "hyops.pkrvars.hcl"] {
        let rel = format!("driver/configs/dev/{name}");
        let a = std::fs::read(w.evidence(&first).join(&rel)).unwrap();
        let b = std::fs::read(w.evidence(&second).join(&rel)).unwrap();
        let c = std::fs::read(cmd_world.evidence(&third).join(&rel)).unwrap();
        assert_eq!(a, b, "{name} differs between runs");
        assert_eq!(a, c, "{name} differs between catalog copies");
    }
}

#[test]
fn builders_lists_canonical_ids_and_validate_enforces_naming() {
    let w = PkWorld::new();
    let all = w.ok(&["packer", "builders"]);
    let ids: Vec<&str> = all["builders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"source.null.linux-1"), "{all:#}");
    let filtered = w.ok(&[
        "packer",
        "builders",
        "--os",
        "linux",
        "--platform",
        "file",
        "--pack",
        "null-img",
    ]);
    assert_eq!(
        filtered["builders"][0]["id"], "source.file.linux-2",
        "{filtered:#}"
    );
    assert_eq!(filtered["builders"].as_array().unwrap().len(), 1);
    // A filter that matches nothing is an empty list; a pack that does not exist is a typo.
    let none = w.ok(&["packer", "builders", "--os", "windows"]);
    assert_eq!(none["builders"], serde_json::json!([]));
    let (out, typo) = w.hyops(&["packer", "builders", "--pack", "null-imgg"]);
    assert_eq!(out.code, 2, "{typo}");
    assert!(
        typo["message"]
            .as_str()
            .unwrap()
            .contains("the catalog has no packer pack `null-imgg`")
            && typo["help"] == "packer packs: `bare`, `null-img`, `ugly`",
        "{typo}"
    );

    std::fs::write(
        w.world.catalog.join("packs/packer/null-img/iso.pkr.hcl"),
        "source \"proxmox-iso\" \"My_Image\" {\n}\n",
    )
    .unwrap();
    let (out, report) = w.hyops(&["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let d = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "hyops::catalog::lint::packer_builder_naming")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(d["file"], "packs/packer/null-img/iso.pkr.hcl");
    assert_eq!((d["line"].as_u64(), d["col"].as_u64()), (Some(1), Some(22)));
}

#[test]
fn a_state_file_that_cannot_be_written_fails_the_build_and_keeps_the_old_state() {
    let w = PkWorld::new();
    let first = w.ok(&["run", "img/null", "--env", "dev"]);
    let state = w.world.state.join("packer-state.json");
    let before = read(&state);
    // The update locks `packer-state.json.lock` first: a folder in its place makes the write
    // that follows the build fail (the first run cached packer's version, so nothing before
    // the build touches the file).
    let lock = w.world.state.join("packer-state.json.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let (out, run) = w.hyops(&["run", "img/null", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let attempt = &run["attempts"][0];
    assert_eq!(attempt["status"], "failed", "{run:#}");
    let error = &attempt["error"];
    assert_eq!(error["code"], "hyops::driver::error", "{run:#}");
    assert_eq!(error["retryable"], true, "{run:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("packer-state.json could not be written: failed to open"),
        "{message}"
    );
    // Packer did build (its manifest is in the evidence), but the outputs in force are still
    // the first run's, and the state file is the previous run's, untouched.
    assert!(w.evidence(&run).join("driver/manifest.json").is_file());
    let outputs = w.ok(&["outputs", "img/null", "--env", "dev"]);
    assert_eq!(outputs["run_id"], first["run_id"], "{outputs:#}");
    assert_eq!(read(&state), before);
}

#[test]
fn packer_runs_wrapped_by_hyops_its_debug_log_kept_in_evidence_not_shown() {
    let w = PkWorld::new();
    // Text output, as a person sees it.
    let out = w
        .cmd(&["run", "img/null", "--env", "dev"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("PASS") || stderr.contains("PASS"),
        "{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains("Packer version") && !stderr.contains("Packer version"),
        "packer's debug log reached the terminal:\n{stdout}\n{stderr}"
    );
    let ev = files_under(&w.world.state.join("evidence"))
        .into_iter()
        .find(|f| f.ends_with("driver.log"))
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .expect("an attempt's driver.log");
    // Packer wrote its log to stderr, which it does only when it is not its own wrapper: one
    // packer process per command. The log is in driver.log at DEBUG.
    let log = read(&ev.join("driver.log"));
    assert!(
        log.contains(" DEBUG packer.log [INFO] Packer version: 1.6.6"),
        "{log}"
    );
    assert!(!log.contains("WARN driver.stderr"), "{log}");
    // `hyops logs` prints it only with --debug.
    let runs = w.ok(&["runs", "list"]);
    let run_id = runs[0]["run_id"].as_str().unwrap();
    let logs = w.cmd(&["logs", run_id]).output().unwrap();
    let plain = text(&logs.stdout);
    assert!(plain.contains("INFO packer ==> Builds finished"), "{plain}");
    assert!(!plain.contains("DEBUG"), "{plain}");
    let logs = w.cmd(&["logs", run_id, "--debug"]).output().unwrap();
    assert_eq!(text(&logs.stdout), log);
    // The run uuid hyops gave packer stamps the manifest's builds.
    let result: Value = serde_json::from_str(&read(&ev.join("driver/packer-result.json"))).unwrap();
    let uuid = result["run_uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(&uuid[14..15], "4", "{uuid}");
    let manifest: Value = serde_json::from_str(&read(&ev.join("driver/manifest.json"))).unwrap();
    assert_eq!(manifest["last_run_uuid"], uuid);
    for build in manifest["builds"].as_array().unwrap() {
        assert_eq!(build["packer_run_uuid"], uuid, "{manifest:#}");
    }
}

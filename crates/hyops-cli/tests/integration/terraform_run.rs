//! The terraform driver end to end with real terraform 1.0.3 and the null provider 2.1.2
//! (`source scripts/install-tools.sh; hyops_need_terraform`): plan, apply, no-change plan,
//! destroy, env separation, version policy, HCL diagnostics, secrets, remote state, saved plans.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::run_support::{Outcome, World};

const TOKEN: &str = "tok-secret-77aa";

/// A copy of the terraform fixture catalog wired to this machine's terraform.
pub(crate) struct TfWorld {
    pub(crate) world: World,
    tf_dir: PathBuf,
    pub(crate) out_dir: PathBuf,
}

fn need(var: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(var).unwrap_or_else(|| {
        panic!(
            "{var} is not set: the terraform tests need real terraform 1.0.3 and the null provider\nhelp: run `source scripts/install-tools.sh; hyops_need_terraform` first (scripts/test.sh does)"
        )
    }))
}

impl TfWorld {
    pub(crate) fn new() -> Self {
        let terraform = need("HYOPS_TEST_TERRAFORM");
        let plugins = need("HYOPS_TEST_TF_PLUGIN_DIR");
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terraform");
        let world = World::from_catalog(&from);
        for entry in std::fs::read_dir(world.catalog.join("profiles")).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(
                &path,
                text.replace("@PLUGIN_DIR@", plugins.to_str().unwrap()),
            )
            .unwrap();
        }
        let out_dir = world.scratch("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        Self {
            tf_dir: terraform.parent().unwrap().to_path_buf(),
            world,
            out_dir,
        }
    }

    /// `hyops ARGS --output json` with terraform first on PATH, the secret and `out_dir` input
    /// in hyops' environment.
    pub(crate) fn hyops(&self, args: &[&str]) -> (Outcome, Value) {
        self.world.json_with_tool(
            &self.tf_dir,
            &[
                ("HYOPS_TF_TOKEN", TOKEN.as_ref()),
                ("HYOPS_INPUT_OUT_DIR", self.out_dir.as_os_str()),
            ],
            args,
        )
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

    fn tfstate(&self) -> PathBuf {
        self.world.tmp.path().join("tfstate")
    }
}

fn summary(report: &Value) -> &str {
    report["summary"].as_str().unwrap_or_default()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn plan_apply_no_change_destroy_and_secrets_never_written() {
    let w = TfWorld::new();
    let plan = w.ok(&["plan", "t/file", "--env", "dev"]);
    assert!(
        summary(&plan).starts_with("Plan: 1 to add (null_resource.file)"),
        "{plan}"
    );
    let file = w.out_dir.join("dev-box.txt");
    assert!(!file.exists(), "plan must not change anything");

    let run = w.ok(&["run", "t/file", "--env", "dev"]);
    let probes = &run["attempts"][0]["probes"];
    assert_eq!(probes[0]["name"], "file-written", "{run}");
    assert_eq!(probes[0]["passed"], true, "{run}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("dev-box"));
    assert_eq!(run["outputs"]["hidden"], "[REDACTED:hidden]", "{run}");
    // The provider versions and hashes init chose are evidence, under the MANIFEST.
    let evidence = w.world.evidence_dir(&run["attempts"][0]);
    let lock = std::fs::read_to_string(evidence.join("driver/terraform.lock.hcl")).unwrap();
    assert!(
        lock.contains("provider \"registry.terraform.io/hashicorp/null\"")
            && lock.contains("version = \"2.1.2\""),
        "{lock}"
    );
    let manifest = std::fs::read_to_string(evidence.join("MANIFEST.json")).unwrap();
    assert!(manifest.contains("driver/terraform.lock.hcl"), "{manifest}");

    let again = w.ok(&["plan", "t/file", "--env", "dev"]);
    assert_eq!(summary(&again), "No changes.", "{again}");

    let destroyed = w.ok(&["destroy", "t/file", "--env", "dev", "--yes"]);
    assert_eq!(summary(&destroyed), "Destroy complete.");
    assert!(!file.exists(), "the destroy provisioner removes the file");
    let after = w.ok(&["plan", "t/file", "--env", "dev"]);
    assert!(summary(&after).starts_with("Plan: 1 to add"), "{after}");

    // Terraform's own state holds them (outside the state dir, by the profile's policy);
    // nothing hyops wrote does.
    let sensitive = "hidden-dev-box-zq81x";
    let in_tfstate = files(&w.tfstate())
        .iter()
        .any(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).contains(sensitive));
    assert!(in_tfstate, "the test must exercise a real sensitive output");
    for f in files(&w.world.state) {
        let bytes = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!bytes.contains(TOKEN), "secret input in {}", f.display());
        assert!(
            !bytes.contains(sensitive),
            "sensitive output in {}",
            f.display()
        );
    }
    let (out, _) = w.hyops(&["outputs", "t/file", "--env", "dev"]);
    assert!(!out.stdout.contains(TOKEN) && !out.stdout.contains(sensitive));
}

#[test]
fn dev_and_prod_get_separate_state_by_path_and_by_workspace() {
    let w = TfWorld::new();
    let dev = w.ok(&["run", "t/file", "--env", "dev"]);
    let prod = w.ok(&["run", "t/file", "--env", "prod"]);
    assert!(
        dev["outputs"]["file"]
            .as_str()
            .unwrap()
            .ends_with("dev-box.txt")
    );
    assert!(
        prod["outputs"]["file"]
            .as_str()
            .unwrap()
            .ends_with("prod-box.txt")
    );
    // Both created their resource: neither saw the other's state.
    assert!(summary(&prod).starts_with("Plan: 1 to add"), "{prod}");
    assert!(w.tfstate().join("dev/t-file.tfstate").is_file());
    assert!(w.tfstate().join("prod/t-file.tfstate").is_file());

    w.ok(&["run", "t/ws", "--env", "dev"]);
    let prod_ws = w.ok(&["run", "t/ws", "--env", "prod"]);
    assert!(summary(&prod_ws).starts_with("Plan: 1 to add"), "{prod_ws}");
    let ws = w.tfstate().join("shared/workspaces");
    assert!(ws.join("dev-t-ws/terraform.tfstate").is_file());
    assert!(ws.join("prod-t-ws/terraform.tfstate").is_file());
}

#[test]
fn a_version_constraint_excluding_the_binary_fails_before_running_anything() {
    let w = TfWorld::new();
    let (out, report) = w.hyops(&["plan", "t/old", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let message = report["attempts"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1.0.3") && message.contains(">=1.5"),
        "{message}"
    );
    let events = std::fs::read_to_string(
        w.world
            .evidence_dir(&report["attempts"][0])
            .join("events.jsonl"),
    )
    .unwrap();
    let steps: Vec<&str> = events
        .lines()
        .filter(|l| l.contains("\"step_started\""))
        .collect();
    assert_eq!(steps.len(), 1, "only `version -json` may run: {events}");
}

#[test]
fn state_without_a_backend_or_inside_the_state_dir_is_refused_before_running_anything() {
    let w = TfWorld::new();
    for (module, expected) in [
        ("t/nobackend", "names no terraform backend"),
        ("t/instate", "is inside hyops' state dir"),
    ] {
        let (out, report) = w.hyops(&["plan", module, "--env", "dev"]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        let error = &report["attempts"][0]["error"];
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(expected), "{module}: {message}");
        assert!(message.contains("help: "), "{message}");
        assert_eq!(error["retryable"], false);
        let events = std::fs::read_to_string(
            w.world
                .evidence_dir(&report["attempts"][0])
                .join("events.jsonl"),
        )
        .unwrap();
        assert!(
            !events.contains("\"step_started\""),
            "nothing may run: {events}"
        );
    }
    assert!(!w.world.state.join("terraform").exists());
}

#[test]
fn a_terraform_error_is_a_diagnostic_naming_pack_file_and_line() {
    // An undeclared variable: valid HCL (a syntax error never gets this far: `hyops validate`
    // refuses it), reported by `terraform validate`.
    let w = TfWorld::new();
    let (out, report) = w.hyops(&["plan", "t/bad", "--env", "dev"]);
    assert_eq!(out.code, 1);
    let error = &report["attempts"][0]["error"];
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("--> packs/terraform/bad/main.tf:5:"),
        "{message}"
    );
    assert_eq!(error["retryable"], false);
}

#[test]
fn a_module_reads_another_modules_state_by_a_profile_computed_path() {
    let w = TfWorld::new();
    let plain = w.ok(&["run", "t/plain", "--env", "prod"]);
    let reader = w.ok(&["run", "t/reader", "--env", "prod"]);
    assert_eq!(
        reader["outputs"]["upstream_file"], plain["outputs"]["file"],
        "{reader}"
    );
}

#[test]
fn apply_plan_applies_a_fresh_plan_and_refuses_a_stale_one() {
    let w = TfWorld::new();
    let stale = w.ok(&["plan", "t/plain", "--env", "dev"]);
    let artifacts = stale["attempts"][0]["artifacts"].as_array().unwrap();
    assert_eq!(
        artifacts[0]["schema_version"], "terraform-plan/v1",
        "{stale}"
    );
    let main_tf = w.world.catalog.join("packs/terraform/plain/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    std::fs::write(&main_tf, format!("{text}\n# changed after planning\n")).unwrap();
    let stale_id = stale["run_id"].as_str().unwrap();
    let (out, _) = w.hyops(&["apply", "--plan", stale_id]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    // With --output json the error is a JSON report on stdout.
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("refusing to apply") && said.contains("pack packs/terraform/plain changed"),
        "{said}"
    );
    assert!(!w.out_dir.join("dev-box.txt").exists());

    let fresh = w.ok(&["plan", "t/plain", "--env", "dev"]);
    let applied = w.ok(&["apply", "--plan", fresh["run_id"].as_str().unwrap()]);
    assert_eq!(applied["passed"], true, "{applied}");
    assert!(w.out_dir.join("dev-box.txt").is_file());
    assert!(
        applied["outputs"]["file"]
            .as_str()
            .unwrap()
            .ends_with("dev-box.txt")
    );

    // A plan of a module with secret inputs keeps no binary plan: apply --plan says so.
    let secret = w.ok(&["plan", "t/file", "--env", "dev"]);
    assert!(
        secret["attempts"][0]["artifacts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (out, _) = w.hyops(&["apply", "--plan", secret["run_id"].as_str().unwrap()]);
    assert_eq!(out.code, 1);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("kept no saved plan") && said.contains("`hyops run t/file --env dev`"),
        "{said}"
    );
}

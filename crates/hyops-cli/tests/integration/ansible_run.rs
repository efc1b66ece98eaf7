//! The ansible driver end to end with real ansible-core 2.19 (`source scripts/install-tools.sh;
//! hyops_need_ansible`): check-mode plan, apply with a file probe, outputs from set_stats and the
//! outputs file, per-task events in the evidence, secrets never written, a failing task and an
//! unreachable host named, the version requirement refused before any play.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::run_support::{Outcome, World, contains, files_under};

const TOKEN: &str = "tok-ansible-secret-5c1e";

/// A copy of the ansible fixture catalog with ansible-playbook first on PATH.
struct AnsibleWorld {
    world: World,
    bin_dir: PathBuf,
    out_dir: PathBuf,
}

impl AnsibleWorld {
    fn new() -> Self {
        let playbook = PathBuf::from(std::env::var_os("HYOPS_TEST_ANSIBLE_PLAYBOOK").unwrap_or_else(|| {
            panic!(
                "HYOPS_TEST_ANSIBLE_PLAYBOOK is not set: the ansible tests need real ansible-core 2.19\nhelp: run `source scripts/install-tools.sh; hyops_need_ansible` first (scripts/test.sh does)"
            )
        }));
        assert!(playbook.is_file(), "{} is missing", playbook.display());
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ansible");
        let world = World::from_catalog(&from);
        let out_dir = world.scratch("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        Self {
            bin_dir: playbook.parent().unwrap().to_path_buf(),
            world,
            out_dir,
        }
    }

    /// `hyops ARGS --output json` with the secret and `out_dir` in hyops' environment.
    fn hyops(&self, args: &[&str]) -> (Outcome, Value) {
        self.world.json_with_tool(
            &self.bin_dir,
            &[
                ("HYOPS_ANSIBLE_TOKEN", TOKEN.as_ref()),
                ("HYOPS_INPUT_OUT_DIR", self.out_dir.as_os_str()),
            ],
            args,
        )
    }

    fn events(&self, report: &Value) -> Vec<Value> {
        let dir = self.world.evidence_dir(&report["attempts"][0]);
        std::fs::read_to_string(dir.join("events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn task_events<'a>(events: &'a [Value], status: Option<&str>) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "ansible_task" && status.is_none_or(|s| e["status"] == s))
        .collect()
}

#[test]
fn check_mode_then_apply_publishes_outputs_records_tasks_and_never_writes_the_secret() {
    let w = AnsibleWorld::new();
    let site = w.out_dir.join("dev-site.txt");
    let mut said = String::new();

    let (out, plan) = w.hyops(&["plan", "a/site", "--env", "dev"]);
    said.push_str(&out.stdout);
    said.push_str(&out.stderr);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        plan["summary"]
            .as_str()
            .unwrap()
            .starts_with("Check: 3 would change"),
        "{plan}"
    );
    assert!(!site.exists(), "check mode must not change anything");
    assert!(!w.out_dir.join("token.txt").exists());
    let result = std::fs::read_to_string(
        w.world
            .evidence_dir(&plan["attempts"][0])
            .join("result.json"),
    )
    .unwrap();
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["driver"]["check_mode"], true, "{result}");

    let (out, run) = w.hyops(&["run", "a/site", "--env", "dev", "--keep-workdir"]);
    said.push_str(&out.stdout);
    said.push_str(&out.stderr);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let probes = &run["attempts"][0]["probes"];
    assert_eq!(probes[0]["name"], "file-written", "{run}");
    assert_eq!(probes[0]["passed"], true, "{run}");
    assert_eq!(
        std::fs::read_to_string(&site).unwrap(),
        "hello dev-box\n",
        "{run}"
    );
    // The play got the secret (it wrote it outside hyops' state, as the pack asks).
    assert_eq!(
        std::fs::read_to_string(w.out_dir.join("token.txt")).unwrap(),
        TOKEN
    );

    let events = w.events(&run);
    let tasks = task_events(&events, None);
    let names: Vec<&str> = tasks.iter().map(|t| t["task"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "write the site file",
            "hand the token to a file outside hyops' state",
            "print the token",
            "greet",
            "greet : write the outputs file",
            "publish the file path"
        ],
        "{events:?}"
    );
    assert!(
        tasks.iter().all(|t| t["host"] == "localhost"
            && t["duration_ms"].is_u64()
            && t["action"].is_string())
    );
    assert_eq!(task_events(&events, Some("changed")).len(), 3);
    let printed = tasks[2]["msg"].as_str().unwrap();
    assert_eq!(printed, "the token is [REDACTED:token]");
    let recap = events
        .iter()
        .find(|e| e["event"] == "ansible_recap")
        .unwrap();
    assert_eq!(recap["hosts"]["localhost"]["changed"], 3, "{recap}");

    let (out, outputs) = w.hyops(&["outputs", "a/site", "--env", "dev"]);
    said.push_str(&out.stdout);
    said.push_str(&out.stderr);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let text = outputs.to_string();
    assert!(
        text.contains(site.to_str().unwrap()) && text.contains("hello from a role"),
        "{outputs}"
    );

    // The kept work dir is under the state dir: it is searched too.
    let work = w.world.state.join("work");
    assert!(
        files_under(&work).iter().any(|f| f.ends_with("site.yml")),
        "--keep-workdir keeps the pack copy"
    );
    for f in files_under(&w.world.state) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !contains(&bytes, TOKEN.as_bytes()),
            "secret in {}",
            f.display()
        );
    }
    assert!(!said.contains(TOKEN), "secret in hyops' output");
}

#[test]
fn a_failing_task_and_an_unreachable_host_are_named_with_ansibles_message() {
    let w = AnsibleWorld::new();
    let (out, report) = w.hyops(&["run", "a/broken", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let attempt = &report["attempts"][0];
    assert_eq!(attempt["status"], "failed", "{report}");
    let message = attempt["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "task `break on purpose` failed on host `localhost`: non-zero return code (rc 3)"
        ) && message.contains("stderr: no good"),
        "{message}"
    );
    assert!(
        message.contains("host `ghost` is unreachable (task `reach every host`)")
            && message.contains("port 1")
            && message.contains("environments/dev.yaml"),
        "{message}"
    );
    let events = w.events(&report);
    let unreachable = task_events(&events, Some("unreachable"));
    assert_eq!(unreachable.len(), 1);
    assert_eq!(unreachable[0]["host"], "ghost");
    assert_eq!(task_events(&events, Some("failed"))[0]["host"], "localhost");
}

#[test]
fn a_version_requirement_the_binary_misses_refuses_before_any_play() {
    let w = AnsibleWorld::new();
    let (out, report) = w.hyops(&["run", "a/old", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let error = &report["attempts"][0]["error"];
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("ansible-core 2.") && message.contains("requires >=3"),
        "{message}"
    );
    assert_eq!(error["retryable"], false);
    let events = w.events(&report);
    assert!(task_events(&events, None).is_empty(), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "ansible_version_mismatch")
    );
}

#[test]
fn stack_destroy_skips_the_playbook_and_tears_down_the_box_it_configured() {
    let w = AnsibleWorld::new();
    let (out, run) = w.hyops(&["run", "configured", "--env", "dev"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(run["passed"], true, "{run:#}");
    let (out, destroy) = w.hyops(&["destroy", "configured", "--env", "dev", "--yes"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let status = |name: &str| {
        let m = destroy["members"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["member"] == name))
            .unwrap_or_else(|| panic!("no member {name} in {destroy:#}"));
        (
            m["status"].clone(),
            m["reason"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let (site, why) = status("site");
    assert_eq!(site, "skipped", "{destroy:#}");
    assert!(why.starts_with("a playbook has no inverse"), "{why}");
    // The box the playbook configured is torn down all the same (it used to stay standing,
    // "not destroyed: dependent site failed").
    assert_eq!(status("box").0, "passed", "{destroy:#}");
    let log = std::fs::read_to_string(w.out_dir.join("box.log")).unwrap();
    assert_eq!(log, "apply box-1\ndestroy box-1\n");
    // The configuration went with the box: the playbook's last PASS is neither read nor reused,
    // though the new box has the same name (so the same wired input).
    let (out, _) = w.hyops(&["outputs", "configured.site", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let (out, again) = w.hyops(&["run", "configured", "--env", "dev", "--affected"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let site = again["members"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["member"] == "site"))
        .unwrap();
    assert_eq!(site["reused"], false, "{again:#}");
    assert!(
        site["reason"]
            .as_str()
            .unwrap()
            .contains("was destroyed since"),
        "{again:#}"
    );
}

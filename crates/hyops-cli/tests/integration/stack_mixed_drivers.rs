//! A stack mixing drivers, both real: terraform 1.0.3 publishes the path of the file it wrote,
//! a shell member reads it through a wired input, and a second terraform member is wired from the
//! shell member (`tests/fixtures/terraform/stacks/mixed.yaml`).

use crate::stack_support::member_of;
use crate::terraform_run::TfWorld;

#[test]
fn a_terraform_output_is_wired_into_a_shell_members_input() {
    let w = TfWorld::new();
    let summary = w.ok(&["run", "mixed", "--env", "dev"]);
    let member = |name: &str| member_of(&summary, name).clone();
    let (tf, sh) = (member("tf"), member("sh"));
    let file = w.out_dir.join("mixed.txt");
    assert_eq!(tf["outputs"]["file"], file.to_str().unwrap(), "{summary}");
    // The shell process saw terraform's value and read the file terraform wrote.
    let saw = std::fs::read_to_string(w.out_dir.join("consumer-saw.txt")).unwrap();
    assert_eq!(
        saw,
        format!("path={}\ncontent=mixed\n", file.display()),
        "{summary}"
    );
    assert_eq!(sh["outputs"]["seen"], "mixed", "{summary}");
    // Its RunRequest (evidence request.json) holds the real upstream value and names the run.
    let shown = w.ok(&["runs", "show", sh["run_id"].as_str().unwrap()]);
    let evidence = shown["attempts"][0]["attempt"]["evidence_path"]
        .as_str()
        .unwrap_or_else(|| panic!("no evidence path: {shown}"));
    let request: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.world.state.join(evidence).join("request.json")).unwrap(),
    )
    .unwrap();
    let path = &request["inputs"]["path"];
    assert_eq!(path["value"], file.to_str().unwrap(), "{request}");
    assert_eq!(path["source"], "upstream", "{request}");
    let tf_run = tf["run_id"].as_str().unwrap();
    assert!(
        path["source_location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("<- run {tf_run}")),
        "{request}"
    );
}

#[test]
fn a_wired_terraform_member_plans_alone_and_applies_its_saved_plan() {
    let w = TfWorld::new();
    w.ok(&["run", "mixed", "--env", "dev"]);
    // `again` reads `sh`'s last PASS: planned on its own, its saved plan applies as is.
    let planned = w.ok(&["plan", "mixed.again", "--env", "dev"]);
    let run_id = planned["run_id"].as_str().unwrap();
    let applied = w.ok(&["apply", "--plan", run_id]);
    assert_eq!(applied["status"], "passed", "{applied}");
    assert_eq!(applied["fingerprint"], planned["fingerprint"], "{applied}");
    // Its producer destroyed since: the saved plan's input can no longer be read.
    w.ok(&["destroy", "mixed.sh", "--env", "dev", "--yes"]);
    let (out, _) = w.hyops(&["apply", "--plan", run_id]);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 1, "{said}");
    assert!(
        said.contains("is wired from member `sh`, whose last PASS") && said.contains("destroyed"),
        "{said}"
    );
}

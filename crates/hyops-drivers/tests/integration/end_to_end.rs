//! A real shell pack run with the CommandPlan (std::process here; hyops-process in the runner).

use std::path::Path;
use std::process::{Command, Stdio};

use hyops_drivers::{ShellDriver, Stage, parse_outputs, prepare_workdir, write_inputs_file};
use serde_json::json;

use crate::{sample_request, sample_secrets, write_file};

const SCRIPT: &str = r#"#!/bin/sh
set -eu
test "$1" = "$HYOPS_STAGE"
token_in_file=false
grep -q tok-s3cr3t-value "$HYOPS_INPUTS_FILE" && token_in_file=true
token_in_env=false
env | grep -q tok-s3cr3t-value && token_in_env=true
inputs_mode=$(stat -c %a "$HYOPS_INPUTS_FILE")
cat > "$HYOPS_OUTPUTS_FILE" <<JSON
{"stage": "$HYOPS_STAGE", "greeting": "$HYOPS_INPUT_GREETING", "port": $HYOPS_INPUT_LISTEN_PORT,
 "data": "$(cat lib/data.txt)", "token_in_file": $token_in_file, "token_in_env": $token_in_env,
 "inputs_mode": "$inputs_mode", "cwd_is_workdir": $(test -x ./run.sh && echo true || echo false)}
JSON
"#;

fn run(plan: &hyops_drivers::CommandPlan) -> std::process::Output {
    Command::new(&plan.program)
        .args(&plan.args)
        .current_dir(&plan.cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&plan.env)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn shell_pack_runs_and_its_outputs_are_parsed() {
    let base = tempfile::tempdir().unwrap();
    let pack = base.path().join("packs/shell/web-site");
    write_file(&pack.join("run.sh"), SCRIPT, 0o755);
    write_file(&pack.join("lib/data.txt"), "from-the-pack", 0o644);
    let attempt = base.path().join("state/work/run-1/attempt-1");
    let work = attempt.join("work");
    prepare_workdir(&pack, &work).unwrap();
    let inputs_file = attempt.join("inputs.json");
    let outputs_file = attempt.join("outputs.raw.json");

    let request = sample_request();
    let secrets = sample_secrets();
    let document = ShellDriver.inputs_document(&request, &secrets).unwrap();
    write_inputs_file(&inputs_file, &document).unwrap();
    let plan = ShellDriver
        .command(
            &request,
            Stage::Apply,
            &work,
            &inputs_file,
            &outputs_file,
            &secrets,
        )
        .unwrap();
    let output = run(&plan);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let outputs = parse_outputs(&outputs_file).unwrap();
    assert_eq!(
        serde_json::Value::Object(outputs),
        json!({
            "stage": "apply", "greeting": "hello world", "port": 8080, "data": "from-the-pack",
            "token_in_file": true, "token_in_env": false, "inputs_mode": "600", "cwd_is_workdir": true
        })
    );
    assert!(!Path::new(&pack).join("outputs.raw.json").exists());
}

#[test]
fn failing_script_without_outputs_yields_empty_outputs() {
    let base = tempfile::tempdir().unwrap();
    let pack = base.path().join("pack");
    write_file(
        &pack.join("run.sh"),
        "#!/bin/sh\necho boom >&2\nexit 7\n",
        0o755,
    );
    let work = base.path().join("work");
    prepare_workdir(&pack, &work).unwrap();
    let outputs_file = base.path().join("outputs.json");
    let plan = ShellDriver
        .command(
            &sample_request(),
            Stage::Destroy,
            &work,
            &base.path().join("inputs.json"),
            &outputs_file,
            &sample_secrets(),
        )
        .unwrap();
    let output = run(&plan);
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "boom\n");
    assert!(parse_outputs(&outputs_file).unwrap().is_empty());
}

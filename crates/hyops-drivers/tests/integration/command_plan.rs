//! `ShellDriver::command`: program, args, cwd and exactly the HYOPS_* variables.

use std::ffi::OsString;

use hyops_drivers::{DriverError, ShellDriver, Stage};
use serde_json::Map;

use crate::{sample_request, sample_secrets, write_file};

#[test]
fn plan_runs_entry_with_stage_and_non_secret_inputs_only() {
    let work = tempfile::tempdir().unwrap();
    write_file(&work.path().join("run.sh"), "#!/bin/sh\n", 0o755);
    let inputs_file = work.path().join("../inputs.json");
    let outputs_file = work.path().join("../outputs.json");
    let plan = ShellDriver
        .command(
            &sample_request(),
            Stage::Apply,
            work.path(),
            &inputs_file,
            &outputs_file,
            &sample_secrets(),
        )
        .unwrap();
    assert_eq!(plan.program, work.path().join("run.sh"));
    assert_eq!(plan.args, vec![OsString::from("apply")]);
    assert_eq!(plan.cwd, work.path());
    let env: Vec<(String, String)> = plan
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string_lossy().into_owned()))
        .collect();
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        env,
        vec![
            pair("HYOPS_ENVIRONMENT", "dev"),
            pair("HYOPS_INPUTS_FILE", inputs_file.to_str().unwrap()),
            pair("HYOPS_INPUT_GREETING", "hello world"),
            pair("HYOPS_INPUT_LISTEN_PORT", "8080"),
            pair("HYOPS_OUTPUTS_FILE", outputs_file.to_str().unwrap()),
            pair("HYOPS_STAGE", "apply"),
            pair("HYOPS_TARGET", "web/site"),
        ]
    );
    assert!(!format!("{plan:?}").contains("hello world"));
}

#[test]
fn secret_inputs_never_reach_the_environment() {
    let work = tempfile::tempdir().unwrap();
    write_file(&work.path().join("run.sh"), "#!/bin/sh\n", 0o755);
    let mut request = sample_request();
    // Even a secret that (wrongly) carries a value, or one only the caller knows is secret.
    request.inputs.get_mut("api_token").unwrap().value = Some("leaked?".into());
    request.inputs.get_mut("greeting").unwrap().secret = false;
    let mut secrets = sample_secrets();
    secrets.insert("listen-port".into(), "9999".into());
    let plan = ShellDriver
        .command(
            &request,
            Stage::Plan,
            work.path(),
            "i".as_ref(),
            "o".as_ref(),
            &secrets,
        )
        .unwrap();
    assert!(!plan.env.contains_key("HYOPS_INPUT_API_TOKEN"));
    assert!(!plan.env.contains_key("HYOPS_INPUT_LISTEN_PORT"));
    for value in plan.env.values() {
        let text = value.to_string_lossy();
        assert!(!text.contains("tok-s3cr3t") && !text.contains("leaked?") && text != "9999");
    }
}

#[test]
fn entry_must_exist_and_be_executable() {
    let work = tempfile::tempdir().unwrap();
    let request = sample_request();
    let build = |secrets: &Map<_, _>| {
        ShellDriver.command(
            &request,
            Stage::Plan,
            work.path(),
            "i".as_ref(),
            "o".as_ref(),
            secrets,
        )
    };
    let err = build(&sample_secrets()).unwrap_err();
    assert!(matches!(err, DriverError::EntryMissing { .. }), "{err}");

    write_file(&work.path().join("run.sh"), "#!/bin/sh\n", 0o644);
    let err = build(&sample_secrets()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pack entry packs/shell/web-site/run.sh is not executable\nhelp: run `chmod +x packs/shell/web-site/run.sh` and give it a `#!` line"
    );
    assert!(!err.is_retryable());
}

#[test]
fn entry_outside_the_pack_is_refused() {
    let work = tempfile::tempdir().unwrap();
    for entry in ["../run.sh", "/bin/sh", ""] {
        let mut request = sample_request();
        request.pack.entry = entry.into();
        let err = ShellDriver
            .command(
                &request,
                Stage::Plan,
                work.path(),
                "i".as_ref(),
                "o".as_ref(),
                &sample_secrets(),
            )
            .unwrap_err();
        assert!(
            matches!(err, DriverError::EntryOutsidePack { .. }),
            "{entry}: {err}"
        );
    }
}

#[test]
fn colliding_env_names_are_an_error() {
    let work = tempfile::tempdir().unwrap();
    write_file(&work.path().join("run.sh"), "#!/bin/sh\n", 0o755);
    let mut request = sample_request();
    let twin = request.inputs["listen-port"].clone();
    request.inputs.insert("listen_port".into(), twin);
    let err = ShellDriver
        .command(
            &request,
            Stage::Plan,
            work.path(),
            "i".as_ref(),
            "o".as_ref(),
            &sample_secrets(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "inputs `listen-port` and `listen_port` both map to environment variable HYOPS_INPUT_LISTEN_PORT\nhelp: rename one of them; names are upper-cased and non-alphanumerics become `_`"
    );
}

#[test]
fn step_driver_dispatches_to_the_shell_driver() {
    let driver = hyops_drivers::step_driver(hyops_contract::DriverName::Shell).unwrap();
    assert_eq!(driver.name(), hyops_contract::DriverName::Shell);
    let dir = tempfile::tempdir().unwrap();
    assert!(
        hyops_drivers::parse_outputs(&dir.path().join("none.json"))
            .unwrap()
            .is_empty()
    );
}

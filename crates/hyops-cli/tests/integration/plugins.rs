//! Dispatch order: core command → plugin `hyops-<name>` → explicit failure with suggestions.

use predicates::prelude::*;

use crate::common::{hyops, make_catalog, snapshot_settings, text, write_executable};

const ECHO_PLUGIN: &str = r#"#!/bin/sh
echo "args: $*"
echo "argc: $#"
echo "version=$HYOPS_VERSION"
echo "catalog=${HYOPS_CATALOG-unset}"
echo "state=${HYOPS_STATE_DIR-unset}"
echo "output=$HYOPS_OUTPUT"
exit 7
"#;

#[test]
fn plugin_runs_with_args_and_hyops_env_and_its_exit_code_is_propagated() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    write_executable(&plugins.join("hyops-hello"), ECHO_PLUGIN);
    let catalog = make_catalog(&tmp.path().join("cat"));

    let out = hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .args([
            "--catalog",
            "cat",
            "--output",
            "json",
            "hello",
            "a",
            "b c",
            "--flag",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("args: a b c --flag\nargc: 3\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("version={}\n", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("catalog={}\n", catalog.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("state={}\n", catalog.join(".hyops").display())),
        "{stdout}"
    );
    assert!(stdout.contains("output=json\n"), "{stdout}");
}

#[test]
fn plugin_without_catalog_sees_none_and_explicit_state_dir_passes_through() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    write_executable(&plugins.join("hyops-hello"), ECHO_PLUGIN);
    let state = tmp.path().join("state");

    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .args(["hello"])
        .assert()
        .code(7)
        .stdout(predicate::str::contains("catalog=unset\nstate=unset\n"));
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .env("HYOPS_STATE_DIR", &state)
        .args(["hello"])
        .assert()
        .code(7)
        .stdout(predicate::str::contains(format!(
            "state={}\n",
            state.display()
        )));
}

#[test]
fn plugin_killed_by_a_signal_exits_128_plus_signal() {
    let tmp = tempfile::tempdir().unwrap();
    write_executable(&tmp.path().join("hyops-die"), "#!/bin/sh\nkill -TERM $$\n");
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", tmp.path())
        .arg("die")
        .assert()
        .code(128 + 15);
}

#[test]
fn plugin_path_is_searched_before_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    write_executable(&first.join("hyops-which"), "#!/bin/sh\necho first\n");
    write_executable(&second.join("hyops-which"), "#!/bin/sh\necho second\n");
    write_executable(&second.join("hyops-only-on-path"), "#!/bin/sh\necho path\n");
    let path = format!("{}:/usr/bin:/bin", second.display());
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &first)
        .env("PATH", &path)
        .arg("which")
        .assert()
        .success()
        .stdout("first\n");
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &first)
        .env("PATH", &path)
        .arg("only-on-path")
        .assert()
        .success()
        .stdout("path\n");
}

#[test]
fn a_plugin_never_shadows_a_core_command() {
    let tmp = tempfile::tempdir().unwrap();
    write_executable(
        &tmp.path().join("hyops-identity"),
        "#!/bin/sh\necho PLUGIN-RAN\nexit 9\n",
    );
    write_executable(
        &tmp.path().join("hyops-serve"),
        "#!/bin/sh\necho PLUGIN-RAN\nexit 9\n",
    );
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", tmp.path())
        .arg("identity")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("HYOPS_VERSION=")
                .and(predicate::str::contains("PLUGIN-RAN").not()),
        );
    // Planned core names are reserved too: the plugin does not run, the error says why.
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", tmp.path())
        .arg("serve")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("PLUGIN-RAN").not())
        .stderr(predicate::str::contains("does not implement yet"));
}

#[test]
fn unknown_command_fails_with_usage_and_suggests_a_close_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    write_executable(&tmp.path().join("hyops-hello"), "#!/bin/sh\nexit 0\n");
    let out = hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("helo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    insta::assert_snapshot!(text(&out.stderr), @r"
    error: no such command: `helo`

    help: a command with a similar name exists: `hello`
    ");
}

#[test]
fn unknown_command_suggests_a_close_core_command_and_speaks_json() {
    let tmp = tempfile::tempdir().unwrap();
    hyops(tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("identiy")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "help: a command with a similar name exists: `identity`",
        ));
    let out = hyops(tmp.path())
        .env("PATH", "/usr/bin:/bin")
        .args(["--output", "json", "zzzz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: hyops_contract::ErrorResponse = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err.code, "hyops::cli::no_such_command");
    assert_eq!(err.message, "no such command: `zzzz`");
    assert!(err.help.unwrap().contains("hyops plugins list"));
}

#[test]
fn plugins_list_reports_active_shadowed_and_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_executable(&a.join("hyops-hello"), "#!/bin/sh\n");
    write_executable(&b.join("hyops-hello"), "#!/bin/sh\n");
    write_executable(&b.join("hyops-identity"), "#!/bin/sh\n");
    write_executable(&b.join("hyops-zeta"), "#!/bin/sh\n");
    std::fs::write(b.join("hyops-not-executable"), "").unwrap();

    let run = |extra: &[&str]| {
        hyops(tmp.path())
            .env("HYOPS_PLUGIN_PATH", &a)
            .env("PATH", &b)
            .args(["plugins", "list"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success(), "{out:?}");
    snapshot_settings(tmp.path()).bind(|| {
        insta::assert_snapshot!(text(&out.stdout), @r"
        hello     active    [TMP]/a/hyops-hello  [HYOPS_PLUGIN_PATH]
        hello     shadowed  [TMP]/b/hyops-hello  [PATH] (shadowed by [TMP]/a/hyops-hello)
        identity  ignored   [TMP]/b/hyops-identity  [PATH] (core command of the same name wins)
        zeta      active    [TMP]/b/hyops-zeta  [PATH]
        ");
    });

    let out = run(&["--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<(String, String, String)> = json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
                p["from"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        statuses,
        vec![
            s("hello", "active", "HYOPS_PLUGIN_PATH"),
            s("hello", "shadowed", "PATH"),
            s("identity", "ignored", "PATH"),
            s("zeta", "active", "PATH"),
        ]
    );
    assert_eq!(json["search_path"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["plugins"][1]["shadowed_by"].as_str().unwrap(),
        a.join("hyops-hello").display().to_string()
    );
}

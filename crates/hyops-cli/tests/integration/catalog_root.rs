//! Catalog root discovery (DESIGN.md invariant 2), observed through what a plugin is handed:
//! `--catalog` > `HYOPS_CATALOG` > current directory with hyops.yaml; never `.git`, never parents.

use predicates::prelude::*;

use crate::common::{hyops, make_catalog, write_executable};

fn plugin_dir(tmp: &std::path::Path) -> std::path::PathBuf {
    let dir = tmp.join("plugins");
    write_executable(
        &dir.join("hyops-where"),
        "#!/bin/sh\necho \"catalog=${HYOPS_CATALOG-unset}\"\n",
    );
    dir
}

#[test]
fn flag_beats_env_beats_current_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path());
    let (flag, env, cwd) = (
        make_catalog(&tmp.path().join("flag")),
        make_catalog(&tmp.path().join("env")),
        make_catalog(&tmp.path().join("cwd")),
    );
    let run = |args: &[&str], env_value: Option<&std::path::Path>| {
        let mut cmd = hyops(&cwd);
        cmd.env("HYOPS_PLUGIN_PATH", &plugins);
        if let Some(v) = env_value {
            cmd.env("HYOPS_CATALOG", v);
        }
        cmd.args(args).arg("where").assert().success()
    };
    run(&["--catalog", flag.to_str().unwrap()], Some(&env))
        .stdout(format!("catalog={}\n", flag.display()));
    run(&[], Some(&env)).stdout(format!("catalog={}\n", env.display()));
    run(&[], None).stdout(format!("catalog={}\n", cwd.display()));
}

#[test]
fn a_git_checkout_without_hyops_yaml_is_not_a_catalog_and_parents_are_not_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path());
    let parent = make_catalog(&tmp.path().join("parent"));
    let repo = parent.join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    hyops(&repo)
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .arg("where")
        .assert()
        .success()
        .stdout("catalog=unset\n");
}

#[test]
fn an_explicit_catalog_without_hyops_yaml_is_a_clear_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(tmp.path());
    std::fs::create_dir_all(tmp.path().join("repo/.git")).unwrap();
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .args(["--catalog", "repo", "where"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "error: `repo` (from --catalog) is not a hyops catalog: it has no hyops.yaml\n\n\
             help: the catalog root is the directory that holds hyops.yaml; create one with `hyops init DIR`\n",
        );
    hyops(tmp.path())
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .env("HYOPS_CATALOG", tmp.path().join("missing"))
        .args(["--output", "json", "where"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "\"code\": \"hyops::cli::catalog_not_found\"",
        ));
}

#[test]
fn commands_that_need_no_catalog_run_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    hyops(tmp.path()).arg("identity").assert().success();
    // A broken HYOPS_CATALOG does not matter to a command that never asks for the catalog.
    hyops(tmp.path())
        .env("HYOPS_CATALOG", tmp.path().join("missing"))
        .arg("identity")
        .assert()
        .success();
    hyops(tmp.path())
        .args(["completions", "bash"])
        .assert()
        .success();
    hyops(tmp.path())
        .args(["plugins", "list"])
        .assert()
        .success();
}

#[test]
fn a_state_dir_blocked_by_a_file_names_the_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = make_catalog(&tmp.path().join("cat"));
    std::fs::write(tmp.path().join("state"), "not a directory").unwrap();
    for state in ["state", "state/sub"] {
        let out = hyops(tmp.path())
            .args(["--catalog", catalog.to_str().unwrap(), "--state-dir", state])
            .args(["runs", "list"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            stderr,
            format!(
                "error: cannot use the state dir {}: {} is a file, not a directory\n\n\
                 help: pass --state-dir (or set HYOPS_STATE_DIR) to a directory, or to a path hyops may create\n",
                tmp.path().join(state).display(),
                tmp.path().join("state").display()
            )
        );
    }
}

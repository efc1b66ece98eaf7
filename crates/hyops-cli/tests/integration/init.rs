//! `hyops init DIR`: a working catalog, all-or-nothing, refusing to clobber.

use predicates::prelude::*;

use crate::common::{hyops, snapshot_settings, text};

#[test]
fn init_creates_a_catalog_and_prints_next_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hyops(tmp.path())
        .args(["init", "my-catalog"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    snapshot_settings(tmp.path()).bind(|| {
        insta::assert_snapshot!(text(&out.stdout), @r"
        created catalog `my-catalog` in [TMP]/my-catalog
          hyops.yaml
          .gitignore
          modules/hello/module.yaml
          profiles/shell-default.yaml
          packs/shell/hello/pack.yaml
          packs/shell/hello/run.sh
          environments/dev.yaml
          environments/prod.yaml

        next steps:
          cd my-catalog
          hyops validate                 # check every document
          hyops resolve hello --env dev  # see the request a run would execute
          hyops run hello --env dev      # run it, then its probes; PASS only if they pass
        ");
    });
    let root = tmp.path().join("my-catalog");
    let manifest = std::fs::read_to_string(root.join("hyops.yaml")).unwrap();
    assert!(manifest.contains("name: my-catalog"), "{manifest}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("packs/shell/hello/run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "entry must be executable");
    // Only the catalog was left behind: no staging directory.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("my-catalog")]);

    // The new catalog is found from inside it.
    let plugins = tmp.path().join("plugins");
    crate::common::write_executable(
        &plugins.join("hyops-where"),
        "#!/bin/sh\necho \"$HYOPS_CATALOG\"\n",
    );
    hyops(&root)
        .env("HYOPS_PLUGIN_PATH", &plugins)
        .arg("where")
        .assert()
        .success()
        .stdout(format!("{}\n", root.display()));
}

#[test]
fn the_scaffold_runs_and_its_published_file_outlives_the_attempt() {
    let tmp = tempfile::TempDir::new().unwrap();
    hyops(tmp.path())
        .args(["init", "c", "-q"])
        .assert()
        .success();
    let root = tmp.path().join("c");
    let out_dir = tmp.path().join("greetings");
    let run = |args: &[&str]| {
        hyops(&root)
            .env("HYOPS_INPUT_OUT_DIR", &out_dir)
            .args(args)
            .assert()
    };
    run(&["run", "hello", "--env", "dev"]).success();
    // Published after its probes passed and still there once hyops removed the work dir.
    let shown = run(&["outputs", "hello", "--env", "dev", "--output", "json"]).success();
    let outputs: serde_json::Value = serde_json::from_slice(&shown.get_output().stdout).unwrap();
    let file = outputs["outputs"]["greeting_file"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hi, developers!\n");
    run(&["destroy", "hello", "--env", "dev", "--yes"]).success();
    assert!(!std::path::Path::new(&file).exists());
}

#[test]
fn init_refuses_a_non_empty_directory_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("busy");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    hyops(tmp.path())
        .args(["init", "busy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: `busy` is not empty"))
        .stderr(predicate::str::contains("--force"));
    assert!(!dir.join("hyops.yaml").exists());

    let out = hyops(tmp.path())
        .args([
            "init", "busy", "--force", "--name", "team-x", "--output", "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "team-x");
    assert_eq!(json["files"].as_array().unwrap().len(), 8);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(dir.join("environments/prod.yaml").exists());
}

#[test]
fn init_fills_an_existing_empty_directory_and_rejects_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    hyops(tmp.path())
        .args(["init", "empty", "-q"])
        .assert()
        .success();
    assert!(tmp.path().join("empty/hyops.yaml").is_file());

    std::fs::write(tmp.path().join("file"), "").unwrap();
    hyops(tmp.path())
        .args(["--output", "json", "init", "file"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("hyops::init::not_a_directory"));
}

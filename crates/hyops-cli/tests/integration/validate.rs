//! `hyops validate` from outside: clean catalogs exit 0, every finding is rendered with a summary
//! line and exit 1, and `--output json` is one JSON document.

use crate::common::{copy_dir, hyops, repo_root, text};

#[test]
fn clean_catalog_exits_zero_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("tests/fixtures/valid/basic"), dir.path());
    let out = hyops(dir.path()).arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0 errors, 0 warnings in 9 files\n");
}

#[test]
fn findings_are_rendered_with_location_and_exit_one() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("tests/fixtures/invalid/17-unknown-profile"),
        dir.path(),
    );
    let out = hyops(dir.path()).arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("hyops::catalog::unknown_profile"),
        "{stdout}"
    );
    assert!(
        stdout.contains("modules/web/site/module.yaml:12:12"),
        "{stdout}"
    );
    assert!(
        stdout.contains("help: known profiles: `shell-default`"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("1 error, 0 warnings in 8 files\n"),
        "{stdout}"
    );
    assert!(!stdout.contains(dir.path().to_str().unwrap()));
}

#[test]
fn json_output_lists_every_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("tests/fixtures/invalid/14-duplicate-module-id"),
        dir.path(),
    );
    let out = hyops(dir.path())
        .args(["--output", "json", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], 2);
    assert_eq!(v["files"], 9);
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "hyops::catalog::duplicate_module_id",
            "hyops::catalog::name_mismatch"
        ]
    );
    assert_eq!(v["diagnostics"][0]["file"], "modules/web/copy/module.yaml");
    assert_eq!(v["diagnostics"][0]["line"], 3);
}

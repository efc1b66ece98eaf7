//! `hyops --version`: version and commit, no catalog, no I/O beyond printing.

use predicates::prelude::*;

use crate::common::hyops;

#[test]
fn version_prints_version_and_commit_without_a_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    for flag in ["--version", "-V"] {
        hyops(tmp.path())
            .env("HYOPS_CATALOG", tmp.path().join("missing"))
            .arg(flag)
            .assert()
            .success()
            .stdout(
                predicate::str::is_match(format!(
                    r"^hyops {} \(([0-9a-f]{{12}}|unknown)\)\n$",
                    regex_lite_escape(env!("CARGO_PKG_VERSION"))
                ))
                .unwrap(),
            );
    }
}

#[test]
fn no_arguments_prints_help_and_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    hyops(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage: hyops"));
    hyops(tmp.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("plugins"));
}

#[test]
fn bad_flags_are_usage_errors_in_text_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    hyops(tmp.path())
        .args(["identity", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unexpected argument '--bogus'"));
    let out = hyops(tmp.path())
        .args(["--output", "json", "completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: hyops_contract::ErrorResponse = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err.code, "hyops::cli::usage");
    assert!(err.message.contains("tcsh"), "{}", err.message);
}

fn regex_lite_escape(s: &str) -> String {
    s.replace('.', r"\.")
}

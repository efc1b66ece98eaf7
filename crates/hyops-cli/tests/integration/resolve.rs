//! `hyops resolve` from outside: pretty JSON in text mode, canonical JSON with `--output json`,
//! identical bytes for copies of a catalog at different paths under different HOME/TZ/env.

use crate::common::{copy_dir, hyops, repo_root, text};

fn basic(dir: &std::path::Path) {
    copy_dir(&repo_root().join("tests/fixtures/valid/basic"), dir);
}

#[test]
fn prints_the_request_with_sources_and_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    basic(dir.path());
    let out = hyops(dir.path())
        .args(["resolve", "web/site", "--env", "prod", "--set", "port=9000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"]["port"]["value"], 9000);
    assert_eq!(v["inputs"]["port"]["source"], "set");
    assert_eq!(
        v["inputs"]["greeting"]["source_location"],
        "environments/prod.yaml:8:15"
    );
    assert_eq!(v["inputs"]["api_token"]["secret_ref"], "site-token");
    assert!(v["inputs"]["api_token"].get("value").is_none());
    assert!(v["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        text(&out.stdout).contains("\n  \""),
        "text mode is pretty JSON"
    );
}

#[test]
fn errors_are_diagnostics_and_exit_one() {
    let dir = tempfile::tempdir().unwrap();
    basic(dir.path());
    let out = hyops(dir.path())
        .args(["resolve", "web/site", "--env", "dev", "--set", "port=80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("hyops::catalog::input_value_invalid"),
        "{stderr}"
    );
    assert!(stderr.contains("minimum"), "{stderr}");
}

#[test]
fn same_catalog_at_two_paths_under_different_home_tz_and_env_prints_identical_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let root_b = b.path().join("elsewhere/deeper");
    basic(a.path());
    basic(&root_b);
    let run = |root: &std::path::Path, home: &str, tz: &str, extra: (&str, &str)| {
        let out = hyops(root)
            .args(["--output", "json", "resolve", "app.site", "--env", "prod"])
            .env("HOME", home)
            .env("TZ", tz)
            .env("USER", extra.1)
            .env(extra.0, extra.1)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    let first = run(a.path(), "/home/alice", "UTC", ("LANG", "C"));
    let second = run(&root_b, "/var/empty", "Asia/Kathmandu", ("SOME_VAR", "x"));
    assert_eq!(text(&first), text(&second));
    let s = text(&first);
    assert!(
        !s.contains(a.path().to_str().unwrap()) && !s.contains("alice"),
        "{s}"
    );
    assert!(
        s.starts_with("{\"backend\"") || s.starts_with("{\"driver\""),
        "canonical: {s}"
    );
    assert!(!s.trim_end().contains('\n'), "canonical JSON is one line");
}

#[test]
fn all_resolves_every_module_as_an_array() {
    let dir = tempfile::tempdir().unwrap();
    basic(dir.path());
    let out = hyops(dir.path())
        .args(["--output", "json", "resolve", "--all", "--env", "prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["net/vpc", "web/site", "app.net", "app.site"]);
    // Neither a target nor --all: the usage names both.
    let out = hyops(dir.path())
        .args(["resolve", "--env", "prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("<TARGET|--all>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn secret_value_shorter_than_six_characters_is_refused_at_resolve_time() {
    let dir = tempfile::tempdir().unwrap();
    basic(dir.path());
    // environments/dev.yaml binds secret `site-token` to SITE_TOKEN.
    let out = hyops(dir.path())
        .env("SITE_TOKEN", "abc")
        .args(["resolve", "web/site", "--env", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("too short to redact"), "{stderr}");
    assert!(stderr.contains("site-token"), "{stderr}");
    // With a long enough value, resolve succeeds and still prints only the reference.
    let ok = hyops(dir.path())
        .env("SITE_TOKEN", "a-long-enough-secret")
        .args(["resolve", "web/site", "--env", "dev"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(!text(&ok.stdout).contains("a-long-enough-secret"));
}

//! Invariant 6 from outside: a secret bound from an environment variable and echoed by a pack in
//! every encoding reaches no file under the state dir (SQLite bytes included) and no hyops output.

use crate::run_support::{ENV, World, contains, files_under};

/// Contains `/`, `+`, `=`, `"` and `&` so its base64, percent-encoded and JSON-escaped forms all
/// differ from the value itself.
const SECRET: &str = "s3cr3t/Tok+en=\"q&x\"";

fn forms() -> Vec<(&'static str, String)> {
    let json = serde_json::to_string(SECRET).unwrap();
    vec![
        ("plain", SECRET.to_owned()),
        // base64 of SECRET (standard alphabet, padded), as `base64` and python print it.
        ("base64", "czNjcjN0L1Rvaytlbj0icSZ4Ig==".to_owned()),
        ("url", "s3cr3t%2FTok%2Ben%3D%22q%26x%22".to_owned()),
        ("json", json[1..json.len() - 1].to_owned()),
    ]
}

#[test]
fn secret_echoed_in_every_encoding_never_reaches_state_dir_or_output() {
    let world = World::new("engine");
    let mut all_output = Vec::new();
    let mut run = |args: &[&str]| {
        let out = world
            .cmd(args)
            .env("HYOPS_RUNTEST_SECRET", SECRET)
            .output()
            .unwrap();
        all_output.extend_from_slice(&out.stdout);
        all_output.extend_from_slice(&out.stderr);
        out
    };
    // Text mode (progress on stderr shows the tool's lines) and JSON mode, then every reader.
    let text_run = run(&["run", "t/leak", "--env", ENV]);
    assert_eq!(
        text_run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&text_run.stderr)
    );
    let json_run = run(&["run", "t/leak", "--env", ENV, "--output", "json"]);
    assert_eq!(json_run.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&json_run.stdout).unwrap();
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    for args in [
        vec!["outputs", "t/leak", "--env", ENV],
        vec!["outputs", "t/leak", "--env", ENV, "--output", "json"],
        vec!["logs", &run_id],
        vec!["runs", "show", &run_id, "--output", "json"],
        vec!["runs", "list", "--output", "json"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "hyops {args:?} failed");
    }

    // The split write was redacted as a whole, not merely lost.
    let evidence = world
        .state
        .join(report["attempts"][0]["evidence_path"].as_str().unwrap());
    let log = std::fs::read_to_string(evidence.join("driver.log")).unwrap();
    assert!(log.contains("split: [REDACTED:token] end"), "{log}");
    for name in ["plain", "base64", "url", "json"] {
        assert!(log.contains(&format!("{name}: [REDACTED:token]")), "{log}");
    }
    // A non-secret output embedding the secret is redacted too, wherever it is shown.
    assert_eq!(
        report["outputs"]["note"], "the token is [REDACTED:token]",
        "{report}"
    );
    assert_eq!(report["outputs"]["token"], "[REDACTED:token]");

    let files = files_under(&world.state);
    assert!(
        files.iter().any(|f| f.ends_with("ledger.sqlite")),
        "the ledger must be among the scanned files: {files:?}"
    );
    for (form, value) in forms() {
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(
                !contains(&bytes, value.as_bytes()),
                "{form} form of the secret found in {}",
                file.display()
            );
        }
        assert!(
            !contains(&all_output, value.as_bytes()),
            "{form} form of the secret found in hyops' stdout/stderr"
        );
    }
}

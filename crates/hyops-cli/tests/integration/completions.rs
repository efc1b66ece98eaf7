//! `hyops completions SHELL` for bash, zsh and fish.

use crate::common::{hyops, text};

#[test]
fn completion_scripts_mention_the_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = hyops(tmp.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = text(&out.stdout);
        for word in [
            "hyops",
            "identity",
            "init",
            "plugins",
            "completions",
            "catalog",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let out = hyops(tmp.path())
        .args(["completions", "zsh", "--output", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["shell"], "zsh");
    assert!(json["script"].as_str().unwrap().contains("#compdef hyops"));
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `hyops completions bash | head -c1`: the reader leaves; hyops must not panic (exit 101).
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hyops"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

//! `hyops identity`: env-file form (sourceable by sh) and JSON form agree.

use crate::common::{hyops, text};

const KEYS: &[&str] = &[
    "HYOPS_VERSION",
    "HYOPS_GIT_COMMIT",
    "HYOPS_RUSTC",
    "HYOPS_TARGET_TRIPLE",
    "HYOPS_PROFILE",
    "HYOPS_FEATURES",
];

#[test]
fn env_file_has_every_key_once_and_a_shell_can_source_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hyops(tmp.path()).arg("identity").output().unwrap();
    assert!(out.status.success());
    let env_file = text(&out.stdout);
    let keys: Vec<&str> = env_file
        .lines()
        .map(|l| l.split_once('=').expect("KEY=VALUE").0)
        .collect();
    assert_eq!(keys, KEYS);

    // The values a shell reads back equal the JSON form's.
    let file = tmp.path().join("image.env");
    std::fs::write(&file, &env_file).unwrap();
    let script = format!(
        ". '{}'; printf '%s\\n' \"$HYOPS_VERSION\" \"$HYOPS_GIT_COMMIT\" \"$HYOPS_RUSTC\" \"$HYOPS_TARGET_TRIPLE\" \"$HYOPS_PROFILE\" \"$HYOPS_FEATURES\"",
        file.display()
    );
    let sourced = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(sourced.status.success());
    let sourced = text(&sourced.stdout);
    let values: Vec<&str> = sourced.lines().collect();

    let out = hyops(tmp.path())
        .args(["identity", "--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let features: Vec<&str> = json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let expected = [
        json["version"].as_str().unwrap().to_string(),
        json["git_commit"].as_str().unwrap().to_string(),
        json["rustc"].as_str().unwrap().to_string(),
        json["target"].as_str().unwrap().to_string(),
        json["profile"].as_str().unwrap().to_string(),
        features.join(","),
    ];
    assert_eq!(values, expected);
    assert_eq!(expected[0], env!("CARGO_PKG_VERSION"));
    assert!(expected[2].starts_with("rustc "), "{}", expected[2]);
    let commit = &expected[1];
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
}

//! The inputs file (mode 0600, secrets as values) and the outputs file (edge cases).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use hyops_drivers::{DriverError, ShellDriver, parse_outputs, write_inputs_file};
use serde_json::json;

use crate::{sample_request, sample_secrets};

#[test]
fn inputs_file_is_0600_and_holds_every_input_including_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inputs.json");
    let document = ShellDriver
        .inputs_document(&sample_request(), &sample_secrets())
        .unwrap();
    write_inputs_file(&path, &document).unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        r#"{"api_token":"tok-s3cr3t-value","greeting":"hello world","listen-port":8080}"#
    );
}

#[test]
fn inputs_file_refuses_to_overwrite_or_follow_a_planted_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inputs.json");
    fs::write(dir.path().join("elsewhere"), "x").unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &path).unwrap();
    let err = write_inputs_file(&path, &serde_json::Map::new()).unwrap_err();
    assert!(
        err.to_string().starts_with("failed to create inputs file"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("elsewhere")).unwrap(),
        "x"
    );
}

#[test]
fn unresolved_secret_is_an_error() {
    let err = ShellDriver
        .inputs_document(&sample_request(), &serde_json::Map::new())
        .unwrap_err();
    assert!(
        matches!(err, DriverError::SecretInputUnresolved { ref input } if input == "api_token")
    );
}

#[test]
fn outputs_missing_or_blank_file_means_no_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outputs.json");
    assert!(parse_outputs(&path).unwrap().is_empty());
    fs::write(&path, " \n").unwrap();
    assert!(parse_outputs(&path).unwrap().is_empty());
}

#[test]
fn outputs_object_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outputs.json");
    fs::write(
        &path,
        r#"{"url": "http://127.0.0.1:8080", "port": 8080, "tags": ["a"]}"#,
    )
    .unwrap();
    let outputs = parse_outputs(&path).unwrap();
    assert_eq!(
        serde_json::Value::Object(outputs),
        json!({"url": "http://127.0.0.1:8080", "port": 8080, "tags": ["a"]})
    );
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outputs.json");
    fs::write(&path, "{\n  \"url\": \"x\",\n  \"port\": 80,,\n}").unwrap();
    let err = parse_outputs(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DriverError::OutputsInvalidJson {
                line: 3,
                column: 14,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "outputs file {} is not valid JSON at line 3, column 14: key must be a string\nhelp: the pack must write one JSON object to $HYOPS_OUTPUTS_FILE",
            path.display()
        )
    );
    assert!(!err.is_retryable());
}

#[test]
fn non_object_json_is_an_error_naming_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outputs.json");
    fs::write(&path, r#"["url"]"#).unwrap();
    let err = parse_outputs(&path).unwrap_err();
    assert!(
        matches!(err, DriverError::OutputsNotObject { found: "array", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("holds a JSON array, expected an object"),
        "{err}"
    );
}

//! One-shot redaction of every encoded form of a secret.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hyops_evidence::{Redactor, RedactorError, Secret};

const TOKEN: &str = "tok+en/with?odd&chars=\"quoted\"\\back";

fn redactor() -> Redactor {
    Redactor::new(&[
        ("api_token", TOKEN),
        ("db_password", "correct horse battery staple"),
    ])
    .unwrap()
}

#[test]
fn plain_value_is_replaced_with_its_name() {
    let out = redactor().redact_str(&format!(
        "auth {TOKEN} ok; pw=correct horse battery staple."
    ));
    assert_eq!(
        out,
        "auth [REDACTED:api_token] ok; pw=[REDACTED:db_password]."
    );
}

#[test]
fn base64_forms_are_replaced() {
    let r = redactor();
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        let encoded = engine.encode(TOKEN);
        let out = r.redact_str(&format!("secret: {encoded}\n"));
        assert_eq!(out, "secret: [REDACTED:api_token]\n", "form {encoded}");
    }
}

#[test]
fn percent_encoded_forms_are_replaced() {
    let r = redactor();
    let upper = "tok%2Ben%2Fwith%3Fodd%26chars%3D%22quoted%22%5Cback";
    let lower = "tok%2ben%2fwith%3fodd%26chars%3d%22quoted%22%5cback";
    for form in [upper, lower] {
        assert_eq!(
            r.redact_str(&format!("GET /x?t={form}&y=1")),
            "GET /x?t=[REDACTED:api_token]&y=1"
        );
    }
    let spaces = "correct%20horse%20battery%20staple";
    assert_eq!(r.redact_str(spaces), "[REDACTED:db_password]");
}

#[test]
fn json_escaped_form_is_replaced() {
    let r = redactor();
    let json = serde_json::json!({ "token": TOKEN }).to_string();
    assert!(
        !json.contains(TOKEN),
        "the JSON form differs from the raw value"
    );
    assert_eq!(r.redact_str(&json), r#"{"token":"[REDACTED:api_token]"}"#);
}

#[test]
fn multiline_secret_whole_escaped_and_line_by_line() {
    let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END KEY-----";
    let r = Redactor::new(&[("ssh_key", key)]).unwrap();
    assert_eq!(
        r.redact_str(&format!("key:\n{key}\ndone")),
        "key:\n[REDACTED:ssh_key]\ndone"
    );
    let escaped = serde_json::to_string(key).unwrap();
    assert_eq!(r.redact_str(&escaped), "\"[REDACTED:ssh_key]\"");
    assert_eq!(
        r.redact_str(&key.replace('\n', "\r\n")),
        "[REDACTED:ssh_key]"
    );
    assert_eq!(r.redact_str(&STANDARD.encode(key)), "[REDACTED:ssh_key]");
    // A tool that re-indents the value (terraform plan) must not leak it line by line.
    let indented: String = key.lines().map(|l| format!("      {l}\n")).collect();
    let out = r.redact_str(&indented);
    assert!(
        !out.contains("MIIEvQIBADANBgkqhkiG9w0B") && !out.contains("AQEFAASCBKcwggSjAgEAAoIB"),
        "{out}"
    );
}

#[test]
fn short_secret_is_refused_with_its_name_and_why() {
    let err = Redactor::new(&[("pin", "12345")]).unwrap_err();
    assert!(matches!(err, RedactorError::TooShort { chars: 5, .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("`pin`") && msg.contains("minimum 6") && msg.contains("help:"),
        "{msg}"
    );
    assert!(!msg.contains("12345"), "the error must not show the value");
    // Six multi-byte characters are fine: the limit is in characters.
    Redactor::new(&[("unicode", "ééééééé")]).unwrap();
}

#[test]
fn longest_match_wins_when_secrets_overlap() {
    let r = Redactor::new(&[("short", "abcdef"), ("long", "abcdefghij")]).unwrap();
    assert_eq!(
        r.redact_str("xabcdefghijx abcdefg"),
        "x[REDACTED:long]x [REDACTED:short]g"
    );
}

#[test]
fn json_values_are_walked() {
    let r = redactor();
    let value = serde_json::json!({
        "list": [TOKEN, 1, true, null],
        "nested": { "s": format!("pre {TOKEN} post") },
        TOKEN: "key too",
    });
    let out = r.redact_json(&value).to_string();
    assert!(!out.contains(TOKEN), "{out}");
    assert!(
        out.contains(r#""list":["[REDACTED:api_token]",1,true,null]"#),
        "{out}"
    );
    assert!(
        out.contains(r#""s":"pre [REDACTED:api_token] post""#),
        "{out}"
    );
    assert!(out.contains(r#""[REDACTED:api_token]":"key too""#), "{out}");
}

#[test]
fn secret_type_and_redactor_debug_hide_values() {
    let s = Secret::new("api_token", TOKEN);
    let r = Redactor::from_secrets(std::slice::from_ref(&s)).unwrap();
    assert!(!format!("{s:?} {s} {r:?}").contains("tok+en"));
    assert_eq!(r.redact_str(TOKEN), "[REDACTED:api_token]");
}

#[test]
fn empty_redactor_changes_nothing() {
    let r = Redactor::empty();
    assert_eq!(r.redact_str("anything"), "anything");
    let mut s = r.stream();
    assert_eq!(s.push(b"abc"), b"abc");
    assert!(s.finish().is_empty());
}

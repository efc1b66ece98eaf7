//! `output` probes: a published output exists, matches a regex (on its text form) and/or equals a
//! JSON value. Outputs do not change between tries, so every failure here is final.

use hyops_contract::OutputProbe;
use regex::Regex;
use serde_json::Value;

use super::{Check, ProbeContext, excerpt};

/// The text a regex sees: a string as itself, anything else as compact JSON.
fn text_form(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(super) fn expected(probe: &OutputProbe) -> String {
    let mut text = format!("output {:?} to be published", probe.name);
    if let Some(pattern) = &probe.matches {
        text.push_str(&format!(" matching /{pattern}/"));
    }
    if let Some(value) = &probe.equals {
        let joiner = if probe.matches.is_some() { " and" } else { "" };
        text.push_str(&format!("{joiner} equal to {value}"));
    }
    text
}

pub(super) fn check(probe: &OutputProbe, ctx: &ProbeContext) -> Check {
    let regex = match probe.matches.as_deref().map(Regex::new).transpose() {
        Ok(regex) => regex,
        Err(err) => return Check::Final(format!("an invalid regex ({err})")),
    };
    let outputs = &ctx.template.outputs;
    let Some(value) = outputs.get(&probe.name) else {
        let mut names: Vec<&str> = outputs.keys().map(String::as_str).collect();
        names.sort_unstable();
        let list = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        };
        return Check::Final(format!("no such output (published: {list})"));
    };
    let text = text_form(value);
    let matches_ok = regex.as_ref().is_none_or(|re| re.is_match(&text));
    let equals_ok = probe.equals.as_ref().is_none_or(|want| want == value);
    let seen = format!("{}", Value::String(excerpt(&text, 200)));
    if matches_ok && equals_ok {
        Check::Pass(seen)
    } else {
        Check::Final(seen)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> ProbeContext {
        let mut ctx = ProbeContext::default();
        ctx.template
            .outputs
            .insert("url".into(), json!("http://127.0.0.1:8080"));
        ctx.template.outputs.insert("port".into(), json!(8080));
        ctx
    }

    fn probe(name: &str, matches: Option<&str>, equals: Option<Value>) -> OutputProbe {
        OutputProbe {
            name: name.into(),
            matches: matches.map(str::to_owned),
            equals,
        }
    }

    #[test]
    fn matches_and_equals() {
        let ctx = ctx();
        assert!(matches!(
            check(&probe("url", Some("^http://"), None), &ctx),
            Check::Pass(_)
        ));
        assert!(matches!(
            check(
                &probe("port", Some("^80[0-9]{2}$"), Some(json!(8080))),
                &ctx
            ),
            Check::Pass(_)
        ));
        assert_eq!(
            check(&probe("url", Some("^https://"), None), &ctx),
            Check::Final("\"http://127.0.0.1:8080\"".into())
        );
        assert!(matches!(
            check(&probe("port", None, Some(json!("8080"))), &ctx),
            Check::Final(_)
        ));
    }

    #[test]
    fn missing_output_lists_published_names() {
        assert_eq!(
            check(&probe("uri", None, None), &ctx()),
            Check::Final("no such output (published: port, url)".into())
        );
    }

    #[test]
    fn invalid_regex_is_final() {
        let Check::Final(seen) = check(&probe("url", Some("("), None), &ctx()) else {
            panic!("expected final failure");
        };
        assert!(seen.starts_with("an invalid regex"), "{seen}");
    }

    #[test]
    fn expectation_text() {
        assert_eq!(
            expected(&probe("url", Some("^http://"), Some(json!("x")))),
            "output \"url\" to be published matching /^http:/// and equal to \"x\""
        );
    }
}

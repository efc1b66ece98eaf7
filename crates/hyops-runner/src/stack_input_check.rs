//! Checking wired values against the consumer's input schemas before a member starts: `hyops
//! validate` can only compare declared types, so a producer output of the wrong shape (an
//! untyped output, a value that fits the type but not `minimum` or `enum`) is caught here, with
//! member, input, producer output, expected schema and actual value named.

use std::collections::BTreeMap;

use hyops_contract::{InputSource, RunRequest};
use serde_json::Value;

use crate::stack_wiring::{WiringError, wiring_origin};

/// A wired value that does not fit the consumer's input schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "member `{member}` input `{input}` expects {expected}, but {origin} got {got}: {problem}\nhelp: make the producer publish a value of that shape, or change the wiring of `{input}` at {location}"
)]
pub struct InputMismatch {
    /// Consumer member.
    pub member: String,
    /// Consumer input.
    pub input: String,
    /// Where the value came from, e.g. ``output `port` of member `db` ``.
    pub origin: String,
    /// The input's schema as compact JSON.
    pub expected: String,
    /// The wired value as compact JSON.
    pub got: String,
    /// The first schema violation.
    pub problem: String,
    /// Where the wiring is written (`stacks/<stack>.yaml:line:col`).
    pub location: String,
}

/// Checks every wired, non-secret input of `wired` against its schema in `schemas` (input name
/// -> JSON Schema of the consumer's module). `unwired` is the same request before wiring; its
/// templates say which producer output each value came from. Inputs without a schema pass.
pub fn check_wired_inputs(
    member: &str,
    unwired: &RunRequest,
    wired: &RunRequest,
    schemas: &BTreeMap<String, Value>,
) -> Result<(), WiringError> {
    for (input, resolved) in &wired.inputs {
        let (Some(schema), Some(value)) = (schemas.get(input), &resolved.value) else {
            continue;
        };
        let Some((template, location)) = unwired
            .inputs
            .get(input)
            .filter(|r| r.source == InputSource::Upstream)
            .and_then(|r| Some((r.value.as_ref()?, &r.source_location)))
        else {
            continue;
        };
        let problem = match jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(schema)
        {
            Ok(validator) => validator.iter_errors(value).map(|e| e.to_string()).next(),
            Err(e) => Some(format!("the input schema does not compile: {e}")),
        };
        if let Some(problem) = problem {
            return Err(WiringError::WrongShape(Box::new(InputMismatch {
                member: member.to_owned(),
                input: input.clone(),
                origin: wiring_origin(template),
                expected: compact(schema),
                got: compact(value),
                problem,
                location: location.clone(),
            })));
        }
    }
    Ok(())
}

/// The schema or value as one line of JSON, annotations such as `description` left out.
fn compact(value: &Value) -> String {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "title" | "examples"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
        .to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack_wiring::tests::request;
    use crate::stack_wiring::{UpstreamOutputs, wire};
    use serde_json::json;
    use std::collections::BTreeSet;

    fn produced(port: Value) -> BTreeMap<String, UpstreamOutputs> {
        let mut values = serde_json::Map::new();
        values.insert("port".into(), port);
        BTreeMap::from([(
            "db".to_owned(),
            UpstreamOutputs {
                target: "s.db".into(),
                run_id: "r1".into(),
                fingerprint: "sha256:ab".into(),
                values,
                secret: BTreeSet::new(),
            },
        )])
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_named_with_its_origin() {
        let r = request(json!({"port": "{{ members.db.outputs.port }}"}));
        let schemas = BTreeMap::from([(
            "port".to_owned(),
            json!({"type": "integer", "minimum": 1, "description": "listen port"}),
        )]);
        let ok = wire(&r, &produced(json!(5432))).unwrap();
        check_wired_inputs("web", &r, &ok.request, &schemas).unwrap();

        let bad = wire(&r, &produced(json!("eighty"))).unwrap();
        let err = check_wired_inputs("web", &r, &bad.request, &schemas).unwrap_err();
        let text = err.to_string();
        for part in [
            "member `web`",
            "input `port`",
            "output `port` of member `db`",
            r#"{"type":"integer","minimum":1}"#,
            r#"got "eighty""#,
            "at stacks/app.yaml:1:1",
        ] {
            assert!(text.contains(part), "{part} missing: {text}");
        }
        let zero = wire(&r, &produced(json!(0))).unwrap();
        assert!(check_wired_inputs("web", &r, &zero.request, &schemas).is_err());
    }

    #[test]
    fn inputs_without_schema_or_wiring_pass() {
        let r = request(json!({"port": "{{ members.db.outputs.port }}"}));
        let wired = wire(&r, &produced(json!("x"))).unwrap();
        check_wired_inputs("web", &r, &wired.request, &BTreeMap::new()).unwrap();
    }
}

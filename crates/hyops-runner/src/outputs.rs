//! Output publication: maps a driver's raw outputs to the module's published names, checks declared
//! types, and keeps track of which values are secret so they can be redacted everywhere.

use std::collections::BTreeMap;
use std::fmt;

use hyops_contract::PublishSpec;
use serde_json::{Map, Value};

/// A published output value and whether it is secret.
#[derive(Clone, PartialEq)]
pub struct PublishedOutput {
    /// The value as the driver produced it.
    pub value: Value,
    /// `secret: true` in the module: never written unredacted.
    pub secret: bool,
}

impl fmt::Debug for PublishedOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("PublishedOutput");
        if self.secret {
            s.field("value", &"[REDACTED]");
        } else {
            s.field("value", &self.value);
        }
        s.field("secret", &self.secret).finish()
    }
}

/// The outputs of one attempt, by published name (sorted).
///
/// `values()` holds the real values (for probes and downstream wiring, in memory only);
/// anything written or returned must use [`Published::redacted_json`], and every string from
/// [`Published::secret_values`] must be added to the redactor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    outputs: BTreeMap<String, PublishedOutput>,
}

impl Published {
    /// Every published output.
    pub fn outputs(&self) -> &BTreeMap<String, PublishedOutput> {
        &self.outputs
    }

    /// Real values by published name, for the template context (`outputs.*`) and output probes.
    pub fn values(&self) -> Map<String, Value> {
        self.outputs
            .iter()
            .map(|(name, out)| (name.clone(), out.value.clone()))
            .collect()
    }

    /// The text forms of every secret value, for the redactor: a string as itself, anything else as
    /// its compact JSON, plus every string nested inside arrays and objects. Empty strings are
    /// skipped (they cannot be redacted meaningfully).
    pub fn secret_values(&self) -> Vec<String> {
        let mut found = Vec::new();
        for out in self.outputs.values().filter(|out| out.secret) {
            match &out.value {
                Value::String(text) => found.push(text.clone()),
                other => {
                    found.push(other.to_string());
                    collect_strings(other, &mut found);
                }
            }
        }
        found.retain(|text| !text.is_empty());
        found.sort();
        found.dedup();
        found
    }

    /// The JSON to store and return: secret values replaced by `"[REDACTED:<name>]"`.
    pub fn redacted_json(&self) -> Map<String, Value> {
        self.outputs
            .iter()
            .map(|(name, out)| {
                let value = if out.secret {
                    Value::String(redaction_placeholder(name))
                } else {
                    out.value.clone()
                };
                (name.clone(), value)
            })
            .collect()
    }
}

/// `[REDACTED:<output name>]`, the placeholder stored in place of a secret output.
pub fn redaction_placeholder(name: &str) -> String {
    format!("[REDACTED:{name}]")
}

fn collect_strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => found.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect_strings(item, found)),
        Value::Object(map) => map.values().for_each(|item| collect_strings(item, found)),
        _ => {}
    }
}

/// Why the raw outputs could not be published. Messages never include values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputsError {
    /// A declared output's `from` is not among the raw outputs.
    #[error(
        "output `{output}` needs raw output `{from}`, which the driver did not produce (it produced: {})\nhelp: make the pack write `{from}` to its outputs, or fix `from` in the module's outputs.publish",
        produced_list(.produced)
    )]
    MissingRaw {
        /// Published name.
        output: String,
        /// The raw name it maps from.
        from: String,
        /// Raw names the driver did produce (sorted).
        produced: Vec<String>,
    },
    /// The value's JSON type differs from the declared `type`.
    #[error("output `{output}` is declared `type: {expected}` but the driver produced a {actual}")]
    TypeMismatch {
        /// Published name.
        output: String,
        /// Declared JSON Schema type.
        expected: String,
        /// JSON type of the produced value.
        actual: &'static str,
    },
    /// The declared `type` is not a JSON Schema type name.
    #[error(
        "output `{output}` declares unknown type `{declared}`\nhelp: use one of string, integer, number, boolean, object, array, null"
    )]
    UnknownType {
        /// Published name.
        output: String,
        /// What the module declared.
        declared: String,
    },
}

impl OutputsError {
    /// Publication errors come from the pack or the module, so retrying cannot fix them.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

fn produced_list(produced: &[String]) -> String {
    if produced.is_empty() {
        "nothing".to_owned()
    } else {
        produced.join(", ")
    }
}

/// The JSON Schema type name of a value (`integer` for whole numbers).
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(declared: &str, value: &Value) -> Option<bool> {
    let actual = json_type_name(value);
    Some(match declared {
        "number" => matches!(actual, "number" | "integer"),
        "string" | "integer" | "boolean" | "object" | "array" | "null" => declared == actual,
        _ => return None,
    })
}

/// Maps raw driver outputs to published outputs (in published-name order) and type-checks them.
/// Raw outputs that are not published are dropped.
pub fn publish(
    raw: &Map<String, Value>,
    publish: &BTreeMap<String, PublishSpec>,
) -> Result<Published, OutputsError> {
    publish_marking(raw, publish, &[])
}

/// [`publish`], with the raw outputs named in `sensitive` (the tool marks them so, e.g.
/// terraform's `sensitive = true`) published as secret whatever the module says.
pub fn publish_marking(
    raw: &Map<String, Value>,
    publish: &BTreeMap<String, PublishSpec>,
    sensitive: &[String],
) -> Result<Published, OutputsError> {
    let mut outputs = BTreeMap::new();
    for (name, spec) in publish {
        let Some(value) = raw.get(&spec.from) else {
            let mut produced: Vec<String> = raw.keys().cloned().collect();
            produced.sort();
            return Err(OutputsError::MissingRaw {
                output: name.clone(),
                from: spec.from.clone(),
                produced,
            });
        };
        if let Some(declared) = &spec.value_type {
            match type_matches(declared, value) {
                Some(true) => {}
                Some(false) => {
                    return Err(OutputsError::TypeMismatch {
                        output: name.clone(),
                        expected: declared.clone(),
                        actual: json_type_name(value),
                    });
                }
                None => {
                    return Err(OutputsError::UnknownType {
                        output: name.clone(),
                        declared: declared.clone(),
                    });
                }
            }
        }
        outputs.insert(
            name.clone(),
            PublishedOutput {
                value: value.clone(),
                secret: spec.secret || sensitive.contains(&spec.from),
            },
        );
    }
    Ok(Published { outputs })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(from: &str, secret: bool, value_type: Option<&str>) -> PublishSpec {
        PublishSpec {
            from: from.into(),
            secret,
            description: None,
            value_type: value_type.map(str::to_owned),
        }
    }

    fn raw() -> Map<String, Value> {
        json!({
            "site_url": "http://127.0.0.1:8080",
            "port": 8080,
            "ratio": 0.5,
            "token": "tok-123",
            "creds": {"user": "admin", "password": "pw-456"},
            "unused": true
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn maps_from_and_drops_unpublished() {
        let specs = BTreeMap::from([
            ("url".to_owned(), spec("site_url", false, Some("string"))),
            ("port".to_owned(), spec("port", false, Some("integer"))),
            ("ratio".to_owned(), spec("ratio", false, Some("number"))),
        ]);
        let published = publish(&raw(), &specs).unwrap();
        assert_eq!(
            Value::Object(published.values()),
            json!({"port": 8080, "ratio": 0.5, "url": "http://127.0.0.1:8080"})
        );
        assert!(published.secret_values().is_empty());
        assert_eq!(published.redacted_json(), published.values());
    }

    #[test]
    fn secret_outputs_are_placeholders_in_json_and_listed_for_the_redactor() {
        let specs = BTreeMap::from([
            ("api_token".to_owned(), spec("token", true, None)),
            ("creds".to_owned(), spec("creds", true, Some("object"))),
            ("url".to_owned(), spec("site_url", false, None)),
        ]);
        let published = publish(&raw(), &specs).unwrap();
        let stored = Value::Object(published.redacted_json()).to_string();
        assert_eq!(
            stored,
            r#"{"api_token":"[REDACTED:api_token]","creds":"[REDACTED:creds]","url":"http://127.0.0.1:8080"}"#
        );
        let secrets = published.secret_values();
        assert!(secrets.contains(&"tok-123".to_owned()));
        assert!(secrets.contains(&"pw-456".to_owned()));
        assert!(secrets.contains(&"admin".to_owned()));
        assert!(
            secrets
                .iter()
                .any(|s| s.contains("\"password\":\"pw-456\""))
        );
        // The real value is still there for probes and wiring.
        assert_eq!(published.values()["api_token"], json!("tok-123"));
        assert!(!format!("{published:?}").contains("tok-123"));
    }

    #[test]
    fn missing_raw_output_names_it_and_lists_what_was_produced() {
        let specs = BTreeMap::from([("url".to_owned(), spec("address", false, None))]);
        let err = publish(&raw(), &specs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "output `url` needs raw output `address`, which the driver did not produce (it produced: creds, port, ratio, site_url, token, unused)\nhelp: make the pack write `address` to its outputs, or fix `from` in the module's outputs.publish"
        );
        let err = publish(&Map::new(), &specs).unwrap_err();
        assert!(err.to_string().contains("(it produced: nothing)"), "{err}");
    }

    #[test]
    fn declared_type_is_checked_without_showing_the_value() {
        let specs = BTreeMap::from([("token".to_owned(), spec("token", true, Some("integer")))]);
        let err = publish(&raw(), &specs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "output `token` is declared `type: integer` but the driver produced a string"
        );
        assert!(!err.to_string().contains("tok-123"));

        let specs = BTreeMap::from([("ratio".to_owned(), spec("ratio", false, Some("integer")))]);
        assert!(matches!(
            publish(&raw(), &specs),
            Err(OutputsError::TypeMismatch {
                actual: "number",
                ..
            })
        ));

        let specs = BTreeMap::from([("port".to_owned(), spec("port", false, Some("int")))]);
        assert!(matches!(
            publish(&raw(), &specs),
            Err(OutputsError::UnknownType { .. })
        ));
    }

    #[test]
    fn whole_floats_count_as_integers() {
        assert_eq!(json_type_name(&json!(3.0)), "integer");
        assert_eq!(json_type_name(&json!(3.5)), "number");
    }
}

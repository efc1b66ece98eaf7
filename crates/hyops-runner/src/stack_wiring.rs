//! Wiring upstream outputs into a stack member's RunRequest: every input resolved from
//! `{{ members.<m>.outputs.<o> }}` gets the producer's PASSed value (a secret output becomes a
//! secret reference, its value handed over in memory), and the fingerprint is recomputed so the
//! member's identity changes whenever an upstream value does.

use std::collections::{BTreeMap, BTreeSet};

use hyops_contract::{InputSource, RunRequest, SecretRef};
use hyops_evidence::Secret;

use crate::stack_input_check::InputMismatch;
use serde_json::{Map, Value};

/// The outputs of a member that PASSed (in this run, or its last PASS for plan/destroy/reuse).
#[derive(Clone, Default)]
pub struct UpstreamOutputs {
    /// `STACK.MEMBER`.
    pub target: String,
    /// The producing run.
    pub run_id: String,
    /// The producer's fingerprint (part of secret references).
    pub fingerprint: String,
    /// Published name -> value.
    pub values: Map<String, Value>,
    /// Names of the secret outputs among `values`.
    pub secret: BTreeSet<String>,
}

impl std::fmt::Debug for UpstreamOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamOutputs")
            .field("target", &self.target)
            .field("run_id", &self.run_id)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why an upstream value could not be wired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WiringError {
    /// The producer has no PASSed outputs available.
    #[error("input `{input}` needs outputs of member `{producer}`, which are not produced yet")]
    NotProduced {
        /// Consumer input.
        input: String,
        /// Producing member.
        producer: String,
    },
    /// The producer passed but did not publish the output.
    #[error(
        "input `{input}` needs output `{output}` of member `{producer}`, which it did not publish"
    )]
    MissingOutput {
        /// Consumer input.
        input: String,
        /// Producing member.
        producer: String,
        /// Output name.
        output: String,
    },
    /// A secret output can only be wired as a whole value (it travels as a reference).
    #[error(
        "input `{input}` embeds secret output `{output}` of member `{producer}` in a larger value\nhelp: wire the secret as the whole value: `{input}: \"{{{{ members.{producer}.outputs.{output} }}}}\"`"
    )]
    SecretEmbedded {
        /// Consumer input.
        input: String,
        /// Producing member.
        producer: String,
        /// Output name.
        output: String,
    },
    /// A wired value does not match the consumer's input schema (checked before it starts).
    #[error(transparent)]
    WrongShape(Box<InputMismatch>),
}

/// A wired request and the secret values it references by name.
#[derive(Debug)]
pub struct Wired {
    /// The request with upstream values in place and a fresh fingerprint.
    pub request: RunRequest,
    /// Secret name -> value for upstream secret outputs (see [`crate::RunOptions`]).
    pub secrets: BTreeMap<String, Secret>,
}

/// Substitutes every upstream-wired input of `request` from `produced` (member name -> outputs).
pub fn wire(
    request: &RunRequest,
    produced: &BTreeMap<String, UpstreamOutputs>,
) -> Result<Wired, WiringError> {
    let mut out = request.clone();
    let mut secrets = BTreeMap::new();
    for (input, resolved) in &mut out.inputs {
        if resolved.source != InputSource::Upstream {
            continue;
        }
        let Some(value) = resolved.value.take() else {
            continue;
        };
        let mut sources = BTreeSet::new();
        if let Some((producer, output)) = value.as_str().and_then(whole_wiring) {
            let up = lookup(produced, input, &producer, &output)?;
            sources.insert(up.run_id.clone());
            let v = up.values.get(&output).cloned().unwrap_or(Value::Null);
            if up.secret.contains(&output) {
                let name = format!("members.{producer}.outputs.{output}");
                let text = match &v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.secrets.insert(
                    name.clone(),
                    SecretRef {
                        env: None,
                        file: None,
                        age: None,
                        upstream: Some(format!("{}:{output}@{}", up.target, up.fingerprint)),
                    },
                );
                secrets.insert(name.clone(), Secret::new(name.clone(), text));
                resolved.secret_ref = Some(name);
                resolved.secret = true;
            } else {
                resolved.value = Some(v);
            }
        } else {
            resolved.value = Some(substitute(&value, input, produced, &mut sources)?);
        }
        let from: Vec<String> = sources.into_iter().collect();
        resolved.source_location =
            format!("{} <- run {}", resolved.source_location, from.join(", "));
    }
    out.fingerprint = out.compute_fingerprint();
    Ok(Wired {
        request: out,
        secrets,
    })
}

/// Where a wired input's value comes from, for messages: ``output `o` of member `p` `` for a
/// whole-value wiring, otherwise the template it renders (`` `db={{ members.db.outputs.v }}` ``).
pub fn wiring_origin(template: &Value) -> String {
    match template.as_str().and_then(whole_wiring) {
        Some((producer, output)) => format!("output `{output}` of member `{producer}`"),
        None => {
            let mut strings = Vec::new();
            strings_in(template, &mut strings);
            format!("the wiring `{}`", strings.join("`, `"))
        }
    }
}

/// The producers a request's wired inputs read (sorted, deduplicated).
pub fn wired_producers(request: &RunRequest) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for resolved in request.inputs.values() {
        if resolved.source == InputSource::Upstream
            && let Some(v) = &resolved.value
        {
            let mut strings = Vec::new();
            strings_in(v, &mut strings);
            for s in strings {
                for (producer, _) in templates(s) {
                    found.insert(producer);
                }
            }
        }
    }
    found
}

fn lookup<'a>(
    produced: &'a BTreeMap<String, UpstreamOutputs>,
    input: &str,
    producer: &str,
    output: &str,
) -> Result<&'a UpstreamOutputs, WiringError> {
    let up = produced
        .get(producer)
        .ok_or_else(|| WiringError::NotProduced {
            input: input.to_owned(),
            producer: producer.to_owned(),
        })?;
    if !up.values.contains_key(output) {
        return Err(WiringError::MissingOutput {
            input: input.to_owned(),
            producer: producer.to_owned(),
            output: output.to_owned(),
        });
    }
    Ok(up)
}

fn substitute(
    value: &Value,
    input: &str,
    produced: &BTreeMap<String, UpstreamOutputs>,
    sources: &mut BTreeSet<String>,
) -> Result<Value, WiringError> {
    Ok(match value {
        Value::String(s) => {
            let mut text = s.clone();
            for (producer, output) in templates(s) {
                let up = lookup(produced, input, &producer, &output)?;
                if up.secret.contains(&output) {
                    return Err(WiringError::SecretEmbedded {
                        input: input.to_owned(),
                        producer,
                        output,
                    });
                }
                sources.insert(up.run_id.clone());
                let replacement = match up.values.get(&output) {
                    Some(Value::String(v)) => v.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                text = replace_template(&text, &producer, &output, &replacement);
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, input, produced, sources))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, input, produced, sources)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// `(producer, output)` when `text` is exactly one wiring template.
fn whole_wiring(text: &str) -> Option<(String, String)> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    member_output(inner.trim())
}

fn member_output(expr: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = expr.split('.').collect();
    match parts.as_slice() {
        ["members", producer, "outputs", output] => {
            Some(((*producer).to_owned(), (*output).to_owned()))
        }
        _ => None,
    }
}

/// Every `{{ members.<m>.outputs.<o> }}` in `text`, in order.
fn templates(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        if let Some(pair) = member_output(after[..end].trim()) {
            found.push(pair);
        }
        rest = &after[end + 2..];
    }
    found
}

fn replace_template(text: &str, producer: &str, output: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        if member_output(after[..end].trim()) == Some((producer.to_owned(), output.to_owned())) {
            out.push_str(with);
        } else {
            out.push_str(&rest[start..start + 2 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn strings_in<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn produced(secret: bool) -> BTreeMap<String, UpstreamOutputs> {
        let mut values = Map::new();
        values.insert("url".into(), json!("http://db:5432"));
        values.insert("port".into(), json!(5432));
        values.insert("password".into(), json!("hunter2-secret"));
        let mut s = BTreeSet::new();
        if secret {
            s.insert("password".to_owned());
        }
        BTreeMap::from([(
            "db".to_owned(),
            UpstreamOutputs {
                target: "app.db".into(),
                run_id: "r1".into(),
                fingerprint: "sha256:ab".into(),
                values,
                secret: s,
            },
        )])
    }

    /// A minimal shell RunRequest for member `app.web` whose inputs all come from `stacks/app.yaml`.
    pub(crate) fn request(inputs: Value) -> RunRequest {
        let mut map = serde_json::Map::new();
        for (k, v) in inputs.as_object().unwrap() {
            map.insert(
                k.clone(),
                json!({"value": v, "source": "upstream", "source_location": "stacks/app.yaml:1:1"}),
            );
        }
        serde_json::from_value(json!({
            "schema_version": 1, "target": "app.web",
            "environment": {"name": "dev", "path": "e", "digest": "d"},
            "module": {"name": "m", "path": "p", "digest": "d"},
            "profile": {"name": "p", "path": "p", "digest": "d"},
            "pack": {"id": "x", "version": "1.0.0", "path": "packs/shell/x", "entry": "run.sh", "digest": "d"},
            "driver": "shell", "inputs": map,
            "execution": {"timeout_ms": 1, "kill_grace_ms": 1, "max_attempts": 1, "backoff_ms": 0,
                          "env_allowlist": [], "require_non_root": false},
            "fingerprint": ""
        }))
        .unwrap()
    }

    #[test]
    fn whole_values_keep_their_type_and_embedded_ones_render_as_text() {
        let r = request(json!({
            "port": "{{ members.db.outputs.port }}",
            "dsn": "postgres://{{ members.db.outputs.url }}/x",
        }));
        let wired = wire(&r, &produced(false)).unwrap();
        assert_eq!(wired.request.inputs["port"].value, Some(json!(5432)));
        assert_eq!(
            wired.request.inputs["dsn"].value,
            Some(json!("postgres://http://db:5432/x"))
        );
        assert_ne!(wired.request.fingerprint, r.compute_fingerprint());
        assert!(
            wired.request.inputs["port"]
                .source_location
                .ends_with("<- run r1")
        );
    }

    #[test]
    fn secret_outputs_travel_by_reference_only() {
        let r = request(json!({"pw": "{{ members.db.outputs.password }}"}));
        let wired = wire(&r, &produced(true)).unwrap();
        let text = serde_json::to_string(&wired.request).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(
            wired.request.secrets["members.db.outputs.password"]
                .upstream
                .as_deref(),
            Some("app.db:password@sha256:ab")
        );
        assert_eq!(
            wired.secrets["members.db.outputs.password"].expose(),
            "hunter2-secret"
        );
        let embedded = request(json!({"pw": "x{{ members.db.outputs.password }}"}));
        assert!(matches!(
            wire(&embedded, &produced(true)),
            Err(WiringError::SecretEmbedded { .. })
        ));
    }

    #[test]
    fn missing_producers_are_named() {
        let r = request(json!({"port": "{{ members.db.outputs.port }}"}));
        assert_eq!(
            wire(&r, &BTreeMap::new()).unwrap_err(),
            WiringError::NotProduced {
                input: "port".into(),
                producer: "db".into()
            }
        );
        assert_eq!(wired_producers(&r), BTreeSet::from(["db".to_owned()]));
    }
}

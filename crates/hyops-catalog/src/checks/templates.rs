//! Module templates: every `{{ … }}` in a probe parses and names a declared input, a published
//! output, or `env.<NAME>`.

use serde_json::Value;

use hyops_contract::Module;

use super::Checker;
use crate::codes;
use crate::document::Doc;
use crate::template::parse_templates;

pub(super) fn check_module(c: &mut Checker<'_>, m: &Doc<Module>) {
    let v = &m.value;
    for (i, probe) in v.probes.iter().enumerate() {
        let Ok(value) = serde_json::to_value(probe) else {
            continue;
        };
        let mut strings = Vec::new();
        collect(&value, format!("probes[{i}]"), &mut strings);
        for (path, s) in strings {
            let refs = match parse_templates(&s) {
                Ok(r) => r,
                Err(msg) => {
                    c.push(
                        m.error_at(codes::TEMPLATE, format!("malformed template: {msg}"), &path, "malformed template")
                            .with_help("templates look like `{{ inputs.name }}`, `{{ outputs.name }}` or `{{ env.NAME }}`"),
                    );
                    continue;
                }
            };
            for r in refs {
                let root = r.path[0].as_str();
                let problem = match (root, r.path.len()) {
                    ("inputs", 2) if v.inputs.contains_key(&r.path[1]) => None,
                    ("inputs", 2) => Some((
                        format!("`{{{{ {} }}}}` names input `{}`, which the module does not declare", r.text, r.path[1]),
                        format!("declared inputs: {}", list(v.inputs.keys())),
                    )),
                    ("outputs", 2) if v.outputs.publish.contains_key(&r.path[1]) => None,
                    ("outputs", 2) => Some((
                        format!("`{{{{ {} }}}}` names output `{}`, which the module does not publish", r.text, r.path[1]),
                        format!("published outputs: {}", list(v.outputs.publish.keys())),
                    )),
                    ("env", n) if n >= 2 => None,
                    _ => Some((
                        format!("`{{{{ {} }}}}` is not a module template", r.text),
                        "modules may use `{{ inputs.<name> }}`, `{{ outputs.<name> }}` and `{{ env.<NAME> }}`".to_string(),
                    )),
                };
                if let Some((msg, help)) = problem {
                    c.push(
                        m.error_at(codes::TEMPLATE, msg, &path, "unknown name")
                            .with_help(help),
                    );
                }
            }
        }
    }
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

pub(super) fn collect(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("}}") => out.push((path, s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                collect(item, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

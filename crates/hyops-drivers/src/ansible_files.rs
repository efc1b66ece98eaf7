//! The files the ansible driver renders for a run: the inventory (from the environment's `hosts`)
//! and the extra-vars files (module inputs), whose strings are marked `!unsafe` so ansible treats
//! them as data and never as templates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use hyops_contract::{HostGroup, RunRequest};
use serde_json::{Map, Value, json};

use crate::{DriverError, Stage};

/// Variables hyops passes to every playbook (besides the inputs).
pub const RESERVED_VARS: [&str; 4] = [
    "hyops_env",
    "hyops_stage",
    "hyops_target",
    "hyops_outputs_file",
];

/// The inventory as ansible's YAML inventory plugin reads it (JSON is YAML): every environment
/// group is a child of `all`, with its hosts (host variables: connection settings and the
/// rest) and group variables; a group named `all` adds to `all` itself.
///
/// `ansible_python_interpreter` defaults to `{{ ansible_playbook_python }}` at `all` level, so
/// local tasks use ansible's own Python; any group or host that sets it wins by ansible's
/// variable precedence.
pub fn inventory(hosts: &BTreeMap<String, HostGroup>) -> Value {
    let mut all_vars = Map::new();
    all_vars.insert(
        "ansible_python_interpreter".into(),
        Value::String("{{ ansible_playbook_python }}".into()),
    );
    let mut all_hosts = Map::new();
    let mut children = Map::new();
    for (name, group) in hosts {
        let group_hosts: Map<String, Value> = group
            .hosts
            .iter()
            .map(|(host, vars)| (host.clone(), json!(vars)))
            .collect();
        if name == "all" {
            all_vars.extend(group.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            all_hosts.extend(group_hosts);
            continue;
        }
        children.insert(
            name.clone(),
            json!({ "hosts": group_hosts, "vars": group.vars }),
        );
    }
    json!({ "all": { "vars": all_vars, "hosts": all_hosts, "children": children } })
}

/// The extra-vars of a run, split by where they may be written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtraVars {
    /// Non-secret inputs and hyops' variables.
    pub plain: Map<String, Value>,
    /// Secret inputs (written only to a 0600 file in the io dir, removed when ansible exits).
    pub secret: Map<String, Value>,
}

/// Non-secret inputs plus hyops' variables (`hyops_env`, `hyops_stage`, `hyops_target`,
/// `hyops_outputs_file`), and the secret inputs apart. An input is secret when the module marks
/// it, when it is bound to a secret reference, or when a secret value was resolved for it.
pub fn extra_vars(
    request: &RunRequest,
    stage: Stage,
    secret_inputs: &Map<String, Value>,
    outputs_file: &Path,
) -> Result<ExtraVars, DriverError> {
    let mut vars = Map::new();
    let mut secrets = Map::new();
    for (name, input) in &request.inputs {
        if RESERVED_VARS.contains(&name.as_str()) {
            return Err(DriverError::InputNameReserved {
                input: name.clone(),
                reserved: RESERVED_VARS.join(", "),
            });
        }
        if input.secret || input.secret_ref.is_some() || secret_inputs.contains_key(name) {
            let value =
                secret_inputs
                    .get(name)
                    .ok_or_else(|| DriverError::SecretInputUnresolved {
                        input: name.clone(),
                    })?;
            secrets.insert(name.clone(), value.clone());
            continue;
        }
        let value = input
            .value
            .clone()
            .ok_or_else(|| DriverError::InputWithoutValue {
                input: name.clone(),
            })?;
        vars.insert(name.clone(), value);
    }
    vars.insert(
        "hyops_env".into(),
        Value::String(request.environment.name.clone()),
    );
    vars.insert("hyops_stage".into(), Value::String(stage.as_str().into()));
    vars.insert("hyops_target".into(), Value::String(request.target.clone()));
    vars.insert(
        "hyops_outputs_file".into(),
        Value::String(outputs_file.to_string_lossy().into_owned()),
    );
    Ok(ExtraVars {
        plain: vars,
        secret: secrets,
    })
}

/// An extra-vars YAML document: one `name: value` line per variable, values in JSON-like flow
/// style with every string tagged `!unsafe` (ansible 2.19 would otherwise render a `{{` or `{#`
/// inside an input or a password as a template, or fail on it).
pub fn vars_yaml(vars: &Map<String, Value>) -> String {
    let mut out = String::new();
    // Sorted, so the file is the same whatever order the map was built in.
    let sorted: BTreeMap<&String, &Value> = vars.iter().collect();
    for (name, value) in sorted {
        yaml_string(&mut out, name);
        out.push_str(": ");
        yaml_value(&mut out, value);
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("{}\n");
    }
    out
}

fn yaml_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => {
            out.push_str("!unsafe ");
            yaml_string(out, s);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                yaml_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                yaml_string(out, key);
                out.push_str(": ");
                yaml_value(out, item);
            }
            out.push('}');
        }
    }
}

/// A YAML double-quoted scalar; every character YAML would not accept raw is a `\u` escape.
fn yaml_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || c == '\u{feff}'
                || c == '\u{fffe}'
                || c == '\u{ffff}' =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_yaml_tags_every_string_unsafe_and_escapes_what_yaml_rejects() {
        let vars: Map<String, Value> = serde_json::from_value(json!({
            "port": 8080,
            "pw": "a\"b\\c{{ x }}{#\n\u{85}é",
            "list": ["x", 1, null, true],
            "nested": {"k": "v"},
        }))
        .unwrap();
        assert_eq!(
            vars_yaml(&vars),
            concat!(
                "\"list\": [!unsafe \"x\", 1, null, true]\n",
                "\"nested\": {\"k\": !unsafe \"v\"}\n",
                "\"port\": 8080\n",
                "\"pw\": !unsafe \"a\\\"b\\\\c{{ x }}{#\\n\\u0085é\"\n",
            )
        );
        assert_eq!(vars_yaml(&Map::new()), "{}\n");
    }

    #[test]
    fn inventory_defaults_the_interpreter_and_keeps_environment_overrides() {
        let hosts: BTreeMap<String, HostGroup> = serde_json::from_value(json!({
            "all": {"vars": {"site": "x"}},
            "web": {
                "hosts": {"web1": {"ansible_host": "10.0.0.1", "ansible_python_interpreter": "/usr/bin/python3"}},
                "vars": {"ansible_user": "deploy"}
            }
        }))
        .unwrap();
        let inv = inventory(&hosts);
        assert_eq!(
            inv["all"]["vars"]["ansible_python_interpreter"],
            "{{ ansible_playbook_python }}"
        );
        assert_eq!(inv["all"]["vars"]["site"], "x");
        let web = &inv["all"]["children"]["web"];
        assert_eq!(
            web["hosts"]["web1"]["ansible_python_interpreter"],
            "/usr/bin/python3"
        );
        assert_eq!(web["vars"]["ansible_user"], "deploy");
    }
}

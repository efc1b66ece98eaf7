//! A stack's member graph: the members each member depends on, from output wiring
//! (`{{ members.<m>.outputs.<o> }}`) plus explicit `depends_on`. Shared by `validate`, `graph`,
//! `plan` and the scheduler so every consumer sees the same edges.

use std::collections::{BTreeMap, BTreeSet};

use hyops_contract::{Stack, StackMember};
use serde_json::Value;

use crate::template::parse_templates;

/// One wired value: `input` of a member reads `output` of member `producer`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wiring {
    /// The consumer's input name.
    pub input: String,
    /// The producing member.
    pub producer: String,
    /// The producer's published output name.
    pub output: String,
}

/// The expression of a string that is exactly one template (`"{{ a.b }}"` → `a.b`): such a value
/// takes the referenced value with its JSON type; anything else renders to a string.
pub fn whole_template(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// Every wiring in a member's inputs (nested strings included), sorted; malformed templates are
/// skipped (`hyops validate` reports them).
pub fn wirings(member: &StackMember) -> Vec<Wiring> {
    let mut out = BTreeSet::new();
    for (input, value) in &member.inputs {
        let mut strings = Vec::new();
        strings_in(value, &mut strings);
        for text in strings {
            for r in parse_templates(text).unwrap_or_default() {
                if let [root, producer, outputs, output] = r.path.as_slice()
                    && root == "members"
                    && outputs == "outputs"
                {
                    out.insert(Wiring {
                        input: input.clone(),
                        producer: producer.clone(),
                        output: output.clone(),
                    });
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Member → the members it depends on (wiring and `depends_on`), every member present as a key.
/// Names of members the stack does not have are dropped (`hyops validate` reports them).
pub fn member_dependencies(stack: &Stack) -> BTreeMap<String, BTreeSet<String>> {
    stack
        .members
        .iter()
        .map(|(name, member)| {
            let deps = wirings(member)
                .into_iter()
                .map(|w| w.producer)
                .chain(member.depends_on.iter().cloned())
                .filter(|d| stack.members.contains_key(d) && d != name)
                .collect();
            (name.clone(), deps)
        })
        .collect()
}

/// Up to six of `stack`'s members as `` `STACK.MEMBER` ``, then how many more: for messages that
/// name a stack's members without flooding the terminal on a big stack.
pub fn brief_member_list(name: &str, stack: &Stack) -> String {
    const SHOWN: usize = 6;
    let all = &stack.members;
    let mut members: Vec<String> = all
        .keys()
        .take(SHOWN)
        .map(|m| format!("`{name}.{m}`"))
        .collect();
    if all.len() > SHOWN {
        members.push(format!("… {} more", all.len() - SHOWN));
    }
    members.join(", ")
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
mod tests {
    use super::*;

    #[test]
    fn whole_templates_keep_their_type_and_embedded_ones_do_not() {
        assert_eq!(
            whole_template("{{ members.a.outputs.b }}"),
            Some("members.a.outputs.b")
        );
        assert_eq!(whole_template("http://{{ members.a.outputs.b }}"), None);
        assert_eq!(whole_template("{{ a }}-{{ b }}"), None);
    }

    #[test]
    fn brief_member_lists_stop_after_six() {
        let members: serde_json::Map<String, Value> = (0..9)
            .map(|i| (format!("m{i}"), serde_json::json!({"module": "x"})))
            .collect();
        let stack: Stack = serde_json::from_value(serde_json::json!({
            "apiVersion": "hyops/v1", "kind": "Stack", "name": "s", "members": members
        }))
        .unwrap();
        assert_eq!(
            brief_member_list("s", &stack),
            "`s.m0`, `s.m1`, `s.m2`, `s.m3`, `s.m4`, `s.m5`, … 3 more"
        );
    }

    #[test]
    fn dependencies_come_from_wiring_and_depends_on() {
        let stack: Stack = serde_json::from_value(serde_json::json!({
            "apiVersion": "hyops/v1", "kind": "Stack", "name": "s",
            "members": {
                "db": {"module": "m"},
                "net": {"module": "m"},
                "app": {"module": "m", "inputs": {"url": "{{ members.db.outputs.url }}",
                        "list": ["x-{{ members.net.outputs.id }}"]}},
                "smoke": {"module": "m", "depends_on": ["app", "ghost"]}
            }
        }))
        .unwrap();
        let deps = member_dependencies(&stack);
        assert_eq!(
            deps["app"],
            BTreeSet::from(["db".to_owned(), "net".to_owned()])
        );
        assert_eq!(deps["smoke"], BTreeSet::from(["app".to_owned()]));
        assert!(deps["db"].is_empty());
    }
}

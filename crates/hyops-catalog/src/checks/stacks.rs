//! Stacks: members name existing modules and their inputs, wiring `{{ members.<m>.outputs.<o> }}`
//! names a member and an output it publishes, `depends_on` names members, and the member graph
//! has no cycle (reported as `a -> b -> a`).

use std::collections::{BTreeMap, BTreeSet};

use hyops_contract::Stack;

use super::Checker;
use super::templates::collect;
use crate::codes;
use crate::document::Doc;
use crate::template::parse_templates;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    for s in cat.stacks.values() {
        let members = &s.value.members;
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, member) in members {
            let base = format!("members.{name}");
            edges.entry(name).or_default();
            let module = cat.modules.get(&member.module);
            if module.is_none() && !cat.is_broken(&format!("modules/{}/module.yaml", member.module))
            {
                c.push(
                    s.error_at(
                        codes::UNKNOWN_MODULE,
                        format!(
                            "member `{name}` uses module `{}`, which does not exist",
                            member.module
                        ),
                        &format!("{base}.module"),
                        "unknown module",
                    )
                    .with_help(super::references::suggest(
                        "modules",
                        &member.module,
                        cat.modules.keys(),
                    )),
                );
            }
            for (input, value) in &member.inputs {
                let path = format!("{base}.inputs.{input}");
                if let Some(m) = module
                    && !m.value.inputs.contains_key(input)
                {
                    c.push(
                        s.error_at_key(
                            codes::UNKNOWN_INPUT,
                            format!("module `{}` declares no input `{input}`", member.module),
                            &path,
                            "unknown input",
                        )
                        .with_help(format!(
                            "declared inputs: {}",
                            m.value
                                .inputs
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                }
                let mut strings = Vec::new();
                collect(value, path.clone(), &mut strings);
                for (spath, text) in strings {
                    wiring(c, s, name, &spath, &text, &mut edges);
                }
                if let (Some(m), Some(text)) = (module, value.as_str()) {
                    wiring_type(c, s, &m.value, input, text, &path);
                }
            }
            for (i, dep) in member.depends_on.iter().enumerate() {
                if members.contains_key(dep) {
                    edges.entry(name).or_default().insert(dep);
                } else {
                    c.push(
                        s.error_at(
                            codes::UNKNOWN_MEMBER,
                            format!(
                                "`depends_on` names member `{dep}`, which this stack does not have"
                            ),
                            &format!("{base}.depends_on[{i}]"),
                            "unknown member",
                        )
                        .with_help(format!(
                            "members: {}",
                            members.keys().cloned().collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            let first = cycle[0];
            c.push(
                s.error_at_key(
                    codes::STACK_CYCLE,
                    format!(
                        "members depend on each other in a cycle: {}",
                        cycle.join(" -> ")
                    ),
                    &format!("members.{first}"),
                    "part of a cycle",
                )
                .with_help("remove one wiring or `depends_on` edge so the members form a DAG"),
            );
        }
    }
}

fn wiring<'a>(
    c: &mut Checker<'_>,
    s: &'a Doc<Stack>,
    member: &'a str,
    path: &str,
    text: &str,
    edges: &mut BTreeMap<&'a str, BTreeSet<&'a str>>,
) {
    let cat = c.catalog;
    let members = &s.value.members;
    let refs = match parse_templates(text) {
        Ok(r) => r,
        Err(msg) => {
            c.push(
                s.error_at(
                    codes::TEMPLATE,
                    format!("malformed template: {msg}"),
                    path,
                    "malformed template",
                )
                .with_help("wire outputs as `{{ members.<member>.outputs.<output> }}`"),
            );
            return;
        }
    };
    for r in refs {
        let p: Vec<&str> = r.path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["members", producer, "outputs", output] => {
                let Some((producer_name, producer_member)) = members.get_key_value(*producer)
                else {
                    c.push(
                        s.error_at(codes::UNKNOWN_MEMBER, format!("`{{{{ {} }}}}` names member `{producer}`, which this stack does not have", r.text), path, "unknown member")
                            .with_help(format!("members: {}", members.keys().cloned().collect::<Vec<_>>().join(", "))),
                    );
                    continue;
                };
                edges
                    .entry(member)
                    .or_default()
                    .insert(producer_name.as_str());
                if let Some(pm) = cat.modules.get(&producer_member.module)
                    && !pm.value.outputs.publish.contains_key(*output)
                {
                    c.push(
                            s.error_at(
                                codes::UNKNOWN_OUTPUT,
                                format!("`{{{{ {} }}}}` names output `{output}`, which module `{}` does not publish", r.text, producer_member.module),
                                path,
                                "unknown output",
                            )
                            .with_help(format!(
                                "published outputs of `{}`: {}",
                                producer_member.module,
                                pm.value.outputs.publish.keys().cloned().collect::<Vec<_>>().join(", ")
                            )),
                        );
                }
            }
            ["env", _, ..] => {}
            _ => c.push(
                s.error_at(
                    codes::TEMPLATE,
                    format!("`{{{{ {} }}}}` is not a stack template", r.text),
                    path,
                    "unknown template",
                )
                .with_help("stacks wire outputs as `{{ members.<member>.outputs.<output> }}`"),
            ),
        }
    }
}

/// A value that is exactly one wiring template passes the producer's value through unchanged,
/// so a declared output `type` must be one the consumer's input schema accepts.
fn wiring_type(
    c: &mut Checker<'_>,
    s: &Doc<Stack>,
    consumer: &hyops_contract::Module,
    input: &str,
    text: &str,
    path: &str,
) {
    let Some(expr) = crate::stack_graph::whole_template(text) else {
        return;
    };
    let p: Vec<&str> = expr.split('.').collect();
    let ["members", producer, "outputs", output] = p.as_slice() else {
        return;
    };
    let Some(producer_module) = s
        .value
        .members
        .get(*producer)
        .and_then(|m| c.catalog.modules.get(&m.module))
    else {
        return;
    };
    let Some(declared) = producer_module
        .value
        .outputs
        .publish
        .get(*output)
        .and_then(|o| o.value_type.as_deref())
    else {
        return;
    };
    let accepted: Vec<&str> = match consumer
        .inputs
        .get(input)
        .and_then(|schema| schema.get("type"))
    {
        Some(serde_json::Value::String(t)) => vec![t.as_str()],
        Some(serde_json::Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str()).collect(),
        _ => return,
    };
    let fits = accepted
        .iter()
        .any(|&a| a == declared || (a == "number" && declared == "integer"));
    if !fits {
        c.push(
            s.error_at(
                codes::WIRING_TYPE_MISMATCH,
                format!(
                    "`{{{{ {expr} }}}}` is declared `type: {declared}` by module `{}`, but input `{input}` of module `{}` expects {}",
                    producer_module.value.id,
                    consumer.id,
                    accepted.join(" or ")
                ),
                path,
                "type mismatch",
            )
            .with_help(format!(
                "wire an output of type {} here, or change the input's schema in modules/{}/module.yaml",
                accepted.join(" or "),
                consumer.id
            )),
        );
    }
}

/// The first cycle in a deterministic DFS, as `[a, b, …, a]`.
fn find_cycle<'a>(edges: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        marks.insert(n, Mark::Active);
        stack.push(n);
        for &next in edges.get(n).into_iter().flatten() {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Active => {
                    let start = stack.iter().position(|&x| x == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(c) = visit(next, edges, marks, stack) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for &n in edges.keys() {
        if marks.get(n).copied().unwrap_or(Mark::New) == Mark::New {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, edges, &mut marks, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_deterministically() {
        let mut e: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        e.entry("a").or_default().insert("b");
        e.entry("b").or_default().insert("c");
        e.entry("c").or_default().insert("a");
        assert_eq!(find_cycle(&e).unwrap(), ["a", "b", "c", "a"]);
        e.get_mut("c").unwrap().clear();
        assert_eq!(find_cycle(&e), None);
    }
}

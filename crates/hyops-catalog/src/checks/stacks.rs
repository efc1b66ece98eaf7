//! Stacks: names are addressable, a stack has members, members name existing modules and their
//! inputs, plain input values fit the input schemas, wiring `{{ members.<m>.outputs.<o> }}` names
//! a member and an output it publishes, `depends_on` names members, and the member graph has no
//! cycle (`stack_cycles.rs`).

use std::collections::{BTreeMap, BTreeSet};

use hyops_contract::Stack;

use super::Checker;
use super::environments::secret_ref;
use super::inputs::is_secret;
use super::stack_cycles::{cycle_text, find_cycles};
use super::templates::collect;
use crate::codes;
use crate::document::Doc;
use crate::input_schema::check_value;
use crate::template::parse_templates;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    for s in cat.stacks.values() {
        let members = &s.value.members;
        if !addressable(&s.value.name) {
            c.push(
                s.error_at(
                    codes::STACK_NAME,
                    format!(
                        "stack name `{}` may hold only letters, digits, `_` and `-`",
                        s.value.name
                    ),
                    "name",
                    "not addressable",
                )
                .with_help(
                    "members are addressed as `STACK.MEMBER`, so a dot in the stack's name \
                     (its file name) makes them ambiguous; rename the file and `name` (e.g. `web-prod`)",
                ),
            );
        }
        if members.is_empty() {
            c.push(
                s.error_at(
                    codes::STACK_EMPTY,
                    format!("stack `{}` has no members", s.value.name),
                    "members",
                    "empty",
                )
                .with_help(format!(
                    "add members (`members: {{net: {{module: net/vpc}}}}`), or remove \
                     stacks/{}.yaml: running it would do nothing and report PASS",
                    s.value.name
                )),
            );
        }
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, member) in members {
            let base = format!("members.{name}");
            if !addressable(name) {
                c.push(
                    s.error_at_key(
                        codes::STACK_NAME,
                        format!("member name `{name}` may hold only letters, digits, `_` and `-`"),
                        &base,
                        "not addressable",
                    )
                    .with_help(
                        "a member is addressed as `STACK.MEMBER` and wired as \
                         `{{ members.<member>.outputs.<output> }}`; rename it (e.g. `web-db`)",
                    ),
                );
            }
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
                let wired = strings.iter().any(|(_, text)| text.contains("{{"));
                for (spath, text) in strings {
                    wiring(c, s, name, &spath, &text, &mut edges);
                }
                if let (Some(m), Some(text)) = (module, value.as_str()) {
                    wiring_type(c, s, &m.value, input, text, &path);
                }
                // A plain value is checked now, as an environment's is; a wired one once its
                // producer has published (the runner checks it before the member starts).
                if let Some(schema) = module.and_then(|m| m.value.inputs.get(input))
                    && !wired
                {
                    literal_value(c, s, &member.module, input, schema, value, &path);
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
        for cycle in find_cycles(&edges) {
            let first = cycle[0];
            c.push(
                s.error_at_key(
                    codes::STACK_CYCLE,
                    format!(
                        "members depend on each other in a cycle: {}",
                        cycle_text(&cycle)
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

/// A member's plain (unwired) input value against the module's input schema.
fn literal_value(
    c: &mut Checker<'_>,
    s: &Doc<Stack>,
    module: &str,
    input: &str,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    path: &str,
) {
    // `{ secretRef: <name> }` binds a secret input to the environment's secret of that name when
    // the member is resolved for an environment.
    match (secret_ref(value), is_secret(schema)) {
        (Some(Ok(_)), true) => return,
        (Some(Ok(_)), false) => {
            c.push(
                s.error_at(
                    codes::SECRET_BINDING,
                    format!(
                        "input `{input}` is bound with `secretRef` but module `{module}` does not \
                         mark it secret"
                    ),
                    path,
                    "secretRef on a plain input",
                )
                .with_help(format!(
                    "mark the input `secret: true` in module `{module}`, or give a plain value"
                )),
            );
            return;
        }
        (Some(Err(())), _) => {
            c.push(
                s.error_at(
                    codes::SECRET_BINDING,
                    "`secretRef` must be the only key and name a secret",
                    path,
                    "malformed secretRef",
                )
                .with_help("write `{ secretRef: <secret name> }`"),
            );
            return;
        }
        (None, _) => {}
    }
    if is_secret(schema) {
        c.push(
            s.error_at(
                codes::SECRET_BINDING,
                format!(
                    "secret input `{input}` of module `{module}` is given a plain value; secret \
                     values never live in the catalog"
                ),
                path,
                "plain value for a secret",
            )
            .with_help(
                "bind it with `{ secretRef: <name> }` to a secret the environment declares under \
                 `secrets:`, or wire it from a member's secret output",
            ),
        );
        return;
    }
    let Ok(validator) = c.schemas.validator(schema) else {
        return;
    };
    for problem in check_value(&validator, value) {
        c.push(
            s.error_at(
                codes::INPUT_VALUE_INVALID,
                format!(
                    "value of input `{input}` for module `{module}` does not satisfy its schema: {}",
                    problem.message
                ),
                &format!("{path}{}", problem.path_suffix),
                "invalid value",
            )
            .with_help("change the value to match the module's input schema"),
        );
    }
}

/// Whether `name` can appear in `STACK.MEMBER` and in a wiring template: the characters a
/// template path segment allows.
fn addressable(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

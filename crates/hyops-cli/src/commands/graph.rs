//! `hyops graph STACK [--format mermaid|dot|json]`: the member graph (edges from wiring and
//! `depends_on`), in a stable order.

use std::collections::{BTreeMap, BTreeSet};

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::catalog_access;
use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;

/// Graph formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A mermaid `flowchart` (renders on GitHub and in docs).
    Mermaid,
    /// Graphviz dot.
    Dot,
    /// `{"stack", "members": [{"name", "module", "depends_on"}], "edges": [[from, to]]}`.
    Json,
}

/// `hyops graph` arguments.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Stack name (a file under `stacks/`).
    pub stack: String,
    /// Output format (`--output json` also selects json).
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
}

/// Prints the graph.
pub fn run(args: GraphArgs, ctx: &Context) -> Result<u8, CliError> {
    let (catalog, _report) = catalog_access::load_checked(ctx)?;
    let Some(stack) = catalog.stacks.get(&args.stack) else {
        return Err(CliError::Usage {
            message: not_a_stack(&catalog, &args.stack),
        });
    };
    let deps = hyops_catalog::stack_graph::member_dependencies(&stack.value);
    let modules: BTreeMap<&str, &str> = stack
        .value
        .members
        .iter()
        .map(|(n, m)| (n.as_str(), m.module.as_str()))
        .collect();
    let value = json!({
        "stack": args.stack,
        "members": deps.iter().map(|(name, d)| json!({
            "name": name, "module": modules.get(name.as_str()), "depends_on": d,
        })).collect::<Vec<_>>(),
        "edges": edges(&deps),
    });
    let format = if ctx.printer.format() == crate::cli::OutputFormat::Json {
        GraphFormat::Json
    } else {
        args.format
    };
    // Through the printer: one trailing newline, and a closed pipe (`| head`) is not a panic.
    let text = match format {
        GraphFormat::Json => return ctx.printer.json(&value).map(|()| exit_codes::OK),
        GraphFormat::Mermaid => mermaid(&args.stack, &deps, &modules),
        GraphFormat::Dot => dot(&args.stack, &deps, &modules),
    };
    crate::render::write_stdout(format!("{text}\n").as_bytes())?;
    Ok(exit_codes::OK)
}

/// `(producer, consumer)` pairs, sorted.
fn edges(deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = deps
        .iter()
        .flat_map(|(m, ds)| ds.iter().map(move |d| (d.clone(), m.clone())))
        .collect();
    out.sort();
    out
}

/// Mermaid node ids must be plain words; member names may hold `-`.
/// A mermaid node id for member `name` (letters, digits, `_`, `-`): `m_` first, so no id is a
/// mermaid keyword (`end`) or starts with a digit, then `_` as `__` and `-` as `_d`, so `web-db`
/// and `web_db` stay two nodes.
fn node_id(name: &str) -> String {
    format!("m_{}", name.replace('_', "__").replace('-', "_d"))
}

fn mermaid(
    stack: &str,
    deps: &BTreeMap<String, BTreeSet<String>>,
    modules: &BTreeMap<&str, &str>,
) -> String {
    let mut out = format!("%% stack {stack}\nflowchart LR\n");
    for name in deps.keys() {
        let module = modules.get(name.as_str()).copied().unwrap_or_default();
        out.push_str(&format!("  {}[\"{name}<br/>{module}\"]\n", node_id(name)));
    }
    for (from, to) in edges(deps) {
        out.push_str(&format!("  {} --> {}\n", node_id(&from), node_id(&to)));
    }
    out.trim_end().to_owned()
}

fn dot(
    stack: &str,
    deps: &BTreeMap<String, BTreeSet<String>>,
    modules: &BTreeMap<&str, &str>,
) -> String {
    let mut out = format!("digraph \"{stack}\" {{\n  rankdir=LR;\n");
    for name in deps.keys() {
        let module = modules.get(name.as_str()).copied().unwrap_or_default();
        out.push_str(&format!("  \"{name}\" [label=\"{name}\\n{module}\"];\n"));
    }
    for (from, to) in edges(deps) {
        out.push_str(&format!("  \"{from}\" -> \"{to}\";\n"));
    }
    out.push('}');
    out
}

/// Why `name` has no graph: a module (with the stacks that use it), or no such stack (the
/// closest ones).
fn not_a_stack(catalog: &hyops_catalog::Catalog, name: &str) -> String {
    if catalog.modules.contains_key(name) {
        let users: Vec<String> = catalog
            .stacks
            .iter()
            .flat_map(|(stack, doc)| {
                doc.value
                    .members
                    .iter()
                    .filter(|(_, m)| m.module == name)
                    .map(move |(member, _)| format!("`{stack}` (member `{member}`)"))
            })
            .collect();
        let help = match users.first() {
            Some(_) => format!("stacks using it: {}", users.join(", ")),
            None => "no stack uses it".to_owned(),
        };
        return format!(
            "`{name}` is a module; `hyops graph` draws a stack's member graph\nhelp: {help}"
        );
    }
    format!(
        "no stack `{name}`; expected stacks/{name}.yaml\nhelp: {}",
        hyops_catalog::suggest("stacks", name, catalog.stacks.keys())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_ids_are_distinct_and_never_a_keyword() {
        let ids: BTreeSet<String> = ["web-db", "web_db", "web_ddb", "end", "1st"]
            .iter()
            .map(|n| node_id(n))
            .collect();
        assert_eq!(ids.len(), 5, "{ids:?}");
        assert!(ids.contains("m_end") && ids.contains("m_1st"), "{ids:?}");
        assert_eq!(node_id("web-db"), "m_web_ddb");
        assert_eq!(node_id("web_db"), "m_web__db");
    }
}

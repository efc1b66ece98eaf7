//! Boundary lints (DESIGN.md invariant 3): modules hold intent only. Each rule has a name used in
//! messages and docs/catalog.md; every rule is an error.

use serde_json::Value;

use super::Checker;
use crate::codes;
use crate::document::Doc;
use hyops_contract::Module;

/// Input names that carry state-backend wiring.
const BACKEND_NAMES: [&str; 8] = [
    "state",
    "state_file",
    "state_path",
    "state_bucket",
    "state_key",
    "state_lock",
    "lock_table",
    "dynamodb_table",
];

/// Input names that carry tool command-line arguments.
const FLAG_NAMES: [&str; 6] = [
    "flags",
    "args",
    "extra_args",
    "cli_args",
    "tool_args",
    "extra_vars",
];

/// Input names that point at an implementation instead of describing intent.
const SOURCE_NAMES: [&str; 10] = [
    "source",
    "module_source",
    "pack",
    "pack_path",
    "template_path",
    "playbook",
    "playbook_path",
    "repo",
    "repository",
    "git_url",
];

/// One rule hit: rule name, code, what was found, where (YAML path), point at key or value.
struct Hit {
    rule: &'static str,
    code: &'static str,
    what: String,
    path: String,
    at_key: bool,
    help: &'static str,
}

const HELP_BACKEND: &str =
    "state backends belong in the profile (`backend: {type, config}`); remove the input";
const HELP_WORKSPACE: &str =
    "workspace naming belongs in the profile (`workspace: \"{env}-{module}\"`); remove the input";
const HELP_FLAGS: &str = "tool flags belong in the pack or the profile `settings`; model the intent as a typed input instead";
const HELP_SOURCE: &str = "implementations live in packs (`execution.pack_ref`); remove the input";

pub(super) fn check_module(c: &mut Checker<'_>, m: &Doc<Module>) {
    for hit in lint_module(m) {
        let message = format!("[{}] {}", hit.rule, hit.what);
        let d = if hit.at_key {
            m.error_at_key(hit.code, message, &hit.path, hit.rule)
        } else {
            m.error_at(hit.code, message, &hit.path, hit.rule)
        };
        c.push(d.with_help(hit.help));
    }
}

fn tokens(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(['_', '-', '.'])
        .map(str::to_string)
        .collect()
}

fn lint_module(m: &Doc<Module>) -> Vec<Hit> {
    let mut hits = Vec::new();
    let inputs = &m.value.inputs;
    for (name, schema) in inputs {
        let lower = name.to_ascii_lowercase();
        let toks = tokens(name);
        let key = format!("inputs.{name}");
        if BACKEND_NAMES.contains(&lower.as_str())
            || toks.iter().any(|t| t == "backend" || t == "tfstate")
        {
            hits.push(Hit {
                rule: "module-no-backend",
                code: codes::LINT_MODULE_NO_BACKEND,
                what: format!("input `{name}` wires a state backend into the module"),
                path: key.clone(),
                at_key: true,
                help: HELP_BACKEND,
            });
        }
        if toks.iter().any(|t| t == "workspace") {
            hits.push(Hit {
                rule: "module-no-workspace-naming",
                code: codes::LINT_MODULE_NO_WORKSPACE_NAMING,
                what: format!("input `{name}` names a tool workspace"),
                path: key.clone(),
                at_key: true,
                help: HELP_WORKSPACE,
            });
        }
        if FLAG_NAMES.contains(&lower.as_str())
            || lower.ends_with("_flags")
            || lower.ends_with("_args")
        {
            hits.push(Hit {
                rule: "module-no-tool-flags",
                code: codes::LINT_MODULE_NO_TOOL_FLAGS,
                what: format!("input `{name}` passes tool command-line arguments"),
                path: key.clone(),
                at_key: true,
                help: HELP_FLAGS,
            });
        }
        if SOURCE_NAMES.contains(&lower.as_str()) || lower.ends_with("_source") {
            hits.push(Hit {
                rule: "module-no-implementation-source",
                code: codes::LINT_MODULE_NO_IMPLEMENTATION_SOURCE,
                what: format!("input `{name}` points at an implementation"),
                path: key.clone(),
                at_key: true,
                help: HELP_SOURCE,
            });
        }
        if let Some(default) = schema.get("default") {
            let mut strings = Vec::new();
            collect_strings(default, format!("{key}.default"), &mut strings);
            for (path, s) in strings {
                lint_string(&s, &path, &mut hits);
            }
        }
    }
    if inputs.contains_key("bucket") && inputs.contains_key("key") {
        hits.push(Hit {
            rule: "module-no-backend",
            code: codes::LINT_MODULE_NO_BACKEND,
            what: "inputs `bucket` and `key` together look like state-backend configuration".into(),
            path: "inputs.key".into(),
            at_key: true,
            help: HELP_BACKEND,
        });
    }
    hits
}

fn lint_string(s: &str, path: &str, hits: &mut Vec<Hit>) {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if lower.contains("tfstate") {
        hits.push(Hit {
            rule: "module-no-backend",
            code: codes::LINT_MODULE_NO_BACKEND,
            what: format!("default `{t}` refers to terraform state"),
            path: path.into(),
            at_key: false,
            help: HELP_BACKEND,
        });
    }
    if lower.contains("terraform.workspace") || t.contains("TF_WORKSPACE") {
        hits.push(Hit {
            rule: "module-no-workspace-naming",
            code: codes::LINT_MODULE_NO_WORKSPACE_NAMING,
            what: format!("default `{t}` refers to a tool workspace"),
            path: path.into(),
            at_key: false,
            help: HELP_WORKSPACE,
        });
    }
    if looks_like_flag(t) {
        hits.push(Hit {
            rule: "module-no-tool-flags",
            code: codes::LINT_MODULE_NO_TOOL_FLAGS,
            what: format!("default `{t}` looks like a tool command-line flag"),
            path: path.into(),
            at_key: false,
            help: HELP_FLAGS,
        });
    }
    if looks_like_source(&lower) {
        hits.push(Hit {
            rule: "module-no-implementation-source",
            code: codes::LINT_MODULE_NO_IMPLEMENTATION_SOURCE,
            what: format!("default `{t}` points at an implementation source"),
            path: path.into(),
            at_key: false,
            help: HELP_SOURCE,
        });
    }
}

/// `-var`, `--extra-vars x`, `-auto-approve`, or text containing ` -var` / ` --flag`.
fn looks_like_flag(t: &str) -> bool {
    let starts_flag = |s: &str| {
        let s = s.strip_prefix("--").or_else(|| s.strip_prefix('-'));
        s.is_some_and(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
    };
    starts_flag(t) || t.split_whitespace().skip(1).any(starts_flag)
}

/// Git URLs and files that are implementations (terraform, packer, ansible playbooks).
fn looks_like_source(lower: &str) -> bool {
    lower.starts_with("git::")
        || lower.starts_with("git@")
        || lower.starts_with("git+")
        || lower.starts_with("git://")
        || (lower.contains("://") && lower.ends_with(".git"))
        || lower.contains("github.com/")
        || [".tf", ".tf.json", ".pkr.hcl", ".pkr.json"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        || (lower.contains("playbook") && (lower.ends_with(".yml") || lower.ends_with(".yaml")))
}

fn collect_strings(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path, s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                collect_strings(item, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_sources_are_recognised() {
        assert!(looks_like_flag("-var=x"));
        assert!(looks_like_flag("--extra-vars a=b"));
        assert!(looks_like_flag("apply -auto-approve"));
        assert!(!looks_like_flag("-1"));
        assert!(!looks_like_flag("hello - world"));
        assert!(looks_like_source("git::https://example.com/x.git"));
        assert!(looks_like_source("main.tf"));
        assert!(!looks_like_source("http://example.com/"));
    }
}

//! Packer var-file templates (`packs/packer/<id>/vars/*.pkrvars.hcl.j2`): each parses as a
//! minijinja template and names only what the driver's context holds, `environment`, `module`
//! and `inputs.<name>` of a non-secret input every module running the pack declares. The driver
//! refuses the same templates when it renders them; validate says so before any run.

use hyops_contract::Module;

use super::Checker;
use super::inputs::is_secret;
use crate::codes;
use crate::diagnostic::{Diagnostic, Span};
use crate::document::Doc;
use crate::source_file::SourceFile;
use crate::walk::sorted_names;

/// Folder of a packer pack holding its var-file templates, and their suffix (as the driver reads).
const VARS_DIR: &str = "vars";
const TEMPLATE_SUFFIX: &str = ".pkrvars.hcl.j2";

/// Checks the templates of pack `id`, run by `users`.
pub(super) fn check_pack(c: &mut Checker<'_>, id: &str, users: &[&Doc<Module>]) {
    let rel_dir = format!("packs/packer/{id}/{VARS_DIR}");
    let names = sorted_names(&c.catalog.root.join(&rel_dir), |_, n| {
        n.ends_with(TEMPLATE_SUFFIX)
    });
    for name in names {
        let rel = format!("{rel_dir}/{name}");
        match SourceFile::read(&c.catalog.root.join(&rel), &rel) {
            Ok(file) => check_template(c, &file, users),
            Err(d) => c.push(*d),
        }
    }
}

fn check_template(c: &mut Checker<'_>, file: &SourceFile, users: &[&Doc<Module>]) {
    let env = minijinja::Environment::new();
    let template = match env.template_from_str(&file.text) {
        Ok(t) => t,
        Err(e) => {
            let span = e.range().map_or_else(
                || Span::new(file.offset_of(e.line().unwrap_or(1), 1), 0),
                |r| Span::new(r.start, r.len()),
            );
            c.push(
                Diagnostic::error(
                    codes::PACKER_VARS_TEMPLATE,
                    format!(
                        "malformed var-file template: {}",
                        e.detail().unwrap_or(&e.kind().to_string())
                    ),
                )
                .at(file, span, "here")
                .with_help("values are written `name = {{ inputs.name }}` (minijinja syntax; hyops writes each value as an HCL literal)"),
            );
            return;
        }
    };
    let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    used.sort();
    for variable in used {
        let root = variable.split('.').next().unwrap_or_default();
        if env.globals().any(|(g, _)| g == root) {
            continue;
        }
        let problems = match (root, variable.strip_prefix("inputs.")) {
            // `{{ inputs }}` alone is the whole map of non-secret inputs.
            ("environment" | "module", _) | ("inputs", None) => Vec::new(),
            ("inputs", Some(input)) => input_problems(users, input),
            _ => vec![(
                format!("`{variable}` is not in a var-file template's context"),
                "the context holds `inputs.<name>` (the module's non-secret inputs), `environment` and `module`".to_owned(),
            )],
        };
        let span = first_use(&file.text, &variable);
        for (message, help) in problems {
            c.push(
                Diagnostic::error(codes::PACKER_VARS_TEMPLATE, message)
                    .at(file, span, "used here")
                    .with_help(help),
            );
        }
    }
}

/// Why the modules running the pack cannot fill `inputs.<input>`: one finding for those that
/// declare it secret, one for those that do not declare it.
fn input_problems(users: &[&Doc<Module>], input: &str) -> Vec<(String, String)> {
    let input = input.split('.').next().unwrap_or(input);
    let (mut secret, mut missing) = (Vec::new(), Vec::new());
    for m in users {
        match m.value.inputs.get(input) {
            Some(schema) if is_secret(schema) => secret.push(m),
            Some(_) => {}
            None => missing.push(m),
        }
    }
    let names = |ms: &[&&Doc<Module>]| {
        let ids: Vec<String> = ms.iter().map(|m| format!("`{}`", m.value.id)).collect();
        format!(
            "module{} {}",
            if ids.len() == 1 { "" } else { "s" },
            ids.join(", ")
        )
    };
    let mut out = Vec::new();
    if !secret.is_empty() {
        out.push((
            format!("var-file template names `inputs.{input}`, a secret input of {}: secrets are never written to a file", names(&secret)),
            format!("remove it from the template: packer reads a secret input from the environment variable PKR_VAR_{input} (declare `variable \"{input}\"` in the pack)"),
        ));
    }
    if !missing.is_empty() {
        let declared: Vec<String> = missing
            .iter()
            .map(|m| {
                let plain: Vec<&str> = m
                    .value
                    .inputs
                    .iter()
                    .filter(|(_, s)| !is_secret(s))
                    .map(|(n, _)| n.as_str())
                    .collect();
                format!(
                    "`{}`: {}",
                    m.value.id,
                    if plain.is_empty() {
                        "none".to_owned()
                    } else {
                        plain.join(", ")
                    }
                )
            })
            .collect();
        out.push((
            format!(
                "var-file template names input `{input}`, which {} {} not declare",
                names(&missing),
                if missing.len() == 1 { "does" } else { "do" }
            ),
            format!(
                "declare it in the module, or use a declared one; non-secret inputs of {}",
                declared.join("; ")
            ),
        ));
    }
    out
}

/// The span of the first mention of `dotted` (whole words), or the file's start.
fn first_use(text: &str, dotted: &str) -> Span {
    let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    text.match_indices(dotted)
        .find(|(at, _)| {
            !word(text.as_bytes().get(at.wrapping_sub(1)).copied())
                && !word(text.as_bytes().get(at + dotted.len()).copied())
        })
        .map_or(Span::new(0, 0), |(at, _)| Span::new(at, dotted.len()))
}

//! Loading the catalog and resolving a target, shared by every command that needs a RunRequest.

use std::collections::BTreeMap;

use hyops_catalog::{Catalog, Overrides, Report};
use hyops_contract::{InputSource, RunRequest};

use crate::commands::Context;
use crate::env_vars::EnvVars;
use crate::error::CliError;

/// Loads and checks the whole catalog. A catalog with errors is refused with every error rendered:
/// running a module of a catalog that does not validate would hide problems.
pub fn load_checked(ctx: &Context) -> Result<(Catalog, Report), CliError> {
    let root = ctx.settings.catalog_root()?;
    let (catalog, report) = hyops_catalog::check(hyops_catalog::load(&root.path));
    if report.has_errors() {
        return Err(CliError::CatalogInvalid {
            summary: report.summary(),
            rendered: report.render_text(),
        });
    }
    Ok((catalog, report))
}

/// `HYOPS_INPUT_*` from hyops' environment and `--set` values, lowest precedence first.
pub fn overrides(set: &[String]) -> Overrides {
    let vars = std::env::vars().filter(|(k, _)| k.starts_with(EnvVars::HYOPS_INPUT_PREFIX));
    Overrides::from_env_vars(vars, set.to_vec())
}

/// Resolves `target` for `env`, rendering every problem as a diagnostic.
pub fn resolve(
    catalog: &Catalog,
    target: &str,
    env: &str,
    set: &[String],
) -> Result<RunRequest, CliError> {
    hyops_catalog::resolve(catalog, target, env, &overrides(set)).map_err(resolve_error)
}

/// Every problem of a failed resolution, rendered as diagnostics.
pub fn resolve_error(e: hyops_catalog::ResolveError) -> CliError {
    let rendered = e
        .diagnostics
        .iter()
        .map(hyops_catalog::render_text)
        .collect::<Vec<_>>()
        .join("\n");
    CliError::Resolve {
        target: e.target,
        env: e.env,
        count: e.diagnostics.len(),
        rendered,
    }
}

/// Whether `target` names a stack (module ids contain a `/`, stack names never do).
pub fn is_stack(catalog: &Catalog, target: &str) -> bool {
    catalog.stacks.contains_key(target) && !catalog.modules.contains_key(target)
}

/// The module's JSON Schema of every input of `request` wired from another member's output (the
/// runner checks the wired values against them before the member starts).
pub fn wired_input_schemas(
    catalog: &Catalog,
    request: &RunRequest,
) -> BTreeMap<String, serde_json::Value> {
    let Some(module) = catalog.modules.get(&request.module.name) else {
        return BTreeMap::new();
    };
    request
        .inputs
        .iter()
        .filter(|(_, r)| r.source == InputSource::Upstream)
        .filter_map(|(name, _)| Some((name.clone(), module.value.inputs.get(name)?.clone())))
        .collect()
}

/// Resolves every member of stack `stack` for `env` into a schedulable plan; every member's
/// problems are rendered together.
pub fn resolve_stack(
    catalog: &Catalog,
    stack: &str,
    env: &str,
    set: &[String],
) -> Result<hyops_runner::StackPlan, CliError> {
    let doc = catalog.stacks.get(stack).ok_or_else(|| CliError::Usage {
        message: format!("`{stack}` is not a stack"),
    })?;
    let deps = hyops_catalog::stack_graph::member_dependencies(&doc.value);
    let overrides = overrides(set);
    let per_member = hyops_catalog::stack_overrides::member_overrides(
        catalog, &doc.value, &overrides,
    )
    .map_err(|diagnostics| {
        resolve_error(hyops_catalog::ResolveError {
            target: stack.to_owned(),
            env: env.to_owned(),
            diagnostics,
        })
    })?;
    let mut resolver = hyops_catalog::Resolver::new(catalog);
    let mut members = Vec::new();
    let mut failures = Vec::new();
    for (name, depends_on) in deps {
        let own = per_member.get(&name).unwrap_or(&overrides);
        match resolver.resolve(&format!("{stack}.{name}"), env, own) {
            Ok(request) => members.push(hyops_runner::StackMemberPlan {
                name,
                input_schemas: wired_input_schemas(catalog, &request),
                request,
                depends_on,
            }),
            Err(e) => failures.push(e),
        }
    }
    if let Some(first) = failures.first() {
        // A problem every member shares (an unknown environment) is shown once.
        let mut seen = std::collections::BTreeSet::new();
        let unique: Vec<String> = failures
            .iter()
            .flat_map(|e| e.diagnostics.iter().map(hyops_catalog::render_text))
            .filter(|text| seen.insert(text.clone()))
            .collect();
        let count = unique.len();
        let rendered = unique.join("\n");
        return Err(CliError::Resolve {
            target: if failures.len() == 1 {
                first.target.clone()
            } else {
                stack.to_owned()
            },
            env: env.to_owned(),
            count,
            rendered,
        });
    }
    Ok(hyops_runner::StackPlan {
        stack: stack.to_owned(),
        env: env.to_owned(),
        members,
    })
}

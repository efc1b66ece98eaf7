//! Loading the catalog and resolving a target, shared by every command that needs a RunRequest.

use hyops_catalog::{Catalog, Overrides, Report};
use hyops_contract::RunRequest;

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

//! `hyops plugins list`: every `hyops-<name>` executable on `HYOPS_PLUGIN_PATH` then `PATH`, with
//! whether it is active, shadowed by an earlier one, or ignored because a core command has its name.

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::commands::{Context, core_names};
use crate::error::CliError;
use crate::exit_codes;
use crate::plugins::{PluginEntry, PluginStatus, SearchDir, SearchPath};
use crate::render::Style;

/// Arguments of `hyops plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PluginsAction,
}

/// `hyops plugins <action>`
#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// List plugins in search order, with their status.
    List,
}

#[derive(Serialize)]
struct PluginsReport<'a> {
    search_path: &'a [SearchDir],
    plugins: Vec<PluginEntry>,
}

/// Runs the chosen action.
pub fn run(args: PluginsArgs, ctx: &Context) -> Result<u8, CliError> {
    match args.action {
        PluginsAction::List => list(ctx),
    }
}

fn list(ctx: &Context) -> Result<u8, CliError> {
    let search = SearchPath::from_env();
    let report = PluginsReport {
        search_path: search.dirs(),
        plugins: search.list(&core_names()),
    };
    ctx.printer
        .emit(&report, |style| list_text(&report.plugins, style))?;
    Ok(exit_codes::OK)
}

fn list_text(plugins: &[PluginEntry], style: Style) -> String {
    if plugins.is_empty() {
        return "no plugins found on HYOPS_PLUGIN_PATH or PATH\n".to_string();
    }
    let width = plugins.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in plugins {
        let status = match p.status {
            PluginStatus::Active => style.good("active  "),
            PluginStatus::Shadowed => style.dim("shadowed"),
            PluginStatus::Ignored => style.dim("ignored "),
        };
        let note = match (&p.status, &p.shadowed_by) {
            (PluginStatus::Shadowed, Some(by)) => format!(" (shadowed by {})", by.display()),
            (PluginStatus::Ignored, _) => " (core command of the same name wins)".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:width$}  {status}  {}  [{}]{note}\n",
            p.name,
            p.path.display(),
            p.from.as_str(),
        ));
    }
    out
}

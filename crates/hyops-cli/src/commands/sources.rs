//! `hyops sources sync [--frozen]`: clone or update the catalog's git sources under the state dir
//! and pin their commits in `hyops.lock` (see `sources_sync.rs`).

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;
use crate::sources_sync::{SyncedSource, sync};

/// Arguments of `hyops sources`.
#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SourcesAction,
}

/// `hyops sources <action>`
#[derive(Debug, Subcommand)]
pub enum SourcesAction {
    /// Clone or update every source in hyops.yaml and record its commit in hyops.lock.
    Sync {
        /// Do not move any pin: fail when a ref no longer resolves to the commit in hyops.lock.
        #[arg(long)]
        frozen: bool,
    },
}

#[derive(Serialize)]
struct SyncReport {
    frozen: bool,
    sources: Vec<SyncedSource>,
}

/// Runs the chosen action.
pub fn run(args: SourcesArgs, ctx: &Context) -> Result<u8, CliError> {
    let SourcesAction::Sync { frozen } = args.action;
    let (catalog, _) = crate::catalog_access::load_checked(ctx)?;
    let state_dir = ctx.settings.state_dir()?;
    let sources = catalog
        .manifest
        .as_ref()
        .map(|m| m.value.sources.clone())
        .unwrap_or_default();
    let quiet = ctx.printer.quiet();
    let lock = catalog.lock.clone().unwrap_or_default();
    let synced = sync(&sources, &lock, &catalog.root, &state_dir, frozen, || {
        if !quiet {
            crate::render::stderr_line(
                "note: waiting for the packer builds reading sources to finish",
            );
        }
    })?;
    let report = SyncReport {
        frozen,
        sources: synced,
    };
    ctx.printer.emit(&report, |style| {
        if report.sources.is_empty() {
            return "no sources declared in hyops.yaml\n".to_owned();
        }
        let mut out = String::new();
        for s in &report.sources {
            out.push_str(&format!(
                "{:10} {}  {} @ {}  {}\n",
                style.good(s.action),
                s.name,
                s.url,
                s.git_ref,
                style.dim(&s.commit)
            ));
        }
        out
    })?;
    Ok(exit_codes::OK)
}

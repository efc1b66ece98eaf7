//! `hyops packer builders [--os OS] [--platform P] [--pack ID]`: the canonical builder ids
//! (`source.<type>.<name>`) of the catalog's packer packs, parsed from their HCL `source` blocks,
//! so other commands and profiles (`settings.builders`) can name builders without duplicating them.

use clap::{Args, Subcommand};
use hyops_catalog::packer_builders::{Builder, pack_builders};
use serde::Serialize;

use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;

/// Arguments of `hyops packer`.
#[derive(Debug, Args)]
pub struct PackerArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PackerAction,
}

/// `hyops packer <action>`
#[derive(Debug, Subcommand)]
pub enum PackerAction {
    /// List builder ids from the packer packs' `source` blocks.
    Builders {
        /// Only builders for this OS or OS family (`ubuntu`, `linux`, `windows`).
        #[arg(long)]
        os: Option<String>,
        /// Only builders for this platform or builder type (`proxmox`, `null`, `proxmox-iso`).
        #[arg(long)]
        platform: Option<String>,
        /// Only this pack (its id under packs/packer/).
        #[arg(long)]
        pack: Option<String>,
    },
}

#[derive(Serialize)]
struct BuildersReport {
    builders: Vec<Builder>,
}

/// Runs the chosen action.
pub fn run(args: PackerArgs, ctx: &Context) -> Result<u8, CliError> {
    let PackerAction::Builders { os, platform, pack } = args.action;
    let (catalog, _) = crate::catalog_access::load_checked(ctx)?;
    let packer_packs: Vec<&String> = catalog
        .packs
        .keys()
        .filter(|(driver, _)| driver == "packer")
        .map(|(_, id)| id)
        .collect();
    if let Some(wanted) = &pack
        && !packer_packs.contains(&wanted)
    {
        let known = packer_packs
            .iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CliError::Usage {
            message: format!(
                "`--pack {wanted}`: the catalog has no packer pack `{wanted}` \
                 (packs/packer/{wanted}/)\nhelp: packer packs: {}",
                if known.is_empty() { "none" } else { &known }
            ),
        });
    }
    let mut builders = Vec::new();
    for ((driver, id), doc) in &catalog.packs {
        if driver != "packer" || pack.as_ref().is_some_and(|p| p != id) {
            continue;
        }
        let found = pack_builders(&catalog.root, id, &doc.value.entry);
        builders.extend(
            found
                .builders
                .into_iter()
                .filter(|b| b.matches(os.as_deref(), platform.as_deref())),
        );
    }
    let report = BuildersReport { builders };
    ctx.printer.emit(&report, |style| {
        if report.builders.is_empty() {
            return "no packer builders match\n".to_owned();
        }
        let width = report
            .builders
            .iter()
            .map(|b| b.id.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for b in &report.builders {
            out.push_str(&format!(
                "{:width$}  {}/{}  {}\n",
                b.id,
                b.platform,
                b.os,
                style.dim(&format!("{}:{}:{}", b.file, b.line, b.col))
            ));
        }
        out
    })?;
    Ok(exit_codes::OK)
}

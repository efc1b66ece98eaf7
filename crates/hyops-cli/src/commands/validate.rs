//! `hyops validate`: load every catalog document, check schemas, references and lint rules in one
//! pass, and print every finding rustc-style (or as JSON). Exit 1 when any error was found.

use clap::Args;

use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;

/// Arguments of `hyops validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {}

/// Prints every diagnostic and the summary line "N errors, M warnings in K files".
///
/// JSON: `{"errors": N, "warnings": M, "files": K, "diagnostics": [{code, severity, message, help,
/// file, line, col, offset, len}]}`.
pub fn run(_args: ValidateArgs, ctx: &Context) -> Result<u8, CliError> {
    let root = ctx.settings.catalog_root()?;
    let report = hyops_catalog::validate(&root.path);
    ctx.printer
        .emit(&report.to_json(), |_| report.render_text())?;
    Ok(if report.has_errors() {
        exit_codes::FAILED
    } else {
        exit_codes::OK
    })
}

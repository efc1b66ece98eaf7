//! `hyops identity`: the build identity as env-file lines (`KEY=VALUE`, like `/etc/runner/image.env`)
//! or JSON. Needs no catalog.

use clap::Args;

use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;
use crate::identity::Identity;

/// Arguments of `hyops identity` (none besides the global flags).
#[derive(Debug, Args)]
pub struct IdentityArgs {}

/// Prints the identity fixed at build time.
pub fn run(_args: IdentityArgs, ctx: &Context) -> Result<u8, CliError> {
    let identity = Identity::current();
    ctx.printer.emit(&identity, |_| identity.to_env_file())?;
    Ok(exit_codes::OK)
}

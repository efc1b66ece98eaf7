//! Core commands, one file each, and the table that dispatches to them.
//!
//! # Adding a command (the whole recipe)
//!
//! 1. Create `commands/<verb>.rs` holding
//!    - `pub struct <Verb>Args` deriving `clap::Args` (its doc comments become `--help`), and
//!    - `pub fn run(args: <Verb>Args, ctx: &Context) -> Result<u8, CliError>`, returning an
//!      [`exit_codes`](crate::exit_codes) constant (`OK`, or `FAILED` when e.g. validation found
//!      errors). Print results with `ctx.printer.emit(&serializable, |style| text)` so
//!      `--output json` works; get the catalog with `ctx.settings.catalog_root()?` (only if the
//!      command needs one) and the state directory with `ctx.settings.state_dir()?`. Library errors
//!      become a new [`CliError`] variant wrapping them (`#[diagnostic(transparent)]` for miette
//!      diagnostics); render extra diagnostics with [`crate::render`].
//! 2. In this file: `pub mod <verb>;`, a variant `<Verb>(<verb>::<Verb>Args)` in [`Command`]
//!    (its doc comment is the one-line summary in `hyops --help`), and one arm in
//!    [`Command::run`].
//! 3. If the verb is listed in [`PLANNED`], remove it there (a unit test checks they never overlap).
//! 4. Document it in `docs/cli.md` and test it from outside in `tests/integration/<verb>.rs`.

pub mod apply;
pub mod completions;
pub mod evidence;
pub mod graph;
pub mod identity;
pub mod init;
pub mod logs;
pub mod outputs;
pub mod packer;
pub mod plugins;
pub mod promote;
pub mod resolve;
pub mod run;
pub mod runs;
pub mod sources;
pub mod stack;
pub mod validate;

use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::{CommandFactory, Subcommand};

use crate::cli::{Cli, GlobalArgs};
use crate::error::CliError;
use crate::render::Printer;
use crate::settings::Settings;

/// Core command names DESIGN.md section 5 fixes that this build does not implement yet. They are
/// reserved now so a plugin installed today cannot silently change meaning when the core command
/// lands; invoking one is an explicit "not implemented" error.
pub const PLANNED: &[&str] = &["serve", "worker", "admin"];

/// Everything a command needs besides its own arguments.
#[derive(Debug)]
pub struct Context {
    /// The global flags as given.
    pub global: GlobalArgs,
    /// Catalog root and state directory (resolved lazily: ask only if you need them).
    pub settings: Settings,
    /// Where results and errors go, in the requested format.
    pub printer: Printer,
}

/// The core commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a new, working catalog in DIR.
    Init(init::InitArgs),
    /// Print the build identity (version, commit, toolchain) as KEY=VALUE lines.
    Identity(identity::IdentityArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Inspect plugins (`hyops-<name>` executables).
    Plugins(plugins::PluginsArgs),
    /// Check every catalog document (schemas, references, lint rules); exit 1 on errors.
    Validate(validate::ValidateArgs),
    /// Print the fingerprinted RunRequest a run of MODULE in ENV would execute.
    Resolve(resolve::ResolveArgs),
    /// Run a target: driver `apply`, then probes; PASS only when every probe passes.
    Run(run::RunArgs),
    /// Run the driver's `plan` stage (no changes, no probes).
    Plan(run::RunArgs),
    /// Apply exactly the saved plan of an earlier `hyops plan` run (refused if anything changed).
    Apply(apply::ApplyArgs),
    /// Run the driver's `destroy` stage (needs --yes).
    Destroy(run::DestroyArgs),
    /// Print the outputs of the latest PASS of a target in an environment.
    Outputs(outputs::OutputsArgs),
    /// List, show and prune recorded runs.
    Runs(runs::RunsArgs),
    /// Print the (redacted) tool output of a run's attempt.
    Logs(logs::LogsArgs),
    /// Verify or export a run's evidence.
    Evidence(evidence::EvidenceArgs),
    /// Print a stack's member graph (mermaid, dot or json).
    Graph(graph::GraphArgs),
    /// Run a target in an environment only if its exact configuration PASSed in another.
    Promote(promote::PromoteArgs),
    /// Clone or update the catalog's git sources and pin them in hyops.lock.
    Sources(sources::SourcesArgs),
    /// Packer helpers: list builder ids from the packer packs.
    Packer(packer::PackerArgs),
    /// Anything else: a plugin, a planned command, or an error.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

impl Command {
    /// Runs a core command. `External` is handled by [`crate::dispatch`] before this is called.
    pub fn run(self, ctx: &Context) -> Result<u8, CliError> {
        match self {
            Command::Init(args) => init::run(args, ctx),
            Command::Identity(args) => identity::run(args, ctx),
            Command::Completions(args) => completions::run(args, ctx),
            Command::Plugins(args) => plugins::run(args, ctx),
            Command::Validate(args) => validate::run(args, ctx),
            Command::Resolve(args) => resolve::run(args, ctx),
            Command::Run(args) => run::run(args, ctx),
            Command::Plan(args) => run::plan(args, ctx),
            Command::Apply(args) => apply::run(args, ctx),
            Command::Destroy(args) => run::destroy(args, ctx),
            Command::Outputs(args) => outputs::run(args, ctx),
            Command::Runs(args) => runs::run(args, ctx),
            Command::Logs(args) => logs::run(args, ctx),
            Command::Evidence(args) => evidence::run(args, ctx),
            Command::Graph(args) => graph::run(args, ctx),
            Command::Promote(args) => promote::run(args, ctx),
            Command::Sources(args) => sources::run(args, ctx),
            Command::Packer(args) => packer::run(args, ctx),
            Command::External(args) => crate::dispatch::run_external(args, ctx),
        }
    }
}

/// Every name a plugin can never take: implemented commands, clap's `help`, and [`PLANNED`].
pub fn core_names() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = implemented_names().into_iter().collect();
    names.insert("help".to_string());
    names.extend(PLANNED.iter().map(|s| s.to_string()));
    names
}

/// Names of the commands this build implements (what `hyops --help` lists).
pub fn implemented_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_and_implemented_commands_never_overlap() {
        let implemented = implemented_names();
        for name in PLANNED {
            assert!(
                !implemented.iter().any(|i| i == name),
                "`{name}` is implemented now: remove it from commands::PLANNED"
            );
        }
    }
}

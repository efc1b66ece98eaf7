//! `hyops completions SHELL`: a completion script for bash, zsh or fish, generated from the parser.
//! Plugins are not completed: they are discovered at run time.

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;
use serde::Serialize;

use crate::cli::Cli;
use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;

/// Arguments of `hyops completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Shells with completion support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompletionShell {
    /// `source <(hyops completions bash)`
    Bash,
    /// Save as `_hyops` in a directory on `$fpath`.
    Zsh,
    /// Save as `~/.config/fish/completions/hyops.fish`.
    Fish,
}

impl From<CompletionShell> for Shell {
    fn from(shell: CompletionShell) -> Self {
        match shell {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
        }
    }
}

#[derive(Serialize)]
struct CompletionsReport {
    shell: CompletionShell,
    script: String,
}

/// Prints the script (or `{"shell", "script"}` with `--output json`).
pub fn run(args: CompletionsArgs, ctx: &Context) -> Result<u8, CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(
        Shell::from(args.shell),
        &mut Cli::command(),
        "hyops",
        &mut buf,
    );
    let report = CompletionsReport {
        shell: args.shell,
        script: String::from_utf8_lossy(&buf).into_owned(),
    };
    ctx.printer.emit(&report, |_| report.script.clone())?;
    Ok(exit_codes::OK)
}

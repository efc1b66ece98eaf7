//! The command-line grammar: global flags and the top-level parser. Subcommands live in
//! `commands/` (one file each); this file only knows the shape shared by all of them.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

use crate::commands::Command;
use crate::identity::VERSION_LINE;

/// hyops: resolve modules, profiles, packs and environments into one fingerprinted request, run the
/// real tool, prove the result with probes, and keep the evidence.
#[derive(Debug, Parser)]
#[command(
    name = "hyops",
    version = VERSION_LINE,
    propagate_version = false,
    arg_required_else_help = true,
    allow_external_subcommands = true,
    after_help = "Unknown commands run the plugin `hyops-<name>` found on HYOPS_PLUGIN_PATH, then PATH.\n\
                  See `hyops plugins list`."
)]
pub struct Cli {
    /// Flags every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after any core command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Catalog root (the directory holding hyops.yaml) [env: HYOPS_CATALOG]. Without it, the current
    /// directory is used if it holds hyops.yaml; parent directories and .git are never consulted.
    #[arg(long, global = true, value_name = "DIR")]
    pub catalog: Option<PathBuf>,

    /// Runtime state directory [env: HYOPS_STATE_DIR] [default: <catalog>/.hyops/].
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Output format. With `json`, stdout holds exactly one JSON document: the result, or an
    /// error object.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// When to colour text output. `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// More log detail on stderr (repeat for more). HYOPS_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less output: errors only.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

/// `--output`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

impl OutputFormat {
    /// The value as written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// `--color`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour, even with NO_COLOR.
    Always,
    /// Never colour.
    Never,
}

/// Looks ahead in raw arguments for the two global flags that matter before (or when) parsing
/// fails: `--output` (errors must come out as JSON) and `--color` (clap's own messages). Scanning
/// stops at `--`; the last occurrence wins, as with clap.
pub fn prescan(args: &[std::ffi::OsString]) -> (OutputFormat, ColorChoice) {
    let mut output = OutputFormat::Text;
    let mut color = ColorChoice::Auto;
    let mut iter = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.to_string(), None),
        };
        let is_output = flag == "--output";
        let is_color = flag == "--color";
        if !is_output && !is_color {
            continue;
        }
        let Some(value) = inline.or_else(|| iter.next().map(|v| v.to_string())) else {
            break;
        };
        if is_output {
            if let Ok(v) = OutputFormat::from_str(&value, false) {
                output = v;
            }
        } else if let Ok(v) = ColorChoice::from_str(&value, false) {
            color = v;
        }
    }
    (output, color)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn parser_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn prescan_finds_output_and_color_in_both_spellings() {
        let args: Vec<std::ffi::OsString> =
            ["hyops", "identity", "--output=json", "--color", "never"]
                .iter()
                .map(Into::into)
                .collect();
        assert_eq!(prescan(&args), (OutputFormat::Json, ColorChoice::Never));
        let args: Vec<std::ffi::OsString> = ["hyops", "x", "--", "--output", "json"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(prescan(&args), (OutputFormat::Text, ColorChoice::Auto));
    }
}

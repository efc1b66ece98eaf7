//! The single entrypoint: parse, then core command → plugin `hyops-<name>` → explicit failure with
//! suggestions (DESIGN.md invariant 7). No guessing, no fallback.

use std::ffi::OsString;
use std::process::ExitStatus;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, ColorChoice, OutputFormat, prescan};
use crate::commands::{Context, PLANNED, core_names, implemented_names};
use crate::env_vars::EnvVars;
use crate::error::CliError;
use crate::identity::VERSION;
use crate::plugins::{PluginStatus, SearchPath};
use crate::render::Printer;
use crate::settings::{Settings, SettingsInputs};
use crate::{exit_codes, logging};

/// Runs hyops with the process arguments and ends the process with its exit code.
///
/// The process ends with `_exit` once stdout and stderr are flushed. Every command has dropped
/// what it opened by then (files, locks, the ledger, the runtime); what a normal exit would add
/// is teardown nobody waits for: mimalloc returning its pages to the kernel (a `madvise` per
/// segment, each a TLB shootdown while other threads still exist) and library destructors.
/// About 0.6 ms of every command (packer null build, interleaved A/B).
pub fn main() -> ! {
    let code = run(std::env::args_os().collect());
    {
        use std::io::Write as _;
        // Nobody is left to tell if these fail (a closed pipe): the exit code stands.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
    }
    #[allow(unsafe_code)]
    // SAFETY: `_exit` takes any int and never returns; nothing of this process runs after it.
    // Everything `run` opened is closed or dropped by now, and standard output is flushed above.
    unsafe {
        nix::libc::_exit(i32::from(code))
    }
}

/// Runs hyops with `args` (including the program name) and returns the exit code. Nothing on this
/// path panics on user input; errors are printed here, in the requested format.
pub fn run(args: Vec<OsString>) -> u8 {
    let (format, color) = prescan(&args);
    let clap_color = match color {
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    };
    // `--version` and `--help` end inside this call: nothing heavier than parsing runs before it.
    let cli = match Cli::command()
        .color(clap_color)
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(err) => return report_parse_error(&err, format, color),
    };

    let global = cli.global.clone();
    let printer = Printer::new(global.output, global.color, global.quiet > 0);
    logging::init(
        global.verbose,
        global.quiet,
        crate::render::color_enabled(
            global.color,
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
    );
    let settings = Settings::resolve(SettingsInputs::from_process(
        global.catalog.clone(),
        global.state_dir.clone(),
    ));
    let ctx = Context {
        global,
        settings,
        printer,
    };
    match cli.command.run(&ctx) {
        Ok(code) => code,
        Err(err) => {
            ctx.printer.error(&err);
            err.exit_code()
        }
    }
}

/// Help and version go to stdout with exit 0; real parse errors exit 2, as clap phrased them, or
/// as an `ErrorResponse` with `--output json`.
fn report_parse_error(err: &clap::Error, format: OutputFormat, color: ColorChoice) -> u8 {
    use clap::error::ErrorKind;
    let is_info = matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if is_info || format == OutputFormat::Text {
        // A closed stdout/stderr leaves nobody to tell.
        let _ = err.print();
        return if is_info {
            exit_codes::OK
        } else {
            exit_codes::USAGE
        };
    }
    // `Display` of the rendered error is plain text: clap strips its styling there.
    let rendered = err.render().to_string();
    let message = rendered
        .lines()
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    let error = CliError::Usage { message };
    let mut response = error.to_error_response();
    response.help = Some("run `hyops --help` for usage".to_string());
    response
        .details
        .insert("usage".to_string(), rendered.trim_end().to_string().into());
    let _ = Printer::new(format, color, false).json(&response);
    exit_codes::USAGE
}

/// `hyops <name> args...` where `<name>` is no core command: reserved name → explicit error;
/// plugin found → run it; otherwise → "no such command" with suggestions.
pub fn run_external(args: Vec<OsString>, ctx: &Context) -> Result<u8, CliError> {
    let mut args = args.into_iter();
    let name = args
        .next()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if PLANNED.contains(&name.as_str()) {
        return Err(CliError::NotImplemented { name });
    }
    let search = SearchPath::from_env();
    let Some((path, dir)) = search.find(&name) else {
        let suggestions = suggest(&name, &search);
        return Err(CliError::NoSuchCommand { name, suggestions });
    };
    tracing::debug!(plugin = %name, path = %path.display(), from = dir.from.as_str(), "running plugin");

    let mut cmd = std::process::Command::new(&path);
    cmd.args(args);
    cmd.env(EnvVars::HYOPS_VERSION, VERSION);
    cmd.env(EnvVars::HYOPS_OUTPUT, ctx.global.output.as_str());
    // A plugin sees exactly the catalog hyops resolved, or none: never a stale or relative value.
    match ctx.settings.optional_catalog_root()? {
        Some(root) => cmd.env(EnvVars::HYOPS_CATALOG, &root.path),
        None => cmd.env_remove(EnvVars::HYOPS_CATALOG),
    };
    match ctx.settings.optional_state_dir()? {
        Some(dir) => cmd.env(EnvVars::HYOPS_STATE_DIR, dir),
        None => cmd.env_remove(EnvVars::HYOPS_STATE_DIR),
    };
    if let Ok(exe) = std::env::current_exe() {
        cmd.env(EnvVars::HYOPS_BIN, exe);
    }
    let mut child = cmd.spawn().map_err(|source| CliError::PluginSpawn {
        name: name.clone(),
        path: path.clone(),
        source,
    })?;
    ignore_terminal_interrupts();
    let status = child
        .wait()
        .map_err(|source| CliError::PluginSpawn { name, path, source })?;
    Ok(plugin_exit_code(status))
}

/// Ctrl-C and Ctrl-\ reach the whole foreground process group, so the plugin gets them directly;
/// hyops must outlive the plugin to report its exit code (what `system(3)` does). Blocked only after
/// the spawn, so the plugin inherits the normal signal mask.
fn ignore_terminal_interrupts() {
    #[cfg(unix)]
    {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGQUIT);
        if let Err(err) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None) {
            tracing::debug!(%err, "could not block SIGINT/SIGQUIT while waiting for the plugin");
        }
    }
}

/// The plugin's exit code, or 128 + signal number when a signal ended it.
fn plugin_exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        // POSIX exit statuses are 0..=255; anything else cannot come from a real process.
        return u8::try_from(code).unwrap_or(exit_codes::FAILED);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let signal = u8::try_from(signal).unwrap_or(u8::MAX - exit_codes::SIGNAL_BASE);
            return exit_codes::SIGNAL_BASE.saturating_add(signal);
        }
    }
    exit_codes::FAILED
}

/// Close names among implemented core commands and active plugins, best first (at most three).
fn suggest(name: &str, search: &SearchPath) -> Vec<String> {
    // clap's `help` is left out: it would be suggested for every short typo (`helo`, `hep`).
    let mut candidates: Vec<String> = implemented_names();
    candidates.extend(
        search
            .list(&core_names())
            .into_iter()
            .filter(|p| p.status == PluginStatus::Active)
            .map(|p| p.name),
    );
    closest(name, candidates)
}

/// Candidates within an edit distance of a third of the typed name (at least 1), keeping only
/// the closest distance found, sorted by name.
fn closest(name: &str, candidates: Vec<String>) -> Vec<String> {
    let limit = (name.chars().count() / 3).max(1);
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(name, &c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup();
    let best = scored.first().map(|(d, _)| *d);
    scored
        .into_iter()
        .filter(|(d, _)| Some(*d) == best)
        .map(|(_, c)| c)
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_keeps_only_the_best_distance() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            closest("helo", c(&["hello", "help", "init"])),
            c(&["hello", "help"])
        );
        assert_eq!(closest("helo", c(&["hello", "init"])), c(&["hello"]));
        assert_eq!(
            closest("idnetity", c(&["identity", "init"])),
            c(&["identity"])
        );
        assert!(closest("x", c(&["init", "plugins"])).is_empty());
    }
}

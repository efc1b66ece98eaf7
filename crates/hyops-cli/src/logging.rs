//! hyops' own diagnostics log on stderr (`tracing`), filtered by `-v`/`-q` or `HYOPS_LOG`.

use tracing_subscriber::EnvFilter;

use crate::env_vars::{EnvVars, non_empty};

/// Installs the stderr subscriber. `HYOPS_LOG` (EnvFilter syntax) overrides the verbosity flags;
/// an unparsable `HYOPS_LOG` falls back to the flags rather than failing the command.
pub fn init(verbose: u8, quiet: u8, ansi: bool) {
    let from_flags = match (verbose, quiet) {
        (_, q) if q > 0 => "error",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = non_empty(EnvVars::HYOPS_LOG)
        .and_then(|v| v.into_string().ok())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(from_flags));
    // A second init (tests calling `run` twice in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

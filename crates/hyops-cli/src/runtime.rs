//! The async edge: commands that touch the ledger build one tokio runtime here. Commands that do
//! not (`--version`, `identity`, `completions`) never pay for it.

use std::future::Future;
use std::path::PathBuf;

use hyops_runner::Runner;

use crate::commands::Context;
use crate::error::CliError;

/// Runs `future` to completion on a fresh multi-threaded runtime (2 workers: the machine's size).
pub fn block_on<F: Future>(future: F) -> Result<F::Output, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
    Ok(runtime.block_on(future))
}

/// Opens the runner on the state dir and recovers attempts left by a crashed hyops, so every
/// command that reads the ledger sees them as `lost` rather than forever `running`.
pub async fn open_runner(ctx: &Context) -> Result<(Runner, PathBuf), CliError> {
    let (runner, state_dir) = open_runner_for_run(ctx).await?;
    runner.recover().await?;
    Ok((runner, state_dir))
}

/// Opens the runner without recovery, for `run`: [`Runner::run`] recovers first itself.
pub async fn open_runner_for_run(ctx: &Context) -> Result<(Runner, PathBuf), CliError> {
    let state_dir = ctx.settings.state_dir()?;
    let runner = Runner::open(&state_dir).await?;
    Ok((runner, state_dir))
}

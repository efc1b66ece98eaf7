//! The async edge: commands that touch the ledger build one tokio runtime here. Commands that do
//! not (`--version`, `identity`, `completions`) never pay for it.

use std::future::Future;
use std::path::{Path, PathBuf};

use hyops_evidence::Durability;
use hyops_runner::Runner;

use crate::env_vars::{EnvVars, non_empty};

use crate::commands::Context;
use crate::error::CliError;

/// Runs `future` to completion on a fresh single-threaded runtime. One run, one query or one
/// report has nothing to do in parallel besides waiting on a child process, and a second worker
/// thread cost a `hyops run` about 1 ms of its fixed overhead (bench/run_overhead.sh).
pub fn block_on<F: Future>(future: F) -> Result<F::Output, CliError> {
    finish(tokio::runtime::Builder::new_current_thread(), future)
}

/// The runtime [`block_on`] uses, for a command that drives it more than once (`run` opens the
/// ledger on it while another thread loads the catalog, then runs). End it with [`shut_down`].
pub fn current_thread() -> Result<tokio::runtime::Runtime, CliError> {
    build(tokio::runtime::Builder::new_current_thread())
}

fn build(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, CliError> {
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::Output(std::io::Error::other(e)))
}

/// Ends a runtime from [`current_thread`] without joining its idle threads one by one.
pub fn shut_down(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_background();
}

/// [`block_on`] on a multi-threaded runtime (2 workers: the machine's size), for work that runs
/// several members at once (`stack run`): their evidence writes and fsyncs overlap.
pub fn block_on_parallel<F: Future>(future: F) -> Result<F::Output, CliError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    finish(builder, future)
}

fn finish<F: Future>(builder: tokio::runtime::Builder, future: F) -> Result<F::Output, CliError> {
    let runtime = build(builder)?;
    let output = runtime.block_on(future);
    // Everything the command waits for is done; idle threads are not joined one by one.
    shut_down(runtime);
    Ok(output)
}

/// Opens the runner on the state dir and recovers attempts left by a crashed hyops, so every
/// command that reads the ledger sees them as `lost` rather than forever `running`.
pub async fn open_runner(ctx: &Context) -> Result<(Runner, PathBuf), CliError> {
    let (runner, state_dir) = open_runner_for_run(ctx).await?;
    runner.recover().await?;
    Ok((runner, state_dir))
}

/// [`open_runner`] on a `state_dir` already known to be writable.
async fn open_writable(state_dir: PathBuf) -> Result<(Runner, PathBuf), CliError> {
    let durability = evidence_durability()?;
    let work_root = work_root(&state_dir)?;
    let mut runner = Runner::open(&state_dir).await?.with_durability(durability);
    if let Some(work_root) = work_root {
        runner = runner.with_work_root(work_root);
    }
    Ok((runner, state_dir))
}

/// Opens the runner for a command that only reads (`runs list|show`, `outputs`, `logs`,
/// `evidence`): [`open_runner`] when the state dir is writable; otherwise the state dir as it is,
/// read-only (a read-only mount, or another user's state dir), with a warning that runs whose
/// hyops died are not recovered (they show as they were left).
pub async fn open_runner_to_read(ctx: &Context) -> Result<(Runner, PathBuf), CliError> {
    let state_dir = ctx.settings.state_dir()?;
    if !not_writable(&state_dir) {
        let (runner, state_dir) = open_writable(state_dir).await?;
        runner.recover().await?;
        return Ok((runner, state_dir));
    }
    ctx.printer.warn(&format!(
        "the state dir {} is not writable by this user: reading it as it is (a run whose hyops \
         died still shows as running)",
        state_dir.display()
    ));
    let runner = Runner::open_read_only(&state_dir).await?;
    Ok((runner, state_dir))
}

/// Whether the existing `state_dir`, or one of the ledger files in it, denies this process
/// write access (permissions, or a read-only file system). A missing file denies nothing.
fn not_writable(state_dir: &Path) -> bool {
    use nix::errno::Errno;
    use nix::unistd::{AccessFlags, access};
    if !state_dir.is_dir() {
        return false;
    }
    let ledger = [
        "ledger.sqlite",
        "ledger.sqlite.lock",
        "ledger.sqlite-wal",
        "ledger.sqlite-shm",
    ];
    std::iter::once(state_dir.to_path_buf())
        .chain(ledger.iter().map(|name| state_dir.join(name)))
        .any(|path| {
            matches!(
                access(&path, AccessFlags::W_OK),
                Err(Errno::EACCES | Errno::EPERM | Errno::EROFS)
            )
        })
}

/// Opens the runner without recovery, for `run`: [`Runner::run`] recovers first itself.
pub async fn open_runner_for_run(ctx: &Context) -> Result<(Runner, PathBuf), CliError> {
    let state_dir = ctx.settings.state_dir()?;
    if not_writable(&state_dir) {
        return Err(CliError::StateDirReadOnly { path: state_dir });
    }
    open_writable(state_dir).await
}

/// `HYOPS_WORK_DIR`: work and io dirs go under `<value>/<state dir id>` (the first 12 hex digits
/// of the SHA-256 of the state dir's absolute path), so state dirs can share one value without
/// their run ids (unique per ledger only) colliding.
fn work_root(state_dir: &Path) -> Result<Option<PathBuf>, CliError> {
    let Some(value) = non_empty(EnvVars::HYOPS_WORK_DIR) else {
        return Ok(None);
    };
    let base = PathBuf::from(&value);
    let refuse = |why: &str| CliError::Usage {
        message: format!(
            "{}={} {why}\nhelp: name a directory by its absolute path, ideally on a fast local or \
             memory-backed file system (e.g. /dev/shm/hyops), or unset it to keep work dirs in \
             the state dir",
            EnvVars::HYOPS_WORK_DIR,
            value.to_string_lossy(),
        ),
    };
    if !base.is_absolute() {
        return Err(refuse("is not an absolute path"));
    }
    if base.exists() && !base.is_dir() {
        return Err(refuse("is not a directory"));
    }
    let state = std::path::absolute(state_dir).unwrap_or_else(|_| state_dir.to_path_buf());
    let digest =
        hyops_contract::canonical_json::sha256_prefixed(state.to_string_lossy().as_bytes());
    let hex = digest.strip_prefix("sha256:").unwrap_or(&digest);
    Ok(Some(base.join(hex.get(..12).unwrap_or(hex))))
}

/// `HYOPS_EVIDENCE_SYNC`: `syncfs` (the default on Linux) or `fsync`.
fn evidence_durability() -> Result<Durability, CliError> {
    let Some(value) = non_empty(EnvVars::HYOPS_EVIDENCE_SYNC) else {
        return Ok(Durability::default());
    };
    value
        .to_str()
        .and_then(Durability::parse)
        .ok_or_else(|| CliError::Usage {
            message: format!(
                "{}={} is not a sync method\nhelp: use `{}` (one file-system sync per \
                 evidence folder, the default on Linux) or `{}` (one per file)",
                EnvVars::HYOPS_EVIDENCE_SYNC,
                value.to_string_lossy(),
                Durability::Filesystem.as_str(),
                Durability::PerFile.as_str(),
            ),
        })
}

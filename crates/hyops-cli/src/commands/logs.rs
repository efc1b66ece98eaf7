//! `hyops logs RUN [--attempt N] [--follow] [--debug]`: the tool's redacted output from the
//! evidence; a tool's own debug log (packer's, kept at DEBUG in `driver.log`) only with `--debug`.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use hyops_contract::AttemptRecord;

use crate::commands::Context;
use crate::error::CliError;
use crate::render::write_stdout;
use crate::{exit_codes, runtime};

/// Arguments of `hyops logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The run id.
    pub run_id: String,
    /// Which attempt (default: the latest).
    #[arg(long)]
    pub attempt: Option<u32>,
    /// Keep printing while the attempt runs.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Also print the tool's own debug log, which `driver.log` keeps at DEBUG (packer's).
    #[arg(long)]
    pub debug: bool,
}

/// The evidence folder of an attempt (the latest when `attempt` is `None`); `command` is the
/// command asking (for the help of an unknown run id, see [`crate::commands::runs::find_run`]).
pub async fn attempt_dir(
    runner: &hyops_runner::Runner,
    run_id: &str,
    attempt: Option<u32>,
    command: &str,
) -> Result<(AttemptRecord, PathBuf), CliError> {
    let ledger = runner.ledger();
    crate::commands::runs::find_run(ledger, run_id, command).await?;
    let attempts = ledger.attempts(run_id).await?;
    let last = attempts.last().cloned();
    let chosen = match attempt {
        Some(n) => attempts.into_iter().find(|a| a.attempt == n),
        None => attempts
            .into_iter()
            .rev()
            .find(|a| a.evidence_path.is_some())
            .or(last),
    };
    let n = attempt.unwrap_or(1);
    let record = chosen.ok_or_else(|| CliError::UnknownAttempt {
        run_id: run_id.to_owned(),
        attempt: n,
    })?;
    let rel = record
        .evidence_path
        .clone()
        .ok_or_else(|| CliError::no_evidence(&record))?;
    Ok((record, runner.layout().abs(&rel)))
}

/// Prints `driver.log`; with `--follow`, polls until the attempt ends.
pub fn run(args: LogsArgs, ctx: &Context) -> Result<u8, CliError> {
    runtime::block_on(async {
        let (runner, _) = runtime::open_runner_to_read(ctx).await?;
        let (record, dir) = attempt_dir(&runner, &args.run_id, args.attempt, "logs").await?;
        let path = dir.join("driver.log");
        let mut offset = 0u64;
        loop {
            offset = print_from(&path, offset, args.debug, !args.follow)?;
            if !args.follow || crate::render::stdout_reader_gone() {
                break;
            }
            let attempts = runner.ledger().attempts(&args.run_id).await?;
            let done = attempts
                .iter()
                .find(|a| a.attempt == record.attempt)
                .is_none_or(|a| a.status.is_terminal());
            if done {
                print_from(&path, offset, args.debug, true)?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok::<_, CliError>(())
    })??;
    Ok(exit_codes::OK)
}

/// Prints `path` from `offset` and returns the offset printed up to. Without `debug`, DEBUG and
/// TRACE records are left out, so a record still being written waits for the next call (unless
/// this is the `last` one); with it, everything there is is printed as is.
fn print_from(
    path: &std::path::Path,
    offset: u64,
    debug: bool,
    last: bool,
) -> Result<u64, CliError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(offset),
        Err(source) => {
            return Err(CliError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let read_err = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(offset)).map_err(read_err)?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(|source| CliError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let upto = if last || debug {
        buf.len()
    } else {
        buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
    };
    let chunk = &buf[..upto];
    if debug {
        write_stdout(chunk)?;
    } else {
        let kept: Vec<u8> = chunk
            .split_inclusive(|&b| b == b'\n')
            .filter(|line| !is_debug_record(line))
            .flatten()
            .copied()
            .collect();
        write_stdout(&kept)?;
    }
    Ok(offset + upto as u64)
}

/// Whether a `driver.log` record (`[time] LEVEL component text`) is at DEBUG or TRACE.
fn is_debug_record(line: &[u8]) -> bool {
    let Some(close) = line.iter().position(|&b| b == b']') else {
        return false;
    };
    let level = &line[close + 1..];
    level.starts_with(b" DEBUG ") || level.starts_with(b" TRACE ")
}

#[cfg(test)]
mod tests {
    use super::is_debug_record;

    #[test]
    fn debug_and_trace_records_are_recognised() {
        assert!(is_debug_record(
            b"[2026-11-30T04:48:01.645Z] DEBUG packer.log [INFO] Packer version: 1.6.6\n"
        ));
        assert!(is_debug_record(b"[2026-11-30T04:48:01.645Z] TRACE x y"));
        assert!(!is_debug_record(
            b"[2026-11-30T04:48:01.645Z] INFO packer ==> DEBUG builds\n"
        ));
        assert!(!is_debug_record(
            b"[2026-11-30T04:48:01.645Z] WARN driver.stderr DEBUG"
        ));
        assert!(!is_debug_record(b"a line without a record stamp DEBUG x"));
    }
}

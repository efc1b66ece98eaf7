//! `hyops evidence verify|export RUN`: check an attempt's evidence against its MANIFEST (fails
//! closed, naming every changed, missing or extra file) or bundle it as a tar.gz.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::commands::Context;
use crate::commands::logs::attempt_dir;
use crate::error::CliError;
use crate::{exit_codes, runtime};

/// Arguments of `hyops evidence`.
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: EvidenceAction,
}

/// `hyops evidence` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvidenceAction {
    /// Verify every attempt of a run (or one with --attempt) against its MANIFEST.json.
    Verify {
        /// The run id.
        run_id: String,
        /// Only this attempt.
        #[arg(long)]
        attempt: Option<u32>,
    },
    /// Export an attempt's evidence (default: the latest) as a reproducible .tar.gz.
    Export {
        /// The run id.
        run_id: String,
        /// Which attempt (default: the latest).
        #[arg(long)]
        attempt: Option<u32>,
        /// The .tar.gz file to write.
        #[arg(short = 'o', long = "to", id = "export_to", value_name = "FILE")]
        file: PathBuf,
    },
}

/// Dispatches the subcommand.
pub fn run(args: EvidenceArgs, ctx: &Context) -> Result<u8, CliError> {
    match args.action {
        EvidenceAction::Verify { run_id, attempt } => verify(ctx, &run_id, attempt),
        EvidenceAction::Export {
            run_id,
            attempt,
            file,
        } => export(ctx, &run_id, attempt, &file),
    }
}

fn verify(ctx: &Context, run_id: &str, attempt: Option<u32>) -> Result<u8, CliError> {
    let dirs = runtime::block_on(async {
        let (runner, _) = runtime::open_runner_to_read(ctx).await?;
        crate::commands::runs::find_run(runner.ledger(), run_id, "evidence verify").await?;
        let numbers: Vec<Option<u32>> = match attempt {
            Some(n) => vec![Some(n)],
            None => {
                let attempts = runner.ledger().attempts(run_id).await?;
                let with_evidence: Vec<Option<u32>> = attempts
                    .iter()
                    .filter(|a| a.evidence_path.is_some())
                    .map(|a| Some(a.attempt))
                    .collect();
                if let (true, Some(last)) = (with_evidence.is_empty(), attempts.last()) {
                    return Err(CliError::no_evidence(last));
                }
                with_evidence
            }
        };
        if numbers.is_empty() {
            return Err(CliError::UnknownAttempt {
                run_id: run_id.to_owned(),
                attempt: 1,
            });
        }
        let mut dirs = Vec::new();
        for n in numbers {
            dirs.push(attempt_dir(&runner, run_id, n, "evidence verify").await?);
        }
        Ok(dirs)
    })??;
    let mut results = Vec::new();
    for (record, dir) in &dirs {
        let report = hyops_evidence::verify(dir)?;
        results.push(json!({
            "attempt": record.attempt,
            "path": dir,
            "files": report.files,
            "total_bytes": report.total_bytes,
            "partial": report.partial,
        }));
    }
    ctx.printer
        .emit(&json!({"run_id": run_id, "verified": results}), |_| {
            let mut out = String::new();
            for r in &results {
                out.push_str(&format!(
                    "ok: attempt {} ({} files, {} bytes{})\n",
                    r["attempt"],
                    r["files"],
                    r["total_bytes"],
                    if r["partial"] == true {
                        ", partial: the attempt was lost"
                    } else {
                        ""
                    }
                ));
            }
            out
        })?;
    Ok(exit_codes::OK)
}

fn export(
    ctx: &Context,
    run_id: &str,
    attempt: Option<u32>,
    output: &std::path::Path,
) -> Result<u8, CliError> {
    let (record, dir) = runtime::block_on(async {
        let (runner, _) = runtime::open_runner_to_read(ctx).await?;
        attempt_dir(&runner, run_id, attempt, "evidence export").await
    })??;
    let report = hyops_evidence::export(&dir, output)?;
    ctx.printer.emit(
        &json!({"run_id": run_id, "attempt": record.attempt, "output": output, "files": report.files}),
        |_| format!("exported attempt {} of {run_id} ({} files) to {}\n", record.attempt, report.files, output.display()),
    )?;
    Ok(exit_codes::OK)
}

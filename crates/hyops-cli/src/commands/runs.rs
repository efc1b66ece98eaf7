//! `hyops runs list|show|prune`: the ledger's view of runs and attempts.

use clap::{Args, Subcommand};
use hyops_contract::{AttemptStatus, RunRecord};
use hyops_store::{PruneRequest, RunFilter};
use serde_json::json;

use crate::commands::Context;
use crate::error::CliError;
use crate::{exit_codes, runtime};

/// Arguments of `hyops runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RunsAction,
}

/// `hyops runs` subcommands.
#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// List runs, newest first.
    List {
        /// Only this target (a stack name also lists its members' runs).
        #[arg(long)]
        target: Option<String>,
        /// Only this environment.
        #[arg(long, short = 'e')]
        env: Option<String>,
        /// Only runs whose current status is this (passed, failed, probe_failed, lost, ...).
        #[arg(long)]
        status: Option<String>,
        /// At most this many (at least 1).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// Show one run: its attempts, their events and config versions.
    Show {
        /// The run id.
        run_id: String,
    },
    /// Delete all but the newest N runs per (target, env); never the latest passed run. Recorded
    /// as an admin event.
    Prune {
        /// Runs to keep per (target, env).
        #[arg(long)]
        keep: usize,
        /// Why (recorded in the admin event).
        #[arg(long, default_value = "retention")]
        reason: String,
        /// List the runs and folders a prune would delete and the runs it would keep; change
        /// nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Dispatches the subcommand.
pub fn run(args: RunsArgs, ctx: &Context) -> Result<u8, CliError> {
    match args.action {
        RunsAction::List {
            target,
            env,
            status,
            limit,
        } => list(ctx, target, env, status, limit),
        RunsAction::Show { run_id } => show(ctx, &run_id),
        RunsAction::Prune {
            keep,
            reason,
            dry_run,
        } => prune(ctx, keep, reason, dry_run),
    }
}

fn list(
    ctx: &Context,
    target: Option<String>,
    env: Option<String>,
    status: Option<String>,
    limit: u32,
) -> Result<u8, CliError> {
    let status = match status {
        None => None,
        Some(s) => Some(AttemptStatus::parse(&s).ok_or_else(|| CliError::Usage {
            message: format!(
                "unknown status `{s}`: expected one of {}",
                AttemptStatus::ALL.map(|a| a.as_str()).join(", ")
            ),
        })?),
    };
    let filtered = target.is_some() || env.is_some() || status.is_some();
    let runs = runtime::block_on(async {
        let (runner, _) = runtime::open_runner_to_read(ctx).await?;
        let filter = RunFilter {
            target,
            env,
            status,
            limit: Some(limit),
        };
        Ok::<_, CliError>(runner.ledger().list_runs(&filter).await?)
    })??;
    ctx.printer
        .emit(&runs, |_| match (runs.is_empty(), filtered) {
            (false, _) => runs_table(&runs),
            (true, false) => "no runs recorded yet\n".to_owned(),
            (true, true) => "no runs match (--target, --env and --status filter them)\n".to_owned(),
        })?;
    Ok(exit_codes::OK)
}

/// One line per run under a header, each column as wide as its longest cell (stack members'
/// targets run long).
fn runs_table(runs: &[RunRecord]) -> String {
    let header = ["RUN", "TARGET", "ENV", "STAGE", "STATUS", "ATTEMPTS"];
    let rows: Vec<[String; 6]> = runs
        .iter()
        .map(|r| {
            [
                r.run_id.clone(),
                r.target.clone(),
                r.env.clone(),
                r.stage.clone(),
                r.status.to_string(),
                r.attempts.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let [w0, w1, w2, w3, w4, w5] = widths;
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:<w4$}  {:>w5$}\n",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
        )
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}

fn show(ctx: &Context, run_id: &str) -> Result<u8, CliError> {
    let (run, attempts, events, configs) = runtime::block_on(async {
        let (runner, _) = runtime::open_runner_to_read(ctx).await?;
        let ledger = runner.ledger();
        let run = find_run(ledger, run_id, "runs show").await?;
        let attempts = ledger.attempts(run_id).await?;
        let mut events = Vec::new();
        for a in &attempts {
            events.push(ledger.events(run_id, a.attempt).await?);
        }
        let configs = ledger.config_versions(run_id).await?;
        Ok::<_, CliError>((run, attempts, events, configs))
    })??;
    let value = json!({
        "run": run,
        "attempts": attempts.iter().zip(&events).map(|(a, ev)| json!({"attempt": a, "events": ev})).collect::<Vec<_>>(),
        "config_versions": configs,
    });
    ctx.printer.emit(&value, |_| {
        let mut out = format!(
            "run {}  {}@{}  stage {}  status {}\nfingerprint {}\n",
            run.run_id, run.target, run.env, run.stage, run.status, run.fingerprint
        );
        for c in &configs {
            out.push_str(&format!(
                "  config {} {} {}\n",
                c.config_name,
                c.config_version,
                c.digest.as_deref().unwrap_or("-")
            ));
        }
        for (a, ev) in attempts.iter().zip(&events) {
            out.push_str(&format!(
                "attempt {}: {} (host {}, pid {})\n",
                a.attempt,
                a.status,
                a.host.as_deref().unwrap_or("-"),
                a.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into())
            ));
            for e in ev {
                out.push_str(&format!(
                    "  {} {}{}\n",
                    hyops_evidence::format_timestamp(
                        std::time::UNIX_EPOCH
                            + std::time::Duration::from_millis(
                                u64::try_from(e.event.at_ms).unwrap_or(0)
                            )
                    ),
                    e.event.status,
                    e.event
                        .message
                        .as_deref()
                        .map(|m| format!(": {}", m.lines().next().unwrap_or_default()))
                        .unwrap_or_default()
                ));
            }
            if let Some(p) = &a.evidence_path {
                out.push_str(&format!("  evidence {p}\n"));
            }
        }
        out
    })?;
    Ok(exit_codes::OK)
}

fn prune(ctx: &Context, keep: usize, reason: String, dry_run: bool) -> Result<u8, CliError> {
    let outcome = runtime::block_on(async {
        let (runner, _) = runtime::open_runner(ctx).await?;
        let now = std::time::SystemTime::now();
        let request = PruneRequest {
            keep,
            admin_event_id: format!("prune-{}", hyops_runner::now_ms()),
            actor: std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()),
            reason,
            observed_at_utc: hyops_evidence::format_timestamp(now),
            destroy_stage: hyops_runner::stage_name(hyops_drivers::Stage::Destroy).to_owned(),
            gone_code: hyops_runner::GONE_WITH_PRODUCERS.to_owned(),
            dry_run,
        };
        Ok::<_, CliError>(runner.prune(&request).await?)
    })??;
    let report = &outcome.report;
    let failed: Vec<serde_json::Value> = outcome
        .failed
        .iter()
        .map(|(path, why)| json!({ "path": path.display().to_string(), "error": why }))
        .collect();
    let value = json!({
        "deleted_run_ids": report.deleted_run_ids,
        "protected_run_ids": report.protected_run_ids,
        "admin_event_id": (!dry_run).then_some(&report.admin_event_id),
        "removed_dirs": outcome.removed.len(),
        "freed_bytes": outcome.freed_bytes,
        "failed_removals": failed,
        "dry_run": dry_run,
    });
    ctx.printer.emit(&value, |_| {
        if dry_run {
            return dry_run_text(&outcome);
        }
        let mut text = format!(
            "pruned {} run(s), protected {} (admin event {}); removed {} folder(s), {} bytes\n",
            report.deleted_run_ids.len(),
            report.protected_run_ids.len(),
            report.admin_event_id,
            outcome.removed.len(),
            outcome.freed_bytes,
        );
        for (path, why) in &outcome.failed {
            text.push_str(&format!(
                "warning: could not remove {}: {why}\nhelp: remove it by hand; the ledger no longer references it\n",
                path.display()
            ));
        }
        text
    })?;
    Ok(exit_codes::OK)
}

/// What `runs prune --dry-run` would do, run by run.
fn dry_run_text(outcome: &hyops_runner::PruneOutcome) -> String {
    let report = &outcome.report;
    let mut text = format!(
        "would prune {} run(s) and remove {} folder(s), {} bytes; would protect {} (dry run: nothing changed)\n",
        report.deleted_run_ids.len(),
        outcome.removed.len(),
        outcome.freed_bytes,
        report.protected_run_ids.len(),
    );
    for run in &report.deleted_runs {
        text.push_str(&format!(
            "  prune    {:<16} {}@{}\n",
            run.run_id, run.target, run.env
        ));
    }
    for run_id in &report.protected_run_ids {
        text.push_str(&format!(
            "  protect  {run_id:<16} (latest passed, latest outputs, a destroy after them, or in flight)\n"
        ));
    }
    text
}

/// The ledger record of `run_id`, or an [`CliError::UnknownRun`] whose help says what was meant:
/// the run was pruned, or `run_id` is a target whose latest run is named with `command` (the
/// words after `hyops`, e.g. `logs`) to run on it.
pub(crate) async fn find_run(
    ledger: &hyops_store::Ledger,
    run_id: &str,
    command: &str,
) -> Result<RunRecord, CliError> {
    if let Some(run) = ledger.get_run(run_id).await? {
        return Ok(run);
    }
    let help = if let Some(event) = ledger.pruned_by(run_id).await? {
        format!("it was deleted by `hyops runs prune` (admin event `{event}`)")
    } else {
        let filter = RunFilter {
            target: Some(run_id.to_owned()),
            limit: Some(1),
            ..RunFilter::default()
        };
        match ledger.list_runs(&filter).await?.first() {
            Some(latest) => format!(
                "`{run_id}` is a target, not a run id; its latest run is `{}` ({} {}@{}): `hyops {command} {}`",
                latest.run_id, latest.stage, latest.target, latest.env, latest.run_id
            ),
            None => "`hyops runs list` shows recorded runs".to_owned(),
        }
    };
    Err(CliError::UnknownRun {
        run_id: run_id.to_owned(),
        help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run_id: &str, target: &str, status: AttemptStatus) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            target: target.into(),
            env: "dev".into(),
            seq: 1,
            fingerprint: "sha256:00".into(),
            stage: "run".into(),
            status,
            attempts: 12,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn runs_table_columns_fit_their_longest_cell() {
        let runs = [
            record(
                "a1b2c3d4e5f6-1",
                "platform-network.vpc-peering-east",
                AttemptStatus::ProbeFailed,
            ),
            record("a1b2c3d4e5f6-2", "web", AttemptStatus::Passed),
        ];
        assert_eq!(
            runs_table(&runs),
            "RUN             TARGET                             ENV  STAGE  STATUS        ATTEMPTS\n\
             a1b2c3d4e5f6-1  platform-network.vpc-peering-east  dev  run    probe_failed        12\n\
             a1b2c3d4e5f6-2  web                                dev  run    passed              12\n"
        );
    }
}

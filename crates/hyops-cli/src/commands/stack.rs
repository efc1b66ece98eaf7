//! `hyops run|plan|destroy STACK --env ENV`: every member through the stack scheduler (gated on
//! PASS, parallel, reverse order for destroy), then a summary table (or the same as JSON).

use std::sync::Arc;
use std::time::Duration;

use hyops_catalog::Catalog;
use hyops_contract::AttemptStatus;
use hyops_drivers::Stage;
use hyops_runner::{RunOptions, StackOptions, StackReport};
use serde_json::{Value, json};

use crate::commands::Context;
use crate::commands::run::RunArgs;
use crate::error::CliError;
use crate::render::Style;
use crate::stack_progress_view::{StackConsole, StackConsoleProgress};
use crate::{catalog_access, exit_codes, runtime};

/// Runs stack `args.target` at `stage`.
pub fn execute(
    catalog: &Catalog,
    args: &RunArgs,
    stage: Stage,
    wait_lock: Option<Duration>,
    ctx: &Context,
) -> Result<u8, CliError> {
    let plan = catalog_access::resolve_stack(catalog, &args.target, &args.env, &args.set)?;
    let catalog_root = ctx.settings.catalog_root()?.path.clone();
    let json_output = ctx.printer.format() == crate::cli::OutputFormat::Json;
    let concurrency = args.concurrency.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let report = runtime::block_on_parallel(async {
        let (runner, _state_dir) = runtime::open_runner_for_run(ctx).await?;
        let console = StackConsole::new(
            json_output || ctx.printer.quiet(),
            plan.members.iter().map(|m| m.name.as_str()),
        );
        let mut run = RunOptions::new(stage, catalog_root);
        run.keep_workdir = args.keep_workdir;
        run.wait_lock = wait_lock;
        let cancel = run.cancel.clone();
        let ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
        let options = StackOptions {
            run,
            concurrency,
            // Planning one member never harms another: plan every member it can.
            keep_going: args.keep_going || stage == Stage::Plan,
            affected: args.affected,
        };
        let result = runner
            .run_stack(
                &plan,
                &options,
                Arc::new(StackConsoleProgress(Arc::clone(&console))),
            )
            .await;
        ctrl_c.abort();
        console.finish();
        result.map_err(CliError::from)
    })??;
    let value = report_json(&report, stage);
    ctx.printer
        .emit(&value, |style| report_text(&report, stage, style))?;
    Ok(if report.succeeded(stage) {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// The summary as JSON (`--output json`).
pub fn report_json(report: &StackReport, stage: Stage) -> Value {
    json!({
        "stack": report.stack,
        "env": report.env,
        "stage": hyops_runner::stage_name(stage),
        "passed": report.succeeded(stage),
        "members": report.members,
    })
}

/// The summary table.
pub fn report_text(report: &StackReport, stage: Stage, style: Style) -> String {
    let verdict = if report.succeeded(stage) {
        style.good("PASS")
    } else {
        style.error("FAIL")
    };
    let count = |s: AttemptStatus| report.members.iter().filter(|m| m.status == s).count();
    let reused = report.members.iter().filter(|m| m.reused).count();
    let mut out = format!(
        "{verdict} {} stack {}@{}: {} members, {} passed ({reused} reused), {} skipped, {} other\n",
        hyops_runner::stage_name(stage),
        report.stack,
        report.env,
        report.members.len(),
        count(AttemptStatus::Passed),
        count(AttemptStatus::Skipped),
        report.members.len() - count(AttemptStatus::Passed) - count(AttemptStatus::Skipped),
    );
    let w = report
        .members
        .iter()
        .map(|m| m.member.len())
        .max()
        .unwrap_or(0)
        .max("member".len());
    out.push_str(&format!(
        "  {:<w$}  {:<12}  {:>8}  {:>8}  {:>8}  {:<6}  reason\n",
        "member", "status", "attempts", "duration", "waited", "reused"
    ));
    for m in &report.members {
        let mut reason = m.reason.lines();
        out.push_str(&format!(
            "  {:<w$}  {:<12}  {:>8}  {:>6.1} s  {:>6.1} s  {:<6}  {}\n",
            m.member,
            m.status.as_str(),
            m.attempts,
            m.duration_ms as f64 / 1000.0,
            m.waited_ms as f64 / 1000.0,
            if m.reused { "yes" } else { "no" },
            reason.next().unwrap_or_default()
        ));
        // Further lines (a `help:`) go below the row, indented past the table.
        for line in reason {
            out.push_str(&format!("      {line}\n"));
        }
    }
    out
}

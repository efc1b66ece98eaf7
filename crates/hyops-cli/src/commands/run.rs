//! `hyops run|plan|destroy TARGET --env ENV`: resolve, then run the driver stage through the run
//! engine; exit 0 only on PASS (driver succeeded and every probe passed).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hyops_contract::AttemptStatus;
use hyops_drivers::Stage;
use hyops_runner::{RunOptions, RunReport};
use serde_json::{Value, json};

use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;
use crate::progress_view::ConsoleProgress;
use crate::render::Style;
use crate::{catalog_access, runtime};

/// Arguments shared by `run`, `plan` and `destroy`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Module id (e.g. `web/site`), stack name, or `STACK.MEMBER`.
    pub target: String,
    /// Environment to run in (a file under `environments/`).
    #[arg(long, short = 'e')]
    pub env: String,
    /// Override an input: `--set name=value` (value parsed as YAML scalar; highest precedence).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Keep the work dir of a passed attempt (failed attempts always keep theirs).
    #[arg(long)]
    pub keep_workdir: bool,
    /// Wait for a run holding the (target, env) lock instead of failing at once; optional limit
    /// such as `90s` or `10m` (default 1h).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "1h")]
    pub wait_lock: Option<String>,
    /// Stacks: members whose tools and probes run at once (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// Stacks: keep running members that do not depend on a failed one (default: fail fast).
    #[arg(long)]
    pub keep_going: bool,
    /// Stacks: reuse a member whose fingerprint equals its last PASS in this environment.
    #[arg(long)]
    pub affected: bool,
}

/// `destroy` also needs an explicit confirmation.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Shared run arguments.
    #[command(flatten)]
    pub run: RunArgs,
    /// Confirm: destroy really destroys.
    #[arg(long)]
    pub yes: bool,
}

/// `hyops run`: the `apply` stage, gated by probes.
pub fn run(args: RunArgs, ctx: &Context) -> Result<u8, CliError> {
    execute(args, Stage::Apply, ctx)
}

/// `hyops plan`: the `plan` stage (no probes; nothing published).
pub fn plan(args: RunArgs, ctx: &Context) -> Result<u8, CliError> {
    execute(args, Stage::Plan, ctx)
}

/// `hyops destroy`: the `destroy` stage, after `--yes`.
pub fn destroy(args: DestroyArgs, ctx: &Context) -> Result<u8, CliError> {
    if !args.yes {
        return Err(CliError::Usage {
            message: format!(
                "`hyops destroy` needs --yes to destroy `{target}` in `{env}`\nhelp: it runs the \
                 driver's destroy (of a stack: every member, dependents first); confirm with \
                 `hyops destroy {target} --env {env} --yes`",
                target = args.run.target,
                env = args.run.env
            ),
        });
    }
    execute(args.run, Stage::Destroy, ctx)
}

fn execute(args: RunArgs, stage: Stage, ctx: &Context) -> Result<u8, CliError> {
    let wait_lock = match &args.wait_lock {
        None => None,
        Some(text) => Some(parse_duration(text)?),
    };
    // The ledger opens (SQLite, migrations check) on this thread while another loads and
    // checks the catalog: the two are independent, and together they are most of a run's
    // fixed cost. A catalog error wins over a ledger error, as if they ran in order.
    let rt = runtime::current_thread()?;
    let (loaded, opened) = std::thread::scope(|scope| {
        // The catalog check's first input schema waits for JSON Schema's meta-schema validator:
        // it is built meanwhile, while the catalog files are read and parsed.
        scope.spawn(hyops_catalog::input_schema::warm_up);
        let loading = scope.spawn(|| catalog_access::load_checked(ctx));
        let opened = rt.block_on(runtime::open_runner_for_run(ctx));
        let loaded = loading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (loaded, opened)
    });
    let (catalog, _report) = loaded?;
    if catalog_access::is_stack(&catalog, &args.target) {
        drop(opened);
        runtime::shut_down(rt);
        return crate::commands::stack::execute(&catalog, &args, stage, wait_lock, ctx);
    }
    refuse_stack_flags(&args)?;
    let request = catalog_access::resolve(&catalog, &args.target, &args.env, &args.set)?;
    let input_schemas = catalog_access::wired_input_schemas(&catalog, &request);
    let catalog_root = ctx.settings.catalog_root()?.path.clone();
    let json_output = ctx.printer.format() == crate::cli::OutputFormat::Json;
    let (runner, state_dir) = opened?;
    let report = rt.block_on(async {
        let progress = Arc::new(ConsoleProgress::new(
            format!("{}@{}", request.target, request.environment.name),
            json_output || ctx.printer.quiet(),
            &state_dir,
        ));
        let runner = runner.with_progress(progress.clone());
        let mut options = RunOptions::new(stage, catalog_root);
        let (request, upstream_secrets) = wire_alone(&runner, request, stage, &input_schemas)
            .await
            .inspect_err(|_| progress.finish())?;
        options.upstream_secrets = upstream_secrets;
        options.keep_workdir = args.keep_workdir;
        options.wait_lock = wait_lock;
        let cancel = options.cancel.clone();
        let ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
        let result = runner.run(&request, &options).await;
        ctrl_c.abort();
        progress.finish();
        result.map_err(CliError::from)
    });
    runtime::shut_down(rt);
    let report = report?;
    let state_dir = ctx.settings.state_dir()?;
    let value = report_json(&report, stage);
    ctx.printer.emit(&value, |style| {
        report_text(&report, stage, &state_dir, style)
    })?;
    Ok(if report.passed() {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// A stack member run on its own (`run|plan|destroy STACK.MEMBER`, `apply --plan` of its plan)
/// reads its wired inputs from each producer's last PASS, exactly as `hyops plan|destroy STACK`
/// do, and refuses before starting otherwise. A request without wired inputs comes back as is.
pub async fn wire_alone(
    runner: &hyops_runner::Runner,
    request: hyops_contract::RunRequest,
    stage: Stage,
    input_schemas: &std::collections::BTreeMap<String, Value>,
) -> Result<
    (
        hyops_contract::RunRequest,
        std::collections::BTreeMap<String, hyops_evidence::Secret>,
    ),
    CliError,
> {
    let wired_member = request
        .inputs
        .values()
        .any(|i| i.source == hyops_contract::InputSource::Upstream)
        .then(|| request.target.split_once('.').map(|(_, m)| m.to_owned()))
        .flatten();
    let Some(member) = wired_member else {
        return Ok((request, Default::default()));
    };
    let wired = runner
        .wire_from_last_pass(&member, &request, stage, input_schemas)
        .await?;
    Ok((wired.request, wired.secrets))
}

/// `--concurrency N`: a whole number of at least 1 (clap names the flag and the bad value).
pub fn parse_concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (1 runs one member's tool at a time)".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("expected a whole number of at least 1 ({e})")),
    }
}

/// The stack-only flags are refused for a module target rather than silently ignored:
/// `--affected` in particular would otherwise rerun a module the user asked to reuse.
fn refuse_stack_flags(args: &RunArgs) -> Result<(), CliError> {
    let given: Vec<&str> = [
        ("--concurrency", args.concurrency.is_some()),
        ("--keep-going", args.keep_going),
        ("--affected", args.affected),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    let Some((last, rest)) = given.split_last() else {
        return Ok(());
    };
    let (flags, verb, pronoun) = if rest.is_empty() {
        (format!("`{last}`"), "applies", "it")
    } else {
        let rest = rest.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>();
        (format!("{} and `{last}`", rest.join(", ")), "apply", "them")
    };
    Err(CliError::Usage {
        message: format!(
            "{flags} {verb} to stacks only, and `{}` is not a stack\nhelp: drop {pronoun} to \
             run the module, or name a stack as TARGET (`hyops graph STACK` shows its members)",
            args.target
        ),
    })
}

/// The report as JSON (`--output json`).
pub fn report_json(report: &RunReport, stage: Stage) -> Value {
    json!({
        "run_id": report.run.run_id,
        "target": report.run.target,
        "env": report.run.env,
        "stage": hyops_runner::stage_name(stage),
        "fingerprint": report.run.fingerprint,
        "status": report.status(),
        "passed": report.passed(),
        "attempts": report.attempts.iter().map(|a| json!({
            "attempt": a.attempt,
            "status": a.status,
            "exit_code": a.exit_code,
            "duration_ms": a.duration_ms,
            "evidence_path": a.evidence_path,
            "error": a.failure.as_ref().map(|f| json!({"code": f.code, "message": f.message, "retryable": f.retryable})),
            "probes": a.probes,
            "summary": a.summary,
            "artifacts": a.artifacts,
        })).collect::<Vec<_>>(),
        "summary": report.attempts.last().and_then(|a| a.summary.clone()),
        "outputs": report.attempts.last().and_then(|a| a.outputs.clone()),
    })
}

/// The report as text.
pub fn report_text(
    report: &RunReport,
    stage: Stage,
    state_dir: &std::path::Path,
    style: Style,
) -> String {
    let status = report.status();
    let verdict = if status == AttemptStatus::Passed {
        style.good("PASS")
    } else {
        style.error(&status.as_str().to_uppercase())
    };
    let total_ms: u64 = report.attempts.iter().map(|a| a.duration_ms).sum();
    let mut out = format!(
        "{verdict} {} {}@{} run {} ({} attempt{}, {:.1} s)\n",
        hyops_runner::stage_name(stage),
        report.run.target,
        report.run.env,
        report.run.run_id,
        report.attempts.len(),
        if report.attempts.len() == 1 { "" } else { "s" },
        total_ms as f64 / 1000.0
    );
    for a in &report.attempts {
        out.push_str(&format!("  attempt {}: {}", a.attempt, a.status));
        if let Some(f) = &a.failure {
            let first = f.message.lines().next().unwrap_or_default();
            out.push_str(&format!(" ({}) {first}", f.code));
        }
        out.push('\n');
        if let Some(summary) = &a.summary {
            out.push_str(&format!("    {summary}\n"));
        }
        if let Some(f) = &a.failure {
            for line in f.message.lines().skip(1) {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    if let Some(outputs) = report.attempts.last().and_then(|a| a.outputs.as_ref())
        && status == AttemptStatus::Passed
    {
        for (name, value) in outputs {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("  output {name} = {text}\n"));
        }
    }
    if let Some(last) = report.attempts.last() {
        out.push_str(&format!(
            "  evidence: {}\n",
            state_dir.join(&last.evidence_path).display()
        ));
    }
    out
}

/// Parses `500ms`, `30s`, `10m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, CliError> {
    hyops_contract::DurationText(text.to_owned())
        .to_millis()
        .map(Duration::from_millis)
        .ok_or_else(|| CliError::Usage {
            message: format!(
                "invalid duration `{text}`: expected a number followed by ms, s, m or h (e.g. 90s)"
            ),
        })
}

//! `hyops apply --plan RUN`: apply exactly the binary plan an earlier `hyops plan` run saved, after
//! checking that nothing the plan was made from (module, profile, environment, pack, inputs) has
//! changed since; a changed fingerprint is refused, naming what changed.

use std::sync::Arc;

use clap::Args;
use hyops_contract::{ArtifactRef, AttemptStatus, DriverName, InputSource, RunRequest};
use hyops_drivers::{PLAN_ARTIFACT_SCHEMA, Stage};
use hyops_runner::RunOptions;
use serde_json::Value;

use crate::commands::Context;
use crate::commands::run::{report_json, report_text};
use crate::error::CliError;
use crate::exit_codes;
use crate::progress_view::ConsoleProgress;
use crate::{catalog_access, runtime};

/// Arguments of `hyops apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The run id of a passed `hyops plan` run.
    #[arg(long = "plan", value_name = "RUN")]
    pub plan: String,
    /// Keep the work dir of a passed attempt.
    #[arg(long)]
    pub keep_workdir: bool,
}

/// What differs between the planned request and the current one, in words.
pub fn changes(planned: &RunRequest, current: &RunRequest) -> Vec<String> {
    let mut out = Vec::new();
    let doc = |kind: &str, a: &hyops_contract::DocumentRef, b: &hyops_contract::DocumentRef| {
        (a.digest != b.digest || a.version != b.version || a.path != b.path).then(|| {
            format!(
                "{kind} {} changed ({} {} -> {} {})",
                b.path,
                a.version.as_deref().unwrap_or("-"),
                short(&a.digest),
                b.version.as_deref().unwrap_or("-"),
                short(&b.digest)
            )
        })
    };
    out.extend(doc("module", &planned.module, &current.module));
    out.extend(doc("profile", &planned.profile, &current.profile));
    out.extend(doc(
        "environment",
        &planned.environment,
        &current.environment,
    ));
    if planned.pack != current.pack {
        out.push(format!(
            "pack {} changed ({} {} -> {} {})",
            current.pack.path,
            planned.pack.version,
            short(&planned.pack.digest),
            current.pack.version,
            short(&current.pack.digest)
        ));
    }
    let names: std::collections::BTreeSet<&String> =
        planned.inputs.keys().chain(current.inputs.keys()).collect();
    for name in names {
        let (a, b) = (planned.inputs.get(name), current.inputs.get(name));
        let same = match (a, b) {
            (Some(a), Some(b)) => a.value == b.value && a.secret_ref == b.secret_ref,
            _ => false,
        };
        if !same {
            out.push(format!("input `{name}` changed"));
        }
    }
    if out.is_empty() && planned.fingerprint != current.fingerprint {
        out.push(format!(
            "the resolved request changed (fingerprint {} -> {})",
            short(&planned.fingerprint),
            short(&current.fingerprint)
        ));
    }
    out
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// `--set` values the plan run was given, so the same request resolves again.
fn planned_sets(planned: &RunRequest) -> Vec<String> {
    planned
        .inputs
        .iter()
        .filter(|(_, input)| input.source == InputSource::Set)
        .filter_map(|(name, input)| {
            input
                .value
                .as_ref()
                .map(|v| format!("{name}={}", Value::to_string(v)))
        })
        .collect()
}

/// Runs `hyops apply --plan RUN`.
pub fn run(args: ApplyArgs, ctx: &Context) -> Result<u8, CliError> {
    let run_id = args.plan.clone();
    let refused = |reason: String, help: &str| CliError::PlanRefused {
        run_id: run_id.clone(),
        reason,
        help: help.to_owned(),
    };
    let (catalog, _report) = catalog_access::load_checked(ctx)?;
    let catalog_root = ctx.settings.catalog_root()?.path.clone();
    let json_output = ctx.printer.format() == crate::cli::OutputFormat::Json;
    let outcome = runtime::block_on(async {
        let (runner, state_dir) = runtime::open_runner_for_run(ctx).await?;
        let ledger = runner.ledger();
        let store = |e| CliError::Store(Box::new(e));
        let record = crate::commands::runs::find_run(ledger, &run_id, "apply --plan").await?;
        if record.stage != "plan" {
            return Err(refused(
                format!("it is a `{}` run, not a plan", record.stage),
                "pass the id of a `hyops plan` run (`hyops runs list`)",
            ));
        }
        let text = ledger
            .run_request_json(&run_id)
            .await
            .map_err(store)?
            .unwrap_or_default();
        let planned: RunRequest = serde_json::from_str(&text).map_err(|e| {
            refused(
                format!("its recorded request cannot be read: {e}"),
                "plan again with `hyops plan`",
            )
        })?;
        if planned.driver != DriverName::Terraform {
            return Err(refused(
                format!(
                    "it planned a `{}` module: only a terraform plan is saved to be applied later",
                    planned.driver
                ),
                &format!(
                    "apply with `hyops run {} --env {}`",
                    planned.target, planned.environment.name
                ),
            ));
        }
        let current = catalog_access::resolve(
            &catalog,
            &planned.target,
            &planned.environment.name,
            &planned_sets(&planned),
        )?;
        // A stack member's plan holds its producers' values: wire the request the same way
        // before comparing (a producer that published anew since is a change like any other).
        let schemas = catalog_access::wired_input_schemas(&catalog, &current);
        let (current, upstream_secrets) =
            crate::commands::run::wire_alone(&runner, current, Stage::Apply, &schemas).await?;
        if current.fingerprint != planned.fingerprint {
            let what = changes(&planned, &current).join("; ");
            return Err(refused(
                format!("the module changed since it was planned: {what}"),
                &format!(
                    "plan again: `hyops plan {} --env {}`",
                    planned.target, planned.environment.name
                ),
            ));
        }
        let attempts = ledger.attempts(&run_id).await.map_err(store)?;
        let passed = attempts
            .iter()
            .rev()
            .find(|a| a.status == AttemptStatus::Passed)
            .ok_or_else(|| refused("the plan run did not pass".to_owned(), "plan again"))?;
        let artifact = plan_artifact(&state_dir, passed.evidence_path.as_deref()).ok_or_else(|| {
            refused(
                "the plan run kept no saved plan (plans holding secret inputs or sensitive values are never stored)".to_owned(),
                &format!(
                    "use `hyops run {} --env {}` to plan and apply in one attempt",
                    current.target, current.environment.name
                ),
            )
        })?;
        let bytes = runner.artifacts().get(&artifact).await.map_err(store)?;
        let progress = Arc::new(ConsoleProgress::new(
            format!("{}@{}", current.target, current.environment.name),
            json_output || ctx.printer.quiet(),
            &state_dir,
        ));
        let runner = runner.with_progress(progress.clone());
        let mut options = RunOptions::new(Stage::Apply, catalog_root);
        options.keep_workdir = args.keep_workdir;
        options.saved_plan = Some(Arc::new(bytes));
        options.upstream_secrets = upstream_secrets;
        let cancel = options.cancel.clone();
        let ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
        let result = runner.run(&current, &options).await;
        ctrl_c.abort();
        progress.finish();
        result.map_err(CliError::from)
    })?;
    let report = outcome?;
    let state_dir = ctx.settings.state_dir()?;
    let value = report_json(&report, Stage::Apply);
    ctx.printer.emit(&value, |style| {
        report_text(&report, Stage::Apply, &state_dir, style)
    })?;
    Ok(if report.passed() {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// The `terraform-plan/v1` artifact named in the attempt's `result.json`.
fn plan_artifact(state_dir: &std::path::Path, evidence: Option<&str>) -> Option<ArtifactRef> {
    let result = std::fs::read(state_dir.join(evidence?).join("result.json")).ok()?;
    let value: Value = serde_json::from_slice(&result).ok()?;
    let artifacts: Vec<ArtifactRef> =
        serde_json::from_value(value.get("artifacts")?.clone()).ok()?;
    artifacts
        .into_iter()
        .find(|a| a.schema_version.as_deref() == Some(PLAN_ARTIFACT_SCHEMA))
}

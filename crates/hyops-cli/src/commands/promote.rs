//! `hyops promote TARGET --from E1 --to E2`: runs TARGET (a module or a stack) in E2 only if every
//! member's exact module, profile and pack digests (and the pack's pinned source commit) have a PASS in E1; otherwise names the members
//! lacking one. Every decision is recorded in the ledger's `promotions` table.

use std::sync::Arc;

use clap::Args;
use hyops_contract::RunRequest;
use hyops_drivers::Stage;
use hyops_runner::{RunOptions, StackOptions, StackPlan};
use hyops_store::Promotion;
use serde_json::{Map, Value, json};

use crate::commands::Context;
use crate::error::CliError;
use crate::stack_progress_view::{StackConsole, StackConsoleProgress};
use crate::{catalog_access, exit_codes, runtime};

/// `hyops promote` arguments.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Module id or stack name.
    pub target: String,
    /// Environment whose PASSes vouch for the configuration.
    #[arg(long)]
    pub from: String,
    /// Environment to run in.
    #[arg(long)]
    pub to: String,
    /// Override an input in the target environment: `--set name=value`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Stacks: members running at once (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = crate::commands::run::parse_concurrency)]
    pub concurrency: Option<usize>,
    /// Stacks: keep running members that do not depend on a failed one.
    #[arg(long)]
    pub keep_going: bool,
}

/// `--from` must name another environment of the catalog: a typo would otherwise read as "no PASS
/// there", and promoting an environment onto itself vouches for nothing.
fn refuse_environments(
    catalog: &hyops_catalog::Catalog,
    args: &PromoteArgs,
) -> Result<(), CliError> {
    if args.from == args.to {
        return Err(CliError::Usage {
            message: format!(
                "`--from` and `--to` both name `{}`; a promotion runs in one environment what \
                 passed in another\nhelp: name the environment whose PASSes vouch with `--from` \
                 and the one to run in with `--to`",
                args.to
            ),
        });
    }
    if !catalog.environments.contains_key(&args.from) {
        let known = hyops_catalog::suggest("environments", &args.from, catalog.environments.keys());
        return Err(CliError::Usage {
            message: format!(
                "`--from {}`: environment `{}` does not exist; expected `environments/{}.yaml`\n\
                 help: {known}",
                args.from, args.from, args.from
            ),
        });
    }
    Ok(())
}

/// Checks the evidence, then runs (or refuses).
pub fn run(args: PromoteArgs, ctx: &Context) -> Result<u8, CliError> {
    let (catalog, _report) = catalog_access::load_checked(ctx)?;
    refuse_environments(&catalog, &args)?;
    let whole_stack = catalog_access::is_stack(&catalog, &args.target);
    let mut plan = if whole_stack {
        catalog_access::resolve_stack(&catalog, &args.target, &args.to, &args.set)?
    } else {
        let request = catalog_access::resolve(&catalog, &args.target, &args.to, &args.set)?;
        StackPlan {
            stack: args.target.clone(),
            env: args.to.clone(),
            members: vec![hyops_runner::StackMemberPlan {
                name: args.target.clone(),
                input_schemas: catalog_access::wired_input_schemas(&catalog, &request),
                request,
                depends_on: Default::default(),
            }],
        }
    };
    let catalog_root = ctx.settings.catalog_root()?.path.clone();
    let json_output = ctx.printer.format() == crate::cli::OutputFormat::Json;
    let concurrency = args.concurrency.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let (value, ok) = runtime::block_on(async {
        let (runner, _state_dir) = runtime::open_runner_for_run(ctx).await?;
        let ledger = runner.ledger().clone();
        let mut evidence = Map::new();
        let mut lacking = Vec::new();
        for m in &plan.members {
            let found = ledger
                .passed_run_with_configs(&m.request.target, &args.from, &config_digests(&m.request))
                .await
                .map_err(|e| {
                    CliError::from(hyops_runner::RunError::Store {
                        action: "check the promotion evidence".to_owned(),
                        source: e,
                    })
                })?;
            if found.is_none() {
                lacking.push(m.name.clone());
            }
            evidence.insert(m.name.clone(), json!(found));
        }
        let mut promotion = Promotion {
            target: args.target.clone(),
            from_env: args.from.clone(),
            to_env: args.to.clone(),
            result: "refused".to_owned(),
            evidence: Value::Object(evidence.clone()),
            runs: json!([]),
            actor: std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()),
            at_ms: hyops_runner::now_ms(),
        };
        let store_err = |e| {
            CliError::from(hyops_runner::RunError::Store {
                action: "record the promotion".to_owned(),
                source: e,
            })
        };
        if !lacking.is_empty() {
            ledger
                .record_promotion(&promotion)
                .await
                .map_err(store_err)?;
            return Ok::<_, CliError>((
                json!({"target": args.target, "from": args.from, "to": args.to,
                       "result": "refused", "lacking": lacking, "evidence": evidence}),
                false,
            ));
        }
        let console = StackConsole::new(
            json_output || ctx.printer.quiet(),
            plan.members.iter().map(|m| m.name.as_str()),
        );
        let mut run = RunOptions::new(Stage::Apply, catalog_root);
        // A stack member promoted on its own reads its wired inputs from its producers' last
        // PASS in the target environment (refusing, naming the producer, when one has none).
        if !whole_stack && let Some(member) = plan.members.first_mut() {
            let (request, secrets) = crate::commands::run::wire_alone(
                &runner,
                member.request.clone(),
                Stage::Apply,
                &member.input_schemas,
            )
            .await
            .inspect_err(|_| console.finish())?;
            member.request = request;
            run.upstream_secrets = secrets;
        }
        let options = StackOptions {
            run,
            concurrency,
            keep_going: args.keep_going,
            affected: false,
        };
        // A module target is scheduled as a one-member plan: same gating, same summary.
        let report = runner
            .run_stack(
                &plan,
                &options,
                Arc::new(StackConsoleProgress(Arc::clone(&console))),
            )
            .await
            .map_err(CliError::from)?;
        console.finish();
        let passed = report.passed();
        promotion.result = if passed { "passed" } else { "failed" }.to_owned();
        promotion.runs = json!(
            report
                .members
                .iter()
                .map(|m| json!({"member": m.member, "run_id": m.run_id, "status": m.status}))
                .collect::<Vec<_>>()
        );
        promotion.at_ms = hyops_runner::now_ms();
        ledger
            .record_promotion(&promotion)
            .await
            .map_err(store_err)?;
        Ok((
            json!({"target": args.target, "from": args.from, "to": args.to,
                   "result": promotion.result, "evidence": evidence, "members": report.members}),
            passed,
        ))
    })??;
    ctx.printer.emit(&value, |style| text(&value, style))?;
    Ok(if ok {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// The digests a PASS in the source environment must match: module, profile, pack and the
/// pack's pinned source (everything the run records but the environment).
fn config_digests(r: &RunRequest) -> Vec<(String, String)> {
    r.config_versions()
        .into_iter()
        .filter(|c| !c.config_name.starts_with("environment:"))
        .map(|c| (c.config_name, c.digest.unwrap_or_default()))
        .collect()
}

fn text(value: &Value, style: crate::render::Style) -> String {
    let s = |k: &str| value[k].as_str().unwrap_or_default().to_owned();
    let (target, from, to) = (s("target"), s("from"), s("to"));
    match value["result"].as_str() {
        Some("refused") => {
            let lacking: Vec<&str> = value["lacking"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "{} promote {target} {from} -> {to}: refused; no PASS in `{from}` with the same module, profile and pack digests (and source pins) for: {}\nhelp: run `hyops run {target} --env {from}` first, then promote\n",
                style.error("REFUSED"),
                lacking.join(", ")
            )
        }
        Some(result) => {
            let mut out = format!(
                "{} promote {target} {from} -> {to}: {result}\n",
                if result == "passed" {
                    style.good("PASS")
                } else {
                    style.error("FAIL")
                }
            );
            for m in value["members"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  {} {} (vouched for by run {} in {from})\n",
                    m["member"].as_str().unwrap_or_default(),
                    m["status"].as_str().unwrap_or_default(),
                    value["evidence"][m["member"].as_str().unwrap_or_default()]
                        .as_str()
                        .unwrap_or("-"),
                ));
            }
            out
        }
        None => String::new(),
    }
}

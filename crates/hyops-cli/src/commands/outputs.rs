//! `hyops outputs TARGET --env ENV`: the published outputs of the latest PASS attempt, read from
//! the content-addressed artifact (digest verified). Refuses when nothing passed (invariant 5), or
//! when a destroy ran after that PASS. A stack's name prints every member's outputs, each under
//! the same rule.

use clap::Args;
use hyops_runner::Runner;
use hyops_store::PassedOutputs;
use miette::Diagnostic;
use serde_json::{Value, json};

use crate::commands::Context;
use crate::error::CliError;
use crate::{exit_codes, render, runtime};

/// Arguments of `hyops outputs`.
#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Module id, stack name (every member's outputs) or `STACK.MEMBER`.
    pub target: String,
    /// Environment.
    #[arg(long, short = 'e')]
    pub env: String,
}

/// Prints the outputs, or fails naming the target and environment.
pub fn run(args: OutputsArgs, ctx: &Context) -> Result<u8, CliError> {
    let read = runtime::block_on(async {
        let (runner, _) = runtime::open_runner_to_read(ctx).await?;
        let read = read_outputs(&runner, &args.target, &args.env).await;
        let members = match &read {
            Err(CliError::NoPassedOutputs { .. }) => stack_members(ctx, &args),
            _ => None,
        };
        let Some(members) = members else {
            return read.map(|(passed, outputs)| Read::Target(Box::new(passed), outputs));
        };
        let mut read = Vec::new();
        for member in members {
            let target = format!("{}.{member}", args.target);
            read.push((member, read_outputs(&runner, &target, &args.env).await));
        }
        Ok(Read::Stack(read))
    })??;
    match read {
        Read::Target(passed, outputs) => {
            let value = json!({
                "target": args.target,
                "env": args.env,
                "run_id": passed.run_id,
                "attempt": passed.attempt,
                "fingerprint": passed.fingerprint,
                "artifact": passed.artifact,
                "outputs": outputs,
            });
            ctx.printer.emit(&value, |_| {
                if is_empty(&outputs) {
                    format!(
                        "no outputs: `{}` passed in `{}` (run {}, attempt {}) and publishes none\n",
                        args.target, args.env, passed.run_id, passed.attempt
                    )
                } else {
                    outputs_text(&outputs, "")
                }
            })?;
            Ok(exit_codes::OK)
        }
        Read::Stack(members) => stack_report(ctx, &args, &members),
    }
}

/// What `outputs` read: one target's, or each member's of a stack.
enum Read {
    Target(Box<PassedOutputs>, Value),
    Stack(Vec<MemberRead>),
}

/// A stack member's name and its outputs, or why it has none.
type MemberRead = (String, Result<(PassedOutputs, Value), CliError>);

/// The outputs of `target`'s latest PASS in `env`, unless a destroy ran after it.
async fn read_outputs(
    runner: &Runner,
    target: &str,
    env: &str,
) -> Result<(PassedOutputs, Value), CliError> {
    let Some(passed) = runner.ledger().latest_passed_outputs(target, env).await? else {
        return Err(CliError::NoPassedOutputs {
            target: target.to_owned(),
            env: env.to_owned(),
        });
    };
    if let Some(destroyed_by) = runner.destroyed_after(target, env, &passed).await? {
        return Err(CliError::OutputsDestroyed {
            target: target.to_owned(),
            env: env.to_owned(),
            run_id: passed.run_id,
            destroyed_by,
        });
    }
    // Read through the artifact store: a tampered blob fails closed instead of being shown.
    let bytes = runner.artifacts().get(&passed.artifact).await?;
    let outputs = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((passed, outputs))
}

/// Every member of a stack: readable outputs per member, the reason for the others. Exit 1 when
/// any member has none.
fn stack_report(ctx: &Context, args: &OutputsArgs, members: &[MemberRead]) -> Result<u8, CliError> {
    let mut listed = serde_json::Map::new();
    for (member, read) in members {
        let entry = match read {
            Ok((passed, outputs)) => json!({
                "run_id": passed.run_id,
                "attempt": passed.attempt,
                "fingerprint": passed.fingerprint,
                "artifact": passed.artifact,
                "outputs": outputs,
            }),
            Err(e) => json!({ "error": render::error_response(e) }),
        };
        listed.insert(member.clone(), entry);
    }
    let value = json!({ "target": args.target, "env": args.env, "members": listed });
    ctx.printer.emit(&value, |_| {
        let mut out = String::new();
        for (member, read) in members {
            match read {
                Ok((passed, outputs)) if is_empty(outputs) => out.push_str(&format!(
                    "{member}: no outputs (run {}, attempt {} passed)\n",
                    passed.run_id, passed.attempt
                )),
                Ok((_, outputs)) => {
                    out.push_str(&format!("{member}:\n"));
                    out.push_str(&outputs_text(outputs, "  "));
                }
                Err(e) => {
                    out.push_str(&format!("{member}: none: {e}\n"));
                    if let Some(help) = e.help() {
                        out.push_str(&format!("  help: {help}\n"));
                    }
                }
            }
        }
        out
    })?;
    Ok(if members.iter().all(|(_, read)| read.is_ok()) {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// Whether a passed attempt published nothing (its module declares no outputs, or they were all
/// empty): the text form says so instead of printing nothing.
fn is_empty(outputs: &Value) -> bool {
    match outputs {
        Value::Object(map) => map.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// `name = value` lines, strings unquoted.
fn outputs_text(outputs: &Value, indent: &str) -> String {
    let mut out = String::new();
    if let Value::Object(map) = outputs {
        for (name, v) in map {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{indent}{name} = {text}\n"));
        }
    }
    out
}

/// The member names of the stack TARGET names, when it names one. Looked up only once nothing
/// passed under that name, so a plain `outputs` never loads the catalog.
fn stack_members(ctx: &Context, args: &OutputsArgs) -> Option<Vec<String>> {
    let root = ctx.settings.catalog_root().ok()?;
    let (catalog, _) = hyops_catalog::check(hyops_catalog::load(&root.path));
    let stack = catalog.stacks.get(&args.target)?;
    Some(stack.value.members.keys().cloned().collect())
}

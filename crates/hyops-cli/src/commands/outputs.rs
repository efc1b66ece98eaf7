//! `hyops outputs TARGET --env ENV`: the published outputs of the latest PASS attempt, read from
//! the content-addressed artifact (digest verified). Refuses when nothing passed (invariant 5), or
//! when a destroy ran after that PASS.

use clap::Args;
use serde_json::{Value, json};

use crate::commands::Context;
use crate::error::CliError;
use crate::{exit_codes, runtime};

/// Arguments of `hyops outputs`.
#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Module id or `STACK.MEMBER`.
    pub target: String,
    /// Environment.
    #[arg(long, short = 'e')]
    pub env: String,
}

/// Prints the outputs, or fails naming the target and environment.
pub fn run(args: OutputsArgs, ctx: &Context) -> Result<u8, CliError> {
    let (passed, bytes) = runtime::block_on(async {
        let (runner, _) = runtime::open_runner(ctx).await?;
        let ledger = runner.ledger();
        let Some(passed) = ledger
            .latest_passed_outputs(&args.target, &args.env)
            .await?
        else {
            return Err(
                stack_instead(ctx, &args).unwrap_or(CliError::NoPassedOutputs {
                    target: args.target.clone(),
                    env: args.env.clone(),
                }),
            );
        };
        if let Some(destroyed_by) = runner
            .destroyed_after(&args.target, &args.env, &passed)
            .await?
        {
            return Err(CliError::OutputsDestroyed {
                target: args.target.clone(),
                env: args.env.clone(),
                run_id: passed.run_id,
                destroyed_by,
            });
        }
        // Read through the artifact store: a tampered blob fails closed instead of being shown.
        let bytes = runner.artifacts().get(&passed.artifact).await?;
        Ok((passed, bytes))
    })??;
    let outputs: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
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
        let mut out = String::new();
        if let Value::Object(map) = &outputs {
            for (name, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("{name} = {text}\n"));
            }
        }
        out
    })?;
    Ok(exit_codes::OK)
}

/// When TARGET names a stack (whose members, not the stack, publish outputs): the usage error
/// that says so. Looked up only once nothing passed, so a plain `outputs` never loads the catalog.
fn stack_instead(ctx: &Context, args: &OutputsArgs) -> Option<CliError> {
    let root = ctx.settings.catalog_root().ok()?;
    let (catalog, _) = hyops_catalog::check(hyops_catalog::load(&root.path));
    let stack = catalog.stacks.get(&args.target)?;
    let first = stack.value.members.keys().next()?;
    Some(CliError::Usage {
        message: format!(
            "`{target}` is a stack; outputs are published by its members ({members})\nhelp: \
             `hyops outputs {target}.{first} --env {env}`",
            target = args.target,
            env = args.env,
            members = hyops_catalog::stack_graph::brief_member_list(&args.target, &stack.value),
        ),
    })
}

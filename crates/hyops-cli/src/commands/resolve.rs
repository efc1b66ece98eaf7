//! `hyops resolve MODULE --env ENV [--set k=v]...`: print the fingerprinted RunRequest a run would
//! execute. Text output is pretty JSON; `--output json` is canonical JSON (sorted keys, no
//! whitespace), byte-identical wherever the catalog sits.

use clap::Args;
use hyops_contract::RunRequest;

use crate::catalog_access;
use crate::cli::OutputFormat;
use crate::commands::Context;
use crate::error::CliError;
use crate::exit_codes;
use crate::render::write_stdout;

/// Arguments of `hyops resolve`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["target", "all"])))]
pub struct ResolveArgs {
    /// Module id or `STACK.MEMBER`.
    pub target: Option<String>,
    /// Environment (a file under `environments/`).
    #[arg(long, short = 'e')]
    pub env: String,
    /// Override an input: `--set name=value` (JSON scalar when the schema accepts it, else text;
    /// highest precedence).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Resolve every module placed in the environment and every stack member (a JSON array).
    #[arg(long)]
    pub all: bool,
}

/// Resolves and prints; every problem is rendered as a diagnostic (exit 1).
pub fn run(args: ResolveArgs, ctx: &Context) -> Result<u8, CliError> {
    let (catalog, _) = catalog_access::load_checked(ctx)?;
    let requests: Vec<RunRequest> = match &args.target {
        Some(target) => {
            let request = catalog_access::resolve(&catalog, target, &args.env, &args.set)?;
            check_secret_values(&request, ctx)?;
            vec![request]
        }
        None => {
            let overrides = catalog_access::overrides(&args.set);
            let mut out = Vec::new();
            let mut failed = Vec::new();
            let mut diagnostics = Vec::new();
            for (id, result) in hyops_catalog::resolve_all(&catalog, &args.env, &overrides) {
                match result {
                    Ok(r) => out.push(r),
                    Err(e) => {
                        failed.push(id);
                        diagnostics.extend(e.diagnostics);
                    }
                }
            }
            // Every target that does not resolve is reported, not only the first.
            if !failed.is_empty() {
                return Err(catalog_access::resolve_error(hyops_catalog::ResolveError {
                    target: failed.join(", "),
                    env: args.env.clone(),
                    diagnostics,
                }));
            }
            out
        }
    };
    let values: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| serde_json::to_value(r).map_err(|e| CliError::Output(std::io::Error::other(e))))
        .collect::<Result<_, _>>()?;
    let mut text = match ctx.printer.format() {
        OutputFormat::Json => {
            let canon: Vec<String> = values.iter().map(hyops_catalog::canonical_json).collect();
            if args.all {
                format!("[{}]", canon.join(","))
            } else {
                canon.concat()
            }
        }
        OutputFormat::Text => {
            let shown = if args.all {
                serde_json::Value::Array(values)
            } else {
                values.into_iter().next().unwrap_or_default()
            };
            serde_json::to_string_pretty(&shown)
                .map_err(|e| CliError::Output(std::io::Error::other(e)))?
        }
    };
    text.push('\n');
    write_stdout(text.as_bytes())?;
    Ok(exit_codes::OK)
}

/// Secret values that are available here are checked now, at resolve time: one shorter than 6
/// characters cannot be redacted without destroying the log, so it is refused before any run.
/// Values not available here (CI resolving for another machine) are only noted on stderr.
fn check_secret_values(request: &RunRequest, ctx: &Context) -> Result<(), CliError> {
    let root = &ctx.settings.catalog_root()?.path;
    let lookup = |var: &str| std::env::var(var).ok();
    for (name, reference) in &request.secrets {
        let checked =
            hyops_runner::fetch_secret(name, reference, root, &lookup).and_then(|value| {
                hyops_evidence::Redactor::new(&[(name.as_str(), value.as_str())])
                    .map(drop)
                    .map_err(hyops_runner::SecretError::from)
            });
        match checked {
            Ok(()) => {}
            Err(e @ hyops_runner::SecretError::Redactor(_)) => {
                return Err(CliError::from(hyops_runner::RunError::Secret(e)));
            }
            Err(e) => {
                if ctx.printer.format() == OutputFormat::Text && !ctx.printer.quiet() {
                    let note = e.to_string();
                    let note = note.lines().next().unwrap_or_default();
                    crate::render::stderr_line(&format!("note: {note}"));
                }
            }
        }
    }
    Ok(())
}

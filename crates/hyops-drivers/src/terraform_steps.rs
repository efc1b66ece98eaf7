//! The terraform driver as a [`StepDriver`]: version check, init, workspace select-or-create,
//! then `plan -out` + `show -json` (plan), `plan -out` + `apply PLAN` + `output -json` (apply),
//! `apply SAVED` + `output -json` (`hyops apply --plan`), or `destroy`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hyops_contract::DriverName;
use serde_json::Value;

use crate::steps::{DriverContext, KeptFile, Next, Step, StepDriver, StepOutcome, Verdict};
use crate::terraform::{
    BACKEND_OVERRIDE_FILE, TFVARS_FILE, TerraformPolicy, args, check_version, tfvars,
};
use crate::terraform_json::{
    PlanSummary, TfDiagnostic, mask_plan, parse_outputs, parse_ui_stream, reported_version,
    validate_diagnostics,
};
use crate::{DriverError, Stage};

/// Terraform's dependency lock file, in the root module's directory.
const LOCK_FILE: &str = ".terraform.lock.hcl";

/// Artifact schema of a saved binary plan.
pub const PLAN_ARTIFACT_SCHEMA: &str = "terraform-plan/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Version,
    Init,
    Validate,
    WorkspaceSelect,
    WorkspaceNew,
    Plan,
    Show,
    Apply,
    Output,
    Destroy,
}

/// State of a terraform attempt.
#[derive(Debug)]
pub struct TerraformSteps {
    phase: Phase,
    policy: Option<TerraformPolicy>,
    env: BTreeMap<String, OsString>,
    cwd: PathBuf,
    plan_file: PathBuf,
    saved_plan: bool,
    init_failure: Option<StepOutcome>,
    kept: Verdict,
}

impl Default for TerraformSteps {
    fn default() -> Self {
        Self {
            phase: Phase::Version,
            policy: None,
            env: BTreeMap::new(),
            cwd: PathBuf::new(),
            plan_file: PathBuf::new(),
            saved_plan: false,
            init_failure: None,
            kept: Verdict::default(),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(DriverError::io("create", path))?;
    file.write_all(bytes)
        .map_err(DriverError::io("write", path))
}

fn write_plain(path: &Path, value: &Value) -> Result<(), DriverError> {
    let bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    std::fs::write(path, bytes).map_err(DriverError::io("write", path))
}

impl TerraformSteps {
    fn policy(&self) -> &TerraformPolicy {
        // start() sets it before any step runs; after() is only called after start().
        self.policy
            .as_ref()
            .expect("start() sets the policy before any step")
    }

    fn step(&mut self, phase: Phase, name: &str, args: Vec<OsString>, captured: bool) -> Next {
        self.phase = phase;
        let command = self.policy().command(&self.cwd, &self.env, &args);
        let step = if captured {
            Step::captured(name, command)
        } else {
            Step::logged(name, command)
        };
        Next::Run(Box::new(step))
    }

    fn done(&mut self, mut verdict: Verdict) -> Next {
        let kept = std::mem::take(&mut self.kept);
        verdict.evidence.extend(kept.evidence);
        verdict.artifacts.extend(kept.artifacts);
        verdict.secret_values.extend(kept.secret_values);
        verdict.summary = verdict.summary.or(kept.summary);
        Next::Done(Box::new(verdict))
    }

    fn fail(&mut self, ctx: &DriverContext<'_>, step: &str, outcome: &StepOutcome) -> Next {
        let how = match outcome.exit_code {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        };
        let mut message = format!("`{} {step}` {how}", self.policy().program.display());
        if !outcome.stderr_tail.is_empty() {
            message.push_str("\nstderr (last lines):\n");
            message.push_str(&outcome.stderr_tail);
        }
        let _ = ctx;
        // Like shell: a tool failure may be transient (network, lock); max_attempts decides.
        self.done(Verdict::failed(message, true))
    }

    /// Diagnostics become the failure message, pointing at pack files; errors in the
    /// configuration will not go away on retry.
    fn fail_with_diagnostics(
        &mut self,
        ctx: &DriverContext<'_>,
        step: &str,
        diagnostics: &[TfDiagnostic],
        outcome: &StepOutcome,
    ) -> Next {
        let errors: Vec<&TfDiagnostic> = diagnostics
            .iter()
            .filter(|d| d.severity == "error")
            .collect();
        if errors.is_empty() {
            return self.fail(ctx, step, outcome);
        }
        let base = pack_base(ctx);
        let rendered: Vec<String> = errors.iter().map(|d| d.render(&base)).collect();
        let message = format!(
            "terraform {step} found {} error{} in the pack:\n{}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            rendered.join("\n")
        );
        let json: Vec<Value> = diagnostics
            .iter()
            .map(|d| {
                serde_json::json!({
                    "severity": d.severity, "summary": d.summary, "detail": d.detail,
                    "file": d.filename.as_ref().map(|f| format!("{base}/{f}")),
                    "line": d.line, "column": d.column,
                })
            })
            .collect();
        self.kept.evidence.push((
            "diagnostics.json".to_owned(),
            serde_json::to_vec_pretty(&json).unwrap_or_default(),
        ));
        self.done(Verdict::failed(message, false))
    }

    /// After init (and workspace): the stage's first real command.
    fn stage_step(&mut self, ctx: &DriverContext<'_>) -> Next {
        match ctx.stage {
            Stage::Destroy => self.step(Phase::Destroy, "destroy", args::destroy(), false),
            Stage::Apply if self.saved_plan => {
                let plan = self.plan_file.clone();
                self.step(Phase::Apply, "apply", args::apply(&plan), false)
            }
            Stage::Plan | Stage::Apply => {
                let plan = self.plan_file.clone();
                self.step(Phase::Plan, "plan", args::plan(&plan), true)
            }
        }
    }

    /// The provider versions and hashes init selected (the pack's own lock file, or the one
    /// init wrote for this run): evidence of exactly which providers ran.
    fn keep_lock_file(&mut self) {
        if let Ok(bytes) = std::fs::read(self.cwd.join(LOCK_FILE)) {
            self.kept
                .evidence
                .push(("terraform.lock.hcl".to_owned(), bytes));
        }
    }

    fn after_init(&mut self, ctx: &DriverContext<'_>) -> Next {
        match self.policy().workspace.clone() {
            Some(ws) => self.step(
                Phase::WorkspaceSelect,
                "workspace select",
                args::workspace("select", &ws),
                false,
            ),
            None => self.after_workspace(ctx),
        }
    }

    fn after_workspace(&mut self, ctx: &DriverContext<'_>) -> Next {
        self.stage_step(ctx)
    }

    fn after_plan(&mut self, ctx: &DriverContext<'_>, outcome: StepOutcome) -> Next {
        let ui = parse_ui_stream(&outcome.stdout);
        self.kept
            .evidence
            .push(("plan-ui.jsonl".to_owned(), outcome.stdout.clone()));
        if !outcome.success {
            return self.fail_with_diagnostics(ctx, "plan", &ui.diagnostics, &outcome);
        }
        let summary = PlanSummary::from_ui(&ui);
        self.kept.summary = Some(summary.line());
        self.kept.evidence.push((
            "plan-summary.json".to_owned(),
            serde_json::to_vec_pretty(&summary).unwrap_or_default(),
        ));
        if ctx.stage == Stage::Plan {
            let plan = self.plan_file.clone();
            return self.step(Phase::Show, "show", args::show(&plan), true);
        }
        let plan = self.plan_file.clone();
        self.step(Phase::Apply, "apply", args::apply(&plan), false)
    }

    fn after_show(&mut self, ctx: &DriverContext<'_>, outcome: StepOutcome) -> Next {
        if !outcome.success {
            return self.fail(ctx, "show -json", &outcome);
        }
        let Ok(mut plan) = serde_json::from_slice::<Value>(&outcome.stdout) else {
            return self.done(Verdict::failed(
                "`terraform show -json` did not print a JSON plan",
                true,
            ));
        };
        let sensitive = mask_plan(&mut plan);
        let summary = PlanSummary::from_plan(&plan);
        self.kept.summary = Some(summary.line());
        self.kept
            .evidence
            .retain(|(name, _)| name != "plan-summary.json");
        self.kept.evidence.push((
            "plan-summary.json".to_owned(),
            serde_json::to_vec_pretty(&summary).unwrap_or_default(),
        ));
        self.kept.evidence.push((
            "plan.json".to_owned(),
            serde_json::to_vec_pretty(&plan).unwrap_or_default(),
        ));
        // The binary plan holds variable values and prior state in plain text: keep it only
        // when nothing in it is secret.
        if ctx.secret_inputs.is_empty() && sensitive.is_empty() {
            self.kept.artifacts.push(KeptFile {
                name: PLAN_ARTIFACT_SCHEMA.to_owned(),
                path: self.plan_file.clone(),
            });
        }
        self.kept.secret_values.extend(sensitive);
        self.done(Verdict::succeeded(serde_json::Map::new()))
    }

    fn after_output(&mut self, outcome: StepOutcome) -> Next {
        let Some(outputs) = outcome
            .success
            .then(|| parse_outputs(&outcome.stdout))
            .flatten()
        else {
            return self.done(Verdict::failed(
                format!(
                    "`terraform output -json` failed or printed no JSON object\nstderr (last lines):\n{}",
                    outcome.stderr_tail
                ),
                true,
            ));
        };
        let mut verdict = Verdict::succeeded(outputs.raw);
        verdict.secret_values = outputs.secret_values;
        verdict.sensitive_outputs = outputs.sensitive.into_iter().collect();
        self.done(verdict)
    }
}

/// `packs/terraform/<id>` or `packs/terraform/<id>/<entry>`: what diagnostics' files are
/// relative to.
fn pack_base(ctx: &DriverContext<'_>) -> String {
    let entry = ctx.request.pack.entry.trim_start_matches("./");
    if entry.is_empty() || entry == "." {
        ctx.request.pack.path.clone()
    } else {
        format!("{}/{}", ctx.request.pack.path, entry.trim_end_matches('/'))
    }
}

impl StepDriver for TerraformSteps {
    fn name(&self) -> DriverName {
        DriverName::Terraform
    }

    fn start(&mut self, ctx: &DriverContext<'_>) -> Result<Next, DriverError> {
        let policy = TerraformPolicy::from_request(ctx.request, ctx.state_dir, ctx.catalog_root)?;
        let entry = ctx.request.pack.entry.trim_start_matches("./");
        self.cwd = if entry.is_empty() || entry == "." {
            ctx.work_dir.to_path_buf()
        } else {
            ctx.work_dir.join(entry)
        };
        write_plain(
            &self.cwd.join(TFVARS_FILE),
            &Value::Object(tfvars(ctx.request, ctx.secret_inputs)?),
        )?;
        write_plain(
            &self.cwd.join(BACKEND_OVERRIDE_FILE),
            &policy.backend_override(),
        )?;
        write_private(
            &ctx.io_dir.join("terraformrc"),
            policy.cli_config().as_bytes(),
        )?;
        self.plan_file = ctx.io_dir.join("plan.tfplan");
        if let Some(bytes) = ctx.saved_plan {
            write_private(&self.plan_file, bytes)?;
            self.saved_plan = true;
        }
        self.env = policy.env(ctx.io_dir, ctx.secret_inputs);
        self.policy = Some(policy);
        Ok(self.step(Phase::Version, "version", args::version(), true))
    }

    fn after(
        &mut self,
        ctx: &DriverContext<'_>,
        outcome: StepOutcome,
    ) -> Result<Next, DriverError> {
        Ok(match self.phase {
            Phase::Version => {
                if !outcome.success {
                    return Ok(self.fail(ctx, "version -json", &outcome));
                }
                let Some(found) = reported_version(&outcome.stdout) else {
                    return Ok(self.done(Verdict::failed(
                        format!(
                            "`{} version -json` printed no version\nhelp: toolchain.binary must name terraform or tofu",
                            self.policy().program.display()
                        ),
                        false,
                    )));
                };
                if let Err(message) = check_version(self.policy(), &found) {
                    return Ok(self.done(Verdict::failed(message, false)));
                }
                let init = self.policy().init_args();
                self.step(Phase::Init, "init", init, false)
            }
            Phase::Init if outcome.success => {
                self.keep_lock_file();
                self.after_init(ctx)
            }
            // Init prints configuration errors only as text: ask validate for them as JSON.
            Phase::Init => {
                self.init_failure = Some(outcome);
                self.step(Phase::Validate, "validate", args::validate(), true)
            }
            Phase::Validate => {
                // Only diagnostics about pack files explain a failed init; anything else
                // (providers not installed yet) is validate's own complaint.
                let diagnostics: Vec<TfDiagnostic> = validate_diagnostics(&outcome.stdout)
                    .into_iter()
                    .filter(|d| d.filename.is_some())
                    .collect();
                let init = self.init_failure.take().unwrap_or_default();
                self.fail_with_diagnostics(ctx, "init", &diagnostics, &init)
            }
            Phase::WorkspaceSelect if outcome.success => self.after_workspace(ctx),
            Phase::WorkspaceSelect => {
                let ws = self.policy().workspace.clone().unwrap_or_default();
                self.step(
                    Phase::WorkspaceNew,
                    "workspace new",
                    args::workspace("new", &ws),
                    false,
                )
            }
            Phase::WorkspaceNew if outcome.success => self.after_workspace(ctx),
            Phase::WorkspaceNew => self.fail(ctx, "workspace new", &outcome),
            Phase::Plan => self.after_plan(ctx, outcome),
            Phase::Show => self.after_show(ctx, outcome),
            Phase::Apply if outcome.success => {
                self.step(Phase::Output, "output", args::output(), true)
            }
            Phase::Apply => self.fail(ctx, "apply", &outcome),
            Phase::Output => self.after_output(outcome),
            Phase::Destroy if outcome.success => {
                self.kept.summary = Some("Destroy complete.".to_owned());
                self.done(Verdict::succeeded(serde_json::Map::new()))
            }
            Phase::Destroy => self.fail(ctx, "destroy", &outcome),
        })
    }
}

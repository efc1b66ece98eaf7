//! The ansible driver as a [`StepDriver`]: render inventory, extra-vars and the callback plugin
//! into the private io dir, run `ansible-playbook` once (`--check --diff` for `hyops plan`), then
//! read the callback's events into evidence, result details, a summary, outputs or an error.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path};

use hyops_contract::DriverName;
use serde_json::{Map, Value};

use crate::ansible::{
    AnsibleFiles, AnsiblePolicy, CALLBACK_NAME, CALLBACK_SOURCE, VERSION_MISMATCH_EXIT,
};
use crate::ansible_events::PlaybookEvents;
use crate::ansible_files::{extra_vars, inventory, vars_yaml};
use crate::shell::parse_outputs;
use crate::steps::{DriverContext, Next, Step, StepDriver, StepOutcome, Verdict};
use crate::{DriverError, Stage};

/// ansible-playbook's exit codes for a playbook it could not parse and for bad options: the
/// same catalog will fail the same way, so these are not retried.
const NOT_RETRYABLE_EXITS: [i32; 2] = [4, 5];

/// State of an ansible attempt (one step).
#[derive(Debug, Default)]
pub struct AnsibleSteps {
    policy: Option<AnsiblePolicy>,
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(DriverError::io("create", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(DriverError::io("write", path))
}

fn private_dir(path: &Path) -> Result<(), DriverError> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(path)
        .map_err(DriverError::io("create", path))
}

/// The playbook path relative to the work dir, checked to stay inside it.
fn playbook(ctx: &DriverContext<'_>) -> Result<String, DriverError> {
    let entry = ctx.request.pack.entry.trim_start_matches("./");
    let path = Path::new(entry);
    if entry.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(DriverError::EntryOutsidePack {
            entry: ctx.request.pack.entry.clone(),
        });
    }
    if !ctx.work_dir.join(path).is_file() {
        return Err(DriverError::EntryMissing {
            entry: ctx.request.pack.entry.clone(),
            pack: ctx.request.pack.path.clone(),
        });
    }
    Ok(entry.to_owned())
}

impl AnsibleSteps {
    fn policy(&self) -> &AnsiblePolicy {
        // start() sets it before the only step runs; after() is only called after start().
        self.policy
            .as_ref()
            .expect("start() sets the policy before any step")
    }

    /// The message when `ansible-playbook` failed before or outside any task (syntax error,
    /// missing role, bad inventory): its own words from stderr.
    fn tool_failure(&self, ctx: &DriverContext<'_>, outcome: &StepOutcome) -> String {
        let how = match outcome.exit_code {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        };
        let mut message = format!(
            "`{} {}` {how} before any task failed",
            self.policy().program.display(),
            ctx.request.pack.entry
        );
        if !outcome.stderr_tail.is_empty() {
            message.push_str("\nstderr (last lines):\n");
            message.push_str(&outcome.stderr_tail);
        }
        message
    }

    fn verdict(
        &self,
        ctx: &DriverContext<'_>,
        outcome: &StepOutcome,
        events: &PlaybookEvents,
    ) -> Result<Verdict, DriverError> {
        let check_mode = ctx.stage == Stage::Plan;
        if events.version_mismatch || outcome.exit_code == Some(VERSION_MISMATCH_EXIT) {
            let found = events.ansible_version.as_deref().unwrap_or("(unknown)");
            return Ok(Verdict::failed(
                self.policy().version_mismatch(found),
                false,
            ));
        }
        if events.ansible_version.is_none() && outcome.exit_code.is_some() {
            let mut message = self.tool_failure(ctx, outcome);
            if outcome.success {
                message = format!(
                    "`{}` ran, but hyops' `{CALLBACK_NAME}` callback recorded nothing, so there is no evidence of what it did\nhelp: do not disable callbacks in the profile's settings.env (ANSIBLE_CALLBACKS_ENABLED is extended, not replaced)",
                    self.policy().program.display()
                );
            }
            return Ok(Verdict::failed(message, false));
        }
        if !outcome.success {
            let message = events
                .failure_message(&ctx.request.environment.name)
                .unwrap_or_else(|| self.tool_failure(ctx, outcome));
            let retryable = !outcome
                .exit_code
                .is_some_and(|c| NOT_RETRYABLE_EXITS.contains(&c));
            let mut verdict = Verdict::failed(message, retryable);
            verdict.summary = Some(events.summary(check_mode));
            return Ok(verdict);
        }
        let mut raw = Map::new();
        if ctx.stage == Stage::Apply {
            raw = events.stats_outputs();
            let files = AnsibleFiles::in_io_dir(ctx.io_dir);
            raw.extend(parse_outputs(&files.outputs)?);
        }
        let mut verdict = Verdict::succeeded(raw);
        verdict.summary = Some(events.summary(check_mode));
        Ok(verdict)
    }
}

impl StepDriver for AnsibleSteps {
    fn name(&self) -> DriverName {
        DriverName::Ansible
    }

    fn start(&mut self, ctx: &DriverContext<'_>) -> Result<Next, DriverError> {
        if ctx.stage == Stage::Destroy {
            return Err(DriverError::StageUnsupported {
                driver: "ansible",
                stage: "destroy",
                // The same reason a stack's destroy gives when it skips the member.
                help: crate::nothing_to_destroy(DriverName::Ansible).unwrap_or_default(),
            });
        }
        let policy = AnsiblePolicy::from_request(ctx.request, ctx.catalog_root)?;
        let entry = playbook(ctx)?;
        let files = AnsibleFiles::in_io_dir(ctx.io_dir);
        private_dir(&files.callbacks)?;
        private_dir(&files.local_temp)?;
        write_private(
            &files.callbacks.join(format!("{CALLBACK_NAME}.py")),
            CALLBACK_SOURCE.as_bytes(),
        )?;
        let inventory =
            serde_json::to_vec_pretty(&inventory(&ctx.request.hosts)).unwrap_or_default();
        write_private(&files.inventory, &inventory)?;
        let vars = extra_vars(ctx.request, ctx.stage, ctx.secret_inputs, &files.outputs)?;
        write_private(&files.vars, vars_yaml(&vars.plain).as_bytes())?;
        let with_secrets = !vars.secret.is_empty();
        if with_secrets {
            write_private(&files.secrets, vars_yaml(&vars.secret).as_bytes())?;
        }
        let command = policy.command(ctx.stage, &entry, ctx.work_dir, &files, with_secrets);
        self.policy = Some(policy);
        Ok(Next::Run(Box::new(Step::logged("playbook", command))))
    }

    fn after(
        &mut self,
        ctx: &DriverContext<'_>,
        outcome: StepOutcome,
    ) -> Result<Next, DriverError> {
        let files = AnsibleFiles::in_io_dir(ctx.io_dir);
        // The secrets file is emptied as soon as ansible is gone; the io dir goes after the attempt.
        crate::blank_file(&files.secrets);
        let bytes = match std::fs::read(&files.events) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(DriverError::io("read", &files.events)(e)),
        };
        let events = PlaybookEvents::parse(&bytes);
        let mut verdict = self.verdict(ctx, &outcome, &events)?;
        verdict.details = events.details(ctx.stage == Stage::Plan, outcome.exit_code);
        verdict.events = events
            .lines
            .into_iter()
            .map(|mut line| {
                let name = match line.remove("event") {
                    Some(Value::String(name)) => format!("ansible_{name}"),
                    _ => "ansible_event".to_owned(),
                };
                (name, line)
            })
            .collect();
        Ok(Next::Done(Box::new(verdict)))
    }
}

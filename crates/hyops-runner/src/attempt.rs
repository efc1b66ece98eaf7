//! One attempt: ledger record first, isolated work dir, the driver through the process module,
//! outputs, probes, evidence sealed, final status appended.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hyops_contract::{ArtifactRef, AttemptStatus, RunRequest};
use hyops_drivers::{
    DriverContext, Next, Stage, Step, StepOutcome, Verdict, prepare_workdir, step_driver,
};
use hyops_evidence::{EvidenceDir, LogWriter, Redactor, Secret, format_timestamp};
use hyops_process::{CancellationToken, ProcessIo, ProcessSpec};
use hyops_store::{AttemptEvent, NewAttempt};
use serde_json::{Map, Value, json};

use crate::error::{AttemptFailure, RunError};
use crate::evidence_sink::{DriverLogSink, RedactFilter};
use crate::outputs::{Published, publish_marking};
use crate::probe::{ProbeContext, ProbeResult, render_junit, run_probes};
use crate::progress::RunEvent;
use crate::run::{RunOptions, Runner, now_ms};
use crate::secrets::RunSecrets;
use crate::template::TemplateContext;

/// What one attempt produced.
#[derive(Debug, Clone)]
pub struct AttemptSummary {
    /// 1-based attempt number.
    pub attempt: u32,
    /// Final status.
    pub status: AttemptStatus,
    /// Tool exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Why it did not pass.
    pub failure: Option<AttemptFailure>,
    /// Evidence folder relative to the state dir.
    pub evidence_path: String,
    /// Probe results (empty when probes did not run).
    pub probes: Vec<ProbeResult>,
    /// Published outputs, redacted.
    pub outputs: Option<Map<String, Value>>,
    /// Wall time.
    pub duration_ms: u64,
    /// Artifacts the driver kept (e.g. a saved plan), content-addressed.
    pub artifacts: Vec<ArtifactRef>,
    /// The driver's one-line summary (redacted), e.g. a plan's changes.
    pub summary: Option<String>,
}

/// Everything an attempt needs that does not change between attempts.
pub(crate) struct AttemptPlan<'a> {
    pub(crate) request: &'a RunRequest,
    pub(crate) stage: Stage,
    pub(crate) run_id: &'a str,
    pub(crate) pack_dir: PathBuf,
    pub(crate) options: &'a RunOptions,
}

/// Result of the driver phase, before probes.
struct DriverPhase {
    exit_code: Option<i32>,
    failure: Option<(AttemptStatus, AttemptFailure)>,
    verdict: Verdict,
    env_names: Vec<String>,
}

/// One step as run: the outcome for the driver, and our own verdict when we had to stop it.
struct RanStep {
    step: StepOutcome,
    stop: Option<(AttemptStatus, AttemptFailure)>,
    exit_code: Option<i32>,
}

impl Runner {
    /// Runs attempt `attempt` to a terminal status. Errors are returned only when the ledger
    /// itself fails; every other problem becomes the attempt's status.
    pub(crate) async fn run_attempt(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        secrets: &mut RunSecrets,
    ) -> Result<AttemptSummary, RunError> {
        let started = std::time::Instant::now();
        let request = plan.request;
        let evidence_rel = self.layout.evidence_rel(
            &request.environment.name,
            &request.target,
            plan.run_id,
            attempt,
        );
        // Ledger first: the attempt is `running` before anything else happens (steno's saga log).
        self.ledger
            .start_attempt(&NewAttempt {
                run_id: plan.run_id.to_owned(),
                attempt,
                host: self.host.clone(),
                runner_pid: std::process::id(),
                evidence_path: Some(evidence_rel.clone()),
                at_ms: now_ms(),
            })
            .await
            .map_err(RunError::store(format!(
                "record attempt {attempt} as running"
            )))?;
        self.progress.event(&RunEvent::AttemptStarted {
            attempt,
            max_attempts: request.execution.max_attempts,
        });

        let evidence_abs = self.layout.abs(&evidence_rel);
        let outcome = match EvidenceDir::create(&evidence_abs) {
            Ok(dir) => {
                let dir = dir.with_redactor(secrets.redactor().clone());
                self.attempt_body(plan, attempt, secrets, &dir).await
            }
            Err(e) => AttemptBody::errored(AttemptFailure::new(
                "hyops::evidence::create",
                format!("failed to create the evidence folder {evidence_rel}: {e}"),
                false,
            )),
        };
        let AttemptBody {
            status,
            exit_code,
            failure,
            probes,
            published,
            artifacts,
            summary,
        } = outcome;

        let redactor = secrets.redactor();
        let failure = failure.map(|f| AttemptFailure {
            message: redactor.redact_str(&f.message),
            ..f
        });
        // Non-secret outputs may still embed a secret value (a URL with a token in it): the
        // ledger, the artifact and the report get them through the redactor too (invariant 6).
        let outputs = published
            .as_ref()
            .map(|p| redact_outputs(redactor, p.redacted_json()));
        if status == AttemptStatus::Passed
            && let Some(outputs) = &outputs
        {
            self.record_outputs(plan.run_id, attempt, outputs).await?;
        }
        let mut event = AttemptEvent::new(status, now_ms());
        event.exit_code = exit_code;
        if let Some(f) = &failure {
            event.error_code = Some(f.code.to_owned());
            event.message = Some(f.message.clone());
            event.retryable = Some(f.retryable);
        }
        self.ledger
            .append_event(plan.run_id, attempt, &event)
            .await
            .map_err(RunError::store(format!(
                "record attempt {attempt} as {status}"
            )))?;
        self.progress.event(&RunEvent::AttemptFinished {
            attempt,
            status,
            message: failure.as_ref().map(|f| f.message.clone()),
        });
        let work_dir = self.layout.work_dir(plan.run_id, attempt);
        if status == AttemptStatus::Passed && !plan.options.keep_workdir {
            let _ = std::fs::remove_dir_all(&work_dir);
        }
        let _ = std::fs::remove_dir_all(self.layout.io_dir(plan.run_id, attempt));
        Ok(AttemptSummary {
            attempt,
            status,
            exit_code,
            failure,
            evidence_path: evidence_rel,
            probes,
            outputs,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            artifacts,
            summary,
        })
    }

    async fn record_outputs(
        &self,
        run_id: &str,
        attempt: u32,
        outputs: &Map<String, Value>,
    ) -> Result<(), RunError> {
        let bytes = canonical_bytes(&Value::Object(outputs.clone()));
        let artifact = self
            .artifacts
            .put(bytes.clone(), Some("outputs/v1"))
            .await
            .map_err(RunError::store("store the outputs artifact"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.ledger
            .record_outputs(run_id, attempt, &artifact, &text, now_ms())
            .await
            .map_err(RunError::store("record published outputs"))
    }

    /// The part of an attempt that writes evidence. Never fails: problems become the status.
    async fn attempt_body(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        secrets: &mut RunSecrets,
        dir: &EvidenceDir,
    ) -> AttemptBody {
        let mut events = match dir.open_log("events.jsonl") {
            Ok(log) => log,
            Err(e) => {
                return AttemptBody::errored(AttemptFailure::new(
                    "hyops::evidence::write",
                    format!("failed to open events.jsonl: {e}"),
                    false,
                ));
            }
        };
        let started_at = SystemTime::now();
        event_line(
            &mut events,
            "attempt_started",
            json!({ "attempt": attempt }),
        );
        let request_value = serde_json::to_value(plan.request).unwrap_or(Value::Null);
        let mut body = self
            .attempt_phases(plan, attempt, secrets, dir, &mut events, &request_value)
            .await;
        let finished_at = SystemTime::now();

        // Evidence of the outcome. A write failure here turns a pass into `errored`: a PASS
        // without its evidence would not be auditable.
        let redactor = secrets.redactor().clone();
        let mut write_errors = Vec::new();
        if let Some(published) = &body.published {
            let outputs = Value::Object(redact_outputs(&redactor, published.redacted_json()));
            if let Err(e) = dir.write_json("outputs.json", &outputs) {
                write_errors.push(e.to_string());
            }
        }
        for (i, probe) in body.probes.iter().enumerate() {
            let value = redactor.redact_json(&serde_json::to_value(probe).unwrap_or(Value::Null));
            let rel = format!("probes/{:02}-{}.json", i + 1, safe_name(&probe.name));
            if let Err(e) = dir.write_json(&rel, &value) {
                write_errors.push(e.to_string());
            }
        }
        if !body.probes.is_empty()
            && let Err(e) = dir.write_file(
                "probes.junit.xml",
                redactor.redact_str(&render_junit(&body.probes)).as_bytes(),
            )
        {
            write_errors.push(e.to_string());
        }
        let result = json!({
            "schema_version": "result/v1",
            "run_id": plan.run_id,
            "target": plan.request.target,
            "env": plan.request.environment.name,
            "stage": plan.stage.as_str(),
            "attempt": attempt,
            "status": body.status,
            "exit_code": body.exit_code,
            "started_at": format_timestamp(started_at),
            "finished_at": format_timestamp(finished_at),
            "duration_ms": finished_at.duration_since(started_at).map(|d| d.as_millis() as u64).unwrap_or(0),
            "error": body.failure.as_ref().map(|f| json!({"code": f.code, "message": f.message, "retryable": f.retryable})),
            "probes": body.probes.iter().map(|p| json!({"name": p.name, "passed": p.passed, "tries": p.tries})).collect::<Vec<_>>(),
            "fingerprint": plan.request.fingerprint,
            "artifacts": body.artifacts,
            "summary": body.summary,
        });
        if let Err(e) = dir.write_json("result.json", &redactor.redact_json(&result)) {
            write_errors.push(e.to_string());
        }
        event_line(
            &mut events,
            "attempt_finished",
            json!({ "status": body.status, "exit_code": body.exit_code }),
        );
        if let Err(e) = events.finish() {
            write_errors.push(e.to_string());
        }
        if let Err(e) = dir.seal(false) {
            write_errors.push(e.to_string());
        }
        if !write_errors.is_empty() {
            body.status = AttemptStatus::Errored;
            body.failure = Some(AttemptFailure::new(
                "hyops::evidence::write",
                format!("failed to write evidence: {}", write_errors.join("; ")),
                true,
            ));
        }
        body
    }

    async fn attempt_phases(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        secrets: &mut RunSecrets,
        dir: &EvidenceDir,
        events: &mut LogWriter,
        request_value: &Value,
    ) -> AttemptBody {
        if let Err(e) = dir.write_json("request.json", request_value) {
            return AttemptBody::errored(AttemptFailure::new(
                "hyops::evidence::write",
                format!("failed to write request.json: {e}"),
                true,
            ));
        }
        let request = plan.request;
        if request.execution.require_non_root && hyops_process::current_uid_is_root() {
            return AttemptBody::errored(AttemptFailure::new(
                "hyops::run::root_refused",
                format!(
                    "refusing to start the {} driver as root: profile `{}` sets execution.require_non_root\nhelp: run hyops as an unprivileged user, or set require_non_root: false in {}",
                    request.driver, request.profile.name, request.profile.path
                ),
                false,
            ));
        }
        self.progress.event(&RunEvent::Phase { name: "driver" });
        let driver = match self.driver_phase(plan, attempt, secrets, dir, events).await {
            Ok(phase) => phase,
            Err(failure) => return AttemptBody::errored(failure),
        };
        event_line(
            events,
            "driver_finished",
            json!({ "exit_code": driver.exit_code, "env_names": driver.env_names }),
        );
        let kept = match self
            .keep_driver_files(&driver.verdict, secrets, dir, events)
            .await
        {
            Ok(kept) => kept,
            Err(failure) => return AttemptBody::errored(failure),
        };
        // After keep_driver_files: sensitive values are in the redactor now.
        let summary = driver
            .verdict
            .summary
            .as_ref()
            .map(|s| secrets.redactor().redact_str(s));
        if let Some((status, failure)) = driver.failure {
            return AttemptBody {
                status,
                exit_code: driver.exit_code,
                failure: Some(failure),
                probes: Vec::new(),
                published: None,
                artifacts: kept.clone(),
                summary: summary.clone(),
            };
        }
        if plan.stage != Stage::Apply {
            let mut body = AttemptBody::passed(driver.exit_code, None, Vec::new());
            body.artifacts = kept;
            body.summary = summary;
            return body;
        }
        self.progress.event(&RunEvent::Phase { name: "outputs" });
        let published = match publish_marking(
            &driver.verdict.raw_outputs,
            &request.publish,
            &driver.verdict.sensitive_outputs,
        ) {
            Ok(p) => p,
            Err(e) => {
                return AttemptBody {
                    status: AttemptStatus::Failed,
                    exit_code: driver.exit_code,
                    failure: Some(AttemptFailure::new(
                        "hyops::run::outputs",
                        e.to_string(),
                        e.is_retryable(),
                    )),
                    probes: Vec::new(),
                    published: None,
                    artifacts: kept.clone(),
                    summary: summary.clone(),
                };
            }
        };
        let extra: Vec<Secret> = published
            .secret_values()
            .into_iter()
            .filter(|v| v.chars().count() >= hyops_evidence::MIN_SECRET_CHARS)
            .map(|v| Secret::new("output", v))
            .collect();
        if let Err(e) = secrets.add(extra) {
            return AttemptBody::errored(AttemptFailure::new(
                "hyops::run::secret_output",
                e.to_string(),
                false,
            ));
        }
        event_line(
            events,
            "outputs_published",
            json!({ "names": published.outputs().keys().collect::<Vec<_>>() }),
        );
        self.progress.event(&RunEvent::Phase { name: "probes" });
        let probes = self.probe_phase(plan, attempt, secrets, &published).await;
        for p in &probes {
            let redacted = ProbeResult {
                message: secrets.redactor().redact_str(&p.message),
                observed: secrets.redactor().redact_str(&p.observed),
                expected: secrets.redactor().redact_str(&p.expected),
                ..p.clone()
            };
            self.progress.event(&RunEvent::Probe(redacted));
        }
        let failed: Vec<&ProbeResult> = probes.iter().filter(|p| !p.passed).collect();
        if failed.is_empty() {
            let mut body = AttemptBody::passed(driver.exit_code, Some(published), probes);
            body.artifacts = kept;
            body.summary = summary;
            return body;
        }
        let message = failed
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
            .join("\n");
        AttemptBody {
            status: AttemptStatus::ProbeFailed,
            exit_code: driver.exit_code,
            failure: Some(AttemptFailure::new(
                "hyops::run::probe_failed",
                message,
                true,
            )),
            probes,
            published: Some(published),
            artifacts: kept.clone(),
            summary: summary.clone(),
        }
    }

    /// Keeps what the driver asked for: sensitive values join the redactor first, extra evidence
    /// files are written (redacted) under `driver/`, artifacts go to the content-addressed store.
    async fn keep_driver_files(
        &self,
        verdict: &Verdict,
        secrets: &mut RunSecrets,
        dir: &EvidenceDir,
        events: &mut LogWriter,
    ) -> Result<Vec<ArtifactRef>, AttemptFailure> {
        let extra: Vec<Secret> = verdict
            .secret_values
            .iter()
            .filter(|v| v.chars().count() >= hyops_evidence::MIN_SECRET_CHARS)
            .map(|v| Secret::new("sensitive", v.clone()))
            .collect();
        secrets
            .add(extra)
            .map_err(|e| AttemptFailure::new("hyops::run::secret_output", e.to_string(), false))?;
        let redactor = secrets.redactor();
        for (name, bytes) in &verdict.evidence {
            dir.write_file(&format!("driver/{name}"), &redactor.redact_bytes(bytes))
                .map_err(|e| {
                    AttemptFailure::new(
                        "hyops::evidence::write",
                        format!("failed to write driver/{name}: {e}"),
                        true,
                    )
                })?;
        }
        let mut kept = Vec::new();
        for file in &verdict.artifacts {
            let bytes = std::fs::read(&file.path).map_err(|e| {
                AttemptFailure::new(
                    "hyops::run::artifact",
                    format!("failed to read {} for the artifact store: {e}", file.name),
                    true,
                )
            })?;
            let artifact = self
                .artifacts
                .put(bytes, Some(&file.name))
                .await
                .map_err(|e| AttemptFailure::new("hyops::run::artifact", e.to_string(), true))?;
            let _ = self.ledger.record_artifact(&artifact, now_ms()).await;
            kept.push(artifact);
        }
        if let Some(summary) = &verdict.summary {
            event_line(
                events,
                "driver_summary",
                json!({ "summary": redactor.redact_str(summary) }),
            );
            self.progress.event(&RunEvent::Output {
                stream: "stdout",
                line: redactor.redact_str(summary),
            });
        }
        Ok(kept)
    }

    async fn driver_phase(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        secrets: &RunSecrets,
        dir: &EvidenceDir,
        events: &mut LogWriter,
    ) -> Result<DriverPhase, AttemptFailure> {
        let request = plan.request;
        let mut driver = step_driver(request.driver).ok_or_else(|| {
            AttemptFailure::new(
                "hyops::driver::unsupported",
                format!(
                    "the {} driver is not available in this build yet\nhelp: see docs/drivers/ for the drivers hyops ships",
                    request.driver
                ),
                false,
            )
        })?;
        let work_dir = self.layout.work_dir(plan.run_id, attempt);
        let io_dir = self.layout.io_dir(plan.run_id, attempt);
        if let Some(parent) = work_dir.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                AttemptFailure::new(
                    "hyops::run::workdir",
                    format!("failed to create {}: {e}", parent.display()),
                    true,
                )
            })?;
        }
        prepare_workdir(&plan.pack_dir, &work_dir).map_err(|e| {
            AttemptFailure::new("hyops::run::workdir", e.to_string(), e.is_retryable())
        })?;
        create_private_dir(&io_dir)?;
        let ctx = DriverContext {
            request,
            stage: plan.stage,
            work_dir: &work_dir,
            io_dir: &io_dir,
            state_dir: self.layout.root(),
            secret_inputs: secrets.inputs(),
            catalog_root: &plan.options.catalog_root,
            saved_plan: plan.options.saved_plan.as_deref().map(Vec::as_slice),
        };
        let driver_error = |e: hyops_drivers::DriverError| {
            let retryable = e.is_retryable();
            AttemptFailure::new("hyops::driver::error", e.to_string(), retryable)
        };
        let log = dir.open_log("driver.log").map_err(|e| {
            AttemptFailure::new(
                "hyops::evidence::write",
                format!("failed to open driver.log: {e}"),
                true,
            )
        })?;
        let mut sink = DriverLogSink {
            log,
            progress: Arc::clone(&self.progress),
            error: None,
            capture: None,
        };
        let deadline = Instant::now() + Duration::from_millis(request.execution.timeout_ms);
        let mut env_names: BTreeSet<String> = BTreeSet::new();
        let mut last_exit = None;
        let mut next = driver.start(&ctx).map_err(driver_error)?;
        let mut step_no = 0u32;
        let verdict = loop {
            let step = match next {
                Next::Done(verdict) => break *verdict,
                Next::Run(step) => *step,
            };
            step_no += 1;
            let ran = self
                .run_step(
                    plan, attempt, step_no, &step, &io_dir, deadline, secrets, &mut sink, events,
                )
                .await;
            let (outcome, names) = match ran {
                Ok(ran) => ran,
                Err(failure) => {
                    let _ = driver.after(&ctx, StepOutcome::default());
                    return Err(failure);
                }
            };
            env_names.extend(names);
            last_exit = outcome.exit_code;
            match outcome.stop {
                Some(status) => {
                    // Timed out or cancelled: the driver gets to clean up, the status is ours.
                    let _ = driver.after(&ctx, outcome.step);
                    let DriverLogSink { log, .. } = sink;
                    let _ = log.finish();
                    return Ok(DriverPhase {
                        exit_code: last_exit,
                        failure: Some(status),
                        verdict: Verdict::default(),
                        env_names: env_names.into_iter().collect(),
                    });
                }
                None => next = driver.after(&ctx, outcome.step).map_err(driver_error)?,
            }
        };
        let DriverLogSink { log, error, .. } = sink;
        if let Some(e) = error {
            return Err(AttemptFailure::new(
                "hyops::evidence::write",
                format!("failed to write driver.log: {e}"),
                true,
            ));
        }
        log.finish().map_err(|e| {
            AttemptFailure::new(
                "hyops::evidence::write",
                format!("failed to finish driver.log: {e}"),
                true,
            )
        })?;
        let failure = (!verdict.success).then(|| {
            (
                AttemptStatus::Failed,
                AttemptFailure::new(
                    "hyops::run::tool_failed",
                    verdict.message.clone().unwrap_or_else(|| {
                        format!("the {} driver reported failure", request.driver)
                    }),
                    verdict.retryable,
                ),
            )
        });
        Ok(DriverPhase {
            exit_code: last_exit,
            failure,
            verdict,
            env_names: env_names.into_iter().collect(),
        })
    }

    /// Runs one driver step through the process module within the attempt's deadline.
    #[allow(clippy::too_many_arguments)]
    async fn run_step(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        step_no: u32,
        step: &Step,
        io_dir: &Path,
        deadline: Instant,
        secrets: &RunSecrets,
        sink: &mut DriverLogSink,
        events: &mut LogWriter,
    ) -> Result<(RanStep, Vec<String>), AttemptFailure> {
        let request = plan.request;
        let command = &step.command;
        let mut env: BTreeMap<String, OsString> = BTreeMap::new();
        for name in &request.execution.env_allowlist {
            if let Some(value) = (plan.options.lookup_env_os)(name) {
                env.insert(name.clone(), value);
            }
        }
        env.extend(command.env.clone());
        let env_names: Vec<String> = env.keys().cloned().collect();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut spec = ProcessSpec::new(command.program.clone(), command.cwd.clone())
            .args(command.args.clone())
            .timeout(remaining.max(Duration::from_millis(1)))
            .kill_grace(Duration::from_millis(request.execution.kill_grace_ms));
        for (k, v) in env {
            spec = spec.env(k, v);
        }
        let work_dir = self.layout.work_dir(plan.run_id, attempt);
        let shown_program = command
            .program
            .strip_prefix(&work_dir)
            .unwrap_or(&command.program)
            .to_string_lossy()
            .into_owned();
        event_line(
            events,
            "step_started",
            json!({
                "step": step.name,
                "n": step_no,
                "program": shown_program,
                "args": command.args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
                "env_names": env_names,
            }),
        );
        self.progress.event(&RunEvent::Phase { name: "driver" });
        sink.capture = step.capture_stdout.then(Vec::new);
        let (pid_tx, pid_rx) = tokio::sync::oneshot::channel::<u32>();
        let redactor: &Redactor = secrets.redactor();
        let cancel: CancellationToken = plan.options.cancel.clone();
        let io = ProcessIo::new(sink)
            .stdout_filter(Box::new(RedactFilter(redactor.stream())))
            .stderr_filter(Box::new(RedactFilter(redactor.stream())))
            .on_spawn(move |pid| {
                let _ = pid_tx.send(pid);
            })
            .cancel_on(cancel);
        let pid_file = io_dir.join("tool.pid");
        let record_pid = async {
            if let Ok(pid) = pid_rx.await {
                // The ledger keeps the first tool pid; the current one is also in the io dir so
                // crash recovery can stop a later step's process group.
                let _ = std::fs::write(&pid_file, pid.to_string());
                if step_no == 1 {
                    let _ = self.ledger.set_attempt_pid(plan.run_id, attempt, pid).await;
                }
            }
        };
        let (outcome, ()) = tokio::join!(hyops_process::run(&spec, io), record_pid);
        let _ = std::fs::remove_file(&pid_file);
        let captured = sink.capture.take().unwrap_or_default();
        let outcome = outcome.map_err(|e| {
            AttemptFailure::new("hyops::process::spawn", e.to_string(), e.retryable())
        })?;
        event_line(
            events,
            "step_finished",
            json!({
                "step": step.name,
                "n": step_no,
                "pid": outcome.pid,
                "status": format!("{:?}", outcome.status),
                "timed_out": outcome.timed_out,
                "cancelled": outcome.cancelled,
                "stop_signal": outcome.stop.map(|s| format!("{s:?}")),
                "stragglers": outcome.stragglers,
                "output_incomplete": outcome.output_incomplete,
                "captured_bytes": captured.len(),
            }),
        );
        let stop = if outcome.cancelled {
            Some((
                AttemptStatus::Cancelled,
                AttemptFailure::new("hyops::run::cancelled", "the run was cancelled", false),
            ))
        } else if outcome.timed_out {
            Some((
                AttemptStatus::TimedOut,
                AttemptFailure::new(
                    "hyops::run::timed_out",
                    format!(
                        "step `{}` exceeded the profile timeout of {} ms for the attempt and its process group was stopped with {:?}",
                        step.name, request.execution.timeout_ms, outcome.stop
                    ),
                    true,
                ),
            ))
        } else {
            None
        };
        let step_outcome = StepOutcome {
            name: step.name.clone(),
            exit_code: outcome.status.code(),
            success: outcome.success(),
            stdout: captured,
            stderr_tail: String::from_utf8_lossy(&outcome.stderr_tail)
                .trim_end()
                .to_owned(),
        };
        Ok((
            RanStep {
                step: step_outcome,
                stop,
                exit_code: outcome.status.code(),
            },
            env_names,
        ))
    }

    async fn probe_phase(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        secrets: &RunSecrets,
        published: &Published,
    ) -> Vec<ProbeResult> {
        let request = plan.request;
        if request.probes.is_empty() {
            return Vec::new();
        }
        let mut inputs = Map::new();
        for (name, input) in &request.inputs {
            if let Some(v) = &input.value {
                inputs.insert(name.clone(), v.clone());
            }
        }
        for (name, v) in secrets.inputs() {
            inputs.insert(name.clone(), v.clone());
        }
        let mut env = Map::new();
        env.insert(
            "name".into(),
            Value::String(request.environment.name.clone()),
        );
        let mut command_env = BTreeMap::new();
        for name in &request.execution.env_allowlist {
            if let Some(value) = (plan.options.lookup_env_os)(name) {
                command_env.insert(name.clone(), value);
            }
        }
        let ctx = ProbeContext {
            template: TemplateContext {
                inputs,
                outputs: published.values(),
                env,
                members: Map::new(),
            },
            work_dir: self.layout.work_dir(plan.run_id, attempt),
            command_env,
        };
        let probes = request.probes.clone();
        tokio::task::spawn_blocking(move || run_probes(&probes, &ctx))
            .await
            .unwrap_or_default()
    }
}

/// Outcome of the evidence-writing part of an attempt.
struct AttemptBody {
    status: AttemptStatus,
    exit_code: Option<i32>,
    failure: Option<AttemptFailure>,
    probes: Vec<ProbeResult>,
    published: Option<Published>,
    artifacts: Vec<ArtifactRef>,
    summary: Option<String>,
}

impl AttemptBody {
    fn errored(failure: AttemptFailure) -> Self {
        Self {
            status: AttemptStatus::Errored,
            exit_code: None,
            failure: Some(failure),
            probes: Vec::new(),
            published: None,
            artifacts: Vec::new(),
            summary: None,
        }
    }

    fn passed(
        exit_code: Option<i32>,
        published: Option<Published>,
        probes: Vec<ProbeResult>,
    ) -> Self {
        Self {
            status: AttemptStatus::Passed,
            exit_code,
            failure: None,
            probes,
            published,
            artifacts: Vec::new(),
            summary: None,
        }
    }
}

fn event_line(log: &mut LogWriter, event: &str, fields: Value) {
    let mut object = Map::new();
    object.insert(
        "at".into(),
        Value::String(format_timestamp(SystemTime::now())),
    );
    object.insert("event".into(), Value::String(event.to_owned()));
    if let Value::Object(extra) = fields {
        object.extend(extra);
    }
    // An events.jsonl write failure surfaces when the log is finished.
    let _ = log.line(Value::Object(object).to_string().as_bytes());
}

/// Every published value through the redactor (secret outputs are already placeholders).
fn redact_outputs(redactor: &Redactor, outputs: Map<String, Value>) -> Map<String, Value> {
    outputs
        .into_iter()
        .map(|(name, value)| (name, redactor.redact_json(&value)))
        .collect()
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn create_private_dir(path: &Path) -> Result<(), AttemptFailure> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(path)
        .map_err(|e| {
            AttemptFailure::new(
                "hyops::run::workdir",
                format!("failed to create {}: {e}", path.display()),
                true,
            )
        })
}

/// Canonical JSON bytes (RFC 8785 style, as fingerprints use) for content addressing.
pub(crate) fn canonical_bytes(value: &Value) -> Vec<u8> {
    hyops_contract::canonical_json::canonical_json(value).into_bytes()
}

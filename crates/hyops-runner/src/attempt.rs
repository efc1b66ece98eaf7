//! One attempt: ledger record first, isolated work dir, the driver through the process module,
//! outputs, probes, evidence sealed, final status appended.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use hyops_contract::{ArtifactRef, AttemptStatus, RunRequest};
use hyops_drivers::Stage;
use hyops_evidence::{EvidenceDir, LogWriter, Secret, format_timestamp};
use hyops_store::{AttemptEvent, FinishWith, LockKey, NewAttempt, NewOutputs};
use serde_json::{Map, Value, json};

use crate::attempt_driver::DriverPhase;
use crate::attempt_record::{AttemptBody, canonical_bytes, event_line, redact_outputs, safe_name};
use crate::error::{AttemptFailure, RunError};
use crate::outputs::{Published, publish_marking};
use crate::probe::{ProbeContext, ProbeResult, render_junit, run_probes};
use crate::progress::RunEvent;
use crate::run::{RunOptions, Runner, now_ms};
use crate::secrets::RunSecrets;
use crate::template::TemplateContext;
use crate::work_dirs::remove_attempt_dirs;

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
    /// The real published values, only when the attempt PASSED (invariant 5), for downstream
    /// stack members; in memory only (its `Debug` hides secret values).
    pub published: Option<Published>,
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
    /// The current attempt's background ledger work started with its tool (the WAL fold, then
    /// the tool's pid: see `Runner::run_step`). Its final event waits for it, so the pid is in
    /// the ledger before the verdict, as a destroy's PASS needs (`Ledger::destroyed_after`).
    pub(crate) tool_records: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Runner {
    /// Runs attempt `attempt` to a terminal status and says whether another attempt follows.
    /// `recorded`: the ledger already has it `running` (attempt 1, recorded with the run). The
    /// run's last attempt releases the run lock with its final event. Errors are returned only
    /// when the ledger itself fails; every other problem becomes the attempt's status.
    pub(crate) async fn run_attempt(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        recorded: bool,
        secrets: &mut RunSecrets,
    ) -> Result<(AttemptSummary, bool), RunError> {
        let started = std::time::Instant::now();
        let request = plan.request;
        let evidence_rel = self.layout.evidence_rel(
            &request.environment.name,
            &request.target,
            plan.run_id,
            attempt,
        );
        // Ledger first: the attempt is `running` before anything else happens (steno's saga log).
        if !recorded {
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
        }
        self.progress.event(&RunEvent::AttemptStarted {
            attempt,
            max_attempts: request.execution.max_attempts,
        });

        let evidence_abs = self.layout.abs(&evidence_rel);
        let outcome = match EvidenceDir::create_with(&evidence_abs, self.durability) {
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
            stored_outputs,
            removal,
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
        // A passed attempt's outputs go in with its final event, in one transaction.
        let stored = stored_outputs.filter(|_| status == AttemptStatus::Passed);
        let mut event = AttemptEvent::new(status, now_ms());
        event.exit_code = exit_code;
        if let Some(f) = &failure {
            event.error_code = Some(f.code.to_owned());
            event.message = Some(f.message.clone());
            event.retryable = Some(f.retryable);
        }
        let retry = status != AttemptStatus::Passed
            && failure.as_ref().is_some_and(|f| f.retryable)
            && attempt < request.execution.max_attempts.max(1)
            && !plan.options.cancel.is_cancelled();
        let with = FinishWith {
            outputs: stored.as_ref().map(|(artifact, text)| NewOutputs {
                artifact,
                outputs_json: text,
                created_at_ms: event.at_ms,
            }),
            artifacts: &artifacts,
            release_lock: (!retry).then(|| LockKey {
                target: &request.target,
                env: &request.environment.name,
            }),
            defer_sync: plan.options.defer_ledger_sync,
        };
        let tool_records = plan
            .tool_records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(records) = tool_records {
            // Best effort, like the writes themselves.
            let _ = records.await;
        }
        self.ledger
            .finish_attempt(plan.run_id, attempt, &event, with)
            .await
            .map_err(RunError::store(format!(
                "record attempt {attempt} as {status}"
            )))?;
        self.progress.event(&RunEvent::AttemptFinished {
            attempt,
            status,
            message: failure.as_ref().map(|f| f.message.clone()),
        });
        match removal {
            // Best effort either way, like the removal itself.
            Some(removal) => {
                let _ = removal.await;
            }
            None => self.dirs_removal(plan, attempt, status == AttemptStatus::Passed)(),
        }
        let summary = AttemptSummary {
            attempt,
            status,
            exit_code,
            failure,
            evidence_path: evidence_rel,
            probes,
            outputs,
            published: published.filter(|_| status == AttemptStatus::Passed),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            artifacts,
            summary,
        };
        Ok((summary, retry))
    }

    /// Removes an ended attempt's io dir and, if it passed (and `--keep-workdir` is off), its
    /// work dir: now, or queued for the end of the stack (see `work_dirs`).
    fn dirs_removal(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        passed: bool,
    ) -> impl FnOnce() + Send + 'static {
        let work_dir = (passed && !plan.options.keep_workdir)
            .then(|| self.layout.work_dir(plan.run_id, attempt));
        let io_dir = self.layout.io_dir(plan.run_id, attempt);
        let later = plan.options.deferred_removals.clone();
        move || remove_attempt_dirs(work_dir, io_dir, later.as_ref())
    }

    /// Stores published outputs as a content-addressed artifact; returns it and the JSON text.
    async fn store_outputs(
        &self,
        outputs: &Map<String, Value>,
    ) -> Result<(ArtifactRef, String), RunError> {
        let bytes = canonical_bytes(&Value::Object(outputs.clone()));
        let artifact = self
            .artifacts
            .put(bytes.clone(), Some("outputs/v1"))
            .await
            .map_err(RunError::store("store the outputs artifact"))?;
        Ok((artifact, String::from_utf8_lossy(&bytes).into_owned()))
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
        let mut driver_details = Map::new();
        let mut body = self
            .attempt_phases(
                plan,
                attempt,
                secrets,
                dir,
                &mut events,
                &mut driver_details,
            )
            .await;
        let finished_at = SystemTime::now();
        if body.status == AttemptStatus::Passed {
            // The tool and probes are done: a stack may start its next member's tool while this
            // one records its evidence and verdict.
            if let Some(slot) = &plan.options.slot {
                slot.release();
            }
            // Nothing reads the work or io dir of a passed attempt any more: remove them while
            // the evidence below is written and sealed (an error there keeps the verdict from
            // passing, but the work dir is gone by then; it never holds evidence).
            body.removal = Some(tokio::task::spawn_blocking(
                self.dirs_removal(plan, attempt, true),
            ));
        }

        // Evidence of the outcome. A write failure here turns a pass into `errored`: a PASS
        // without its evidence would not be auditable.
        let redactor = secrets.redactor().clone();
        let mut write_errors = Vec::new();
        if let Some(published) = &body.published {
            let outputs = redact_outputs(&redactor, published.redacted_json());
            if let Err(e) = dir.write_json("outputs.json", &Value::Object(outputs.clone())) {
                write_errors.push(e.to_string());
            }
            // Stored before the seal, whose sync makes the blob durable along with the evidence.
            if body.status == AttemptStatus::Passed {
                match self.store_outputs(&outputs).await {
                    Ok(stored) => body.stored_outputs = Some(stored),
                    Err(e) => write_errors.push(e.to_string()),
                }
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
        let mut result = json!({
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
        // Driver details (e.g. ansible's play recap) under their own key.
        if !driver_details.is_empty() {
            result["driver"] = Value::Object(driver_details);
        }
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
        driver_details: &mut Map<String, Value>,
    ) -> AttemptBody {
        let request_value = serde_json::to_value(plan.request).unwrap_or(Value::Null);
        if let Err(e) = dir.write_json("request.json", &request_value) {
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
        // `driver_phase` reports the `driver` phase itself, once a stack member has its slot.
        let mut driver = match self.driver_phase(plan, attempt, secrets, dir, events).await {
            Ok(phase) => phase,
            Err(failure) => return AttemptBody::errored(failure),
        };
        let deferred = driver.deferred.take();
        let body = self
            .after_driver(plan, attempt, secrets, dir, events, driver_details, driver)
            .await;
        match deferred {
            Some(deferred) => deferred.settle(body).await,
            None => body,
        }
    }

    /// Artifacts, outputs and probes of an attempt whose driver phase ended with `driver`.
    #[allow(clippy::too_many_arguments)]
    async fn after_driver(
        &self,
        plan: &AttemptPlan<'_>,
        attempt: u32,
        secrets: &mut RunSecrets,
        dir: &EvidenceDir,
        events: &mut LogWriter,
        driver_details: &mut Map<String, Value>,
        driver: DriverPhase,
    ) -> AttemptBody {
        let request = plan.request;
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
        driver_details.clone_from(&driver.verdict.details);
        // After keep_driver_files: sensitive values are in the redactor now.
        let summary = driver
            .verdict
            .summary
            .as_ref()
            .map(|s| secrets.redactor().redact_str(s));
        if let Some((status, failure)) = driver.failure {
            return AttemptBody {
                artifacts: kept,
                summary,
                ..AttemptBody::failed(status, driver.exit_code, failure)
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
                let failure =
                    AttemptFailure::new("hyops::run::outputs", e.to_string(), e.is_retryable());
                return AttemptBody {
                    artifacts: kept,
                    summary,
                    ..AttemptBody::failed(AttemptStatus::Failed, driver.exit_code, failure)
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
        let failure = AttemptFailure::new("hyops::run::probe_failed", message, true);
        AttemptBody {
            probes,
            published: Some(published),
            artifacts: kept,
            summary,
            ..AttemptBody::failed(AttemptStatus::ProbeFailed, driver.exit_code, failure)
        }
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

//! The driver phase of an attempt: a fresh work dir and private io dir, then the driver's steps run
//! one by one through the process module within the attempt's deadline, output redacted before it
//! is logged, and what the driver asks to keep (evidence files, artifacts, sensitive values).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hyops_contract::{ArtifactRef, AttemptStatus};
use hyops_drivers::{
    DriverContext, Next, Step, StepOutcome, Verdict, prepare_workdir, step_driver,
};
use hyops_evidence::{EvidenceDir, LogWriter, Redactor, Secret};
use hyops_process::{CancellationToken, ProcessIo, ProcessSpec};
use hyops_store::FOLD_WAL_FROM_BYTES;
use serde_json::{Value, json};

use crate::attempt::AttemptPlan;
use crate::attempt_record::{AttemptBody, event_line};
use crate::error::AttemptFailure;
use crate::evidence_sink::{DriverLogSink, RedactFilter};
use crate::progress::RunEvent;
use crate::run::Runner;
use crate::secrets::RunSecrets;
use crate::stack_run::stopped_after;
use crate::stack_slots::SlotRefused;

/// Result of the driver phase, before probes.
pub(crate) struct DriverPhase {
    pub(crate) exit_code: Option<i32>,
    pub(crate) failure: Option<(AttemptStatus, AttemptFailure)>,
    pub(crate) verdict: Verdict,
    pub(crate) env_names: Vec<String>,
    /// The driver's deferred write, running (see [`hyops_drivers::DeferredWrite`]).
    pub(crate) deferred: Option<Deferred>,
}

/// A driver's [`hyops_drivers::DeferredWrite`] on a blocking thread.
pub(crate) struct Deferred {
    failure: String,
    task: tokio::task::JoinHandle<Result<(), hyops_drivers::DriverError>>,
}

impl Deferred {
    /// Waits for the write; a failure fails `body` if it passed, and is added to its message
    /// if it had failed already.
    pub(crate) async fn settle(self, mut body: AttemptBody) -> AttemptBody {
        let (error, retryable) = match self.task.await {
            Ok(Ok(())) => return body,
            Ok(Err(e)) => (e.to_string(), e.is_retryable()),
            Err(join) => (format!("the write stopped: {join}"), false),
        };
        let message = format!("{}: {error}", self.failure);
        match &mut body.failure {
            Some(failure) => failure.message = format!("{}\nalso: {message}", failure.message),
            None => {
                body.status = AttemptStatus::Failed;
                body.failure = Some(AttemptFailure::new(
                    "hyops::driver::error",
                    message,
                    retryable,
                ));
            }
        }
        body
    }
}

impl DriverPhase {
    /// A stack member that never got its slot: its tool never started.
    fn not_started(refused: SlotRefused) -> Self {
        let failure = match refused {
            SlotRefused::Halted(first) => (
                AttemptStatus::Skipped,
                AttemptFailure::new("hyops::stack::skipped", stopped_after(&first), false),
            ),
            SlotRefused::Cancelled => (
                AttemptStatus::Cancelled,
                AttemptFailure::new(
                    "hyops::run::cancelled",
                    "the run was cancelled before this member's tool started",
                    false,
                ),
            ),
        };
        Self {
            exit_code: None,
            failure: Some(failure),
            verdict: Verdict::default(),
            env_names: Vec::new(),
            deferred: None,
        }
    }
}

/// The driver phase as it ended: the driver's verdict, a stop (timeout, cancel) or its error, and
/// whether `driver.log` was written whole (`log_error`, `finished`).
fn conclude_driver(
    driven: Result<Result<Verdict, (AttemptStatus, AttemptFailure)>, AttemptFailure>,
    log_error: Option<hyops_evidence::EvidenceError>,
    finished: Result<(), hyops_evidence::EvidenceError>,
    exit_code: Option<i32>,
    env_names: BTreeSet<String>,
    driver: hyops_contract::DriverName,
) -> Result<DriverPhase, AttemptFailure> {
    let verdict = match driven? {
        Ok(verdict) => verdict,
        Err(status) => {
            return Ok(DriverPhase {
                exit_code,
                failure: Some(status),
                verdict: Verdict::default(),
                env_names: env_names.into_iter().collect(),
                deferred: None,
            });
        }
    };
    if let Some(e) = log_error {
        return Err(AttemptFailure::new(
            "hyops::evidence::write",
            format!("failed to write driver.log: {e}"),
            true,
        ));
    }
    finished.map_err(|e| {
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
                verdict
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("the {driver} driver reported failure")),
                verdict.retryable,
            ),
        )
    });
    Ok(DriverPhase {
        exit_code,
        failure,
        verdict,
        env_names: env_names.into_iter().collect(),
        deferred: None,
    })
}

/// One step as run: the outcome for the driver, and our own verdict when we had to stop it.
struct RanStep {
    step: StepOutcome,
    stop: Option<(AttemptStatus, AttemptFailure)>,
}

impl Runner {
    /// Keeps what the driver asked for: sensitive values join the redactor first, extra evidence
    /// files are written (redacted) under `driver/`, the tool's events are appended (redacted) to
    /// `events.jsonl`, artifacts go to the content-addressed store.
    pub(crate) async fn keep_driver_files(
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
            // Registered in the ledger with the attempt's final event, once the evidence seal
            // has made the blob durable too.
            kept.push(artifact);
        }
        for (name, fields) in &verdict.events {
            event_line(
                events,
                name,
                redactor.redact_json(&Value::Object(fields.clone())),
            );
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

    pub(crate) async fn driver_phase(
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
        // A stack member waits here for its concurrency slot: its run record and evidence folder
        // are written by now, its work dir and tool come under the slot (`stack_slots.rs`).
        if let Some(slot) = &plan.options.slot
            && !slot.is_granted()
        {
            self.progress.event(&RunEvent::Phase {
                name: "waiting for a slot",
            });
            if let Err(refused) = slot.acquire(&plan.options.cancel).await {
                return Ok(DriverPhase::not_started(refused));
            }
        }
        self.progress.event(&RunEvent::Phase { name: "driver" });
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
            view: None,
            stderr_view: None,
        };
        let deadline = Instant::now() + Duration::from_millis(request.execution.timeout_ms);
        let mut env_names: BTreeSet<String> = BTreeSet::new();
        let mut last_exit = None;
        // Every way out of the step loop (a verdict, a stop, a driver or step error) finishes
        // driver.log below, so the evidence always seals.
        let driven: Result<Result<Verdict, (AttemptStatus, AttemptFailure)>, AttemptFailure> =
            async {
                let mut next = driver.start(&ctx).map_err(driver_error)?;
                let mut step_no = 0u32;
                loop {
                    let step = match next {
                        Next::Done(verdict) => return Ok(Ok(*verdict)),
                        Next::Run(step) => *step,
                    };
                    step_no += 1;
                    let ran = self
                        .run_step(
                            plan, attempt, step_no, &step, &io_dir, deadline, secrets, &mut sink,
                            events,
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
                    last_exit = outcome.step.exit_code;
                    match outcome.stop {
                        Some(status) => {
                            // Timed out or cancelled: the driver gets to clean up, the status is ours.
                            let _ = driver.after(&ctx, outcome.step);
                            return Ok(Err(status));
                        }
                        None => next = driver.after(&ctx, outcome.step).map_err(driver_error)?,
                    }
                }
            }
            .await;
        // The driver's deferred write (packer-state.json) runs from here on, beside the rest
        // of the attempt, which waits for it before its verdict (`Deferred::settle`).
        let deferred = driver.take_deferred().map(|d| Deferred {
            failure: d.failure,
            task: tokio::task::spawn_blocking(d.write),
        });
        let DriverLogSink { log, error, .. } = sink;
        let concluded = conclude_driver(
            driven,
            error,
            log.finish(),
            last_exit,
            env_names,
            request.driver,
        );
        match concluded {
            Ok(phase) => Ok(DriverPhase { deferred, ..phase }),
            Err(failure) => {
                // The attempt errs anyway; the write is still waited for, not cut off.
                if let Some(deferred) = deferred {
                    let _ = deferred.task.await;
                }
                Err(failure)
            }
        }
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
        // The `driver` phase itself is reported once per attempt (attempt.rs); each step is its
        // own event so plain output shows every step exactly once.
        self.progress.event(&RunEvent::Step {
            n: step_no,
            name: step.name.clone(),
        });
        sink.capture = step.capture_stdout.then(Vec::new);
        sink.view = step.show_captured;
        sink.stderr_view = step.stderr_view;
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
                    // Not awaited here: the tool runs meanwhile. The attempt's final event
                    // waits for it (`AttemptPlan::tool_records`); recovery reads the pid file
                    // too.
                    let ledger = self.ledger.clone();
                    let run_id = plan.run_id.to_owned();
                    // The runner's first tool also folds a grown WAL into the ledger file while
                    // it runs (`Ledger::fold_wal`), before the pid commit, which then rewrites
                    // the WAL header off the attempt's path too.
                    let fold = !self.wal_folded.swap(true, Ordering::AcqRel);
                    let records = tokio::spawn(async move {
                        if fold && let Err(e) = ledger.fold_wal(FOLD_WAL_FROM_BYTES).await {
                            tracing::debug!("the ledger's WAL was not folded: {e}");
                        }
                        let _ = ledger.set_attempt_pid(&run_id, attempt, pid).await;
                    });
                    *plan
                        .tool_records
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(records);
                }
            }
        };
        let (outcome, ()) = tokio::join!(hyops_process::run(&spec, io), record_pid);
        // Emptied, not removed (see `blank_file`): an empty pid file names no process.
        hyops_drivers::blank_file(&pid_file);
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
            },
            env_names,
        ))
    }
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

//! One stack member's turn: decide whether it runs, is reused (`--affected`) or cannot run
//! (upstream values missing, or of the wrong shape), and record members that never started in
//! the ledger; wiring a member run on its own from its producers' last PASS.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hyops_contract::{AttemptStatus, RunRequest};
use hyops_drivers::Stage;
use hyops_store::{AttemptEvent, NewAttempt, NewRun};
use serde_json::{Map, Value};

use crate::attempt_record::canonical_bytes;
use crate::error::RunError;
use crate::progress::Progress;
use crate::run::{Runner, now_ms, stage_name};
use crate::stack_input_check::check_wired_inputs;
use crate::stack_run::{MemberReport, StackMemberPlan};
use crate::stack_wiring::{UpstreamOutputs, Wired, WiringError, wire, wired_producers};

/// The code a stack destroy records for a member it did not run because what the member made
/// went with the members it depends on (a playbook's configuration with its hosts): its last
/// PASS counts as destroyed, so it is neither read nor reused afterwards.
pub const GONE_WITH_PRODUCERS: &str = "hyops::stack::gone_with_producers";

/// What to do with a member whose dependencies all passed.
pub(crate) enum Turn {
    /// Run it with this wired request.
    Run(Box<Wired>, String),
    /// Its last PASS has the same fingerprint: reuse its outputs.
    Reuse(Box<MemberReport>, UpstreamOutputs),
    /// It must not start: `skipped` (upstream values missing) or `errored` (a wired value does
    /// not fit its input schema), with the reason.
    NotStarted(AttemptStatus, String),
    /// A destroy with nothing to do (its driver keeps no state, e.g. a packer image, or it was
    /// never applied): recorded `skipped` with the reason, and the members it waits for go on
    /// as after a pass. `gone`: what it made goes with the members it depends on (a playbook's
    /// configuration with its hosts), so its last PASS counts as destroyed.
    NothingToDestroy {
        /// Why.
        reason: String,
        /// Its last PASS is destroyed with its producers.
        gone: bool,
    },
}

/// A target's newest PASS in an environment, as its consumers may read it.
pub(crate) enum LastPass {
    /// None recorded.
    Never,
    /// A destroy ran after it (run `by`): its outputs describe resources that are gone. Only a
    /// destroy reads them (to tear down what was applied with them).
    Destroyed {
        outputs: UpstreamOutputs,
        by: String,
    },
    /// Its outputs stand.
    Current(UpstreamOutputs),
}

impl LastPass {
    /// The outputs a consumer at `stage` may read.
    fn readable(self, stage: Stage) -> Option<UpstreamOutputs> {
        match self {
            LastPass::Current(up) => Some(up),
            LastPass::Destroyed { outputs, .. } if stage == Stage::Destroy => Some(outputs),
            LastPass::Destroyed { .. } | LastPass::Never => None,
        }
    }
}

/// Producers whose last PASS a destroy has removed since: producer -> [`destroyed_since`].
type DestroyedProducers = BTreeMap<String, String>;

/// `last PASS (run …) was destroyed since by run …`, the one wording of every refusal and rerun
/// it causes.
fn destroyed_since(run: &str, by: &str) -> String {
    format!("last PASS (run {run}) was destroyed since by run {by}")
}

impl Runner {
    /// A runner over the same state that reports progress to `progress` (one per member, so
    /// parallel members' lines carry their own prefix).
    pub fn with_member_progress(&self, progress: Arc<dyn Progress>) -> Runner {
        Runner {
            layout: self.layout.clone(),
            ledger: self.ledger.clone(),
            artifacts: self.artifacts.clone(),
            host: self.host.clone(),
            progress,
            durability: self.durability,
            wal_folded: Arc::clone(&self.wal_folded),
        }
    }

    /// Wires a stack member run on its own (`hyops run STACK.MEMBER`): every wired input gets
    /// the value its producer published in its last PASS in this environment, then the values
    /// are checked against `input_schemas` (input name -> JSON Schema). Refuses, naming the
    /// producer, when one has no PASS here or when only a secret output would do (secret values
    /// are never stored). A request without wired inputs is returned unchanged.
    pub async fn wire_from_last_pass(
        &self,
        member: &str,
        request: &RunRequest,
        stage: Stage,
        input_schemas: &BTreeMap<String, Value>,
    ) -> Result<Wired, RunError> {
        let env = &request.environment.name;
        let refuse = |problem: String| RunError::Wiring {
            target: request.target.clone(),
            env: env.clone(),
            problem,
        };
        let stack = request.target.split_once('.').map_or("", |(s, _)| s);
        let (last, destroyed) = self.last_passes(request, stage).await?;
        let wired = wire(request, &last).map_err(|e| match &e {
            WiringError::NotProduced { input, producer } => {
                let why = match destroyed.get(producer) {
                    Some(destroyed) => format!("whose {destroyed}"),
                    None => format!("which has no PASS in `{env}`"),
                };
                refuse(format!(
                    "input `{input}` is wired from member `{producer}`, {why} (no PASS, no read)\nhelp: run the producer first (`hyops run {stack}.{producer} --env {env}`), or the whole stack (`hyops run {stack} --env {env}`)"
                ))
            }
            _ => refuse(e.to_string()),
        })?;
        if let Some(name) = wired.secrets.keys().next() {
            return Err(refuse(format!(
                "input wired from secret output `{name}`, whose value is never stored\nhelp: run the whole stack (`hyops run {stack} --env {env}`) so the producer hands the secret over in memory"
            )));
        }
        check_wired_inputs(member, request, &wired.request, input_schemas)
            .map_err(|e| refuse(e.to_string()))?;
        Ok(wired)
    }

    /// The last PASS in the request's environment of every producer its wired inputs read, as
    /// a consumer at `stage` may read it, and the producers whose last PASS was destroyed since.
    async fn last_passes(
        &self,
        request: &RunRequest,
        stage: Stage,
    ) -> Result<(BTreeMap<String, UpstreamOutputs>, DestroyedProducers), RunError> {
        let stack = request.target.split_once('.').map_or("", |(s, _)| s);
        let mut last = BTreeMap::new();
        let mut destroyed = BTreeMap::new();
        for producer in wired_producers(request) {
            let target = format!("{stack}.{producer}");
            let pass = self.last_pass(&target, &request.environment.name).await?;
            if let LastPass::Destroyed { outputs, by } = &pass {
                destroyed.insert(producer.clone(), destroyed_since(&outputs.run_id, by));
            }
            if let Some(up) = pass.readable(stage) {
                last.insert(producer, up);
            }
        }
        Ok((last, destroyed))
    }

    /// Wires `member` and decides its turn. `produced` holds the outputs of members that passed
    /// in this run; plan and destroy read wired values from each producer's last PASS in this
    /// environment instead (nothing is produced by planning or destroying).
    pub(crate) async fn member_turn(
        &self,
        member: &StackMemberPlan,
        stage: Stage,
        affected: bool,
        produced: &BTreeMap<String, UpstreamOutputs>,
    ) -> Result<Turn, RunError> {
        let request = &member.request;
        let env = &request.environment.name;
        if stage == Stage::Destroy
            && let Some(why) = hyops_drivers::nothing_to_destroy(request.driver)
        {
            return Ok(Turn::NothingToDestroy {
                reason: why.to_owned(),
                gone: hyops_drivers::destroyed_with_producers(request.driver),
            });
        }
        let (wired, destroyed) = if stage == Stage::Apply {
            (wire(request, produced), BTreeMap::new())
        } else {
            let (last, destroyed) = self.last_passes(request, stage).await?;
            (wire(request, &last), destroyed)
        };
        let skip = |reason: String| Turn::NotStarted(AttemptStatus::Skipped, reason);
        let wired = match wired {
            Ok(w) => w,
            Err(WiringError::NotProduced { producer, .. }) if destroyed.contains_key(&producer) => {
                let destroyed = &destroyed[&producer];
                return Ok(skip(format!(
                    "depends on outputs of member `{producer}`, whose {destroyed}"
                )));
            }
            // A destroy reads even destroyed outputs, so a producer without any: the member
            // could never have been applied with its wired inputs (stack runs gate on them).
            Err(e @ WiringError::NotProduced { .. }) if stage == Stage::Destroy => {
                return Ok(Turn::NothingToDestroy {
                    reason: format!("nothing to destroy: never applied in {env} ({e})"),
                    gone: false,
                });
            }
            Err(e @ WiringError::NotProduced { .. }) if stage != Stage::Apply => {
                return Ok(skip(format!("depends on outputs not yet produced: {e}")));
            }
            Err(e) => return Ok(skip(format!("cannot wire inputs: {e}"))),
        };
        if let Err(e) =
            check_wired_inputs(&member.name, request, &wired.request, &member.input_schemas)
        {
            return Ok(Turn::NotStarted(AttemptStatus::Errored, e.to_string()));
        }
        if stage != Stage::Apply {
            return Ok(Turn::Run(Box::new(wired), "ran".to_owned()));
        }
        // Only `--affected` compares with the last PASS: without it, a ledger read per member
        // on the scheduler's path for nothing.
        let last = match affected {
            true => self.last_pass(&request.target, env).await?,
            false => LastPass::Never,
        };
        let last = match last {
            LastPass::Destroyed { outputs, by } => {
                let why = format!("ran: its {}", destroyed_since(&outputs.run_id, &by));
                return Ok(Turn::Run(Box::new(wired), why));
            }
            other => other.readable(stage),
        };
        let why = match &last {
            None if affected => "ran: no PASS recorded in this environment".to_owned(),
            Some(up) if affected && up.fingerprint == wired.request.fingerprint => {
                if request.publish.values().any(|p| p.secret) {
                    "ran: unchanged, but secret outputs are never stored, so they must be produced afresh"
                        .to_owned()
                } else {
                    let report = MemberReport {
                        member: member.name.clone(),
                        target: request.target.clone(),
                        status: AttemptStatus::Passed,
                        attempts: 0,
                        duration_ms: 0,
                        waited_ms: 0,
                        reused: true,
                        run_id: Some(up.run_id.clone()),
                        fingerprint: wired.request.fingerprint.clone(),
                        reason: format!("reused: fingerprint unchanged since run {}", up.run_id),
                        outputs: Some(up.values.clone()),
                        nothing_to_do: false,
                    };
                    let up = up.clone();
                    return Ok(Turn::Reuse(Box::new(report), up));
                }
            }
            Some(up) if affected => {
                format!(
                    "ran: fingerprint changed since last PASS (run {})",
                    up.run_id
                )
            }
            _ => "ran".to_owned(),
        };
        Ok(Turn::Run(Box::new(wired), why))
    }

    /// The newest PASS of `target` in `env` and whether a destroy ran since (secret outputs are
    /// stored as placeholders, so they are marked secret and never wired from here).
    async fn last_pass(&self, target: &str, env: &str) -> Result<LastPass, RunError> {
        let read = || RunError::store(format!("read the last PASS of {target}@{env}"));
        let Some(p) = self
            .ledger
            .latest_passed_outputs(target, env)
            .await
            .map_err(read())?
        else {
            return Ok(LastPass::Never);
        };
        let destroyed_by = self
            .destroyed_after(target, env, &p)
            .await
            .map_err(read())?;
        let values: Map<String, Value> = serde_json::from_str(&p.outputs_json).unwrap_or_default();
        let secret: BTreeSet<String> = values
            .iter()
            .filter(|(name, v)| {
                v.as_str() == Some(crate::outputs::redaction_placeholder(name).as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        let outputs = UpstreamOutputs {
            target: target.to_owned(),
            run_id: p.run_id,
            fingerprint: p.fingerprint,
            values,
            secret,
        };
        Ok(match destroyed_by {
            Some(by) => LastPass::Destroyed { outputs, by },
            None => LastPass::Current(outputs),
        })
    }

    /// The run that destroyed what `passed` published, if any ran after it: a destroy whose
    /// tool started, or one recorded [`GONE_WITH_PRODUCERS`].
    pub async fn destroyed_after(
        &self,
        target: &str,
        env: &str,
        passed: &hyops_store::PassedOutputs,
    ) -> Result<Option<String>, hyops_store::StoreError> {
        let stage = stage_name(Stage::Destroy);
        self.ledger
            .destroyed_after(target, env, passed, stage, GONE_WITH_PRODUCERS)
            .await
    }

    /// Records a member whose process never started: a run with one attempt whose only status
    /// is `status` (`skipped`, or `errored` when a wired value did not fit its input schema),
    /// with `code` (by default `hyops::stack::skipped` or `hyops::stack::input_mismatch`).
    pub(crate) async fn record_not_started(
        &self,
        request: &RunRequest,
        stage: Stage,
        status: AttemptStatus,
        reason: &str,
        code: Option<&str>,
    ) -> Result<String, RunError> {
        // The unwired request holds templates and secret references only, never values.
        let request_json = String::from_utf8_lossy(&canonical_bytes(
            &serde_json::to_value(request).unwrap_or_default(),
        ))
        .into_owned();
        let run = self
            .ledger
            .create_run(&NewRun {
                target: request.target.clone(),
                env: request.environment.name.clone(),
                fingerprint: request.fingerprint.clone(),
                stage: stage_name(stage).to_owned(),
                request_json,
                created_at_ms: now_ms(),
            })
            .await
            .map_err(RunError::store("record a member that never started"))?;
        self.ledger
            .start_attempt(&NewAttempt {
                run_id: run.run_id.clone(),
                attempt: 1,
                host: self.host.clone(),
                runner_pid: std::process::id(),
                evidence_path: None,
                at_ms: now_ms(),
            })
            .await
            .map_err(RunError::store("record a member that never started"))?;
        let mut event = AttemptEvent::new(status, now_ms());
        let default = if status == AttemptStatus::Skipped {
            "hyops::stack::skipped"
        } else {
            "hyops::stack::input_mismatch"
        };
        event.error_code = Some(code.unwrap_or(default).to_owned());
        event.message = Some(reason.to_owned());
        event.retryable = Some(false);
        self.ledger
            .append_event(&run.run_id, 1, &event)
            .await
            .map_err(RunError::store("record a member that never started"))?;
        Ok(run.run_id)
    }
}

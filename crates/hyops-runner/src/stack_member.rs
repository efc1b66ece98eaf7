//! One stack member's turn: decide whether it runs, is reused (`--affected`) or cannot run
//! (upstream values missing), and record members that never ran as `skipped` in the ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hyops_contract::{AttemptStatus, RunRequest};
use hyops_drivers::Stage;
use hyops_store::{AttemptEvent, NewAttempt, NewRun};
use serde_json::{Map, Value};

use crate::attempt::canonical_bytes;
use crate::error::RunError;
use crate::progress::Progress;
use crate::run::{Runner, now_ms, stage_name};
use crate::stack_run::MemberReport;
use crate::stack_wiring::{UpstreamOutputs, Wired, WiringError, wire, wired_producers};

/// What to do with a member whose dependencies all passed.
pub(crate) enum Turn {
    /// Run it with this wired request.
    Run(Box<Wired>, String),
    /// Its last PASS has the same fingerprint: reuse its outputs.
    Reuse(Box<MemberReport>, UpstreamOutputs),
    /// It cannot run (upstream values missing): record it skipped with this reason.
    Skip(String),
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
        }
    }

    /// Wires `request` and decides the member's turn. `produced` holds the outputs of members
    /// that passed in this run; plan and destroy read wired values from each producer's last
    /// PASS in this environment instead (nothing is produced by planning or destroying).
    pub(crate) async fn member_turn(
        &self,
        member: &str,
        request: &RunRequest,
        stage: Stage,
        affected: bool,
        produced: &BTreeMap<String, UpstreamOutputs>,
    ) -> Result<Turn, RunError> {
        let env = &request.environment.name;
        let wired = if stage == Stage::Apply {
            wire(request, produced)
        } else {
            let stack = request.target.split_once('.').map_or("", |(s, _)| s);
            let mut last = BTreeMap::new();
            for producer in wired_producers(request) {
                if let Some(up) = self.last_pass(&format!("{stack}.{producer}"), env).await? {
                    last.insert(producer, up);
                }
            }
            wire(request, &last)
        };
        let wired = match wired {
            Ok(w) => w,
            Err(e @ WiringError::NotProduced { .. }) if stage != Stage::Apply => {
                return Ok(Turn::Skip(format!(
                    "depends on outputs not yet produced: {e}"
                )));
            }
            Err(e) => return Ok(Turn::Skip(format!("cannot wire inputs: {e}"))),
        };
        if stage != Stage::Apply {
            return Ok(Turn::Run(Box::new(wired), "ran".to_owned()));
        }
        let last = self.last_pass(&request.target, env).await?;
        let why = match &last {
            None if affected => "ran: no PASS recorded in this environment".to_owned(),
            Some(up) if affected && up.fingerprint == wired.request.fingerprint => {
                if request.publish.values().any(|p| p.secret) {
                    "ran: unchanged, but secret outputs are never stored, so they must be produced afresh"
                        .to_owned()
                } else {
                    let report = MemberReport {
                        member: member.to_owned(),
                        target: request.target.clone(),
                        status: AttemptStatus::Passed,
                        attempts: 0,
                        duration_ms: 0,
                        reused: true,
                        run_id: Some(up.run_id.clone()),
                        fingerprint: wired.request.fingerprint.clone(),
                        reason: format!("reused: fingerprint unchanged since run {}", up.run_id),
                        outputs: Some(up.values.clone()),
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

    /// The outputs of the newest PASS of `target` in `env` (secret ones are stored as
    /// placeholders, so they are marked secret and never wired from here).
    async fn last_pass(
        &self,
        target: &str,
        env: &str,
    ) -> Result<Option<UpstreamOutputs>, RunError> {
        let Some(p) = self
            .ledger
            .latest_passed_outputs(target, env)
            .await
            .map_err(RunError::store(format!(
                "read the last PASS of {target}@{env}"
            )))?
        else {
            return Ok(None);
        };
        let values: Map<String, Value> = serde_json::from_str(&p.outputs_json).unwrap_or_default();
        let secret: BTreeSet<String> = values
            .iter()
            .filter(|(name, v)| {
                v.as_str() == Some(crate::outputs::redaction_placeholder(name).as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        Ok(Some(UpstreamOutputs {
            target: target.to_owned(),
            run_id: p.run_id,
            fingerprint: p.fingerprint,
            values,
            secret,
        }))
    }

    /// Records a member that never ran: a run with one attempt whose only status is `skipped`.
    pub(crate) async fn record_skipped(
        &self,
        request: &RunRequest,
        stage: Stage,
        reason: &str,
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
            .map_err(RunError::store("record a skipped member"))?;
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
            .map_err(RunError::store("record a skipped member"))?;
        let mut event = AttemptEvent::new(AttemptStatus::Skipped, now_ms());
        event.error_code = Some("hyops::stack::skipped".to_owned());
        event.message = Some(reason.to_owned());
        event.retryable = Some(false);
        self.ledger
            .append_event(&run.run_id, 1, &event)
            .await
            .map_err(RunError::store("record a skipped member"))?;
        Ok(run.run_id)
    }
}

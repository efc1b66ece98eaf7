//! The stack scheduler: members as a petgraph DAG, started in a deterministic order (Kahn over a
//! `BTreeSet` ready-set, by member name), in parallel up to `--concurrency` and each profile's
//! `execution.concurrency` (slots: `stack_slots.rs`). A member starts only when every member it
//! depends on PASSED in this run (invariant 5); members that never run are recorded `skipped`
//! with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use hyops_contract::{AttemptStatus, RunRequest};
use hyops_drivers::Stage;
use hyops_store::{Holder, LockError};
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use crate::error::RunError;
use crate::progress::Progress;
use crate::run::{RunOptions, RunReport, Runner, now_ms};
use crate::stack_member::{GONE_WITH_PRODUCERS, Turn};
use crate::stack_slots::Slots;
use crate::stack_wiring::UpstreamOutputs;
use crate::work_dirs::{DeferredRemovals, RemoveOnDrop};

/// One member to schedule.
#[derive(Debug, Clone)]
pub struct StackMemberPlan {
    /// Member name.
    pub name: String,
    /// Its resolved request; wired inputs still hold their templates.
    pub request: RunRequest,
    /// Members it depends on (wiring and `depends_on`).
    pub depends_on: BTreeSet<String>,
    /// Input name -> JSON Schema of its module, for the wired inputs; wired values are checked
    /// against these before the member starts.
    pub input_schemas: BTreeMap<String, Value>,
}

/// A stack resolved for one environment.
#[derive(Debug, Clone)]
pub struct StackPlan {
    /// Stack name.
    pub stack: String,
    /// Environment name.
    pub env: String,
    /// Every member.
    pub members: Vec<StackMemberPlan>,
}

/// How to run a stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Per-member run options (`stage` decides apply, plan or destroy; destroy runs in reverse).
    pub run: RunOptions,
    /// Members whose tools and probes run at once (at least 1; see `stack_slots.rs`).
    pub concurrency: usize,
    /// Keep starting members independent of a failure instead of stopping (fail-fast).
    pub keep_going: bool,
    /// Reuse a member whose fingerprint equals its last PASS in this environment.
    pub affected: bool,
}

/// What happened to one member.
#[derive(Debug, Clone, Serialize)]
pub struct MemberReport {
    /// Member name.
    pub member: String,
    /// `STACK.MEMBER`.
    pub target: String,
    /// Final status (`passed` also when reused).
    pub status: AttemptStatus,
    /// Attempts made in this run (0 when reused or skipped).
    pub attempts: u32,
    /// Wall time in this run, from its concurrency slot to its verdict.
    pub duration_ms: u64,
    /// Time it was admitted (its run recorded) but waited for a concurrency slot.
    pub waited_ms: u64,
    /// Its last PASS was reused (`--affected`).
    pub reused: bool,
    /// The run recorded for it (the reused run when reused).
    pub run_id: Option<String>,
    /// The fingerprint it ran (or would have run) with.
    pub fingerprint: String,
    /// Why it ran, was reused, failed or was skipped.
    pub reason: String,
    /// Published outputs (redacted), when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Map<String, Value>>,
    /// Skipped because a destroy had nothing to do: its driver keeps no state (packer, ansible),
    /// or it was never applied in this environment.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nothing_to_do: bool,
}

/// What a stack run did, members in the order they finished being decided.
#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    /// Stack name.
    pub stack: String,
    /// Environment.
    pub env: String,
    /// Every member.
    pub members: Vec<MemberReport>,
}

impl StackReport {
    /// Whether the stack did what `stage` asks: every member passed (or was reused); for a plan,
    /// members waiting for outputs not yet produced may be skipped (an expected plan result; a
    /// member skipped after a failure comes with that failure); for a destroy, members with
    /// nothing to destroy may be skipped.
    pub fn succeeded(&self, stage: Stage) -> bool {
        self.members.iter().all(|m| match (stage, m.status) {
            (_, AttemptStatus::Passed) => true,
            (Stage::Plan, AttemptStatus::Skipped) => true,
            (Stage::Destroy, AttemptStatus::Skipped) => m.nothing_to_do,
            _ => false,
        })
    }

    /// Whether every member passed (or was reused).
    pub fn passed(&self) -> bool {
        self.members
            .iter()
            .all(|m| m.status == AttemptStatus::Passed)
    }
}

/// Receives a stack run's progress. Called from the scheduler's task; keep it quick.
pub trait StackProgress: Send + Sync {
    /// The progress sink for one member's run events.
    fn member_progress(&self, member: &str) -> Arc<dyn Progress>;
    /// A member starts (or is reused); `why` says which and why.
    fn member_started(&self, member: &str, why: &str);
    /// A member's verdict is known.
    fn member_finished(&self, report: &MemberReport);
}

struct Graph {
    graph: DiGraph<usize, ()>,
    nodes: Vec<NodeIndex>,
    by_name: BTreeMap<String, usize>,
}

/// Edges point from the member that must finish first; destroy reverses them.
fn build_graph(plan: &StackPlan, reverse: bool) -> Result<Graph, String> {
    let mut graph = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..plan.members.len()).map(|i| graph.add_node(i)).collect();
    let by_name: BTreeMap<String, usize> = plan
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    for (i, m) in plan.members.iter().enumerate() {
        for dep in &m.depends_on {
            let Some(&d) = by_name.get(dep) else {
                return Err(format!(
                    "member `{}` depends on unknown member `{dep}`",
                    m.name
                ));
            };
            let (from, to) = if reverse { (i, d) } else { (d, i) };
            graph.update_edge(nodes[from], nodes[to], ());
        }
    }
    if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
        return Err(format!(
            "member `{}` is part of a cycle",
            plan.members[graph[cycle.node_id()]].name
        ));
    }
    Ok(Graph {
        graph,
        nodes,
        by_name,
    })
}

/// A member's index, its run, and its milliseconds (from its slot to its verdict, waiting for the
/// slot).
type MemberDone = (usize, Result<RunReport, RunError>, (u64, u64));

impl Runner {
    /// Runs every member of `plan` in dependency order (reverse order for destroy), gated on
    /// PASS, and returns each member's verdict. Errors only when the ledger fails.
    ///
    /// Members commit their verdicts without an fsync of their own (a dependent's synced
    /// write-ahead commit carries them to disk first); the ledger is synced before this returns,
    /// whatever the outcome.
    pub async fn run_stack(
        &self,
        plan: &StackPlan,
        options: &StackOptions,
        progress: Arc<dyn StackProgress>,
    ) -> Result<StackReport, RunError> {
        // One run of a stack at a time per environment: two interleaved stack runs could re-apply
        // a producer while the other's consumers run on its previous outputs. Members still
        // take their own (target, env) locks.
        let key = format!("stack:{}", plan.stack);
        let holder = Holder {
            run_id: format!("{key}:{}:{}", std::process::id(), now_ms()),
            pid: std::process::id(),
            host: self.host.clone(),
        };
        self.lock_target(&key, &plan.env, &holder, &options.run)
            .await
            .map_err(|e| match e {
                RunError::Locked(LockError::Held {
                    holder: other,
                    acquired_at_ms,
                    ..
                }) => RunError::StackBusy {
                    stack: plan.stack.clone(),
                    env: plan.env.clone(),
                    pid: other.pid,
                    host: other.host,
                    since_ms: acquired_at_ms,
                },
                other => other,
            })?;
        let report = self.schedule_stack(plan, options, progress).await;
        let released = self
            .ledger
            .release_lock(&key, &plan.env, &holder.run_id)
            .await
            .map_err(RunError::store("release the stack's lock"));
        let synced = self
            .ledger
            .sync()
            .await
            .map_err(RunError::store("sync the ledger after the stack"));
        let report = report?;
        released?;
        synced?;
        Ok(report)
    }

    async fn schedule_stack(
        &self,
        plan: &StackPlan,
        options: &StackOptions,
        progress: Arc<dyn StackProgress>,
    ) -> Result<StackReport, RunError> {
        let stage = options.run.stage;
        // Once for the whole stack; members skip it (RunOptions::recovered).
        self.recover().await?;
        // Passed members' work dirs go after the last member, however the stack ends.
        let removals = DeferredRemovals::default();
        let _remove_at_end = RemoveOnDrop(removals.clone());
        let g =
            build_graph(plan, stage == Stage::Destroy).map_err(|problem| RunError::StackGraph {
                stack: plan.stack.clone(),
                problem,
            })?;
        let n = plan.members.len();
        let mut waiting_on: Vec<usize> = g
            .nodes
            .iter()
            .map(|&ix| g.graph.neighbors_directed(ix, Direction::Incoming).count())
            .collect();
        let mut ready: BTreeSet<String> = plan
            .members
            .iter()
            .enumerate()
            .filter(|(i, _)| waiting_on[*i] == 0)
            .map(|(_, m)| m.name.clone())
            .collect();
        let mut reports: Vec<Option<MemberReport>> = vec![None; n];
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let mut produced: BTreeMap<String, UpstreamOutputs> = BTreeMap::new();
        let mut slots = Slots::new(options.concurrency, n);
        let mut running: JoinSet<MemberDone> = JoinSet::new();
        let mut task_member: BTreeMap<tokio::task::Id, usize> = BTreeMap::new();
        let mut why_ran: Vec<String> = vec![String::new(); n];
        let mut stopped_by: Option<String> = None;

        loop {
            let halted = stopped_by.is_some() || options.run.cancel.is_cancelled();
            if !halted {
                for name in ready.clone() {
                    if !slots.free(running.len()) {
                        break;
                    }
                    let i = g.by_name[&name];
                    if slots.profile_full(&plan.members[i]) {
                        continue;
                    }
                    ready.remove(&name);
                    match self
                        .member_turn(&plan.members[i], stage, options.affected, &produced)
                        .await?
                    {
                        // Never started: only its verdict is reported.
                        Turn::Reuse(report, up) => {
                            produced.insert(name.clone(), up);
                            progress.member_finished(&report);
                            reports[i] = Some(*report);
                            order.push(i);
                            release(&g, i, &mut waiting_on, &mut ready, &plan.members);
                        }
                        Turn::NothingToDestroy { reason, gone } => {
                            let code = gone.then_some(GONE_WITH_PRODUCERS);
                            let mut report = self
                                .not_started(
                                    &plan.members[i],
                                    stage,
                                    AttemptStatus::Skipped,
                                    reason,
                                    code,
                                )
                                .await?;
                            report.nothing_to_do = true;
                            progress.member_finished(&report);
                            reports[i] = Some(report);
                            order.push(i);
                            release(&g, i, &mut waiting_on, &mut ready, &plan.members);
                        }
                        Turn::NotStarted(status, reason) => {
                            let report = self
                                .not_started(&plan.members[i], stage, status, reason, None)
                                .await?;
                            progress.member_finished(&report);
                            reports[i] = Some(report);
                            order.push(i);
                            if !options.keep_going {
                                slots.halt(stopped_by.get_or_insert(name.clone()));
                            }
                        }
                        Turn::Run(wired, why) => {
                            progress.member_started(&name, &why);
                            why_ran[i] = why;
                            let runner = self.with_member_progress(progress.member_progress(&name));
                            let mut run_options = options.run.clone();
                            run_options.upstream_secrets = wired.secrets;
                            run_options.deferred_removals = Some(removals.clone());
                            run_options.recovered = true;
                            run_options.defer_ledger_sync = true;
                            let slot = slots.admit(i, &plan.members[i]);
                            run_options.slot = Some(slot.clone());
                            let request = wired.request;
                            let handle = running.spawn(async move {
                                let started = Instant::now();
                                let result = runner.run(&request, &run_options).await;
                                let waited = slot.waited_since(started);
                                let ms = |d: std::time::Duration| {
                                    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
                                };
                                let ran = started.elapsed().saturating_sub(waited);
                                (i, result, (ms(ran), ms(waited)))
                            });
                            task_member.insert(handle.id(), i);
                        }
                    }
                }
            }
            if running.is_empty() {
                let halted = stopped_by.is_some() || options.run.cancel.is_cancelled();
                if ready.is_empty() || halted {
                    break;
                }
                continue;
            }
            let joined = tokio::select! {
                biased;
                Some(i) = slots.next_freed() => {
                    slots.give_back(i, &plan.members[i]);
                    continue;
                }
                joined = running.join_next_with_id() => joined,
            };
            let Some(joined) = joined else {
                continue;
            };
            let (i, result, (ms, waited_ms)) = match joined {
                Ok((_, done)) => done,
                Err(e) => {
                    // A member's task panicked: a bug, but the other members' records stay whole.
                    let i = task_member.get(&e.id()).copied().unwrap_or(0);
                    (
                        i,
                        Err(RunError::StackGraph {
                            stack: plan.stack.clone(),
                            problem: format!("member task failed: {e}"),
                        }),
                        (0, 0),
                    )
                }
            };
            let member = &plan.members[i];
            let report = match result {
                Ok(run) => {
                    let last = run.attempts.last();
                    let status = run.status();
                    if status == AttemptStatus::Passed
                        && let Some(published) = last.and_then(|a| a.published.as_ref())
                    {
                        produced.insert(
                            member.name.clone(),
                            UpstreamOutputs {
                                target: run.run.target.clone(),
                                run_id: run.run.run_id.clone(),
                                fingerprint: run.run.fingerprint.clone(),
                                values: published.values(),
                                secret: published
                                    .outputs()
                                    .iter()
                                    .filter(|(_, o)| o.secret)
                                    .map(|(k, _)| k.clone())
                                    .collect(),
                            },
                        );
                    }
                    let reason = match last.and_then(|a| a.failure.as_ref()) {
                        Some(f) if status != AttemptStatus::Passed => {
                            f.message.lines().next().unwrap_or_default().to_owned()
                        }
                        _ => why_ran[i].clone(),
                    };
                    MemberReport {
                        member: member.name.clone(),
                        target: run.run.target.clone(),
                        status,
                        attempts: u32::try_from(run.attempts.len()).unwrap_or(u32::MAX),
                        duration_ms: ms,
                        waited_ms,
                        reused: false,
                        run_id: Some(run.run.run_id.clone()),
                        fingerprint: run.run.fingerprint.clone(),
                        reason,
                        outputs: last.and_then(|a| a.outputs.clone()),
                        nothing_to_do: false,
                    }
                }
                Err(e) => MemberReport {
                    member: member.name.clone(),
                    target: member.request.target.clone(),
                    status: AttemptStatus::Errored,
                    attempts: 0,
                    duration_ms: ms,
                    waited_ms,
                    reused: false,
                    run_id: None,
                    fingerprint: member.request.fingerprint.clone(),
                    reason: e.to_string().lines().next().unwrap_or_default().to_owned(),
                    outputs: None,
                    nothing_to_do: false,
                },
            };
            let passed = report.status == AttemptStatus::Passed;
            progress.member_finished(&report);
            reports[i] = Some(report);
            order.push(i);
            if passed {
                release(&g, i, &mut waiting_on, &mut ready, &plan.members);
            } else if !options.keep_going {
                slots.halt(stopped_by.get_or_insert(member.name.clone()));
            }
            // After the halt: a member waiting for a slot must not take this one first.
            slots.give_back(i, member);
        }
        // Members never started, in dependency order so an upstream reason is known first.
        let topo = petgraph::algo::toposort(&g.graph, None).unwrap_or_default();
        for ix in topo {
            let i = g.graph[ix];
            if reports[i].is_some() {
                continue;
            }
            let blocked = g
                .graph
                .neighbors_directed(ix, Direction::Incoming)
                .map(|d| g.graph[d])
                .filter_map(|d| reports[d].as_ref())
                .filter(|r| r.status != AttemptStatus::Passed)
                .min_by(|a, b| a.member.cmp(&b.member));
            let reason = match (blocked, &stopped_by) {
                // A destroy runs dependents first: what blocks a member is a dependent that
                // still stands because its own destroy did not pass (or never started). The
                // root cause is kept along a chain of members left standing.
                (Some(r), _)
                    if stage == Stage::Destroy
                        && r.status == AttemptStatus::Skipped
                        && r.reason.starts_with(NOT_DESTROYED) =>
                {
                    r.reason.clone()
                }
                (Some(r), _) if stage == Stage::Destroy => format!(
                    "{NOT_DESTROYED} dependent {} {} (it may still use this member)",
                    r.member,
                    verb(r.status)
                ),
                (Some(r), _) if r.status == AttemptStatus::Skipped => r.reason.clone(),
                (Some(r), _) => format!("upstream {} {}", r.member, verb(r.status)),
                (None, _) if options.run.cancel.is_cancelled() => {
                    "not started: the run was cancelled".to_owned()
                }
                (None, Some(first)) => stopped_after(first),
                (None, None) => "not started".to_owned(),
            };
            let report = self.skipped(&plan.members[i], stage, reason).await?;
            progress.member_finished(&report);
            reports[i] = Some(report);
            order.push(i);
        }
        Ok(StackReport {
            stack: plan.stack.clone(),
            env: plan.env.clone(),
            members: order
                .into_iter()
                .filter_map(|i| reports[i].take())
                .collect(),
        })
    }

    async fn skipped(
        &self,
        member: &StackMemberPlan,
        stage: Stage,
        reason: String,
    ) -> Result<MemberReport, RunError> {
        self.not_started(member, stage, AttemptStatus::Skipped, reason, None)
            .await
    }

    /// Records a member whose process never started, as `status` with `reason` (and `code`,
    /// see [`Runner::record_not_started`]).
    async fn not_started(
        &self,
        member: &StackMemberPlan,
        stage: Stage,
        status: AttemptStatus,
        reason: String,
        code: Option<&str>,
    ) -> Result<MemberReport, RunError> {
        let run_id = self
            .record_not_started(&member.request, stage, status, &reason, code)
            .await?;
        Ok(MemberReport {
            member: member.name.clone(),
            target: member.request.target.clone(),
            status,
            attempts: 0,
            duration_ms: 0,
            waited_ms: 0,
            reused: false,
            run_id: Some(run_id),
            fingerprint: member.request.fingerprint.clone(),
            reason,
            outputs: None,
            nothing_to_do: false,
        })
    }
}

/// Why a member did not start once fail-fast stopped the stack after `first`.
pub(crate) fn stopped_after(first: &str) -> String {
    format!(
        "not started: the run stopped after {first} did not pass (--keep-going runs independent members)"
    )
}

/// How a destroy names a member left standing for a dependent's sake.
const NOT_DESTROYED: &str = "not destroyed:";

/// `failed`, `timed out`, … for "upstream db failed".
fn verb(status: AttemptStatus) -> String {
    status.as_str().replace('_', " ")
}

/// Member `i` passed: every dependent whose last dependency this was becomes ready.
fn release(
    g: &Graph,
    i: usize,
    waiting_on: &mut [usize],
    ready: &mut BTreeSet<String>,
    members: &[StackMemberPlan],
) {
    for next in g.graph.neighbors_directed(g.nodes[i], Direction::Outgoing) {
        let j = g.graph[next];
        waiting_on[j] = waiting_on[j].saturating_sub(1);
        if waiting_on[j] == 0 {
            ready.insert(members[j].name.clone());
        }
    }
}

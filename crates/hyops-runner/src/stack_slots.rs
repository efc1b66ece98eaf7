//! A stack's concurrency slots: `--concurrency N` and each profile's `execution.concurrency`
//! bound how many members' tools and probes run at once.
//!
//! The scheduler admits a ready member while fewer than [`ADMITTED_PER_SLOT`] times `N` admitted
//! members hold or wait for a slot. An admitted member records its write-ahead run record (and
//! syncs it), creates its evidence folder, and only then waits for one of the `N` slots
//! ([`MemberSlot::acquire`]), which it holds while its work dir is prepared and its tool and
//! probes run: the next members' ledger syncs overlap the running tools instead of leaving a
//! slot idle, and concurrent syncs share one fsync (hyops-store's `ledger_sync.rs`). The
//! scheduler grants slots in admission order, so tools start in the same order as before (by
//! name among ready members; deterministic at `--concurrency 1`). A profile's
//! `execution.concurrency` bounds its admitted members, so it also bounds its running tools.
//!
//! A member gives its slot back as soon as its tool and probes have passed
//! ([`MemberSlot::release`], called by the attempt), not when its run ends: writing its evidence,
//! syncing it and committing the verdict take longer than a no-op tool, and a slot held through
//! them left the machine idle while the next members waited. Dependents still wait for the
//! verdict (invariant 5). A member that does not pass keeps its slot until its run ends (a retry
//! runs the tool again); the one exception is a pass turned `errored` because its evidence could
//! not be written, whose retry runs without the slot it already gave back. At most
//! [`IN_FLIGHT_PER_SLOT`] times `N` members are in flight in all, so a slow disk cannot pile up an
//! unbounded number of members that are still recording.
//!
//! Once the stack stops (fail-fast after a member did not pass), an admitted member still waiting
//! for its slot never starts its tool: its attempt ends `skipped` with the same reason the members
//! the scheduler never admitted get.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hyops_process::CancellationToken;
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::stack_run::StackMemberPlan;

/// Members in flight (waiting for a slot, running their tool, or recording their verdict) per
/// slot.
const IN_FLIGHT_PER_SLOT: usize = 4;

/// Members admitted and not yet past their tool and probes (holding a slot or waiting for one)
/// per slot.
const ADMITTED_PER_SLOT: usize = 2;

/// Why an admitted member did not get its slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotRefused {
    /// The stack stopped after this member did not pass (fail-fast).
    Halted(String),
    /// The run was cancelled (Ctrl-C).
    Cancelled,
}

/// One admitted member's slot: granted by the scheduler, acquired before the member's tool
/// starts, given back once (see the module docs).
#[derive(Debug, Clone)]
pub struct MemberSlot {
    member: usize,
    freed: UnboundedSender<usize>,
    sent: Arc<AtomicBool>,
    grant: Arc<Grant>,
    halt: Halt,
}

impl MemberSlot {
    /// Waits until the scheduler grants this member its slot (at once when it has, or when the
    /// member gave its slot back after passing once). Refused when the stack stops or `cancel`
    /// fires first.
    pub async fn acquire(&self, cancel: &CancellationToken) -> Result<(), SlotRefused> {
        loop {
            if self.is_granted() {
                return Ok(());
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(SlotRefused::Cancelled),
                () = self.halt.token.cancelled() => {
                    let first = self.halt.by.get().cloned().unwrap_or_default();
                    return Err(SlotRefused::Halted(first));
                }
                () = self.grant.notify.notified() => {}
            }
        }
    }

    /// Whether the scheduler has granted the slot (or the member already gave it back).
    pub fn is_granted(&self) -> bool {
        self.sent.load(Ordering::Acquire) || self.grant.at.get().is_some()
    }

    /// How long the member waited for its slot after `admitted` (up to now if it never got one):
    /// the stack summary's `waited_ms`, kept out of its `duration_ms`.
    pub fn waited_since(&self, admitted: Instant) -> Duration {
        self.grant.at.get().map_or_else(
            || admitted.elapsed(),
            |at| at.saturating_duration_since(admitted),
        )
    }

    /// Gives the slot back; later calls do nothing.
    pub fn release(&self) {
        if !self.sent.swap(true, Ordering::AcqRel) {
            // The scheduler gone means the stack is over: nothing is left to free.
            let _ = self.freed.send(self.member);
        }
    }
}

/// The scheduler's grant of a slot to one member.
#[derive(Debug, Default)]
struct Grant {
    /// When the scheduler granted it (unset while the member waits).
    at: OnceLock<Instant>,
    notify: Notify,
}

/// The stack's stop signal for members waiting for a slot, with the member it stopped after.
#[derive(Debug, Clone, Default)]
struct Halt {
    token: CancellationToken,
    by: Arc<OnceLock<String>>,
}

/// The scheduler's side: who is admitted and who holds a slot, per profile too.
pub(crate) struct Slots {
    limit: usize,
    admitted: usize,
    granted: usize,
    /// Per member: its grant while it is admitted (not yet given back).
    grants: Vec<Option<Arc<Grant>>>,
    /// Admitted members waiting for a slot, in admission order.
    waiting: VecDeque<usize>,
    per_profile: BTreeMap<String, u32>,
    freed_tx: UnboundedSender<usize>,
    freed_rx: UnboundedReceiver<usize>,
    halt: Halt,
}

impl Slots {
    /// `limit` slots (at least 1) for a stack of `members`.
    pub(crate) fn new(limit: usize, members: usize) -> Self {
        let (freed_tx, freed_rx) = unbounded_channel();
        Self {
            limit: limit.max(1),
            admitted: 0,
            granted: 0,
            grants: vec![None; members],
            waiting: VecDeque::new(),
            per_profile: BTreeMap::new(),
            freed_tx,
            freed_rx,
            halt: Halt::default(),
        }
    }

    /// Whether another member may be admitted, with `in_flight` members admitted or recording.
    pub(crate) fn free(&self, in_flight: usize) -> bool {
        self.admitted < self.limit.saturating_mul(ADMITTED_PER_SLOT)
            && in_flight < self.limit.saturating_mul(IN_FLIGHT_PER_SLOT)
    }

    /// Whether `member`'s profile is at its `execution.concurrency` limit.
    pub(crate) fn profile_full(&self, member: &StackMemberPlan) -> bool {
        let request = &member.request;
        request.execution.concurrency.is_some_and(|limit| {
            self.per_profile
                .get(&request.profile.name)
                .copied()
                .unwrap_or(0)
                >= limit.max(1)
        })
    }

    /// Member `i` is admitted: it gets its slot when one is free and every member admitted
    /// before it has had one, and gives it back through the returned handle.
    pub(crate) fn admit(&mut self, i: usize, member: &StackMemberPlan) -> MemberSlot {
        self.admitted += 1;
        *self
            .per_profile
            .entry(member.request.profile.name.clone())
            .or_default() += 1;
        let grant = Arc::new(Grant::default());
        self.grants[i] = Some(Arc::clone(&grant));
        self.waiting.push_back(i);
        self.grant_free_slots();
        MemberSlot {
            member: i,
            freed: self.freed_tx.clone(),
            sent: Arc::new(AtomicBool::new(false)),
            grant,
            halt: self.halt.clone(),
        }
    }

    /// Member `i` no longer counts as admitted and its slot, if it had one, goes to the next
    /// waiting member (call [`Slots::halt`] first when its end stops the stack); idempotent.
    pub(crate) fn give_back(&mut self, i: usize, member: &StackMemberPlan) {
        let Some(grant) = self.grants[i].take() else {
            return;
        };
        self.admitted -= 1;
        if let Some(count) = self.per_profile.get_mut(&member.request.profile.name) {
            *count = count.saturating_sub(1);
        }
        if grant.at.get().is_some() {
            self.granted -= 1;
        } else {
            self.waiting.retain(|&w| w != i);
        }
        self.grant_free_slots();
    }

    /// The stack stops after `member` did not pass: admitted members still waiting for a slot
    /// end `skipped` instead of starting their tools. The first call names the member.
    pub(crate) fn halt(&self, member: &str) {
        let _ = self.halt.by.set(member.to_owned());
        self.halt.token.cancel();
    }

    /// The next member that gave its slot back (pending while none has).
    pub(crate) async fn next_freed(&mut self) -> Option<usize> {
        self.freed_rx.recv().await
    }

    /// Grants free slots to waiting members, first admitted first; none once the stack stopped.
    fn grant_free_slots(&mut self) {
        while self.granted < self.limit && !self.halt.token.is_cancelled() {
            let Some(i) = self.waiting.pop_front() else {
                return;
            };
            if let Some(grant) = &self.grants[i] {
                let _ = grant.at.set(Instant::now());
                grant.notify.notify_one();
                self.granted += 1;
            }
        }
    }
}

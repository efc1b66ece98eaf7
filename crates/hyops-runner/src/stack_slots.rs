//! A stack's concurrency slots: `--concurrency N` and each profile's `execution.concurrency`
//! bound how many members' tools and probes run at once.
//!
//! A member takes a slot when it starts and gives it back as soon as its tool and probes have
//! passed ([`SlotRelease::release`], called by the attempt), not when its run ends: writing its
//! evidence, syncing it and committing the verdict take longer than a no-op tool, and a slot held
//! through them left the machine idle while the next members waited. Dependents still wait for the
//! verdict (invariant 5). A member that does not pass keeps its slot until its run ends (a retry
//! runs the tool again); the one exception is a pass turned `errored` because its evidence could
//! not be written, whose retry runs without the slot it already gave back. At most
//! [`IN_FLIGHT_PER_SLOT`] times `N` members are in flight in all, so a slow disk cannot pile up an
//! unbounded number of members that are still recording.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::stack_run::StackMemberPlan;

/// Members in flight (running their tool, or recording their verdict) per slot.
const IN_FLIGHT_PER_SLOT: usize = 4;

/// Gives one member's slot back to its stack's scheduler, once.
#[derive(Debug, Clone)]
pub struct SlotRelease {
    member: usize,
    freed: UnboundedSender<usize>,
    sent: Arc<AtomicBool>,
}

impl SlotRelease {
    /// Gives the slot back; later calls do nothing.
    pub fn release(&self) {
        if !self.sent.swap(true, Ordering::AcqRel) {
            // The scheduler gone means the stack is over: nothing is left to free.
            let _ = self.freed.send(self.member);
        }
    }
}

/// The scheduler's side: who holds a slot, how many are taken, per profile too.
pub(crate) struct Slots {
    limit: usize,
    taken: usize,
    holding: Vec<bool>,
    per_profile: BTreeMap<String, u32>,
    freed_tx: UnboundedSender<usize>,
    freed_rx: UnboundedReceiver<usize>,
}

impl Slots {
    /// `limit` slots (at least 1) for a stack of `members`.
    pub(crate) fn new(limit: usize, members: usize) -> Self {
        let (freed_tx, freed_rx) = unbounded_channel();
        Self {
            limit: limit.max(1),
            taken: 0,
            holding: vec![false; members],
            per_profile: BTreeMap::new(),
            freed_tx,
            freed_rx,
        }
    }

    /// Whether another member may start, with `in_flight` members running or recording.
    pub(crate) fn free(&self, in_flight: usize) -> bool {
        self.taken < self.limit && in_flight < self.limit.saturating_mul(IN_FLIGHT_PER_SLOT)
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

    /// Member `i` starts: it takes a slot and gives it back through the returned handle.
    pub(crate) fn take(&mut self, i: usize, member: &StackMemberPlan) -> SlotRelease {
        self.holding[i] = true;
        self.taken += 1;
        *self
            .per_profile
            .entry(member.request.profile.name.clone())
            .or_default() += 1;
        SlotRelease {
            member: i,
            freed: self.freed_tx.clone(),
            sent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Member `i` no longer needs its slot (released, or its run ended); idempotent.
    pub(crate) fn give_back(&mut self, i: usize, member: &StackMemberPlan) {
        if !std::mem::replace(&mut self.holding[i], false) {
            return;
        }
        self.taken -= 1;
        if let Some(count) = self.per_profile.get_mut(&member.request.profile.name) {
            *count = count.saturating_sub(1);
        }
    }

    /// The next member that gave its slot back (pending while none has).
    pub(crate) async fn next_freed(&mut self) -> Option<usize> {
        self.freed_rx.recv().await
    }
}

//! Counting every call, detailed or not: lock-free counters per (status,
//! kind, tier), and the same counts taken under the lock.

use super::{CallCounts, Monitor, Snapshot};
use crate::record::Label;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Labels the counters of undetailed calls know, each with its slot.
const STATUSES: [&str; 6] = ["ok", "abort", "limit", "trap", "out_of_gas", "timeout"];
const KINDS: [&str; 4] = ["deploy", "call", "query", "nested"];
const TIERS: [&str; 3] = ["memory", "disk", "compiled"];

/// Lock-free counters of the calls observed without detail: one counter
/// per (status, kind, tier) combination, so a call costs three atomic
/// additions (its combination, its gas, its host gas); the totals per
/// label are summed when a snapshot is taken.
pub(super) struct Counters {
    by_labels: [AtomicU64; LABEL_SLOTS],
    gas_used: AtomicU64,
    host_gas: AtomicU64,
}

const LABEL_SLOTS: usize = STATUSES.len() * KINDS.len() * TIERS.len();

impl Default for Counters {
    fn default() -> Self {
        Self {
            by_labels: std::array::from_fn(|_| AtomicU64::new(0)),
            gas_used: AtomicU64::new(0),
            host_gas: AtomicU64::new(0),
        }
    }
}

impl Counters {
    fn slot(status: usize, kind: usize, tier: usize) -> usize {
        (status * KINDS.len() + kind) * TIERS.len() + tier
    }

    pub(super) fn add_into(&self, s: &mut Snapshot) {
        for (status, status_label) in STATUSES.iter().enumerate() {
            for (kind, kind_label) in KINDS.iter().enumerate() {
                for (tier, tier_label) in TIERS.iter().enumerate() {
                    let n = self.by_labels[Self::slot(status, kind, tier)].load(Ordering::Relaxed);
                    if n > 0 {
                        s.calls += n;
                        *s.by_status.entry(Label::Borrowed(status_label)).or_default() += n;
                        *s.by_kind.entry(Label::Borrowed(kind_label)).or_default() += n;
                        *s.by_cache_tier.entry(Label::Borrowed(tier_label)).or_default() += n;
                    }
                }
            }
        }
        s.gas_used += self.gas_used.load(Ordering::Relaxed);
        s.host_gas += self.host_gas.load(Ordering::Relaxed);
    }
}

/// Adds one call to the counters every call gets.
pub(super) fn count(
    s: &mut Snapshot,
    kind: &Label,
    status: &Label,
    tier: &Label,
    gas_used: u64,
    host_gas: u64,
) {
    fn bump(map: &mut BTreeMap<Label, u64>, key: &Label) {
        match map.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                map.insert(key.clone(), 1);
            }
        }
    }
    s.calls += 1;
    bump(&mut s.by_status, status);
    bump(&mut s.by_kind, kind);
    bump(&mut s.by_cache_tier, tier);
    s.gas_used += gas_used;
    s.host_gas += host_gas;
}

impl Monitor {
    /// Whether the `n`-th call (from 0) is to be observed in detail.
    pub fn wants_detail(&self, n: u64) -> bool {
        n.is_multiple_of(self.config.detail_every.max(1) as u64)
    }

    /// Counts a call observed without detail: three atomic additions.
    pub fn count(&self, call: &CallCounts) {
        let slots = (
            STATUSES.iter().position(|s| *s == call.status),
            KINDS.iter().position(|k| *k == call.kind),
            TIERS.iter().position(|t| *t == call.cache_tier),
        );
        let (Some(status), Some(kind), Some(tier)) = slots else {
            // A label this monitor has no slot for: count it under the lock.
            let mut state = self.state.lock();
            let labels =
                (Label::Borrowed(call.kind), Label::Borrowed(call.status), Label::Borrowed(call.cache_tier));
            count(&mut state.snapshot, &labels.0, &labels.1, &labels.2, call.gas_used, call.host_gas);
            return;
        };
        let c = &self.counters;
        c.by_labels[Counters::slot(status, kind, tier)].fetch_add(1, Ordering::Relaxed);
        c.gas_used.fetch_add(call.gas_used, Ordering::Relaxed);
        c.host_gas.fetch_add(call.host_gas, Ordering::Relaxed);
    }
}

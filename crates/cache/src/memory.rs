//! The memory tier: an LRU of compiled code bounded by entries and bytes.

use crate::CacheStats;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the memory tier knows of an entry, for cleanup policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta {
    pub bytes: usize,
    pub inserted: Instant,
    pub last_access: Instant,
    pub hits: u64,
}

/// The seed's cleanup policies: which entries [`MemoryTier::cleanup`]
/// drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupPolicy {
    /// Entries not used for longer than this.
    IdleLongerThan(Duration),
    /// Entries larger than this many bytes.
    LargerThan(usize),
    /// Entries used fewer than this many times since they were inserted.
    HitsBelow(u64),
}

impl CleanupPolicy {
    fn drops(&self, meta: &EntryMeta, now: Instant) -> bool {
        match *self {
            CleanupPolicy::IdleLongerThan(age) => now.duration_since(meta.last_access) > age,
            CleanupPolicy::LargerThan(bytes) => meta.bytes > bytes,
            CleanupPolicy::HitsBelow(hits) => meta.hits < hits,
        }
    }
}

/// Bounds of the memory tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryTierConfig {
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for MemoryTierConfig {
    fn default() -> Self {
        Self { max_entries: 256, max_bytes: 512 << 20 }
    }
}

struct Slot<V> {
    value: V,
    meta: EntryMeta,
    /// Position in the recency order.
    tick: u64,
}

struct Inner<K, V> {
    slots: HashMap<K, Slot<V>>,
    /// Recency order: the smallest tick is the least recently used.
    order: BTreeMap<u64, K>,
    next_tick: u64,
    bytes: usize,
    stats: CacheStats,
}

/// A thread-safe LRU map bounded by entry count and by total bytes.
///
/// Values are cheap to clone (an `Arc`, a wasmtime `Module`). Eviction
/// order is least recently used first; not consensus-relevant.
pub struct MemoryTier<K, V> {
    config: MemoryTierConfig,
    inner: Mutex<Inner<K, V>>,
    /// One lock per key being loaded, so concurrent loads of the same key
    /// run once.
    loading: Mutex<HashMap<K, Arc<Mutex<()>>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> MemoryTier<K, V> {
    pub fn new(config: MemoryTierConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                order: BTreeMap::new(),
                next_tick: 0,
                bytes: 0,
                stats: CacheStats::default(),
            }),
            loading: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `key`, marking it most recently used. Counts a memory
    /// hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut inner = self.lock();
        let tick = inner.next_tick;
        let Some(slot) = inner.slots.get_mut(key) else {
            inner.stats.misses += 1;
            return None;
        };
        let old_tick = std::mem::replace(&mut slot.tick, tick);
        slot.meta.hits += 1;
        slot.meta.last_access = Instant::now();
        let value = slot.value.clone();
        inner.order.remove(&old_tick);
        inner.order.insert(tick, key.clone());
        inner.next_tick += 1;
        inner.stats.memory_hits += 1;
        Some(value)
    }

    /// Inserts `value` (of `bytes` bytes), evicting least recently used
    /// entries until the bounds hold. A value larger than the byte bound is
    /// not kept.
    pub fn insert(&self, key: K, value: V, bytes: usize) {
        let mut inner = self.lock();
        if let Some(old) = inner.slots.remove(&key) {
            inner.order.remove(&old.tick);
            inner.bytes -= old.meta.bytes;
        }
        if bytes > self.config.max_bytes || self.config.max_entries == 0 {
            return;
        }
        while inner.slots.len() >= self.config.max_entries || inner.bytes + bytes > self.config.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else { break };
            if let Some(slot) = inner.slots.remove(&oldest) {
                inner.bytes -= slot.meta.bytes;
                inner.stats.evictions += 1;
            }
        }
        let now = Instant::now();
        let tick = inner.next_tick;
        inner.next_tick += 1;
        inner.order.insert(tick, key.clone());
        inner.bytes += bytes;
        inner.stats.inserts += 1;
        let meta = EntryMeta { bytes, inserted: now, last_access: now, hits: 0 };
        inner.slots.insert(key, Slot { value, meta, tick });
    }

    /// The value of `key`, loading it with `load` on a miss. Concurrent
    /// callers asking for the same missing key wait for one load.
    pub fn get_or_try_insert_with<E>(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<(V, usize), E>,
    ) -> Result<V, E> {
        if let Some(value) = self.get(key) {
            return Ok(value);
        }
        let gate = {
            let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            loading.entry(key.clone()).or_default().clone()
        };
        let result = {
            let _held = gate.lock().unwrap_or_else(|e| e.into_inner());
            match self.peek(key) {
                Some(value) => Ok(value),
                None => load().map(|(value, bytes)| {
                    self.insert(key.clone(), value.clone(), bytes);
                    value
                }),
            }
        };
        let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&gate) <= 2 {
            loading.remove(key);
        }
        result
    }

    /// The value of `key` without counting a hit or a miss.
    fn peek(&self, key: &K) -> Option<V> {
        self.lock().slots.get(key).map(|slot| slot.value.clone())
    }

    pub fn remove(&self, key: &K) -> Option<V> {
        let mut inner = self.lock();
        let slot = inner.slots.remove(key)?;
        inner.order.remove(&slot.tick);
        inner.bytes -= slot.meta.bytes;
        Some(slot.value)
    }

    /// Drops every entry `policy` selects; returns how many.
    pub fn cleanup(&self, policy: CleanupPolicy) -> usize {
        let mut inner = self.lock();
        let now = Instant::now();
        let doomed: Vec<K> =
            inner.slots.iter().filter(|(_, s)| policy.drops(&s.meta, now)).map(|(k, _)| k.clone()).collect();
        for key in &doomed {
            if let Some(slot) = inner.slots.remove(key) {
                inner.order.remove(&slot.tick);
                inner.bytes -= slot.meta.bytes;
                inner.stats.evictions += 1;
            }
        }
        doomed.len()
    }

    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.slots.clear();
        inner.order.clear();
        inner.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    pub fn meta(&self, key: &K) -> Option<EntryMeta> {
        self.lock().slots.get(key).map(|s| s.meta)
    }

    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    /// Keys from least to most recently used.
    pub fn keys_by_recency(&self) -> Vec<K> {
        self.lock().order.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(max_entries: usize, max_bytes: usize) -> MemoryTier<u32, &'static str> {
        MemoryTier::new(MemoryTierConfig { max_entries, max_bytes })
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let t = tier(2, 1_000);
        t.insert(1, "a", 1);
        t.insert(2, "b", 1);
        assert_eq!(t.get(&1), Some("a"));
        t.insert(3, "c", 1);
        assert_eq!(t.keys_by_recency(), vec![1, 3]);
        assert_eq!(t.stats().evictions, 1);
    }

    #[test]
    fn respects_the_byte_bound() {
        let t = tier(10, 10);
        t.insert(1, "a", 6);
        t.insert(2, "b", 6);
        assert_eq!((t.len(), t.bytes()), (1, 6));
        t.insert(3, "huge", 11);
        assert_eq!(t.get(&3), None);
    }

    #[test]
    fn loads_once_and_counts() {
        let t = tier(10, 100);
        let mut loads = 0;
        for _ in 0..3 {
            let v = t.get_or_try_insert_with(&7, || {
                loads += 1;
                Ok::<_, ()>(("x", 1))
            });
            assert_eq!(v, Ok("x"));
        }
        assert_eq!(loads, 1);
        let s = t.stats();
        assert_eq!((s.misses, s.memory_hits, s.inserts), (1, 2, 1));
    }

    #[test]
    fn cleanup_by_hits() {
        let t = tier(10, 100);
        t.insert(1, "a", 1);
        t.insert(2, "b", 1);
        t.get(&2);
        assert_eq!(t.cleanup(CleanupPolicy::HitsBelow(1)), 1);
        assert_eq!(t.keys_by_recency(), vec![2]);
        assert_eq!(t.cleanup(CleanupPolicy::LargerThan(0)), 1);
        assert!(t.is_empty());
    }
}

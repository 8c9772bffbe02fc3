//! The memory tier: an LRU of compiled code bounded by entries and bytes.

use crate::CacheStats;
/// Seeded per process, and several times faster than SipHash on a 32-byte
/// key: the memory tier is on every call's path.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
// parking_lot's locks: no poisoning to handle, and a smaller, faster
// uncontended path than std's (a read lock is taken on every call).
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::sync::Arc;
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
    bytes: usize,
    inserted: Instant,
    /// Recency: the tier's tick at the last use (unique, increasing).
    tick: AtomicU64,
    /// Nanoseconds after the tier's creation at the last use.
    last_access_ns: AtomicU64,
    hits: AtomicU64,
}

impl<V> Slot<V> {
    fn meta(&self, epoch: Instant) -> EntryMeta {
        EntryMeta {
            bytes: self.bytes,
            inserted: self.inserted,
            last_access: epoch + Duration::from_nanos(self.last_access_ns.load(Ordering::Relaxed)),
            hits: self.hits.load(Ordering::Relaxed),
        }
    }
}

#[derive(Default)]
struct Counters {
    memory_hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
}

struct Inner<K, V> {
    slots: HashMap<K, Slot<V>>,
    bytes: usize,
}

/// A thread-safe LRU map bounded by entry count and by total bytes.
///
/// Values are cheap to clone (an `Arc`, a wasmtime `Module`). A hit takes
/// a shared lock only (recency is an atomic tick per entry); eviction, on
/// insert, scans for the least recently used entry. Eviction order is
/// least recently used first; not consensus-relevant.
pub struct MemoryTier<K, V> {
    config: MemoryTierConfig,
    inner: RwLock<Inner<K, V>>,
    next_tick: AtomicU64,
    epoch: Instant,
    counters: Counters,
    /// Concurrent loads of the same key run once.
    loading: SingleFlight<K>,
}

impl<K: Hash + Eq + Clone, V: Clone> MemoryTier<K, V> {
    pub fn new(config: MemoryTierConfig) -> Self {
        Self {
            config,
            inner: RwLock::new(Inner { slots: HashMap::default(), bytes: 0 }),
            next_tick: AtomicU64::new(0),
            epoch: Instant::now(),
            counters: Counters::default(),
            loading: SingleFlight::default(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner<K, V>> {
        self.inner.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<K, V>> {
        self.inner.write()
    }

    fn tick(&self) -> u64 {
        self.next_tick.fetch_add(1, Ordering::Relaxed)
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The value of `key`, marking it most recently used. Counts a memory
    /// hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let inner = self.read();
        let Some(slot) = inner.slots.get(key) else {
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        slot.tick.store(self.tick(), Ordering::Relaxed);
        slot.last_access_ns.store(self.now_ns(), Ordering::Relaxed);
        slot.hits.fetch_add(1, Ordering::Relaxed);
        self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
        Some(slot.value.clone())
    }

    /// Inserts `value` (of `bytes` bytes), evicting least recently used
    /// entries until the bounds hold. A value larger than the byte bound is
    /// not kept.
    pub fn insert(&self, key: K, value: V, bytes: usize) {
        self.insert_into(&mut self.write(), key, value, bytes);
    }

    /// Replaces the value of `key` with `value` (of `bytes` bytes) if the
    /// tier holds `key`; leaves the tier as it was if not (an entry evicted
    /// or never loaded stays out). Whether it replaced one.
    pub fn replace(&self, key: K, value: V, bytes: usize) -> bool {
        let mut inner = self.write();
        if !inner.slots.contains_key(&key) {
            return false;
        }
        self.insert_into(&mut inner, key, value, bytes);
        true
    }

    fn insert_into(&self, inner: &mut Inner<K, V>, key: K, value: V, bytes: usize) {
        if let Some(old) = inner.slots.remove(&key) {
            inner.bytes -= old.bytes;
        }
        if bytes > self.config.max_bytes || self.config.max_entries == 0 {
            return;
        }
        while inner.slots.len() >= self.config.max_entries || inner.bytes + bytes > self.config.max_bytes {
            let oldest = inner
                .slots
                .iter()
                .min_by_key(|(_, s)| s.tick.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            if let Some(slot) = inner.slots.remove(&oldest) {
                inner.bytes -= slot.bytes;
                self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.bytes += bytes;
        self.counters.inserts.fetch_add(1, Ordering::Relaxed);
        let slot = Slot {
            value,
            bytes,
            inserted: Instant::now(),
            tick: AtomicU64::new(self.tick()),
            last_access_ns: AtomicU64::new(self.now_ns()),
            hits: AtomicU64::new(0),
        };
        inner.slots.insert(key, slot);
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
        self.loading.run(key, || match self.peek(key) {
            Some(value) => Ok(value),
            None => load().map(|(value, bytes)| {
                self.insert(key.clone(), value.clone(), bytes);
                value
            }),
        })
    }

    /// The value of `key` without counting a hit or a miss.
    fn peek(&self, key: &K) -> Option<V> {
        self.read().slots.get(key).map(|slot| slot.value.clone())
    }

    pub fn remove(&self, key: &K) -> Option<V> {
        let mut inner = self.write();
        let slot = inner.slots.remove(key)?;
        inner.bytes -= slot.bytes;
        Some(slot.value)
    }

    /// Drops every entry `policy` selects; returns how many.
    pub fn cleanup(&self, policy: CleanupPolicy) -> usize {
        let mut inner = self.write();
        let now = Instant::now();
        let doomed: Vec<K> = inner
            .slots
            .iter()
            .filter(|(_, s)| policy.drops(&s.meta(self.epoch), now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &doomed {
            if let Some(slot) = inner.slots.remove(key) {
                inner.bytes -= slot.bytes;
                self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        doomed.len()
    }

    pub fn clear(&self) {
        let mut inner = self.write();
        inner.slots.clear();
        inner.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.read().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.read().bytes
    }

    pub fn meta(&self, key: &K) -> Option<EntryMeta> {
        self.read().slots.get(key).map(|s| s.meta(self.epoch))
    }

    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            memory_hits: c.memory_hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            inserts: c.inserts.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            ..CacheStats::default()
        }
    }

    /// Keys from least to most recently used.
    pub fn keys_by_recency(&self) -> Vec<K> {
        let inner = self.read();
        let mut keys: Vec<(u64, K)> =
            inner.slots.iter().map(|(k, s)| (s.tick.load(Ordering::Relaxed), k.clone())).collect();
        keys.sort_by_key(|(tick, _)| *tick);
        keys.into_iter().map(|(_, k)| k).collect()
    }
}

/// One gate per key: work on the same key runs one at a time, work on
/// other keys goes on. The gate of a key is dropped once no one holds or
/// waits for it.
pub struct SingleFlight<K> {
    gates: Mutex<HashMap<K, Arc<Mutex<()>>>>,
}

impl<K> Default for SingleFlight<K> {
    fn default() -> Self {
        Self { gates: Mutex::new(HashMap::default()) }
    }
}

impl<K: Hash + Eq + Clone> SingleFlight<K> {
    /// Runs `work` once no other work on `key` runs.
    pub fn run<T>(&self, key: &K, work: impl FnOnce() -> T) -> T {
        let gate = self.gates.lock().entry(key.clone()).or_default().clone();
        let done = {
            let _held = gate.lock();
            work()
        };
        let mut gates = self.gates.lock();
        if Arc::strong_count(&gate) <= 2 {
            gates.remove(key);
        }
        done
    }

    /// Waits until the work on `key` running now, if any, is done.
    pub fn wait(&self, key: &K) {
        let gate = self.gates.lock().get(key).cloned();
        drop(gate.as_ref().map(|gate| gate.lock()));
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
    fn replaces_only_what_it_holds() {
        let t = tier(10, 100);
        assert!(!t.replace(1, "optimized", 5), "never loaded: stays out");
        assert_eq!(t.len(), 0);
        t.insert(1, "baseline", 3);
        assert!(t.replace(1, "optimized", 5));
        assert_eq!((t.get(&1), t.bytes()), (Some("optimized"), 5));
        t.remove(&1);
        assert!(!t.replace(1, "again", 5), "evicted: stays out");
        assert_eq!((t.len(), t.bytes()), (0, 0));
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

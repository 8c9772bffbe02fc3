//! The [`StateBackend`] trait and the in-memory backend.

use crate::StateError;
use parking_lot::RwLock;
use std::collections::BTreeMap;

/// Writes to apply at once: `Some(value)` sets a key, `None` removes it.
///
/// Ordered by key bytes; consensus-relevant only through the state it
/// produces, which does not depend on the order of application.
pub type ChangeSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Writes to apply at once, each key at most once, in no particular
/// order: a block's writes, collected from a hash map.
pub type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Committed entries, in ascending key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// One entry: its key and value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A range of keys inside one prefix (a contract's storage): `start`
/// and `end` are whole keys, both within `prefix`'s keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    pub prefix: Vec<u8>,
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: Vec<u8>) -> Self {
        Self { prefix, start: Bound::Unbounded, end: Bound::Unbounded }
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key.starts_with(&self.prefix)
            && (self.start.as_ref().map(Vec::as_slice), self.end.as_ref().map(Vec::as_slice)).contains(key)
    }

    /// The range as bounds on whole keys, the prefix folded in: a range
    /// read with them never steps outside the prefix.
    pub fn bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let start = match &self.start {
            Bound::Unbounded => Bound::Included(self.prefix.clone()),
            bound => bound.clone(),
        };
        let end = match &self.end {
            Bound::Unbounded => prefix_end(&self.prefix).map_or(Bound::Unbounded, Bound::Excluded),
            bound => bound.clone(),
        };
        (start, end)
    }
}

/// Whether a range with these bounds can hold a key (a `BTreeMap` panics
/// on a range whose start is past its end).
pub(crate) fn bounds_ordered(start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s <= e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s < e,
        _ => true,
    }
}

/// The smallest key greater than every key that starts with `prefix`
/// (none when the prefix is all 0xff bytes).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&b| b != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

use std::ops::{Bound, RangeBounds};

/// Where committed state lives: a flat, ordered map from byte keys to byte
/// values.
///
/// Implementations must make [`StateBackend::apply`] atomic (all of a change
/// set or none of it, also across a crash) and iterate in ascending key-byte
/// order (consensus-relevant: contracts and `xwasm state` observe it).
pub trait StateBackend: Send + Sync {
    /// The committed value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// Applies every change in `changes` atomically.
    fn apply(&self, changes: &ChangeSet) -> Result<(), StateError>;

    /// [`StateBackend::apply`], taking the change set. Provided; a backend
    /// that keeps the keys and values themselves should override it to
    /// move them rather than copy them.
    fn apply_owned(&self, changes: ChangeSet) -> Result<(), StateError> {
        self.apply(&changes)
    }

    /// [`StateBackend::apply_owned`] of [`Writes`] in no particular order.
    /// Provided: sorts them into a change set; a backend whose apply does
    /// not gain from the order should override it and skip the sort.
    fn apply_unordered(&self, writes: Writes) -> Result<(), StateError> {
        self.apply_owned(writes.into_iter().collect())
    }

    /// Every committed entry whose key starts with `prefix`, in ascending
    /// key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError>;

    /// Whether `key` has a committed value. Provided; a backend that can
    /// answer without copying the value should.
    fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        Ok(self.get(key)?.is_some())
    }

    /// Whether the state lives only in this process and an apply cannot
    /// fail: a block run in order may then apply each transaction's writes
    /// as it commits, as plain calls do. A durable backend says no (the
    /// default), and a block's writes reach it in one apply at the end:
    /// one write transaction, atomic across a crash.
    fn is_volatile(&self) -> bool {
        false
    }

    /// Whether what this backend returns is committed for good, so that
    /// what never changes once committed (contract records) may be cached.
    /// A view of a block's uncommitted writes says no. Provided: true.
    fn is_committed(&self) -> bool {
        true
    }

    /// Whether what this backend returns for `key` is committed for good.
    /// Provided: [`StateBackend::is_committed`]; a backend of uncommitted
    /// writes over committed state says yes for the keys it did not write.
    fn is_committed_at(&self, key: &[u8]) -> bool {
        let _ = key;
        self.is_committed()
    }

    /// The first committed entry of `range` (the last when `descending`):
    /// what a contract's storage iterator reads next. Provided, through
    /// [`StateBackend::scan_prefix`] of the range's prefix; a backend with
    /// ordered range reads should override it (one lookup per step).
    fn first_in(&self, range: &KeyRange, descending: bool) -> Result<Option<Entry>, StateError> {
        let mut entries = self.scan_prefix(&range.prefix)?.into_iter().filter(|(key, _)| range.contains(key));
        Ok(if descending { entries.next_back() } else { entries.next() })
    }
}

/// A backend that keeps state in a `BTreeMap`: the library default, for
/// tests and for nodes that persist state themselves.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    entries: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn insert_all(&self, changes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>) {
        let mut changes = changes.into_iter().peekable();
        if changes.peek().is_none() {
            return;
        }
        let mut entries = self.entries.write();
        for (key, value) in changes {
            match value {
                Some(value) => entries.insert(key, value),
                None => entries.remove(&key),
            };
        }
    }
}

impl StateBackend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.entries.read().get(key).cloned())
    }

    /// Without copying the value: a deployment asks whether its code (a
    /// few hundred kilobytes) is stored.
    fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        Ok(self.entries.read().contains_key(key))
    }

    fn apply(&self, changes: &ChangeSet) -> Result<(), StateError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut entries = self.entries.write();
        for (key, value) in changes {
            match value {
                Some(value) => entries.insert(key.clone(), value.clone()),
                None => entries.remove(key),
            };
        }
        Ok(())
    }

    fn apply_owned(&self, changes: ChangeSet) -> Result<(), StateError> {
        self.insert_all(changes);
        Ok(())
    }

    /// Inserted as they come: a `BTreeMap` insert costs the same in any
    /// order, and sorting a block's writes first cost as much again.
    fn apply_unordered(&self, writes: Writes) -> Result<(), StateError> {
        self.insert_all(writes);
        Ok(())
    }

    /// Kept in memory; an apply inserts and removes, and cannot fail.
    fn is_volatile(&self) -> bool {
        true
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError> {
        let entries = self.entries.read();
        Ok(entries
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn first_in(&self, range: &KeyRange, descending: bool) -> Result<Option<Entry>, StateError> {
        let entries = self.entries.read();
        let (start, end) = range.bounds();
        if !bounds_ordered(&start, &end) {
            return Ok(None);
        }
        let mut found = entries.range((start, end)).filter(|(key, _)| range.contains(key));
        let entry = if descending { found.next_back() } else { found.next() };
        Ok(entry.map(|(k, v)| (k.clone(), v.clone())))
    }
}

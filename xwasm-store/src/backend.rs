//! The [`StateBackend`] trait and the in-memory backend.

use crate::StateError;
use parking_lot::RwLock;
use std::collections::BTreeMap;

/// Writes to apply at once: `Some(value)` sets a key, `None` removes it.
///
/// Ordered by key bytes; consensus-relevant only through the state it
/// produces, which does not depend on the order of application.
pub type ChangeSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Committed entries, in ascending key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

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

    /// Every committed entry whose key starts with `prefix`, in ascending
    /// key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError>;

    /// Whether `key` has a committed value. Provided; a backend that can
    /// answer without copying the value should.
    fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        Ok(self.get(key)?.is_some())
    }

    /// Whether what this backend returns is committed for good, so that
    /// what never changes once committed (contract records) may be cached.
    /// A view of a block's uncommitted writes says no. Provided: true.
    fn is_committed(&self) -> bool {
        true
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
}

impl StateBackend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.entries.read().get(key).cloned())
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
        if changes.is_empty() {
            return Ok(());
        }
        let mut entries = self.entries.write();
        for (key, value) in changes {
            match value {
                Some(value) => entries.insert(key, value),
                None => entries.remove(&key),
            };
        }
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError> {
        let entries = self.entries.read();
        Ok(entries
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

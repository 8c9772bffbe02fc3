//! [`Overlay`]: uncommitted writes over a backend, as one thread runs a
//! block: each transaction sees the writes of those before it, and the
//! block's writes reach the backend in one apply at the end.

use crate::StateError;
use crate::backend::{ChangeSet, Entries, StateBackend, Writes};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

/// Each key's last write (`None`: removed), hashed: a block's reads look
/// keys up one at a time, only a scan needs them sorted, and the commit
/// takes them in any order.
type Held = HashMap<Vec<u8>, Option<Vec<u8>>, foldhash::fast::RandomState>;

/// A backend of writes not yet committed, over `base`, which it never
/// changes. Its reads are the writes it holds over `base`'s entries. It is
/// not committed ([`StateBackend::is_committed`] says no), but a key it
/// holds no write for is ([`StateBackend::is_committed_at`]).
pub struct Overlay {
    base: Arc<dyn StateBackend>,
    writes: RwLock<Held>,
}

impl Overlay {
    pub fn new(base: Arc<dyn StateBackend>) -> Self {
        Self::holding(base, Writes::new(), 0)
    }

    /// An overlay that already holds `writes` (each key once), with room
    /// for `room` more keys (a block's writes: no rehashing as it grows).
    pub fn holding(base: Arc<dyn StateBackend>, writes: Writes, room: usize) -> Self {
        let mut held = Held::with_capacity_and_hasher(writes.len() + room, Default::default());
        held.extend(writes);
        Self { base, writes: RwLock::new(held) }
    }

    /// The writes it holds, in no particular order, to be committed at once
    /// ([`StateBackend::apply_unordered`]).
    pub fn into_writes(self) -> Writes {
        self.writes.into_inner().into_iter().collect()
    }

    /// A copy of the writes it holds, in no particular order.
    pub fn writes(&self) -> Writes {
        self.writes.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl StateBackend for Overlay {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.read().get(key) {
            Some(write) => Ok(write.clone()),
            None => self.base.get(key),
        }
    }

    fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        match self.writes.read().get(key) {
            Some(write) => Ok(write.is_some()),
            None => self.base.contains(key),
        }
    }

    fn apply(&self, changes: &ChangeSet) -> Result<(), StateError> {
        self.apply_owned(changes.clone())
    }

    fn apply_owned(&self, changes: ChangeSet) -> Result<(), StateError> {
        self.writes.write().extend(changes);
        Ok(())
    }

    /// `base`'s entries under `prefix` with the writes over them, in key
    /// order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError> {
        let mut entries: std::collections::BTreeMap<Vec<u8>, Vec<u8>> =
            self.base.scan_prefix(prefix)?.into_iter().collect();
        let writes = self.writes.read();
        for (key, write) in writes.iter().filter(|(key, _)| key.starts_with(prefix)) {
            match write {
                Some(value) => entries.insert(key.clone(), value.clone()),
                None => entries.remove(key),
            };
        }
        Ok(entries.into_iter().collect())
    }

    fn is_committed(&self) -> bool {
        false
    }

    fn is_committed_at(&self, key: &[u8]) -> bool {
        !self.writes.read().contains_key(key) && self.base.is_committed_at(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    fn changes(pairs: &[(&str, Option<&str>)]) -> ChangeSet {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
    }

    #[test]
    fn reads_see_the_writes_over_the_base_which_does_not_change() {
        let base = Arc::new(MemoryBackend::new());
        base.apply(&changes(&[("a1", Some("x")), ("a2", Some("y")), ("b", Some("z"))])).unwrap();
        let overlay = Overlay::new(base.clone());
        overlay.apply(&changes(&[("a2", None), ("a3", Some("w"))])).unwrap();
        overlay.apply(&changes(&[("a1", Some("v"))])).unwrap();
        assert_eq!(overlay.get(b"a1").unwrap(), Some(b"v".to_vec()));
        assert_eq!(overlay.get(b"a2").unwrap(), None);
        assert_eq!(overlay.get(b"b").unwrap(), Some(b"z".to_vec()));
        let scanned: Vec<_> = overlay.scan_prefix(b"a").unwrap();
        assert_eq!(scanned, vec![(b"a1".to_vec(), b"v".to_vec()), (b"a3".to_vec(), b"w".to_vec())]);
        assert_eq!(base.get(b"a2").unwrap(), Some(b"y".to_vec()), "the base is untouched");
        assert!(!overlay.is_committed());
        assert!(overlay.is_committed_at(b"b") && !overlay.is_committed_at(b"a2"));
        assert_eq!(
            overlay.into_writes().into_iter().collect::<ChangeSet>(),
            changes(&[("a1", Some("v")), ("a2", None), ("a3", Some("w"))])
        );
    }
}

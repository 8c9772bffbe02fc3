//! The transaction journal: buffered writes over a backend, with nested
//! checkpoints.

use crate::StateError;
use crate::backend::{ChangeSet, KeyRange, StateBackend};
use std::ops::Bound;
use std::sync::Arc;

/// A checkpoint taken with [`Journal::checkpoint`]: the journal's depth then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a checkpoint must be reverted to or released"]
pub struct Checkpoint(usize);

/// Buffers the writes of one transaction over a [`StateBackend`].
///
/// Reads see the transaction's own writes first. Nothing reaches the backend
/// until [`Journal::commit`], which applies every write atomically; dropping
/// a journal discards its writes. [`Journal::checkpoint`] and
/// [`Journal::revert_to`] undo the writes of a nested call that failed (the
/// seed's store snapshots).
pub struct Journal {
    backend: Arc<dyn StateBackend>,
    writes: ChangeSet,
    /// One undo log per open checkpoint: each key's previous entry in
    /// `writes` (`None`: it had none), recorded on its first write after
    /// the checkpoint.
    undo: Vec<UndoLog>,
}

/// Each key's entry in the write buffer before its first write after a
/// checkpoint (`None`: it had none).
type UndoLog = Vec<(Vec<u8>, Option<Option<Vec<u8>>>)>;

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("writes", &self.writes.len())
            .field("checkpoints", &self.undo.len())
            .finish()
    }
}

impl Journal {
    pub fn new(backend: Arc<dyn StateBackend>) -> Self {
        Self { backend, writes: ChangeSet::new(), undo: Vec::new() }
    }

    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.backend
    }

    /// The value of `key` as this transaction sees it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.backend.get(key),
        }
    }

    /// Whether `key` has a value, as this transaction sees it (without
    /// copying the value).
    pub fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        match self.writes.get(key) {
            Some(value) => Ok(value.is_some()),
            None => self.backend.contains(key),
        }
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.record(key, Some(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.record(key, None);
    }

    fn record(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        match self.undo.last_mut() {
            Some(log) => {
                let previous = self.writes.insert(key.clone(), value);
                log.push((key, previous));
            }
            // No checkpoint to undo to: nothing to remember.
            None => {
                self.writes.insert(key, value);
            }
        }
    }

    /// Opens a checkpoint that [`Journal::revert_to`] can return to.
    pub fn checkpoint(&mut self) -> Checkpoint {
        self.undo.push(Vec::new());
        Checkpoint(self.undo.len() - 1)
    }

    /// Undoes every write since `checkpoint` and closes it (and any
    /// checkpoint opened after it).
    pub fn revert_to(&mut self, checkpoint: Checkpoint) {
        while self.undo.len() > checkpoint.0 {
            let log = self.undo.pop().expect("loop condition");
            for (key, previous) in log.into_iter().rev() {
                match previous {
                    Some(previous) => self.writes.insert(key, previous),
                    None => self.writes.remove(&key),
                };
            }
        }
    }

    /// Keeps the writes since `checkpoint` and closes it; they become part
    /// of the enclosing checkpoint (or of the transaction).
    pub fn release(&mut self, checkpoint: Checkpoint) {
        while self.undo.len() > checkpoint.0 {
            let log = self.undo.pop().expect("loop condition");
            if let Some(parent) = self.undo.last_mut() {
                parent.extend(log);
            }
        }
    }

    /// The first entry of `range` as this transaction sees it (the last
    /// when `descending`): its own writes over the backend's entries, its
    /// removals hiding them. Each step costs one backend lookup, plus one
    /// per removal of this transaction it passes over.
    pub fn first_in(
        &self,
        range: &KeyRange,
        descending: bool,
    ) -> Result<Option<crate::backend::Entry>, StateError> {
        let mut range = range.clone();
        loop {
            let (start, end) = range.bounds();
            let written = if crate::backend::bounds_ordered(&start, &end) {
                let mut found = self.writes.range((start, end));
                if descending { found.next_back() } else { found.next() }
            } else {
                None
            };
            let committed = self.backend.first_in(&range, descending)?;
            let write_first = match (&written, &committed) {
                (Some((written, _)), Some((committed, _))) => {
                    if descending {
                        *written >= committed
                    } else {
                        *written <= committed
                    }
                }
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !write_first {
                return Ok(committed);
            }
            let (key, value) = written.expect("write_first implies a write");
            match value {
                Some(value) => return Ok(Some((key.clone(), value.clone()))),
                // Removed in this transaction: look past it.
                None if descending => range.end = Bound::Excluded(key.clone()),
                None => range.start = Bound::Excluded(key.clone()),
            }
        }
    }

    /// A copy of this journal with the writes so far and no checkpoints:
    /// a read-only view for a nested query (its writes are never kept).
    pub fn fork(&self) -> Journal {
        Journal { backend: self.backend.clone(), writes: self.writes.clone(), undo: Vec::new() }
    }

    /// The writes buffered so far, by key.
    pub fn changes(&self) -> &ChangeSet {
        &self.writes
    }

    /// Applies every buffered write to the backend atomically.
    pub fn commit(self) -> Result<(), StateError> {
        self.backend.apply_owned(self.writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBackend;

    fn journal() -> Journal {
        Journal::new(Arc::new(MemoryBackend::new()))
    }

    #[test]
    fn reads_its_own_writes_and_commits_them() {
        let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new());
        let mut j = Journal::new(backend.clone());
        j.set(b"a".to_vec(), b"1".to_vec());
        assert_eq!(j.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(backend.get(b"a").unwrap(), None);
        j.commit().unwrap();
        assert_eq!(backend.get(b"a").unwrap(), Some(b"1".to_vec()));
    }

    #[test]
    fn revert_restores_the_state_at_the_checkpoint() {
        let mut j = journal();
        j.set(b"a".to_vec(), b"1".to_vec());
        let cp = j.checkpoint();
        j.set(b"a".to_vec(), b"2".to_vec());
        j.set(b"b".to_vec(), b"3".to_vec());
        j.remove(b"a".to_vec());
        j.revert_to(cp);
        assert_eq!(j.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(j.get(b"b").unwrap(), None);
    }

    #[test]
    fn released_inner_writes_are_undone_by_an_outer_revert() {
        let mut j = journal();
        let outer = j.checkpoint();
        let inner = j.checkpoint();
        j.set(b"k".to_vec(), b"v".to_vec());
        j.release(inner);
        assert_eq!(j.get(b"k").unwrap(), Some(b"v".to_vec()));
        j.revert_to(outer);
        assert_eq!(j.get(b"k").unwrap(), None);
    }
}

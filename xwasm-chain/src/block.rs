//! The state as the block executor (`xwasm-block`) sees it, and each
//! transaction's view of the block as a state backend.

use crate::{ChainError, Records};
use std::sync::Arc;
use xwasm_block::{Block, TxIndex, TxView};
use xwasm_store::{ChangeSet, Entries, StateBackend, StateError};

impl Records {
    /// Block-STM over `backend`'s committed state ([`xwasm_block`]):
    /// `run(i, view)` runs transaction `i` on its view of the block.
    /// Returns the validated prefix, which is the whole block unless
    /// re-executions dominated (or `threads` is one): the caller runs the
    /// rest in order. A volatile backend takes the final transactions'
    /// writes, through these records, as the block runs
    /// ([`xwasm_block::execute_committing`]), and the returned writes are
    /// empty; a durable one takes none, and they are returned, to be
    /// committed in one atomic apply.
    pub fn speculate<O: Send>(
        &self,
        backend: &Arc<dyn StateBackend>,
        count: usize,
        threads: usize,
        run: impl Fn(TxIndex, Arc<dyn StateBackend>) -> O + Sync,
    ) -> Result<Block<O>, ChainError> {
        let base = Arc::new(Committed(backend.clone()));
        let run = |index, view: &Arc<TxView>| run(index, Arc::new(BlockView(view.clone())));
        if !backend.is_volatile() {
            return Ok(xwasm_block::execute_until_contended(base, count, threads, run));
        }
        let failed = parking_lot::Mutex::new(None);
        // Nothing more after a failed commit: a gap would follow.
        let commit = |writes| {
            let mut failed = failed.lock();
            if failed.is_none() {
                *failed = self.commit(backend.as_ref(), writes).err();
            }
        };
        let block = xwasm_block::execute_committing(base, count, threads, run, commit);
        failed.into_inner().map_or(Ok(block), Err)
    }
}

/// The committed state, as the block executor reads it.
pub struct Committed(pub Arc<dyn StateBackend>);

impl xwasm_block::BaseState for Committed {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.0.get(key).map_err(|e| e.to_string())
    }

    fn contains(&self, key: &[u8]) -> Result<bool, String> {
        self.0.contains(key).map_err(|e| e.to_string())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        self.0.scan_prefix(prefix).map_err(|e| e.to_string())
    }
}

/// One incarnation's view of the block, as a state backend: reads are
/// recorded, and a commit hands the changes to the block executor.
pub struct BlockView(pub Arc<TxView>);

impl StateBackend for BlockView {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0.get(key).map_err(|e| StateError::Block { reason: e.to_string() })
    }

    fn contains(&self, key: &[u8]) -> Result<bool, StateError> {
        self.0.contains(key).map_err(|e| StateError::Block { reason: e.to_string() })
    }

    fn apply(&self, changes: &ChangeSet) -> Result<(), StateError> {
        self.0.apply(changes.clone());
        Ok(())
    }

    fn apply_owned(&self, changes: ChangeSet) -> Result<(), StateError> {
        self.0.apply(changes);
        Ok(())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StateError> {
        self.0.scan_prefix(prefix).map_err(|e| StateError::Block { reason: e.to_string() })
    }

    fn is_committed(&self) -> bool {
        false
    }

    /// For a key no earlier transaction of the block wrote, recorded as a
    /// read ([`TxView::sees_committed`]): a contract's record is then
    /// taken from the records' cache, and validated all the same.
    fn is_committed_at(&self, key: &[u8]) -> bool {
        self.0.sees_committed(key)
    }
}

//! The state as the block executor (`xwasm-block`) sees it, and each
//! transaction's view of the block as a state backend.

use std::sync::Arc;
use xwasm_block::TxView;
use xwasm_store::{ChangeSet, Entries, StateBackend, StateError};

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

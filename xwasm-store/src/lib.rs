//! State for xwasm: where committed state lives, how a transaction buffers
//! its writes, and the context one execution runs with.
//!
//! - [`StateBackend`]: a small trait over an ordered byte map, with
//!   [`MemoryBackend`] (the library default) and, with the `redb` feature
//!   (on by default), the persistent [`RedbBackend`].
//! - [`Journal`]: a transaction's writes, buffered over a backend, with
//!   nested checkpoints; committed atomically only when the call succeeds.
//! - [`WasmContext`]: the data of one execution (chain context, caller,
//!   input, journal, events, logs, the reason a host function halted it).
//! - [`keys`]: the layout of contracts, code and storage in the key space.
//!
//! This crate knows nothing of host functions or compilation; it uses
//! wasmtime only for `StoreLimits`, the memory caps a `WasmContext` carries.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_store::{Journal, MemoryBackend, StateBackend};
//!
//! let backend = Arc::new(MemoryBackend::new());
//! let mut journal = Journal::new(backend.clone());
//! let checkpoint = journal.checkpoint();
//! journal.set(b"k".to_vec(), b"v".to_vec());
//! journal.revert_to(checkpoint);
//! journal.set(b"k".to_vec(), b"w".to_vec());
//! journal.commit().unwrap();
//! assert_eq!(backend.get(b"k").unwrap(), Some(b"w".to_vec()));
//! ```

mod address;
mod backend;
mod context;
mod journal;
pub mod keys;
mod overlay;
#[cfg(feature = "redb")]
mod redb_backend;

pub use address::{Address, AddressError, CodeHash};
pub use backend::{ChangeSet, Entries, Entry, KeyRange, MemoryBackend, StateBackend, Writes};
pub use context::{
    CallFrame, CallLimits, ChainContext, ContractCaller, ContractRecord, Event, ExecutionState, Extension,
    GAS_AT_INSTANTIATION, GAS_GLOBAL_EXPORT, Halt, HostCallStat, HostTiming, InterruptHandle, NestedCall,
    NestedOutcome, RESERVED_EXPORTS, STACK_EXHAUSTED_MARK, STACK_EXPORT, STACK_READ, StateCell, StopSignal,
    Transaction, WasmContext, stack_used,
};
pub use journal::{Checkpoint, Journal};
pub use overlay::Overlay;
#[cfg(feature = "redb")]
pub use redb_backend::{RedbBackend, STATE_FORMAT};

use std::path::PathBuf;

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("state database {path}: {operation} failed: {source}")]
    Database {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("state database {path} has format {found}, this xwasm reads format {expected}")]
    UnsupportedFormat { path: PathBuf, found: u64, expected: u64 },
    #[error("corrupt state record under key {key_hex}: {what}")]
    CorruptRecord { key_hex: String, what: &'static str },
    /// A view of a block's uncommitted state could not answer (for
    /// example: the transaction must wait for an earlier one).
    #[error("block state: {reason}")]
    Block { reason: String },
    /// Another process holds the database open (redb locks the file).
    #[error("state database {path} is in use by another process")]
    Busy { path: PathBuf },
}

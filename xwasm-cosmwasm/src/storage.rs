//! The contract's storage as a seam: the [`Storage`] a chain hands one
//! call, as cosmwasm-vm's `Backend` takes one. Every operation returns the
//! gas it used, and writes reach it as they happen, in cosmwasm-vm's
//! order, so the chain's own gas meter sees them when cosmwasm-vm's would.
//!
//! A call given no such storage reads and writes the journal of its
//! context (xwasm's state, priced as cosmwasm-vm's testing storage).

/// Gas an operation of the chain's backend used: `cost` is work counted
/// as the VM's own, `externally_used` is gas the chain's meter already
/// charged (cosmwasm-vm's `GasInfo`). Both count against the call's limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GasInfo {
    pub cost: u64,
    pub externally_used: u64,
}

impl GasInfo {
    pub fn with_cost(cost: u64) -> Self {
        Self { cost, externally_used: 0 }
    }

    pub fn with_externally_used(externally_used: u64) -> Self {
        Self { cost: 0, externally_used }
    }
}

/// How a backend operation failed (cosmwasm-vm's `BackendError`, in the
/// cases a chain reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendError {
    /// The chain's gas meter ran out: the call ends out of gas.
    OutOfGas,
    /// The chain refused the operation with this message (for example
    /// too many iterators): the call fails with it.
    User(String),
    /// Anything else, worded in full as cosmwasm-vm words it (`Panic in
    /// FFI call`, `Unknown error during call into backend: ...`).
    Other(String),
}

impl std::fmt::Display for BackendError {
    /// cosmwasm-vm's wording of each case.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendError::OutOfGas => write!(f, "Ran out of gas during call into backend"),
            BackendError::User(message) => write!(f, "User error during call into backend: {message}"),
            BackendError::Other(message) => f.write_str(message),
        }
    }
}

/// An operation's result and the gas it used, whatever the result.
pub type BackendResult<T> = (Result<T, BackendError>, GasInfo);

/// A key and its value.
pub type Record = (Vec<u8>, Vec<u8>);

/// The storage of one contract for one call: keys are the contract's own
/// (no prefix). Iterators are the storage's: `scan` names one, the
/// `next` functions walk it.
pub trait Storage: Send {
    fn get(&mut self, key: &[u8]) -> BackendResult<Option<Vec<u8>>>;
    fn set(&mut self, key: &[u8], value: &[u8]) -> BackendResult<()>;
    fn remove(&mut self, key: &[u8]) -> BackendResult<()>;
    /// An iterator over `[start, end)` (unbounded where `None`).
    fn scan(&mut self, start: Option<&[u8]>, end: Option<&[u8]>, descending: bool) -> BackendResult<u32>;
    fn next(&mut self, iterator: u32) -> BackendResult<Option<Record>>;
    fn next_key(&mut self, iterator: u32) -> BackendResult<Option<Vec<u8>>>;
    fn next_value(&mut self, iterator: u32) -> BackendResult<Option<Vec<u8>>>;
}

/// What a chain hands one call: the contract's storage, the address API
/// and the querier (wasmvm's `Db`, `GoApi` and `GoQuerier`).
pub struct ChainServices {
    pub storage: Box<dyn Storage>,
    pub api: std::sync::Arc<dyn crate::AddressApi>,
    pub querier: std::sync::Arc<dyn crate::Querier>,
    /// Sees each `debug` message with the CosmWasm gas left at that point.
    pub debug: Option<DebugHandler>,
}

/// Receives a contract's `debug` messages as they come, with the CosmWasm
/// gas left (cosmwasm-vm's debug handler).
pub type DebugHandler = Box<dyn FnMut(&str, u64) + Send>;

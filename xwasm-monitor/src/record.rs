//! What the monitor is told: plain records, with no execution types.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// Text that is nearly always a static string (a status, a tier, a host
/// function's name): no allocation on the call path.
pub type Label = Cow<'static, str>;

/// One host function's share of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCallRecord {
    pub name: Label,
    pub calls: u32,
    pub gas: u64,
    /// Wall time inside the function.
    #[serde(default)]
    pub nanos: u64,
}

/// One finished call (a deployment's `init`, a call, a query or a nested
/// call), as the monitor sees it. Not consensus-relevant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// When it finished, ms since the Unix epoch (the node's clock).
    pub unix_ms: u64,
    /// `deploy`, `call`, `query` or `nested`.
    pub kind: Label,
    /// The contract's address, hex.
    pub contract: String,
    pub method: String,
    /// The outcome status (`ok`, `abort`, `limit`, `trap`, `out_of_gas`,
    /// `timeout`).
    pub status: Label,
    pub gas_used: u64,
    pub gas_limit: u64,
    /// Of `gas_used`, what host functions charged (nested calls included).
    pub host_gas: u64,
    pub instantiate_ns: u64,
    pub execute_ns: u64,
    pub commit_ns: u64,
    /// Everything, from the request to the outcome (loading code included).
    pub total_ns: u64,
    pub peak_memory_pages: u64,
    /// Which cache tier served the code: `memory`, `disk` or `compiled`.
    pub cache_tier: Label,
    /// Time spent compiling, when the code was compiled for this call.
    pub compile_ns: Option<u64>,
    /// Time spent loading the code on a miss of the memory tier (a disk
    /// load or a compilation); 0 on a memory hit.
    #[serde(default)]
    pub load_ns: u64,
    /// The code's hash, hex (the module the contract runs).
    #[serde(default)]
    pub code_hash: String,
    /// Size of the module's compiled artifact.
    #[serde(default)]
    pub artifact_bytes: u64,
    pub host_calls: Vec<HostCallRecord>,
}

impl CallRecord {
    /// Gas spent running WebAssembly (as opposed to host functions).
    pub fn wasm_gas(&self) -> u64 {
        self.gas_used.saturating_sub(self.host_gas)
    }
}

/// Receives every finished call. Implementations must be cheap: they run on
/// the call path. The record is shared (an `Arc`), so keeping it costs no
/// copy.
pub trait Observer: Send + Sync {
    fn record(&self, call: &Arc<CallRecord>);
}

//! Runs one call: the seed's `ExecutionController`.
//!
//! [`Executor::run`] prepares a fresh store (gas, deadline), instantiates
//! the contract from its `InstancePre`, runs the method, classifies how it
//! ended into a [`Status`], and hands back an [`Execution`] whose
//! [`Execution::settle`] commits the journal only when the status is `ok`.
//! A nested call keeps the journal instead of settling it.
//!
//! This crate knows nothing of caching or compilation: it is given an
//! `InstancePre` and a [`WasmContext`](xwasm_store::WasmContext).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_exec::{Budget, Entry, Executor, Status};
//! use xwasm_store::{Address, CallFrame, CallLimits, ChainContext, Journal, MemoryBackend, WasmContext};
//!
//! let engine = xwasm_engine::build_engine(&Default::default()).unwrap();
//! // Metered as the load-time rewrite meters: each basic block takes its
//! // cost from the exported gas global and traps below zero.
//! let module = wasmtime::Module::new(&engine, r#"(module (memory (export "memory") 1)
//!     (global $gas (export "__xwasm_gas") (mut i64) (i64.const 10000000))
//!     (func (export "spin") (loop
//!         (global.set $gas (i64.sub (global.get $gas) (i64.const 1)))
//!         (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
//!         (br 0))))"#).unwrap();
//! let pre = wasmtime::Linker::new(&engine).instantiate_pre(&module).unwrap();
//! let frame = CallFrame { chain: ChainContext::default(), origin: Address::default(),
//!     caller: Address::default(), contract: Address::default(), owner: Address::default(),
//!     input: vec![] };
//! let context = WasmContext::new(frame, Journal::new(Arc::new(MemoryBackend::new())),
//!     CallLimits::default());
//! let executor = Executor::new(engine);
//! let outcome = executor.run(&pre, context, Entry::Method("spin"), Budget::gas(10_000)).unwrap().settle().unwrap();
//! assert_eq!((outcome.status, outcome.gas_used), (Status::OutOfGas, 10_000));
//! ```

mod classify;
mod entry;
mod execution;
mod executor;
mod nested;
mod outcome;
mod profile;
mod sampler;
mod ticker;
mod trace;

pub use entry::{Driver, Entry, NoEntry, ResolvedMethod};
pub use execution::{Execution, FunctionRun, Observed, Timing};
pub use executor::Executor;
pub use outcome::{Outcome, Status};
pub use profile::ProfileReport;
pub use sampler::{FunctionSamples, Sampler};
pub use ticker::{EpochTicker, TICK};
pub use trace::{CodeSource, Observers, Trace};

use xwasm_store::StateError;

/// The gas one call may use. Its wall-clock bounds travel in the
/// context's [`StopSignal`](xwasm_store::StopSignal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub gas_limit: u64,
    /// Measure the call's [`Timing`] (a few clock reads).
    pub timed: bool,
}

impl Budget {
    pub fn gas(gas_limit: u64) -> Self {
        Self { gas_limit, timed: false }
    }
}

/// Why a call could not be run or settled at all (as opposed to running
/// and failing, which is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error("the contract has no method `{method}` (an exported function of type () -> ())")]
    UnknownMethod { method: String },
    #[error("function `{function}` takes {expected} arguments, {found} given")]
    BadArguments { function: String, expected: usize, found: usize },
    #[error("could not create an instance: {reason}")]
    Instantiate { reason: String },
    #[error(
        "this VM cannot stop a call from outside (no timeout was configured): build it with \
         `interruptible` on, or give it a timeout"
    )]
    NotInterruptible,
    #[error("the state backend failed during the call: {reason}")]
    Backend { reason: String },
    #[error("could not commit the call's state changes: {0}")]
    Commit(#[from] StateError),
}

//! A call that has run: its [`Execution`], holding the store until it is
//! settled, and the [`Timing`] of its phases.

use crate::{ExecError, Outcome, Status};
use std::time::Duration;
use wasmtime::{Store, Val};
use xwasm_store::WasmContext;

/// A call that has run: its outcome and the store it ran in, whose
/// context still holds the journal of its state changes. (The store, a
/// pointer, travels instead of the context itself: an execution is moved
/// a few times on the way back to the caller.)
pub struct Execution {
    pub outcome: Outcome,
    pub(crate) store: Store<WasmContext>,
    /// What the function returned (empty for a method, or on failure).
    pub results: Vec<Val>,
    /// The gas global's value when the call ended (none when it ran out),
    /// whatever the status: what a profile that charges a trap only for
    /// what ran reports.
    pub gas_left: u64,
    /// Where the wall time went, and the memory used (for the monitor; not
    /// consensus-relevant).
    pub timing: Timing,
}

/// Wall time of an execution's phases, and its peak memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    pub instantiate: Duration,
    pub execute: Duration,
    /// The contract memory's size at the end of the call, in 64 KiB pages
    /// (memory never shrinks, so this is its peak).
    pub peak_memory_pages: u64,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("outcome", &self.outcome)
            .field("context", self.context())
            .field("results", &self.results)
            .field("timing", &self.timing)
            .finish()
    }
}

impl Execution {
    /// The context the call ran with.
    pub fn context(&self) -> &WasmContext {
        self.store.data()
    }

    /// A copy of the instance's exported memory as the call left it (for
    /// differential tests), if it has one.
    pub fn memory_bytes(&self) -> Option<Vec<u8>> {
        Some(self.context().memory?.data(&self.store).to_vec())
    }

    /// The module's own exported globals as the call left them, by export
    /// name in export order (for differential tests); the rewrite's are
    /// left out.
    pub fn exported_globals(&mut self) -> Vec<(String, Val)> {
        let Some(instance) = self.context().instance else { return Vec::new() };
        let globals: Vec<(String, wasmtime::Global)> = instance
            .exports(&mut self.store)
            .filter(|export| !xwasm_store::RESERVED_EXPORTS.contains(&export.name()))
            .filter_map(|export| {
                let name = export.name().to_owned();
                export.into_global().map(|global| (name, global))
            })
            .collect();
        globals.into_iter().map(|(name, global)| (name, global.get(&mut self.store))).collect()
    }

    /// The outcome and the context the call ran with; the instance is
    /// released.
    pub fn into_parts(self) -> (Outcome, WasmContext) {
        (self.outcome, self.store.into_data())
    }

    /// Commits the journal if the call succeeded and drops it otherwise;
    /// returns the outcome.
    pub fn settle(self) -> Result<Outcome, ExecError> {
        if self.outcome.status == Status::Ok {
            self.store.into_data().journal.commit()?;
        }
        Ok(self.outcome)
    }
}

/// A plain function's run: its outcome and results.
#[derive(Debug, Clone)]
pub struct FunctionRun {
    pub outcome: Outcome,
    pub results: Vec<Val>,
}

/// What a call left in its instance.
#[derive(Debug, Clone)]
pub struct Observed {
    /// A copy of the memory, if the module has one.
    pub memory: Option<Vec<u8>>,
    /// The module's exported globals, by export name in export order.
    pub globals: Vec<(String, Val)>,
}

impl Execution {
    /// The function's run, and what it left in its instance, trapped or
    /// not: for differential tests against other engines.
    pub fn into_observed(mut self) -> (FunctionRun, Observed) {
        let observed = Observed { memory: self.memory_bytes(), globals: self.exported_globals() };
        (FunctionRun { outcome: self.outcome, results: self.results }, observed)
    }

    /// The function's run.
    pub fn into_run(self) -> FunctionRun {
        FunctionRun { outcome: self.outcome, results: self.results }
    }
}

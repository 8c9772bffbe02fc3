//! Running a call: its context set up in a fresh store, on the executor
//! of its code's tier.

use crate::{Vm, VmError};
use std::time::Duration;
use xwasm_exec::{Budget, Entry, Execution, Executor};
use xwasm_loader::LoadedCode;
use xwasm_store::{
    Address, CallFrame, ChainContext, ExecutionState, InterruptHandle, Journal, StopSignal, Transaction,
    WasmContext,
};

/// Per-call options beyond the transaction.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Lets another thread stop the call (status `timeout`).
    pub interrupt: Option<InterruptHandle>,
    /// Overrides the VM's configured wall-clock limit.
    pub timeout: Option<Duration>,
}

impl Vm {
    /// The context of a call of `call` over `journal`, under this VM's
    /// limits, its nested calls run by this VM.
    pub(crate) fn context(
        &self,
        call: CallFrame,
        journal: Journal,
        read_only: bool,
        stop: StopSignal,
    ) -> WasmContext {
        let mut context = WasmContext::new(call, journal, self.inner.config.limits);
        context.read_only = read_only;
        context.stop = stop;
        context.contracts = Some(self.inner.nested.clone());
        context.resources = wasmtime::StoreLimitsBuilder::new()
            .memory_size(self.inner.config.engine.max_memory_bytes as usize)
            .instances(1)
            .memories(1)
            .build();
        context
    }

    /// The context of a transaction's own call of `contract` (deployed by
    /// `owner`), with `options`' interrupt and timeout (or the VM's
    /// configured timeout).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn transaction_context(
        &self,
        contract: Address,
        owner: Address,
        chain: &ChainContext,
        tx: &Transaction,
        journal: Journal,
        read_only: bool,
        options: Option<&CallOptions>,
    ) -> WasmContext {
        let timeout = options.and_then(|o| o.timeout).or_else(|| self.call_timeout());
        let mut stop = StopSignal::after(timeout);
        stop.interrupt = options.and_then(|o| o.interrupt.clone());
        self.context(CallFrame::transaction(*chain, tx, contract, owner), journal, read_only, stop)
    }

    /// The context of a call over an empty state that is thrown away (or
    /// never read: a chain's own call brings its storage).
    pub(crate) fn empty_context(&self, gas_limit: u64, read_only: bool) -> WasmContext {
        let journal = Journal::new(std::sync::Arc::new(xwasm_store::MemoryBackend::new()));
        let tx = Transaction::new(Address::default(), gas_limit, Vec::new());
        let (nobody, chain) = (Address::default(), ChainContext::default());
        self.transaction_context(nobody, nobody, &chain, &tx, journal, read_only, None)
    }

    /// The configured wall-clock limit of a call.
    pub(crate) fn call_timeout(&self) -> Option<Duration> {
        self.inner.config.timeout_ms.map(Duration::from_millis)
    }

    /// Runs `code` in `context` on the executor of its tier: baseline code
    /// on the baseline tier's engine.
    pub(crate) fn execute(
        &self,
        code: &LoadedCode,
        context: WasmContext,
        entry: Entry<'_>,
        budget: Budget,
    ) -> Result<Execution, VmError> {
        let executor = match (&self.inner.baseline_executor, code.baseline) {
            (Some(baseline), true) => baseline,
            _ => &self.inner.executor,
        };
        self.execute_on(executor, code, context, entry, budget)
    }

    /// Runs `code` in `context` on `executor`.
    pub(crate) fn execute_on(
        &self,
        executor: &Executor,
        code: &LoadedCode,
        context: WasmContext,
        entry: Entry<'_>,
        budget: Budget,
    ) -> Result<Execution, VmError> {
        let pre = if context.read_only { &code.pre_read_only } else { &code.pre };
        self.inner.state.set(ExecutionState::Running);
        let result = executor.run(pre, context, entry, budget);
        let finished = match &result {
            Ok(execution) if execution.outcome.is_ok() => ExecutionState::Finished,
            _ => ExecutionState::Failed,
        };
        self.inner.state.set(finished);
        Ok(result?)
    }
}

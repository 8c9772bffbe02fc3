//! Deployments, calls, queries and nested calls: the order in which the
//! layers run.

use crate::code::Deployable;
use crate::run::CallOptions;
use crate::vm::NestedCalls;
use crate::{Vm, VmError};
use std::sync::Arc;
use tracing::field::Empty;
use wasmtime::Val;
use xwasm_exec::{Budget, Entry, Execution, FunctionRun, Observed, Outcome, Trace};
use xwasm_loader::{Check, HexHash, LoadedCode};
use xwasm_security::AuditKind;
use xwasm_store::{
    Address, ChainContext, ContractCaller, ContractRecord, Halt, Journal, NestedCall, NestedOutcome,
    StateBackend, Transaction,
};

impl Vm {
    /// [`Vm::deploy`] of native code against `backend`.
    pub(crate) fn deploy_native(
        &self,
        backend: Arc<dyn StateBackend>,
        wasm: &[u8],
        chain: &ChainContext,
        tx: &Transaction,
    ) -> Result<Outcome, VmError> {
        let code_hash = xwasm_security::code_hash(wasm);
        let span = tracing::info_span!(
            "xwasm.deploy",
            code_hash = %HexHash(&code_hash),
            bytes = wasm.len(),
            contract = Empty,
            tier = Empty,
            status = Empty,
            gas = Empty,
        );
        let mut trace = self.inner.observers.start("deploy").in_span(span);
        let mut journal = Journal::new(backend);
        let deployable = self.deployable(&journal, code_hash, wasm, tx.gas_limit, false, &mut trace);
        let (code, code_gas, code_stored) = match deployable.map_err(|e| self.refused(e, tx))? {
            Deployable::Loaded { code, gas, stored } => (code, gas, stored),
            Deployable::Unpaid { price, what } => {
                let outcome = Outcome::unpaid_deployment(tx.gas_limit, price, &what);
                self.report(trace, AuditKind::Deploy, &Address([0; 32]), "init", tx, &outcome);
                return Ok(outcome);
            }
        };
        let new_code = (!code_stored).then_some(wasm);
        let (address, record) =
            xwasm_chain::record_deployment(&mut journal, &tx.sender, code_hash, new_code)?;

        let mut outcome = if code.info.export("init").is_some() {
            let context = self.transaction_context(address, record.owner, chain, tx, journal, false, None);
            let budget = Budget { gas_limit: tx.gas_limit - code_gas, timed: trace.detailed() };
            let execution = self.execute(&code, context, code.entry("init"), budget)?;
            trace.ran(&execution);
            let mut outcome = trace.commit(|| execution.settle())?;
            outcome.gas_used = outcome.gas_used.saturating_add(code_gas);
            outcome.gas_limit = tx.gas_limit;
            outcome
        } else {
            trace.commit(|| journal.commit())?;
            Outcome::paid_deployment(tx.gas_limit, code_gas)
        };
        if outcome.is_ok() {
            outcome.address = Some(address);
        }
        trace.record("contract", tracing::field::display(&address));
        self.report(trace, AuditKind::Deploy, &address, "init", tx, &outcome);
        Ok(outcome)
    }

    /// Calls `method` of the contract at `address`.
    pub fn call(
        &self,
        address: &Address,
        method: &str,
        chain: &ChainContext,
        tx: &Transaction,
    ) -> Result<Outcome, VmError> {
        self.call_with(address, method, chain, tx, &CallOptions::default())
    }

    /// [`Vm::call`] with an interrupt handle or a timeout of its own.
    pub fn call_with(
        &self,
        address: &Address,
        method: &str,
        chain: &ChainContext,
        tx: &Transaction,
        options: &CallOptions,
    ) -> Result<Outcome, VmError> {
        self.run_call(self.inner.backend.clone(), address, method, chain, tx, false, options)
    }

    /// Calls `method` read-only: it may read state, but any write, remove,
    /// event (or a nested call that tries one) ends it with status `limit`
    /// and a message naming the host function. Nothing is ever committed.
    pub fn query(
        &self,
        address: &Address,
        method: &str,
        chain: &ChainContext,
        tx: &Transaction,
    ) -> Result<Outcome, VmError> {
        self.run_call(self.inner.backend.clone(), address, method, chain, tx, true, &CallOptions::default())
    }

    /// A call or query against `backend`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_call(
        &self,
        backend: Arc<dyn StateBackend>,
        address: &Address,
        method: &str,
        chain: &ChainContext,
        tx: &Transaction,
        read_only: bool,
        options: &CallOptions,
    ) -> Result<Outcome, VmError> {
        let span = tracing::info_span!(
            "xwasm.call",
            contract = %address,
            method,
            read_only,
            tier = Empty,
            status = Empty,
            gas = Empty,
        );
        let mut trace = self.inner.observers.start(if read_only { "query" } else { "call" }).in_span(span);
        let journal = Journal::new(backend);
        let (record, code) = self.callable(&journal, address, method, &mut trace)?;
        let options = Some(options);
        let context =
            self.transaction_context(*address, record.owner, chain, tx, journal, read_only, options);
        let budget = Budget { gas_limit: tx.gas_limit, timed: trace.detailed() };
        let execution = self.execute(&code, context, code.entry(method), budget)?;
        trace.ran(&execution);
        if let Some(Halt::Permission(denied)) = &execution.context().halt {
            let detail = Some(denied.clone());
            self.audit(AuditKind::HostFunctionDenied, Some(address), method, tx, "limit", 0, detail);
        }
        let outcome = if read_only { execution.outcome } else { trace.commit(|| execution.settle())? };
        let kind = if read_only { AuditKind::Query } else { AuditKind::Call };
        self.report(trace, kind, address, method, tx, &outcome);
        Ok(outcome)
    }

    /// The contract at `address` and its code, if `method` may be called.
    pub(crate) fn callable(
        &self,
        journal: &Journal,
        address: &Address,
        method: &str,
        trace: &mut Trace,
    ) -> Result<(ContractRecord, Arc<LoadedCode>), VmError> {
        if method == "init" {
            return Err(VmError::InitNotCallable);
        }
        let record = self.inner.records.record(journal, address)?;
        let code = self.stored_code(journal, address, &record, trace)?;
        if code.is_cosmwasm() {
            return Err(VmError::Profile(format!(
                "contract {address} is a CosmWasm contract: call its entry points (execute, query, migrate, sudo)"
            )));
        }
        if !code.methods.contains_key(method) {
            let available = code.info.methods().filter(|m| *m != "init").collect::<Vec<_>>().join(", ");
            return Err(VmError::UnknownMethod { address: *address, method: method.to_owned(), available });
        }
        Ok((record, code))
    }

    /// Runs a nested call made with the `call` host function.
    fn run_nested(&self, mut call: NestedCall) -> Result<NestedOutcome, String> {
        let span = tracing::info_span!(
            "xwasm.nested_call",
            contract = %call.callee,
            method = %call.method,
            depth = call.depth,
            status = Empty,
            gas = Empty,
        );
        let mut trace = self.inner.observers.start("nested").in_span(span);
        let (record, code) = match self.callable(&call.journal, &call.callee, &call.method, &mut trace) {
            Ok(found) => found,
            Err(VmError::State(error)) => return Err(error.to_string()),
            // A missing contract or method is the callee's failure, at no
            // gas: deterministic, and the caller goes on.
            Err(refusal) => return Ok(NestedOutcome::refused(call.journal, refusal.to_string())),
        };
        let frame = call.frame(record.owner);
        let mut journal = call.journal;
        let checkpoint = journal.checkpoint();
        let mut context = self.context(frame, journal, call.read_only, call.stop.clone());
        context.depth = call.depth;
        context.stack_base = call.stack_used;
        let budget = Budget { gas_limit: call.gas_limit, timed: trace.detailed() };
        let execution =
            self.execute(&code, context, code.entry(&call.method), budget).map_err(|e| e.to_string())?;
        trace.ran(&execution);
        let (nested, outcome) = execution.into_nested(checkpoint);
        self.inner.observers.observe(trace, &call.callee, &call.method, &outcome);
        Ok(nested)
    }

    /// Runs any exported function of `wasm` with `params`, against an empty
    /// state that is thrown away (for `xwasm run`).
    pub fn run_function(
        &self,
        wasm: &[u8],
        function: &str,
        params: &[Val],
        gas_limit: u64,
    ) -> Result<FunctionRun, VmError> {
        Ok(self.run_in_empty_state(&*self.load_code(wasm)?, function, params, gas_limit)?.into_run())
    }

    /// [`Vm::run_function`], also returning the instance's memory and
    /// exported globals as the call left them, trapped or not: for
    /// differential tests against other engines.
    pub fn run_function_observed(
        &self,
        wasm: &[u8],
        function: &str,
        params: &[Val],
        gas_limit: u64,
    ) -> Result<(FunctionRun, Observed), VmError> {
        Ok(self.run_in_empty_state(&*self.load_code(wasm)?, function, params, gas_limit)?.into_observed())
    }

    /// Runs `function` of `code` against an empty state that is thrown away.
    pub(crate) fn run_in_empty_state(
        &self,
        code: &LoadedCode,
        function: &str,
        params: &[Val],
        gas_limit: u64,
    ) -> Result<Execution, VmError> {
        let context = self.empty_context(gas_limit, false);
        self.execute(code, context, Entry::Function { name: function, params }, Budget::gas(gas_limit))
    }

    /// The signature of an exported function of `wasm`, checked and
    /// compiled as [`Vm::run_function`] would.
    pub fn function_type(&self, wasm: &[u8], function: &str) -> Result<Option<wasmtime::FuncType>, VmError> {
        let code = self.load_code(wasm)?;
        Ok(code.module.get_export(function).and_then(|e| e.func().cloned()))
    }

    /// The record of the contract at `address`, if there is one.
    pub fn contract(&self, address: &Address) -> Result<Option<ContractRecord>, VmError> {
        Ok(xwasm_chain::contract(self.inner.backend.as_ref(), address)?)
    }

    /// The committed storage of the contract at `address`, sorted by key
    /// bytes (consensus-relevant order).
    pub fn storage(&self, address: &Address) -> Result<xwasm_store::Entries, VmError> {
        Ok(xwasm_chain::storage(self.inner.backend.as_ref(), address)?)
    }

    /// Which tier's code serves the contract at `address` now: `baseline`
    /// (Winch, in a tiered VM, until the optimizing compile finishes) or
    /// `optimizing`. Loads the code if it is not loaded.
    pub fn loaded_tier(&self, address: &Address) -> Result<&'static str, VmError> {
        let record = self.contract(address)?.ok_or(VmError::NoContract { address: *address })?;
        let journal = Journal::new(self.inner.backend.clone());
        let code = self.stored_code(&journal, address, &record, &mut Trace::start("call", false))?;
        Ok(if code.baseline { "baseline" } else { "optimizing" })
    }

    /// Describes `wasm` with this VM's policy verdict.
    pub fn inspect(&self, wasm: &[u8]) -> Result<xwasm_security::ModuleInfo, VmError> {
        Ok(self.inner.loader.policy().inspect(wasm)?)
    }

    /// Loads stored code into the memory tier before traffic arrives (at a
    /// node's start, after an upgrade): from the disk tier, or compiled,
    /// on `threads` threads; `on_done` runs after each (progress). Each
    /// hash's tier or error, in order. [`xwasm_chain::code_hashes`] lists
    /// every stored code.
    pub fn warm(
        &self,
        code_hashes: &[xwasm_store::CodeHash],
        threads: usize,
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<Result<xwasm_exec::CodeSource, VmError>> {
        let backend = &self.inner.backend;
        let wasm = |hash: &xwasm_store::CodeHash| match backend.get(&xwasm_store::keys::code(hash))? {
            Some(wasm) => Ok(Arc::from(wasm)),
            None => Err(VmError::BadInput(format!("no code with hash {} is stored", hex::encode(hash)))),
        };
        self.inner.loader.warm(code_hashes, threads, &wasm, on_done)
    }

    /// The code pipeline: memory tier, disk tier and compiler.
    pub fn loader(&self) -> &Arc<xwasm_loader::Loader> {
        &self.inner.loader
    }

    /// Checked, compiled and linked code for `wasm` from outside.
    pub(crate) fn load_code(&self, wasm: &[u8]) -> Result<Arc<LoadedCode>, VmError> {
        let code_hash = xwasm_security::code_hash(wasm);
        Ok(self.inner.loader.load(code_hash, || Ok::<_, VmError>(Arc::from(wasm)), Check::Full)?.0)
    }
}

impl ContractCaller for NestedCalls {
    fn call(&self, call: NestedCall) -> Result<NestedOutcome, String> {
        let inner = self.0.upgrade().ok_or("the VM was dropped during a call")?;
        Vm { inner }.run_nested(call)
    }
}

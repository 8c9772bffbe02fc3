//! Deployments, calls, queries and nested calls: the order in which the
//! layers run.

use crate::code::{CodeSource, LoadedCode};
use crate::trace::Trace;
use crate::{Vm, VmError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tracing::field::Empty;
use wasmtime::Val;
use xwasm_exec::{Budget, Entry, Execution, Executor, Outcome, Status};
use xwasm_security::AuditKind;
use xwasm_store::{
    Address, CallFrame, ChainContext, ContractCaller, ContractRecord, ExecutionState, Halt, InterruptHandle,
    Journal, MemoryBackend, NestedCall, NestedOutcome, StopSignal, Transaction, WasmContext, keys,
};

/// Per-call options beyond the transaction.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Lets another thread stop the call (status `timeout`).
    pub interrupt: Option<InterruptHandle>,
    /// Overrides the VM's configured wall-clock limit.
    pub timeout: Option<Duration>,
}

/// The entry for `method` of `code`, resolved to its export when known.
fn resolved<'a>(code: &'a LoadedCode, method: &'a str) -> Entry<'a> {
    match code.methods.get(method) {
        Some(export) => Entry::Resolved(method, export),
        None => Entry::Method(method),
    }
}

/// Records how a call ended on its span. A disabled span (no subscriber
/// wants it) is skipped at once: recording looks fields up by name.
fn ended(span: &tracing::Span, outcome: &Outcome) {
    if !span.is_disabled() {
        span.record("status", outcome.status.as_str()).record("gas", outcome.gas_used);
    }
}

/// A code hash as hex, formatted only when a tracing subscriber wants it.
pub(crate) struct HexHash<'a>(pub(crate) &'a [u8; 32]);

impl std::fmt::Display for HexHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The result of [`Vm::run_function`].
#[derive(Debug, Clone)]
pub struct FunctionRun {
    pub outcome: Outcome,
    pub results: Vec<Val>,
}

/// What a call left in its instance ([`Vm::run_function_observed`]).
#[derive(Debug, Clone)]
pub struct Observed {
    /// A copy of the memory, if the module has one.
    pub memory: Option<Vec<u8>>,
    /// The module's exported globals, by export name in export order.
    pub globals: Vec<(String, Val)>,
}

/// Where a contract call starts: a transaction's own call or a nested one.
pub(crate) struct Frame<'a> {
    call: CallFrame,
    depth: u32,
    read_only: bool,
    stop: StopSignal,
    stack_base: u32,
    journal: Journal,
    code: &'a LoadedCode,
    /// A profile's per-call state for its host functions.
    extension: Option<xwasm_store::Extension>,
}

impl<'a> Frame<'a> {
    /// This frame as a nested call's: at `depth`, its stack count starting
    /// at the callers' `stack_base`, stopping with them.
    pub(crate) fn nested(mut self, depth: u32, stack_base: u32, stop: StopSignal) -> Self {
        self.depth = depth;
        self.stack_base = stack_base;
        self.stop = stop;
        self
    }

    /// A CosmWasm entry point's frame: a transaction's own call, with the
    /// profile's call state.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn cosmwasm(
        code: &'a LoadedCode,
        contract: Address,
        chain: ChainContext,
        sender: Address,
        journal: Journal,
        read_only: bool,
        state: xwasm_cosmwasm::CallState,
        timeout_ms: Option<u64>,
    ) -> Self {
        Frame {
            call: CallFrame {
                chain,
                origin: sender,
                caller: sender,
                contract,
                owner: sender,
                input: Vec::new(),
            },
            depth: 0,
            read_only,
            stop: StopSignal {
                deadline: timeout_ms.map(|t| Instant::now() + Duration::from_millis(t)),
                interrupt: None,
            },
            stack_base: 0,
            journal,
            code,
            extension: Some(state.into_extension()),
        }
    }
}

impl Vm {
    /// Deploys `wasm` from `tx.sender`, running its `init` (if exported)
    /// with `tx.input`. If `init` fails, nothing is recorded.
    ///
    /// The deployment's price ([`GasSchedule::deployment`](xwasm_host::GasSchedule::deployment))
    /// is charged first, before the bytes are parsed: a gas limit that
    /// cannot pay it ends `out_of_gas` at once, with no compile work and no
    /// change. `init` then runs with what is left, and the outcome's
    /// `gas_used` includes the price.
    ///
    /// The contract's address is
    /// [`Address::derive_contract`]`(sender, sender's deploy count, code hash)`.
    pub fn deploy(&self, wasm: &[u8], chain: &ChainContext, tx: &Transaction) -> Result<Outcome, VmError> {
        self.deploy_on(self.inner.backend.clone(), wasm, chain, tx)
    }

    /// [`Vm::deploy`] against `backend` (a block's view, say).
    pub(crate) fn deploy_on(
        &self,
        backend: Arc<dyn xwasm_store::StateBackend>,
        wasm: &[u8],
        chain: &ChainContext,
        tx: &Transaction,
    ) -> Result<Outcome, VmError> {
        if xwasm_cosmwasm::detect(wasm).is_some() {
            // A CosmWasm contract: `instantiate` with the input as its
            // message, from the sender, in this block.
            let mut env = xwasm_cosmwasm::BlockEnv::default();
            if *chain != ChainContext::default() {
                env.height = chain.block_height;
                env.time_nanos = chain.block_time_ms.saturating_mul(1_000_000);
            }
            let message = crate::CosmwasmMessage {
                sender: self.cosmwasm_address(&tx.sender),
                funds: Vec::new(),
                msg: tx.input.clone(),
                env,
                gas_limit: tx.gas_limit,
            };
            return Ok(self.instantiate_on(backend, wasm, &message, None)?.outcome);
        }
        let mut trace = Trace::start("deploy", self.detailed());
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
        let _entered = span.enter();
        let mut journal = Journal::new(backend);
        let refused = |error: VmError| {
            if error.is_policy_violation() {
                self.audit(AuditKind::PolicyRefusal, None, "", tx, "refused", 0, Some(error.to_string()));
            }
            error
        };
        let price = self
            .price_code(&journal, &code_hash, wasm, tx.gas_limit, crate::code::CodeProfile::Native)
            .map_err(refused)?;
        let code_stored = price.stored();
        let (code_gas, checked) = match price {
            crate::code::CodePrice::Paid { gas, checked } => (gas, checked),
            crate::code::CodePrice::Unpaid { price, what } => {
                let outcome = Outcome::unpaid_deployment(tx.gas_limit, price, &what);
                ended(&span, &outcome);
                self.report(trace, AuditKind::Deploy, &Address([0; 32]), "init", tx, &outcome);
                return Ok(outcome);
            }
        };
        let init_gas = tx.gas_limit - code_gas;
        let (code, source) =
            self.load_checked_code(code_hash, || Ok(Arc::from(wasm)), checked).map_err(refused)?;
        trace.loaded(source, &code);
        if !span.is_disabled() {
            span.record("tier", source.as_str());
        }
        let new_code = (!code_stored).then_some(wasm);
        let (address, record) = record_deployment(&mut journal, &tx.sender, code_hash, new_code)?;

        let mut outcome = if code.info.export("init").is_some() {
            let frame = self.transaction_frame(&code, address, record.owner, chain, tx, journal, false, None);
            let execution = self.execute(frame, Entry::Method("init"), init_gas, trace.detailed())?;
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
        if !span.is_disabled() {
            span.record("contract", tracing::field::display(&address));
        }
        ended(&span, &outcome);
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
        backend: Arc<dyn xwasm_store::StateBackend>,
        address: &Address,
        method: &str,
        chain: &ChainContext,
        tx: &Transaction,
        read_only: bool,
        options: &CallOptions,
    ) -> Result<Outcome, VmError> {
        let mut trace = Trace::start(if read_only { "query" } else { "call" }, self.detailed());
        let span = tracing::info_span!(
            "xwasm.call",
            contract = %address,
            method,
            read_only,
            tier = Empty,
            status = Empty,
            gas = Empty,
        );
        let _entered = span.enter();
        let journal = Journal::new(backend);
        let (record, code, source) = self.callable(&journal, address, method)?;
        trace.loaded(source, &code);
        if !span.is_disabled() {
            span.record("tier", source.as_str());
        }
        let frame = self.transaction_frame(
            &code,
            *address,
            record.owner,
            chain,
            tx,
            journal,
            read_only,
            Some(options),
        );
        let entry = resolved(&code, method);
        let execution = self.execute(frame, entry, tx.gas_limit, trace.detailed())?;
        trace.ran(&execution);
        if let Some(Halt::Permission(denied)) = &execution.context().halt {
            self.audit(
                AuditKind::HostFunctionDenied,
                Some(address),
                method,
                tx,
                "limit",
                0,
                Some(denied.clone()),
            );
        }
        let outcome = if read_only { execution.outcome } else { trace.commit(|| execution.settle())? };
        let kind = if read_only { AuditKind::Query } else { AuditKind::Call };
        ended(&span, &outcome);
        self.report(trace, kind, address, method, tx, &outcome);
        Ok(outcome)
    }

    /// The contract at `address` and its code, if `method` may be called.
    pub(crate) fn callable(
        &self,
        journal: &Journal,
        address: &Address,
        method: &str,
    ) -> Result<(ContractRecord, Arc<LoadedCode>, CodeSource), VmError> {
        if method == "init" {
            return Err(VmError::InitNotCallable);
        }
        let record = self.record(journal, address)?;
        let (code, source) = self.stored_code(journal, address, &record)?;
        if code.is_cosmwasm() {
            return Err(VmError::Profile(format!(
                "contract {address} is a CosmWasm contract: call its entry points (execute, query, migrate, sudo)"
            )));
        }
        if !code.methods.contains_key(method) {
            let available = code.info.methods().filter(|m| *m != "init").collect::<Vec<_>>().join(", ");
            return Err(VmError::UnknownMethod { address: *address, method: method.to_owned(), available });
        }
        Ok((record, code, source))
    }

    /// The record of the contract at `address`, from the record cache or
    /// the journal.
    pub(crate) fn record(&self, journal: &Journal, address: &Address) -> Result<ContractRecord, VmError> {
        let record = match self.inner.contracts.get(address) {
            Some(record) => record,
            None => {
                let key = keys::contract(address);
                let record = match journal.get(&key)? {
                    None => return Err(VmError::NoContract { address: *address }),
                    Some(bytes) => ContractRecord::from_bytes(&bytes).ok_or_else(|| {
                        xwasm_store::StateError::CorruptRecord {
                            key_hex: hex::encode(&key),
                            what: "contract record",
                        }
                    })?,
                };
                // Records change only by a migration, which forgets the
                // cached one once it commits; one in the journal (or in a
                // block's uncommitted writes) may still be rolled back, so
                // only committed ones are remembered.
                if !journal.changes().contains_key(&key) && journal.backend().is_committed() {
                    self.inner.contracts.insert(*address, record);
                }
                record
            }
        };
        Ok(record)
    }

    /// The loaded code of a deployed contract (its bytes come from state on
    /// a cache miss).
    pub(crate) fn stored_code(
        &self,
        journal: &Journal,
        address: &Address,
        record: &ContractRecord,
    ) -> Result<(Arc<LoadedCode>, CodeSource), VmError> {
        self.load_stored_code(record.code_hash, || {
            let wasm = journal.get(&keys::code(&record.code_hash))?;
            wasm.map(Arc::from).ok_or(VmError::MissingCode { address: *address })
        })
    }

    /// Runs a nested call made with the `call` host function.
    fn run_nested(&self, call: NestedCall) -> Result<NestedOutcome, String> {
        let mut trace = Trace::start("nested", self.detailed());
        let span = tracing::info_span!(
            "xwasm.nested_call",
            contract = %call.callee,
            method = %call.method,
            depth = call.depth,
            status = Empty,
            gas = Empty,
        );
        let _entered = span.enter();
        let mut journal = call.journal;
        let (record, code, source) = match self.callable(&journal, &call.callee, &call.method) {
            Ok(found) => found,
            Err(VmError::State(error)) => return Err(error.to_string()),
            Err(refusal) => {
                // A missing contract or method is the callee's failure, at
                // no gas: deterministic, and the caller goes on.
                return Ok(NestedOutcome {
                    success: false,
                    interrupted: false,
                    denied: None,
                    gas_used: 0,
                    result: refusal.to_string().into_bytes(),
                    events: Vec::new(),
                    logs: Vec::new(),
                    journal,
                });
            }
        };
        trace.loaded(source, &code);
        let checkpoint = journal.checkpoint();
        let frame = Frame {
            call: CallFrame {
                chain: call.chain,
                origin: call.origin,
                caller: call.caller,
                contract: call.callee,
                owner: record.owner,
                input: call.input,
            },
            depth: call.depth,
            read_only: call.read_only,
            stop: call.stop,
            stack_base: call.stack_used,
            journal,
            code: &code,
            extension: None,
        };
        let execution = self
            .execute(frame, resolved(&code, &call.method), call.gas_limit, trace.detailed())
            .map_err(|e| e.to_string())?;
        trace.ran(&execution);
        let (outcome, context) = execution.into_parts();
        let mut journal = context.journal;
        let success = outcome.status == Status::Ok;
        if success {
            journal.release(checkpoint);
        } else {
            journal.revert_to(checkpoint);
        }
        let result = match (&context.halt, success) {
            (_, true) => outcome.return_data.clone(),
            (Some(Halt::Abort(message)), _) => message.clone().into_bytes(),
            _ => outcome.error.clone().unwrap_or_default().into_bytes(),
        };
        let denied = match context.halt {
            Some(Halt::Permission(denied)) => Some(denied),
            _ => None,
        };
        ended(&span, &outcome);
        self.observe(trace, &call.callee, &call.method, &outcome);
        Ok(NestedOutcome {
            success,
            interrupted: outcome.status == Status::Timeout,
            denied,
            gas_used: outcome.gas_used,
            result,
            events: outcome.events,
            logs: outcome.logs,
            journal,
        })
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
        let code_hash = xwasm_security::code_hash(wasm);
        let (code, _) = self.load_code(code_hash, || Ok(Arc::from(wasm)))?;
        self.run_loaded(&code, function, params, gas_limit)
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
        let code_hash = xwasm_security::code_hash(wasm);
        let (code, _) = self.load_code(code_hash, || Ok(Arc::from(wasm)))?;
        let mut execution = self.execute_function(&code, function, params, gas_limit)?;
        let observed = Observed { memory: execution.memory_bytes(), globals: execution.exported_globals() };
        Ok((FunctionRun { outcome: execution.outcome, results: execution.results }, observed))
    }

    pub(crate) fn run_loaded(
        &self,
        code: &LoadedCode,
        function: &str,
        params: &[Val],
        gas_limit: u64,
    ) -> Result<FunctionRun, VmError> {
        let execution = self.execute_function(code, function, params, gas_limit)?;
        Ok(FunctionRun { outcome: execution.outcome, results: execution.results })
    }

    /// Runs `function` of `code` against an empty state that is thrown away.
    fn execute_function(
        &self,
        code: &LoadedCode,
        function: &str,
        params: &[Val],
        gas_limit: u64,
    ) -> Result<Execution, VmError> {
        let journal = Journal::new(Arc::new(MemoryBackend::new()));
        let tx = Transaction::new(Address::default(), gas_limit, Vec::new());
        let frame = self.transaction_frame(
            code,
            Address::default(),
            Address::default(),
            &ChainContext::default(),
            &tx,
            journal,
            false,
            None,
        );
        self.execute(frame, Entry::Function { name: function, params }, gas_limit, false)
    }

    /// The signature of an exported function of `wasm`, checked and
    /// compiled as [`Vm::run_function`] would.
    pub fn function_type(&self, wasm: &[u8], function: &str) -> Result<Option<wasmtime::FuncType>, VmError> {
        let (code, _) = self.load_code(xwasm_security::code_hash(wasm), || Ok(Arc::from(wasm)))?;
        Ok(code.module.get_export(function).and_then(|e| e.func().cloned()))
    }

    /// The record of the contract at `address`, if there is one.
    pub fn contract(&self, address: &Address) -> Result<Option<ContractRecord>, VmError> {
        let key = keys::contract(address);
        match self.inner.backend.get(&key)? {
            None => Ok(None),
            Some(bytes) => ContractRecord::from_bytes(&bytes).map(Some).ok_or_else(|| {
                xwasm_store::StateError::CorruptRecord { key_hex: hex::encode(&key), what: "contract record" }
                    .into()
            }),
        }
    }

    /// The committed storage of the contract at `address`, sorted by key
    /// bytes (consensus-relevant order).
    pub fn storage(&self, address: &Address) -> Result<xwasm_store::Entries, VmError> {
        if self.contract(address)?.is_none() {
            return Err(VmError::NoContract { address: *address });
        }
        let prefix = keys::storage_prefix(address);
        let entries = self.inner.backend.scan_prefix(&prefix)?;
        Ok(entries.into_iter().map(|(k, v)| (k[prefix.len()..].to_vec(), v)).collect())
    }

    /// Which tier's code serves the contract at `address` now: `baseline`
    /// (Winch, in a tiered VM, until the optimizing compile finishes) or
    /// `optimizing`. Loads the code if it is not loaded.
    pub fn loaded_tier(&self, address: &Address) -> Result<&'static str, VmError> {
        let record = self.contract(address)?.ok_or(VmError::NoContract { address: *address })?;
        let journal = Journal::new(self.inner.backend.clone());
        let (code, _) = self.stored_code(&journal, address, &record)?;
        Ok(if code.baseline { "baseline" } else { "optimizing" })
    }

    /// Describes `wasm` with this VM's policy verdict.
    pub fn inspect(&self, wasm: &[u8]) -> Result<xwasm_security::ModuleInfo, VmError> {
        Ok(self.inner.policy.inspect(wasm)?)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn transaction_frame<'a>(
        &self,
        code: &'a LoadedCode,
        contract: Address,
        owner: Address,
        chain: &ChainContext,
        tx: &Transaction,
        journal: Journal,
        read_only: bool,
        options: Option<&CallOptions>,
    ) -> Frame<'a> {
        let timeout = options
            .and_then(|o| o.timeout)
            .or_else(|| self.inner.config.timeout_ms.map(Duration::from_millis));
        Frame {
            call: CallFrame {
                chain: *chain,
                origin: tx.sender,
                caller: tx.sender,
                contract,
                owner,
                input: tx.input.clone(),
            },
            depth: 0,
            read_only,
            stop: StopSignal {
                deadline: timeout.map(|t| Instant::now() + t),
                interrupt: options.and_then(|o| o.interrupt.clone()),
            },
            stack_base: 0,
            journal,
            code,
            extension: None,
        }
    }

    /// Runs `frame` on the executor of its code's tier.
    pub(crate) fn execute_frame(
        &self,
        frame: Frame<'_>,
        entry: Entry<'_>,
        budget: Budget,
    ) -> Result<Execution, VmError> {
        let executor = match (&self.inner.baseline, frame.code.baseline) {
            (Some(tier), true) => &tier.executor,
            _ => &self.inner.executor,
        };
        self.execute_on(executor, frame, entry, budget)
    }

    fn execute(
        &self,
        frame: Frame<'_>,
        entry: Entry<'_>,
        gas_limit: u64,
        timed: bool,
    ) -> Result<Execution, VmError> {
        // Baseline code runs on the baseline tier's engine.
        let executor = match (&self.inner.baseline, frame.code.baseline) {
            (Some(tier), true) => &tier.executor,
            _ => &self.inner.executor,
        };
        self.execute_on(executor, frame, entry, Budget { gas_limit, timed })
    }

    pub(crate) fn execute_on(
        &self,
        executor: &Executor,
        frame: Frame<'_>,
        entry: Entry<'_>,
        budget: Budget,
    ) -> Result<Execution, VmError> {
        let mut context = WasmContext::new(frame.call, frame.journal, self.inner.config.limits);
        context.depth = frame.depth;
        context.read_only = frame.read_only;
        context.stop = frame.stop;
        context.stack_base = frame.stack_base;
        context.extension = frame.extension;
        context.contracts = Some(self.inner.nested.clone());
        context.resources = wasmtime::StoreLimitsBuilder::new()
            .memory_size(self.inner.config.engine.max_memory_bytes as usize)
            .instances(1)
            .memories(1)
            .build();
        let pre = if frame.read_only { &frame.code.pre_read_only } else { &frame.code.pre };
        self.set_state(ExecutionState::Running);
        let result = executor.run(pre, context, entry, budget);
        let finished = match &result {
            Ok(execution) if execution.outcome.is_ok() => ExecutionState::Finished,
            _ => ExecutionState::Failed,
        };
        self.set_state(finished);
        Ok(result?)
    }
}

/// Records a deployment in `journal`: the sender's deploy count, the new
/// contract's record and, for code not stored yet, the code. Returns the
/// contract's address, `Address::derive_contract(sender, count, code hash)`.
pub(crate) fn record_deployment(
    journal: &mut Journal,
    sender: &Address,
    code_hash: xwasm_store::CodeHash,
    new_code: Option<&[u8]>,
) -> Result<(Address, ContractRecord), VmError> {
    let count_key = keys::deploy_count(sender);
    let count = match journal.get(&count_key)? {
        Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
            xwasm_store::StateError::CorruptRecord { key_hex: hex::encode(&count_key), what: "deploy count" }
        })?),
        None => 0,
    };
    let address = Address::derive_contract(sender, count, &code_hash);
    journal.set(count_key, (count + 1).to_be_bytes().to_vec());
    if let Some(wasm) = new_code {
        journal.set(keys::code(&code_hash), wasm.to_vec());
    }
    let record = ContractRecord { code_hash, owner: *sender };
    journal.set(keys::contract(&address), record.to_bytes());
    Ok((address, record))
}

/// The VM as the `call` host function sees it.
pub(crate) struct NestedCalls(pub(crate) Weak<crate::vm::Inner>);

impl ContractCaller for NestedCalls {
    fn call(&self, call: NestedCall) -> Result<NestedOutcome, String> {
        let inner = self.0.upgrade().ok_or("the VM was dropped during a call")?;
        Vm { inner }.run_nested(call)
    }
}

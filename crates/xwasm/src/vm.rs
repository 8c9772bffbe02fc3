//! [`Vm`] and [`VmBuilder`]: the default pipeline, wired.

use crate::VmError;
use crate::code::{CodeSource, LoadedCode};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::Val;
use xwasm_cache::{MemoryTier, MemoryTierConfig};
use xwasm_engine::EngineConfig;
use xwasm_exec::{Budget, Entry, Execution, Executor, Outcome, Status};
use xwasm_host::GasSchedule;
use xwasm_linker::{HostFunction, HostRegistry, WasmType};
use xwasm_monitor::{CallRecord, Metrics, Observer};
use xwasm_security::{FuncSig, ImportSpec, ModuleLimits, ModulePolicy, Profile, ValType};
use xwasm_store::{
    Address, CallFrame, CallLimits, ChainContext, CodeHash, ContractRecord, ExecutionState, Journal,
    MemoryBackend, StateBackend, Transaction, WasmContext, keys,
};

/// Everything that configures a [`Vm`], serde-friendly for a TOML file.
///
/// Consensus-relevant: `engine.determinism`, `gas`, `limits`, `profile`,
/// `module_limits` and `allow_floats` must be equal on every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmConfig {
    pub engine: EngineConfig,
    pub gas: GasSchedule,
    pub limits: CallLimits,
    pub profile: Profile,
    pub module_limits: ModuleLimits,
    pub allow_floats: bool,
    /// Compiled contracts kept in memory.
    pub cache_entries: usize,
    pub cache_bytes: usize,
    /// Wall-clock limit of one call, in milliseconds (node-level, not
    /// consensus).
    pub timeout_ms: Option<u64>,
}

impl Default for VmConfig {
    fn default() -> Self {
        let cache = MemoryTierConfig::default();
        Self {
            engine: EngineConfig::default(),
            gas: GasSchedule::default(),
            limits: CallLimits::default(),
            profile: Profile::Xwasm,
            module_limits: ModuleLimits::default(),
            allow_floats: true,
            cache_entries: cache.max_entries,
            cache_bytes: cache.max_bytes,
            timeout_ms: None,
        }
    }
}

/// Builds a [`Vm`]; every layer can be replaced.
#[derive(Default)]
pub struct VmBuilder {
    config: VmConfig,
    backend: Option<Arc<dyn StateBackend>>,
    observers: Vec<Arc<dyn Observer>>,
    host_functions: Vec<HostFunction>,
}

impl VmBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn config(mut self, config: VmConfig) -> Self {
        self.config = config;
        self
    }

    pub fn engine(mut self, engine: EngineConfig) -> Self {
        self.config.engine = engine;
        self
    }

    /// Where committed state lives (default: a fresh [`MemoryBackend`]).
    pub fn backend(mut self, backend: Arc<dyn StateBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    pub fn gas_schedule(mut self, schedule: GasSchedule) -> Self {
        self.config.gas = schedule;
        self
    }

    pub fn limits(mut self, limits: CallLimits) -> Self {
        self.config.limits = limits;
        self
    }

    pub fn profile(mut self, profile: Profile) -> Self {
        self.config.profile = profile;
        self
    }

    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.timeout_ms = timeout.map(|t| t.as_millis() as u64);
        self
    }

    /// Adds an observer that sees every finished call.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Adds a host function beyond ABI.md (it must be in another namespace
    /// than `xwasm`, or replace nothing: duplicates are refused).
    pub fn host_function(mut self, function: HostFunction) -> Self {
        self.host_functions.push(function);
        self
    }

    pub fn build(self) -> Result<Vm, VmError> {
        let engine = xwasm_engine::build_engine(&self.config.engine)?;
        let mut registry = HostRegistry::new();
        xwasm_host::register_abi(&mut registry, Arc::new(self.config.gas.clone()));
        for function in self.host_functions {
            registry.add(function);
        }
        let linker = registry.build_linker(&engine, &|_| true)?;
        let allowed = registry
            .descriptors()
            .map(|d| ImportSpec {
                module: d.namespace.to_owned(),
                name: d.name.to_owned(),
                signature: FuncSig::new(&val_types(d.params), &val_types(d.results)),
            })
            .collect();
        let mut policy = ModulePolicy::new(self.config.profile, allowed);
        policy.limits = self.config.module_limits.clone();
        policy.allow_floats = self.config.allow_floats;
        let metrics = Arc::new(Metrics::default());
        let mut observers = self.observers;
        observers.push(metrics.clone());
        let code = MemoryTier::new(MemoryTierConfig {
            max_entries: self.config.cache_entries,
            max_bytes: self.config.cache_bytes,
        });
        Ok(Vm {
            inner: Arc::new(Inner {
                executor: Executor::new(engine.clone()),
                engine,
                linker,
                policy,
                backend: self.backend.unwrap_or_else(|| Arc::new(MemoryBackend::new())),
                code,
                observers,
                metrics,
                state: Mutex::new(ExecutionState::Idle),
                instances: Mutex::default(),
                config: self.config,
            }),
        })
    }
}

fn val_types(types: &[WasmType]) -> Vec<ValType> {
    types
        .iter()
        .map(|t| match t {
            WasmType::I32 => ValType::I32,
            WasmType::I64 => ValType::I64,
            WasmType::F32 => ValType::F32,
            WasmType::F64 => ValType::F64,
        })
        .collect()
}

pub(crate) struct Inner {
    pub(crate) config: VmConfig,
    pub(crate) engine: wasmtime::Engine,
    pub(crate) executor: Executor,
    pub(crate) linker: wasmtime::Linker<WasmContext>,
    pub(crate) policy: ModulePolicy,
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) code: MemoryTier<CodeHash, Arc<LoadedCode>>,
    observers: Vec<Arc<dyn Observer>>,
    metrics: Arc<Metrics>,
    pub(crate) state: Mutex<ExecutionState>,
    pub(crate) instances: Mutex<crate::machine::Instances>,
}

/// A contract VM: deploys code and runs calls against a state backend.
///
/// Cheap to clone (the clones share everything) and `Send + Sync`: calls
/// may run from many threads at once. Each call commits its own changes
/// atomically; ordering calls that touch the same contract is the
/// embedder's job, as on any chain.
#[derive(Clone)]
pub struct Vm {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// The result of [`Vm::run_function`].
#[derive(Debug, Clone)]
pub struct FunctionRun {
    pub outcome: Outcome,
    pub results: Vec<Val>,
}

impl Vm {
    pub fn builder() -> VmBuilder {
        VmBuilder::new()
    }

    pub fn config(&self) -> &VmConfig {
        &self.inner.config
    }

    pub fn engine(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }

    pub fn policy(&self) -> &ModulePolicy {
        &self.inner.policy
    }

    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.inner.backend
    }

    /// Running totals of every call this VM has made.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn cache_stats(&self) -> xwasm_cache::CacheStats {
        self.inner.code.stats()
    }

    fn budget(&self, gas_limit: u64) -> Budget {
        Budget { gas_limit, timeout: self.inner.config.timeout_ms.map(Duration::from_millis) }
    }

    /// Deploys `wasm` from `tx.sender`, running its `init` (if exported)
    /// with `tx.input`. If `init` fails, nothing is recorded.
    ///
    /// The contract's address is
    /// [`Address::derive_contract`]`(sender, sender's deploy count, code hash)`.
    pub fn deploy(&self, wasm: &[u8], chain: &ChainContext, tx: &Transaction) -> Result<Outcome, VmError> {
        let started = Instant::now();
        let code_hash = xwasm_security::code_hash(wasm);
        let (code, source) = self.load_code(code_hash, || Ok(Arc::from(wasm)))?;
        let mut journal = Journal::new(self.inner.backend.clone());
        let count_key = keys::deploy_count(&tx.sender);
        let count = match journal.get(&count_key)? {
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                xwasm_store::StateError::CorruptRecord {
                    key_hex: hex::encode(&count_key),
                    what: "deploy count",
                }
            })?),
            None => 0,
        };
        let address = Address::derive_contract(&tx.sender, count, &code_hash);
        journal.set(count_key, (count + 1).to_be_bytes().to_vec());
        let code_key = keys::code(&code_hash);
        if journal.get(&code_key)?.is_none() {
            journal.set(code_key, wasm.to_vec());
        }
        let record = ContractRecord { code_hash, owner: tx.sender };
        journal.set(keys::contract(&address), record.to_bytes());

        let mut outcome = if code.info.export("init").is_some() {
            let context = self.context(address, record.owner, chain, tx, journal);
            self.execute(&code, context, Entry::Method("init"), tx.gas_limit)?.settle()?
        } else {
            journal.commit()?;
            Outcome {
                status: Status::Ok,
                gas_used: 0,
                gas_limit: tx.gas_limit,
                return_data: Vec::new(),
                events: Vec::new(),
                logs: Vec::new(),
                error: None,
                host_gas: 0,
                address: None,
            }
        };
        if outcome.is_ok() {
            outcome.address = Some(address);
        }
        self.observe(&address, "init", &outcome, started, source);
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
        let started = Instant::now();
        if method == "init" {
            return Err(VmError::InitNotCallable);
        }
        let record = self.contract(address)?.ok_or(VmError::NoContract { address: *address })?;
        let (code, source) = self.load_code(record.code_hash, || {
            let wasm = self.inner.backend.get(&keys::code(&record.code_hash))?;
            wasm.map(Arc::from).ok_or(VmError::MissingCode { address: *address })
        })?;
        if !code.info.methods().any(|m| m == method) {
            let available = code.info.methods().filter(|m| *m != "init").collect::<Vec<_>>().join(", ");
            return Err(VmError::UnknownMethod { address: *address, method: method.to_owned(), available });
        }
        let journal = Journal::new(self.inner.backend.clone());
        let context = self.context(*address, record.owner, chain, tx, journal);
        let outcome = self.execute(&code, context, Entry::Method(method), tx.gas_limit)?.settle()?;
        self.observe(address, method, &outcome, started, source);
        Ok(outcome)
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

    pub(crate) fn run_loaded(
        &self,
        code: &LoadedCode,
        function: &str,
        params: &[Val],
        gas_limit: u64,
    ) -> Result<FunctionRun, VmError> {
        let journal = Journal::new(Arc::new(MemoryBackend::new()));
        let tx = Transaction::new(Address::default(), gas_limit, Vec::new());
        let context =
            self.context(Address::default(), Address::default(), &ChainContext::default(), &tx, journal);
        let execution = self.execute(code, context, Entry::Function { name: function, params }, gas_limit)?;
        Ok(FunctionRun { outcome: execution.outcome, results: execution.results })
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

    /// Describes `wasm` with this VM's policy verdict.
    pub fn inspect(&self, wasm: &[u8]) -> Result<xwasm_security::ModuleInfo, VmError> {
        Ok(self.inner.policy.inspect(wasm)?)
    }

    pub(crate) fn context(
        &self,
        contract: Address,
        owner: Address,
        chain: &ChainContext,
        tx: &Transaction,
        journal: Journal,
    ) -> WasmContext {
        let frame = CallFrame {
            chain: *chain,
            origin: tx.sender,
            caller: tx.sender,
            contract,
            owner,
            input: tx.input.clone(),
        };
        WasmContext::new(frame, journal, self.inner.config.limits)
    }

    fn execute(
        &self,
        code: &LoadedCode,
        context: WasmContext,
        entry: Entry<'_>,
        gas_limit: u64,
    ) -> Result<Execution, VmError> {
        self.set_state(ExecutionState::Running);
        let result = self.inner.executor.run(&code.pre, context, entry, self.budget(gas_limit));
        let finished = match &result {
            Ok(execution) if execution.outcome.is_ok() => ExecutionState::Finished,
            _ => ExecutionState::Failed,
        };
        self.set_state(finished);
        Ok(result?)
    }

    pub(crate) fn set_state(&self, state: ExecutionState) {
        *self.inner.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    fn observe(
        &self,
        address: &Address,
        method: &str,
        outcome: &Outcome,
        started: Instant,
        source: CodeSource,
    ) {
        let record = CallRecord {
            contract: address.to_hex(),
            method: method.to_owned(),
            status: outcome.status.as_str().to_owned(),
            gas_used: outcome.gas_used,
            host_gas: outcome.host_gas,
            wall_time: started.elapsed(),
            cache_tier: source.as_str().to_owned(),
        };
        for observer in &self.inner.observers {
            observer.record(&record);
        }
    }
}

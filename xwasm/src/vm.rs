//! [`Vm`] and [`VmBuilder`]: the default pipeline, wired.

use crate::VmError;
use crate::code::LoadedCode;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use xwasm_cache::{ArtifactCache, ArtifactNamespace, ArtifactStore, MemoryTier, MemoryTierConfig};
use xwasm_engine::EngineConfig;
use xwasm_exec::Executor;
use xwasm_host::GasSchedule;
use xwasm_linker::{HostFnDescriptor, HostFunction, HostRegistry, WasmType};
use xwasm_monitor::{AlertSink, Monitor, MonitorConfig, Observer, TracingAlerts};
use xwasm_security::preprocess::{RewriteOptions, StackLimit};
use xwasm_security::{AuditSink, FuncSig, ImportSpec, ModuleLimits, ModulePolicy, Profile, ValType};
use xwasm_store::{
    CallLimits, CodeHash, ContractCaller, ExecutionState, MemoryBackend, StateBackend, WasmContext,
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
    /// The deterministic call-stack limit (see
    /// `xwasm_security::preprocess`).
    pub stack_limit: StackLimit,
    /// Optional passes of the load-time rewrite.
    pub rewrite: RewriteOptions,
    /// Host functions contracts may import, by name; `None` allows all.
    /// The others are never linked, and a module importing one is refused.
    pub host_functions: Option<Vec<String>>,
    /// Compiled contracts kept in memory.
    pub cache_entries: usize,
    pub cache_bytes: usize,
    /// The disk tier's folder; `None` keeps compiled code in memory only.
    pub cache_dir: Option<std::path::PathBuf>,
    /// The disk tier's size bound.
    pub disk_cache_bytes: u64,
    /// Wall-clock limit of one call, in milliseconds (node-level, not
    /// consensus). Setting one makes the engine interruptible
    /// (`engine.interruptible`).
    pub timeout_ms: Option<u64>,
    /// Tiered compilation: a new contract first runs on Winch (fast to
    /// compile) while Cranelift compiles it in the background; calls switch
    /// once it is ready. Gas and results are the same in both tiers.
    pub tiered: bool,
    /// The `cosmwasm` profile: its gas table, bech32 prefix, capabilities
    /// and upload limits. Consensus-relevant.
    pub cosmwasm: xwasm_cosmwasm::CosmwasmConfig,
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
            stack_limit: StackLimit::default(),
            rewrite: RewriteOptions::default(),
            host_functions: None,
            cache_entries: cache.max_entries,
            cache_bytes: cache.max_bytes,
            cache_dir: None,
            disk_cache_bytes: 1 << 30,
            timeout_ms: None,
            tiered: false,
            cosmwasm: xwasm_cosmwasm::CosmwasmConfig::default(),
        }
    }
}

/// Builds a [`Vm`]; every layer can be replaced.
pub struct VmBuilder {
    config: VmConfig,
    backend: Option<Arc<dyn StateBackend>>,
    observers: Vec<Arc<dyn Observer>>,
    audit: Option<Arc<dyn AuditSink>>,
    artifacts: Option<Arc<dyn ArtifactCache>>,
    host_functions: Vec<HostFunction>,
    monitor: Option<MonitorConfig>,
    alerts: Arc<dyn AlertSink>,
    cosmwasm_api: Option<Arc<dyn xwasm_cosmwasm::AddressApi>>,
    cosmwasm_querier: Option<Arc<dyn xwasm_cosmwasm::Querier>>,
}

impl Default for VmBuilder {
    fn default() -> Self {
        Self {
            config: VmConfig::default(),
            backend: None,
            observers: Vec::new(),
            audit: None,
            artifacts: None,
            host_functions: Vec::new(),
            monitor: Some(MonitorConfig::default()),
            alerts: Arc::new(TracingAlerts),
            cosmwasm_api: None,
            cosmwasm_querier: None,
        }
    }
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

    /// A wall-clock limit on every call (makes the VM interruptible).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.timeout_ms = timeout.map(|t| t.as_millis() as u64);
        self
    }

    /// Compiles wall-clock checks into contract code, so that calls can
    /// be given a timeout or an [`InterruptHandle`](crate::InterruptHandle)
    /// ([`CallOptions`](crate::CallOptions)) and be profiled
    /// ([`Vm::profile`]). Off by default: gas bounds every call, and the
    /// checks slow loops down. A configured timeout turns it on.
    pub fn interruptible(mut self, interruptible: bool) -> Self {
        self.config.engine.interruptible = interruptible;
        self
    }

    /// Configures the built-in monitor; `None` turns it off (observers
    /// added with [`VmBuilder::observer`] still see every call).
    pub fn monitoring(mut self, config: Option<MonitorConfig>) -> Self {
        self.monitor = config;
        self
    }

    /// Where the built-in monitor's alerts go (default: `tracing`).
    pub fn alert_sink(mut self, sink: Arc<dyn AlertSink>) -> Self {
        self.alerts = sink;
        self
    }

    /// Adds an observer that sees every finished call.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observers.push(observer);
        self
    }

    /// The disk tier of compiled code in `dir` (see [`VmConfig::cache_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.cache_dir = Some(dir.into());
        self
    }

    /// A disk tier of your own (replaces [`VmBuilder::cache_dir`]).
    pub fn artifact_cache(mut self, cache: Arc<dyn ArtifactCache>) -> Self {
        self.artifacts = Some(cache);
        self
    }

    /// Where the audit log goes (default: nowhere).
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Adds a host function beyond ABI.md (it must be in another namespace
    /// than `xwasm`, or replace nothing: duplicates are refused).
    /// The address API of CosmWasm contracts' `addr_*` imports (default:
    /// bech32 with the configured prefix, as cosmwasm-vm's MockApi).
    pub fn cosmwasm_api(mut self, api: Arc<dyn xwasm_cosmwasm::AddressApi>) -> Self {
        self.cosmwasm_api = Some(api);
        self
    }

    /// The querier of CosmWasm contracts' `query_chain` (default:
    /// [`xwasm_cosmwasm::DefaultQuerier`]).
    pub fn cosmwasm_querier(mut self, querier: Arc<dyn xwasm_cosmwasm::Querier>) -> Self {
        self.cosmwasm_querier = Some(querier);
        self
    }

    pub fn host_function(mut self, function: HostFunction) -> Self {
        self.host_functions.push(function);
        self
    }

    pub fn build(mut self) -> Result<Vm, VmError> {
        if self.config.timeout_ms.is_some() {
            self.config.engine.interruptible = true;
        }
        let module_limits = engine_fit(&self.config.module_limits, &self.config.engine)?;
        let capacity = xwasm_engine::ModuleCapacity {
            tables: module_limits.max_tables.min(u64::from(u32::MAX)) as u32,
            table_elements: module_limits.max_table_elements,
        };
        let engine = xwasm_engine::build_engine_for(&self.config.engine, capacity)?;
        let mut registry = HostRegistry::new();
        xwasm_host::register_abi(&mut registry, Arc::new(self.config.gas.clone()));
        for function in self.host_functions {
            registry.add(function);
        }
        let allow_list = self.config.host_functions.clone();
        let allow = move |d: &HostFnDescriptor| {
            allow_list.as_ref().is_none_or(|names| names.iter().any(|n| n == d.name))
        };
        let linker = registry.build_linker(&engine, &allow)?;
        let read_only_linker = registry.build_read_only_linker(&engine, &allow)?;
        let baseline = if self.config.tiered && self.config.engine.strategy != xwasm_engine::Strategy::Winch {
            let config =
                EngineConfig { strategy: xwasm_engine::Strategy::Winch, ..self.config.engine.clone() };
            let engine = xwasm_engine::build_engine_for(&config, capacity)?;
            Some(Baseline {
                executor: Executor::new(engine.clone()).limited(config.pooling.is_none()),
                linker: registry.build_linker(&engine, &allow)?,
                read_only_linker: registry.build_read_only_linker(&engine, &allow)?,
                engine,
            })
        } else {
            None
        };
        let allowed = registry
            .descriptors()
            .filter(|d| allow(d) && d.namespace != xwasm_host::INTERNAL_NAMESPACE)
            .map(|d| ImportSpec {
                module: d.namespace.to_owned(),
                name: d.name.to_owned(),
                signature: FuncSig::new(&val_types(d.params), &val_types(d.results)),
            })
            .collect();
        let mut policy = ModulePolicy::new(self.config.profile, allowed);
        policy.limits = module_limits;
        policy.allow_floats = self.config.allow_floats;
        if self.config.stack_limit.max_units > StackLimit::MAX_UNITS {
            return Err(VmError::Engine(xwasm_engine::EngineError::InvalidConfig {
                reason: format!(
                    "stack_limit.max_units {} exceeds {} (the count and a claim must fit in 31 bits)",
                    self.config.stack_limit.max_units,
                    StackLimit::MAX_UNITS
                ),
            }));
        }
        policy.stack_limit = self.config.stack_limit;
        policy.rewrite = self.config.rewrite;
        let cosmwasm = crate::cosmwasm_calls::Layer::build(
            &self.config,
            &policy,
            &engine,
            baseline.as_ref().map(|tier| &tier.engine),
            self.cosmwasm_api.take(),
            self.cosmwasm_querier.take(),
        )?;
        let monitor = self.monitor.map(|config| Arc::new(Monitor::new(config, self.alerts)));
        let observers = self.observers;
        let code = MemoryTier::new(MemoryTierConfig {
            max_entries: self.config.cache_entries,
            max_bytes: self.config.cache_bytes,
        });
        let artifacts = match (self.artifacts, &self.config.cache_dir) {
            (Some(custom), _) => Some(custom),
            (None, Some(dir)) => {
                let store = ArtifactStore::open(
                    dir,
                    artifact_namespace(&engine, &policy),
                    self.config.disk_cache_bytes,
                )?;
                Some(Arc::new(store) as Arc<dyn ArtifactCache>)
            }
            (None, None) => None,
        };
        let inner = Arc::new_cyclic(|vm| Inner {
            cosmwasm,
            artifacts,
            baseline,
            // The pool caps memories itself.
            executor: Executor::new(engine.clone()).limited(self.config.engine.pooling.is_none()),
            engine,
            linker,
            read_only_linker,
            policy,
            backend: self.backend.unwrap_or_else(|| Arc::new(MemoryBackend::new())),
            code,
            observers,
            audit: self.audit,
            monitor,
            calls: std::sync::atomic::AtomicU64::new(0),
            nested: Arc::new(crate::calls::NestedCalls(vm.clone())),
            state: std::sync::atomic::AtomicU8::new(0),
            contracts: Default::default(),
            instances: Mutex::default(),
            config: self.config,
        });
        Ok(Vm { inner })
    }
}

/// The policy's limits as the engine can honour them: the one source of
/// both. The engine's pool is sized from the tables and table elements;
/// the initial memory is capped at the engine's memory cap; what the
/// compiler cannot take at all (a `br_table` of more targets than
/// Cranelift's maximum) is a configuration error, so that a module the
/// policy accepts always compiles and instantiates.
pub fn engine_fit(limits: &ModuleLimits, engine: &EngineConfig) -> Result<ModuleLimits, VmError> {
    let invalid = |reason: String| VmError::Engine(xwasm_engine::EngineError::InvalidConfig { reason });
    if limits.max_br_table_targets > xwasm_engine::MAX_BR_TABLE_TARGETS {
        return Err(invalid(format!(
            "module_limits.max_br_table_targets {} exceeds what the compiler takes ({})",
            limits.max_br_table_targets,
            xwasm_engine::MAX_BR_TABLE_TARGETS
        )));
    }
    if limits.max_tables > u64::from(u32::MAX) || limits.max_table_elements > u64::from(u32::MAX) {
        return Err(invalid("module_limits: tables and table elements must fit in 32 bits".into()));
    }
    let mut fitted = limits.clone();
    fitted.max_initial_memory_pages = fitted.max_initial_memory_pages.min(engine.max_memory_bytes >> 16);
    Ok(fitted)
}

/// The namespace of this engine's artifacts in a disk tier: the compiler
/// version, the preprocessing (its version and stack limit) and the
/// engine's compatibility fingerprint.
pub fn artifact_namespace(engine: &wasmtime::Engine, policy: &ModulePolicy) -> ArtifactNamespace {
    ArtifactNamespace {
        compiler_version: format!(
            "{}+pre{}.{}{}",
            xwasm_aot::COMPILER_VERSION,
            xwasm_security::preprocess::PREPROCESS_VERSION,
            policy.stack_limit.max_units,
            if policy.rewrite.strip_custom_sections { ".strip" } else { "" }
        ),
        engine_fingerprint: xwasm_aot::engine_fingerprint(engine),
    }
}

pub(crate) fn val_types(types: &[WasmType]) -> Vec<ValType> {
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

const STATES: [ExecutionState; 4] =
    [ExecutionState::Idle, ExecutionState::Running, ExecutionState::Finished, ExecutionState::Failed];

/// The baseline tier of a tiered VM: Winch, with its own linkers.
pub(crate) struct Baseline {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) executor: Executor,
    pub(crate) linker: wasmtime::Linker<WasmContext>,
    pub(crate) read_only_linker: wasmtime::Linker<WasmContext>,
}

pub(crate) struct Inner {
    /// The `cosmwasm` profile's policy, linkers and chain services.
    pub(crate) cosmwasm: crate::cosmwasm_calls::Layer,
    pub(crate) baseline: Option<Baseline>,
    pub(crate) config: VmConfig,
    pub(crate) engine: wasmtime::Engine,
    pub(crate) executor: Executor,
    pub(crate) linker: wasmtime::Linker<WasmContext>,
    /// Host functions with side effects are denial stubs here.
    pub(crate) read_only_linker: wasmtime::Linker<WasmContext>,
    pub(crate) policy: ModulePolicy,
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) code: MemoryTier<CodeHash, Arc<LoadedCode>>,
    pub(crate) artifacts: Option<Arc<dyn ArtifactCache>>,
    /// The embedder's observers (the built-in monitor is apart).
    pub(crate) observers: Vec<Arc<dyn Observer>>,
    pub(crate) audit: Option<Arc<dyn AuditSink>>,
    pub(crate) monitor: Option<Arc<Monitor>>,
    /// Calls started, for the monitor's sampling of detail.
    pub(crate) calls: std::sync::atomic::AtomicU64,
    /// Runs the `call` host function's nested calls on this VM.
    pub(crate) nested: Arc<dyn ContractCaller>,
    /// The last `ExecutionState`, as its index in `STATES`.
    pub(crate) state: std::sync::atomic::AtomicU8,
    /// Contract records already read (they never change once committed).
    pub(crate) contracts: crate::code::RecordCache,
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

    /// The built-in monitor (unless turned off with
    /// [`VmBuilder::monitoring`]).
    pub fn monitor(&self) -> Option<&Monitor> {
        self.inner.monitor.as_deref()
    }

    /// The built-in monitor's figures as a `prometheus-client` collector,
    /// for a node to register in its own registry
    /// (`Registry::register_collector`); `None` when monitoring is off.
    pub fn metrics_collector(&self) -> Option<xwasm_monitor::MetricsCollector> {
        self.inner.monitor.clone().map(xwasm_monitor::MetricsCollector::new)
    }

    /// The memory tier's statistics.
    pub fn cache_stats(&self) -> xwasm_cache::CacheStats {
        self.inner.code.stats()
    }

    /// Whether compiled code also goes to a disk tier.
    /// Drops `code_hash`'s compiled code from the memory tier: the next
    /// call loads it from the disk tier (or compiles it). For operators
    /// and measurements; results and gas do not depend on it.
    pub fn evict_code(&self, code_hash: &xwasm_store::CodeHash) -> bool {
        self.inner.code.remove(code_hash).is_some()
    }

    pub fn has_disk_cache(&self) -> bool {
        self.inner.artifacts.is_some()
    }

    pub(crate) fn set_state(&self, state: ExecutionState) {
        let index = STATES.iter().position(|s| *s == state).expect("every state is listed");
        self.inner.state.store(index as u8, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> ExecutionState {
        STATES[self.inner.state.load(std::sync::atomic::Ordering::Relaxed) as usize]
    }
}

//! [`Vm`] and [`VmBuilder`]: the default pipeline, wired.

use crate::VmError;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Weak};
use std::time::Duration;
use xwasm_cache::{ArtifactCache, MemoryTierConfig};
use xwasm_engine::EngineConfig;
use xwasm_exec::Executor;
use xwasm_host::GasSchedule;
use xwasm_linker::{HostFnDescriptor, HostFunction, HostRegistry};
use xwasm_loader::{Loader, ProfileCode, import_specs};
use xwasm_monitor::{AlertSink, Monitor, MonitorConfig, Observer, TracingAlerts};
use xwasm_security::preprocess::{RewriteOptions, StackLimit};
use xwasm_security::{AuditSink, ModuleLimits, ModulePolicy, Profile};
use xwasm_store::{CallLimits, MemoryBackend, StateBackend};

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
    /// once it is ready. Gas and results are the same in both tiers. No
    /// effect on a Winch engine.
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

    /// Adds a host function beyond ABI.md (it must be in another namespace
    /// than `xwasm`, or replace nothing: duplicates are refused).
    pub fn host_function(mut self, function: HostFunction) -> Self {
        self.host_functions.push(function);
        self
    }

    pub fn build(mut self) -> Result<Vm, VmError> {
        if self.config.timeout_ms.is_some() {
            self.config.engine.interruptible = true;
        }
        let config = &self.config;
        let module_limits = xwasm_loader::engine_fit(&config.module_limits, &config.engine)?;
        let capacity = xwasm_engine::ModuleCapacity {
            tables: module_limits.max_tables.min(u64::from(u32::MAX)) as u32,
            table_elements: module_limits.max_table_elements,
        };
        let engine = xwasm_engine::build_engine_for(&config.engine, capacity)?;
        let baseline_config = config.engine.baseline().filter(|_| config.tiered);
        let baseline =
            baseline_config.as_ref().map(|c| xwasm_engine::build_engine_for(c, capacity)).transpose()?;
        xwasm_loader::check_stack_limit(config.stack_limit)?;
        let policy = |profile, allowed| {
            let mut policy = ModulePolicy::new(profile, allowed);
            policy.limits = module_limits.clone();
            policy.stack_limit = config.stack_limit;
            policy.rewrite = config.rewrite;
            policy
        };

        // The native profile: ABI.md's host functions and the embedder's.
        let mut registry = HostRegistry::new();
        xwasm_host::register_abi(&mut registry, Arc::new(config.gas.clone()));
        for function in std::mem::take(&mut self.host_functions) {
            registry.add(function);
        }
        let allow_list = config.host_functions.clone();
        let allow = move |d: &HostFnDescriptor| {
            allow_list.as_ref().is_none_or(|names| names.iter().any(|n| n == d.name))
        };
        let imports = import_specs(&registry, |d| allow(d) && d.namespace != xwasm_host::INTERNAL_NAMESPACE);
        let mut native_policy = policy(config.profile, imports);
        native_policy.allow_floats = config.allow_floats;
        let native = ProfileCode::link(native_policy, &registry, &allow, &engine, baseline.as_ref(), true)?;

        let registry = xwasm_cosmwasm::registry(Arc::new(config.gas.clone()));
        let cw_policy = |imports| policy(Profile::Cosmwasm, imports);
        let cosmwasm = ProfileCode::cosmwasm(cw_policy, &registry, &engine, baseline.as_ref())?;

        let memory = MemoryTierConfig { max_entries: config.cache_entries, max_bytes: config.cache_bytes };
        let mut loader = Loader::new(engine.clone(), native, cosmwasm, memory)
            .with_cosmwasm_checks(config.cosmwasm.capabilities.clone(), config.cosmwasm.limits.clone());
        let mut baseline_executor = None;
        if let (Some(baseline), Some(baseline_config)) = (baseline, &baseline_config) {
            baseline_executor =
                Some(Executor::new(baseline.clone()).limited(baseline_config.pooling.is_none()));
            loader = loader.with_baseline(baseline);
        }
        match (self.artifacts, &config.cache_dir) {
            (Some(custom), _) => loader = loader.with_disk_tier(custom),
            (None, Some(dir)) => loader = loader.with_disk_dir(dir, config.disk_cache_bytes)?,
            (None, None) => {}
        }
        let cosmwasm = xwasm_cosmwasm::Services::new(
            config.cosmwasm.clone(),
            self.cosmwasm_api.take(),
            self.cosmwasm_querier.take(),
        );
        let addresses = xwasm_chain::Addresses::new(cosmwasm.bech32.clone());
        let inner = Arc::new_cyclic(|vm| Inner {
            cosmwasm,
            addresses,
            baseline_executor,
            // The pool caps memories itself.
            executor: Executor::new(engine).limited(self.config.engine.pooling.is_none()),
            loader: Arc::new(loader),
            backend: self.backend.unwrap_or_else(|| Arc::new(MemoryBackend::new())),
            observers: xwasm_exec::Observers::new(
                self.monitor.map(|config| Arc::new(Monitor::new(config, self.alerts))),
                self.observers,
            ),
            audit: self.audit,
            nested: Arc::new(NestedCalls(vm.clone())),
            state: Default::default(),
            records: Default::default(),
            instances: Mutex::default(),
            config: self.config,
        });
        Ok(Vm { inner })
    }
}

/// The VM as the `call` host function sees it (its calls run in
/// `calls.rs`).
pub(crate) struct NestedCalls(pub(crate) Weak<Inner>);

pub(crate) struct Inner {
    /// The `cosmwasm` profile's chain services and configuration.
    pub(crate) cosmwasm: xwasm_cosmwasm::Services,
    /// Addresses as the `cosmwasm` profile writes them.
    pub(crate) addresses: xwasm_chain::Addresses,
    pub(crate) config: VmConfig,
    pub(crate) executor: Executor,
    /// The executor of a tiered VM's baseline code (Winch).
    pub(crate) baseline_executor: Option<Executor>,
    pub(crate) loader: Arc<Loader>,
    pub(crate) backend: Arc<dyn StateBackend>,
    /// The built-in monitor and the embedder's observers.
    pub(crate) observers: xwasm_exec::Observers,
    pub(crate) audit: Option<Arc<dyn AuditSink>>,
    /// Runs the `call` host function's nested calls on this VM.
    pub(crate) nested: Arc<NestedCalls>,
    /// The last `ExecutionState`.
    pub(crate) state: xwasm_store::StateCell,
    /// Contract records already read (they never change once committed).
    pub(crate) records: xwasm_chain::Records,
    pub(crate) instances: Mutex<Instances>,
}

/// The instance table of the [`VirtualMachine`](crate::VirtualMachine) interface.
#[derive(Default)]
pub(crate) struct Instances {
    pub(crate) next: u64,
    pub(crate) modules: std::collections::HashMap<u64, Arc<xwasm_loader::LoadedCode>>,
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
        self.inner.loader.engine()
    }

    pub fn policy(&self) -> &ModulePolicy {
        self.inner.loader.policy()
    }

    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.inner.backend
    }

    /// The built-in monitor (unless turned off with
    /// [`VmBuilder::monitoring`]).
    pub fn monitor(&self) -> Option<&Monitor> {
        self.inner.observers.monitor().map(|m| &**m)
    }

    /// The built-in monitor's figures as a `prometheus-client` collector,
    /// for a node to register in its own registry
    /// (`Registry::register_collector`); `None` when monitoring is off.
    pub fn metrics_collector(&self) -> Option<xwasm_monitor::MetricsCollector> {
        self.inner.observers.monitor().cloned().map(xwasm_monitor::MetricsCollector::new)
    }

    /// What this VM compiles for `wasm`: checked and rewritten by the
    /// policy of its profile, exactly as a deployment or a call would load
    /// it (for precompiling artifacts the VM will find on disk).
    pub fn rewrite_for_compile(&self, wasm: &[u8]) -> Result<Vec<u8>, VmError> {
        Ok(self.inner.loader.rewrite_for_compile(wasm)?)
    }

    /// Runs the size passes `passes` (see [`xwasm_security::optimize`]) over
    /// `wasm`, under the features of its profile's policy.
    pub fn optimize(
        &self,
        wasm: &[u8],
        passes: &[&str],
    ) -> Result<xwasm_security::optimize::Optimized, VmError> {
        Ok(self.inner.loader.optimize(wasm, passes)?)
    }

    /// The memory tier's statistics.
    pub fn cache_stats(&self) -> xwasm_cache::CacheStats {
        self.inner.loader.stats()
    }

    /// Drops `code_hash`'s compiled code from the memory tier: the next
    /// call loads it from the disk tier (or compiles it). For operators
    /// and measurements; results and gas do not depend on it.
    pub fn evict_code(&self, code_hash: &xwasm_store::CodeHash) -> bool {
        self.inner.loader.evict(code_hash)
    }

    /// Whether compiled code also goes to a disk tier.
    pub fn has_disk_cache(&self) -> bool {
        self.inner.loader.has_disk_tier()
    }
}

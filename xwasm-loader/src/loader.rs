//! [`Loader`]: the memory tier, the disk tier and the compiler, in that
//! order, and the tier-up of baseline code.

use crate::{CodeSource, HexHash, LoadError, LoadedCode};
use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::{Engine, Linker, Module};
use xwasm_cache::{Artifact, ArtifactCache, CacheStats, MemoryTier, MemoryTierConfig, SingleFlight};
use xwasm_cosmwasm::{ContractInfo, WasmLimits};
use xwasm_linker::{HostFnDescriptor, HostRegistry};
use xwasm_security::preprocess::{Analysis, AnalysisError};
use xwasm_security::{ModuleInfo, ModulePolicy, PolicyViolation};
use xwasm_store::{CodeHash, WasmContext};

/// One profile's policy and linkers: how its code is checked, rewritten
/// and linked.
pub struct ProfileCode {
    pub policy: ModulePolicy,
    linker: Linker<WasmContext>,
    /// Host functions with side effects are denial stubs here.
    read_only: Linker<WasmContext>,
    /// The linkers on the baseline tier's engine, in a tiered loader.
    baseline: Option<(Linker<WasmContext>, Linker<WasmContext>)>,
}

impl ProfileCode {
    pub fn new(policy: ModulePolicy, linker: Linker<WasmContext>, read_only: Linker<WasmContext>) -> Self {
        Self { policy, linker, read_only, baseline: None }
    }

    /// What the compiler gets for `wasm`, which passed this profile's
    /// checks: rewritten by its policy, from `analysis` where the checks
    /// made one.
    fn rewrite(&self, wasm: &[u8], analysis: Option<&Analysis>) -> Result<Vec<u8>, LoadError> {
        Ok(match analysis {
            Some(analysis) => self.policy.preprocess_analyzed(wasm, analysis)?,
            None => self.policy.preprocess(wasm)?,
        })
    }

    /// The profile of `policy`, linked with the functions of `registry`
    /// that `allow` accepts on `engine` (and on `baseline`, the baseline
    /// tier's engine of a tiered loader). With `read_only_stubs`, read-only
    /// calls get a linker of their own, where functions with side effects
    /// refuse; without, the functions check for themselves and one linker
    /// serves both.
    pub fn link(
        policy: ModulePolicy,
        registry: &HostRegistry,
        allow: &dyn Fn(&HostFnDescriptor) -> bool,
        engine: &Engine,
        baseline: Option<&Engine>,
        read_only_stubs: bool,
    ) -> Result<Self, LoadError> {
        let linkers = |engine: &Engine| {
            let linker = registry.build_linker(engine, allow)?;
            let read_only = if read_only_stubs {
                registry.build_read_only_linker(engine, allow)?
            } else {
                linker.clone()
            };
            Ok::<_, LoadError>((linker, read_only))
        };
        let (linker, read_only) = linkers(engine)?;
        let baseline = baseline.map(linkers).transpose()?;
        Ok(Self { policy, linker, read_only, baseline })
    }

    /// The `cosmwasm` profile on the policy `policy` makes of its imports
    /// (the VM's limits, stack limit and rewrite): cosmwasm-vm's imports and meter, floats allowed. Its
    /// writing imports check for a query themselves, as cosmwasm-vm's do:
    /// one linker serves both kinds of call.
    pub fn cosmwasm(
        policy: impl FnOnce(Vec<xwasm_security::ImportSpec>) -> ModulePolicy,
        registry: &HostRegistry,
        engine: &Engine,
        baseline: Option<&Engine>,
    ) -> Result<Self, LoadError> {
        let imports = crate::import_specs(registry, |d| d.namespace == xwasm_cosmwasm::NAMESPACE);
        let mut policy = policy(imports);
        policy.rewrite.meter = xwasm_security::preprocess::Meter::Cosmwasm;
        policy.allow_floats = true;
        Self::link(policy, registry, &|_| true, engine, baseline, false)
    }

    fn linkers(&self, baseline: bool) -> (&Linker<WasmContext>, &Linker<WasmContext>) {
        match (&self.baseline, baseline) {
            (Some((linker, read_only)), true) => (linker, read_only),
            _ => (&self.linker, &self.read_only),
        }
    }
}

/// What a deployment already checked of new code: the policy's
/// description, cosmwasm-vm's for a CosmWasm contract, and the analysis
/// that validated it, where one did (its rewrite reads no operator twice).
pub struct Checked {
    pub info: ModuleInfo,
    pub cosmwasm: Option<ContractInfo>,
    pub analysis: Option<Arc<Analysis>>,
}

/// Code rewritten for the compiler, with its descriptions: the policy's,
/// and cosmwasm-vm's for a CosmWasm contract.
type Rewritten = (Vec<u8>, ModuleInfo, Option<Arc<ContractInfo>>);

/// Code that passed the checks: its profile, its descriptions, and the
/// analysis that validated it, where one did.
struct Passed<'a> {
    profile: &'a ProfileCode,
    cosmwasm: Option<Arc<ContractInfo>>,
    info: ModuleInfo,
    analysis: Option<Arc<Analysis>>,
}

impl Passed<'_> {
    /// What the compiler gets for `wasm`, the code that passed.
    fn rewrite(&self, wasm: &[u8]) -> Result<Vec<u8>, LoadError> {
        self.profile.rewrite(wasm, self.analysis.as_deref())
    }
}

/// How much checking code needs on a memory-tier miss.
pub enum Check {
    /// Bytes from outside: every check.
    Full,
    /// A deployment checked them already.
    Done(Box<Checked>),
    /// Code stored on chain, which passed every check when it was stored:
    /// the checks without validating the bytes again.
    Stored,
}

/// Where a module came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Disk,
    Compiled,
}

/// Linked code and its bytes in the memory tier.
type Linked = (Arc<LoadedCode>, usize);

/// The optimizing compiles of a tiered loader's background, by code hash,
/// for those who must wait for their artifacts on disk. At most one per
/// core compiles at once (each compiles on every core): a node storing
/// many new contracts in a row queues their compiles.
#[derive(Default)]
struct Background {
    state: Mutex<BackgroundState>,
    changed: Condvar,
}

#[derive(Default)]
struct BackgroundState {
    /// Compiles started and not finished, by code hash (a code evicted
    /// before its artifact landed may be compiled twice at once).
    running: HashMap<CodeHash, usize>,
    /// Compiles past the queue.
    compiling: usize,
}

/// A started background compile ([`Background::start`]): finished when
/// dropped, on a panic too, so that no one waits for it forever.
struct Started<'a> {
    background: &'a Background,
    code_hash: CodeHash,
}

impl Drop for Started<'_> {
    fn drop(&mut self) {
        let mut state = self.background.state.lock();
        if let Some(count) = state.running.get_mut(&self.code_hash) {
            *count -= 1;
            if *count == 0 {
                state.running.remove(&self.code_hash);
            }
        }
        self.background.changed.notify_all();
    }
}

impl Background {
    /// Counts a compile of `code_hash` as running until its [`Started`]
    /// is dropped.
    fn start(&self, code_hash: CodeHash) {
        *self.state.lock().running.entry(code_hash).or_default() += 1;
    }

    /// Runs `compile` once fewer compiles than cores run.
    fn compile<T>(&self, compile: impl FnOnce() -> T) -> T {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        {
            let mut state = self.state.lock();
            while state.compiling >= cores {
                self.changed.wait(&mut state);
            }
            state.compiling += 1;
        }
        struct Slot<'a>(&'a Background);
        impl Drop for Slot<'_> {
            fn drop(&mut self) {
                self.0.state.lock().compiling -= 1;
                self.0.changed.notify_all();
            }
        }
        let _slot = Slot(self);
        compile()
    }

    fn is_running(&self, code_hash: &CodeHash) -> bool {
        self.state.lock().running.contains_key(code_hash)
    }

    /// Waits until no compile of `code_hash` (of any code, if `None`)
    /// runs.
    fn wait(&self, code_hash: Option<&CodeHash>) {
        let mut state = self.state.lock();
        while code_hash.map_or(!state.running.is_empty(), |hash| state.running.contains_key(hash)) {
            self.changed.wait(&mut state);
        }
    }
}

/// Loads code once per code hash into a bounded memory tier, through the
/// disk tier or the compiler. Share it as an `Arc`: a tiered loader's
/// background compile holds one.
pub struct Loader {
    engine: Engine,
    /// The baseline tier's engine (Winch), in a tiered loader.
    baseline: Option<Engine>,
    native: ProfileCode,
    cosmwasm: ProfileCode,
    /// cosmwasm-vm's upload checks' capabilities and limits.
    capabilities: BTreeSet<String>,
    limits: WasmLimits,
    code: MemoryTier<CodeHash, Arc<LoadedCode>>,
    artifacts: Option<Arc<dyn ArtifactCache>>,
    /// Baseline code [`Loader::precompile`] compiled and kept out of the
    /// memory tier, until a load takes it or its optimizing compile is on
    /// disk.
    staged: Mutex<HashMap<CodeHash, Linked>>,
    /// One gate per code hash [`Loader::precompile`] is compiling: two
    /// deployments of the same new code compile it once.
    precompiling: SingleFlight<CodeHash>,
    background: Background,
}

impl Loader {
    /// A loader compiling on `engine`, with no disk tier, no baseline tier
    /// and cosmwasm-vm's default capabilities and limits.
    pub fn new(engine: Engine, native: ProfileCode, cosmwasm: ProfileCode, memory: MemoryTierConfig) -> Self {
        Self {
            engine,
            baseline: None,
            native,
            cosmwasm,
            capabilities: xwasm_cosmwasm::default_capabilities(),
            limits: WasmLimits::default(),
            code: MemoryTier::new(memory),
            artifacts: None,
            staged: Mutex::default(),
            precompiling: SingleFlight::default(),
            background: Background::default(),
        }
    }

    /// Compiled code also goes to, and is first looked for in, `artifacts`.
    pub fn with_disk_tier(mut self, artifacts: Arc<dyn ArtifactCache>) -> Self {
        self.artifacts = Some(artifacts);
        self
    }

    /// Compiled code also goes to, and is first looked for in, the disk
    /// tier in `dir` (this engine's and policy's namespace there, at most
    /// `bytes`).
    pub fn with_disk_dir(self, dir: &std::path::Path, bytes: u64) -> Result<Self, LoadError> {
        let namespace = crate::artifact_namespace(&self.engine, &self.native.policy);
        let store = xwasm_cache::ArtifactStore::open(dir, namespace, bytes)?;
        Ok(self.with_disk_tier(Arc::new(store)))
    }

    /// Tiered: new code first compiles on `baseline` (the profiles must
    /// be linked on it too, [`ProfileCode::link`]).
    pub fn with_baseline(mut self, baseline: Engine) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// The capabilities and limits of cosmwasm-vm's upload checks.
    pub fn with_cosmwasm_checks(mut self, capabilities: BTreeSet<String>, limits: WasmLimits) -> Self {
        self.capabilities = capabilities;
        self.limits = limits;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The native profile's policy.
    pub fn policy(&self) -> &ModulePolicy {
        &self.native.policy
    }

    /// The `cosmwasm` profile's policy.
    pub fn cosmwasm_policy(&self) -> &ModulePolicy {
        &self.cosmwasm.policy
    }

    /// The memory tier's counters, with the disk tier's hits and damaged
    /// artifacts.
    pub fn stats(&self) -> CacheStats {
        let disk = self.artifacts.as_ref().map(|artifacts| artifacts.stats()).unwrap_or_default();
        CacheStats { disk_hits: disk.hits, corrupt_artifacts: disk.corrupt, ..self.code.stats() }
    }

    /// The memory tier's entries and their bytes (artifact sizes).
    pub fn memory_usage(&self) -> (usize, usize) {
        (self.code.len(), self.code.bytes())
    }

    /// Drops `code_hash`'s code from the memory tier.
    pub fn evict(&self, code_hash: &CodeHash) -> bool {
        self.code.remove(code_hash).is_some()
    }

    /// Drops `code_hash`'s artifact from the disk tier (its code was
    /// removed from the chain; the memory tier keeps what it holds), and
    /// its staged code, after any compile of it in the background has
    /// stored what it would store.
    pub fn forget_artifact(&self, code_hash: &CodeHash) {
        // A precompile of it under way stages it and starts its compile
        // first.
        self.precompiling.wait(code_hash);
        self.wait_for_tier_up(Some(code_hash));
        self.staged.lock().remove(code_hash);
        if let Some(artifacts) = &self.artifacts {
            artifacts.remove(code_hash);
        }
    }

    /// Drops every piece of code from the memory tier.
    pub fn clear(&self) {
        self.code.clear();
    }

    pub fn has_disk_tier(&self) -> bool {
        self.artifacts.is_some()
    }

    /// The loaded code for the bytes `wasm` gives (whose hash is
    /// `code_hash`; read only on a miss): from the memory tier, or checked
    /// as `check` says, compiled (or found on disk) and linked.
    pub fn load<E: From<LoadError>>(
        self: &Arc<Self>,
        code_hash: CodeHash,
        wasm: impl FnOnce() -> Result<Arc<[u8]>, E>,
        check: Check,
    ) -> Result<(Arc<LoadedCode>, CodeSource), E> {
        let mut source = CodeSource::Memory;
        let code = self.code.get_or_try_insert_with(&code_hash, || {
            // A miss: only now is the clock read.
            let started = Instant::now();
            let span = tracing::info_span!(
                "xwasm.load",
                code_hash = %HexHash(&code_hash),
                tier = tracing::field::Empty,
                ms = tracing::field::Empty,
            );
            let _entered = span.enter();
            // Code compiled ahead (`precompile`, which checked it as it
            // was asked to) is taken as an artifact read from disk would
            // be: it stands for one.
            if let Some(staged) = self.staged.lock().remove(&code_hash) {
                source = CodeSource::Disk(started.elapsed());
                span.record("tier", "staged").record("ms", source.load_time().as_secs_f64() * 1e3);
                return Ok(staged);
            }
            // Stored code whose artifact has its description beside it
            // links without reading its bytes or its operators.
            let mut on_disk = None;
            if let Check::Stored = check {
                match self.disk_module(&code_hash) {
                    Some((module, Some(sidecar))) if self.still_accepted(&sidecar) => {
                        let (info, cosmwasm) = (Arc::new(sidecar.info), sidecar.cosmwasm.map(Arc::new));
                        on_disk = Some(Ok(self.link(code_hash, module, info, cosmwasm, false)?));
                    }
                    found => on_disk = found.map(|(module, _)| Err(module)),
                }
            }
            let (loaded, origin) = match on_disk {
                Some(Ok(linked)) => (linked, Origin::Disk),
                Some(Err(module)) => self.load_missing(code_hash, wasm()?, check, Some(module))?,
                None => self.load_missing(code_hash, wasm()?, check, None)?,
            };
            source = match origin {
                Origin::Disk => CodeSource::Disk(started.elapsed()),
                Origin::Compiled => CodeSource::Compiled(started.elapsed()),
            };
            span.record("tier", source.as_str()).record("ms", source.load_time().as_secs_f64() * 1e3);
            Ok::<_, E>(loaded)
        })?;
        Ok((code, source))
    }

    /// Loads each of `code_hashes` (stored code) into the memory tier
    /// before traffic arrives, on `threads` threads: from the disk tier,
    /// or compiled from the bytes `wasm` gives. `on_done` runs after each
    /// one (progress). Each one's source or error, in order.
    pub fn warm<E: From<LoadError> + Send>(
        self: &Arc<Self>,
        code_hashes: &[CodeHash],
        threads: usize,
        wasm: &(impl Fn(&CodeHash) -> Result<Arc<[u8]>, E> + Sync),
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<Result<CodeSource, E>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<CodeSource, E>>>> =
            code_hashes.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.clamp(1, code_hashes.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(hash) = code_hashes.get(index) else { break };
                        let loaded = self.load(*hash, || wasm(hash), Check::Stored).map(|(_, source)| source);
                        *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(loaded);
                        on_done();
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|result| {
                result.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every hash was loaded")
            })
            .collect()
    }

    /// Checks new code as a deployment must before it is priced and
    /// compiled: cosmwasm-vm's upload checks first for a CosmWasm
    /// contract, then the policy of its profile.
    pub fn check_new(&self, wasm: &[u8], cosmwasm: bool) -> Result<Checked, LoadError> {
        if cosmwasm {
            let (contract, info, analysis) = self.cosmwasm_checks(wasm)?;
            return Ok(Checked { info, cosmwasm: Some(contract), analysis: Some(analysis) });
        }
        let (info, analysis) = self.native.policy.check_and_analyze(wasm)?;
        Ok(Checked { info, cosmwasm: None, analysis: Some(Arc::new(analysis)) })
    }

    /// cosmwasm-vm's upload checks, with this loader's capabilities and
    /// limits.
    pub fn cosmwasm_check(&self, wasm: &[u8]) -> Result<ContractInfo, LoadError> {
        Ok(xwasm_cosmwasm::check_wasm(wasm, &self.capabilities, &self.limits)?)
    }

    /// cosmwasm-vm's upload checks, then the `cosmwasm` profile's policy.
    /// Where the policy allows every feature cosmwasm-vm validates under,
    /// cosmwasm-vm's checks stop before the function bodies and one
    /// analysis validates them (last, with cosmwasm-vm's error, as its
    /// checks do), reading what the policy's description and the rewrite
    /// need of them; elsewhere cosmwasm-vm's checks validate it, then the
    /// policy's analysis under its own features.
    fn cosmwasm_checks(&self, wasm: &[u8]) -> Result<(ContractInfo, ModuleInfo, Arc<Analysis>), LoadError> {
        let policy = &self.cosmwasm.policy;
        if !policy.features().contains(xwasm_cosmwasm::FEATURES) {
            let contract = self.cosmwasm_check(wasm)?;
            let (info, analysis) = policy.check_and_analyze(wasm)?;
            return Ok((contract, info, Arc::new(analysis)));
        }
        let contract = xwasm_cosmwasm::check_stored(wasm, &self.capabilities, &self.limits)?;
        let analysis =
            xwasm_security::preprocess::analyze(wasm, xwasm_cosmwasm::FEATURES).map_err(|e| match e {
                AnalysisError::Invalid(e) => LoadError::from(xwasm_cosmwasm::unreadable(e)),
                AnalysisError::Unsupported(reason) => LoadError::from(PolicyViolation::Preprocess(reason)),
            })?;
        Ok((contract, policy.check_analyzed(wasm, &analysis)?, Arc::new(analysis)))
    }

    /// What this loader compiles for `wasm`: checked and rewritten by the
    /// policy of its profile, exactly as a load would (for precompiling
    /// artifacts the loader will find on disk).
    pub fn rewrite_for_compile(&self, wasm: &[u8]) -> Result<Vec<u8>, LoadError> {
        Ok(self.checked_for_compile(wasm)?.0)
    }

    /// [`Loader::rewrite_for_compile`] and [`Loader::sidecar_for`] from one
    /// pass of the checks: what a precompiler stores for `wasm` (the code to
    /// compile, the description to keep beside its artifact).
    pub fn prepare_for_disk(&self, wasm: &[u8]) -> Result<(Vec<u8>, Vec<u8>), LoadError> {
        let (rewritten, info, cosmwasm) = self.checked_for_compile(wasm)?;
        Ok((rewritten, sidecar_json(&info, cosmwasm.as_deref())))
    }

    /// `wasm` checked as a load with [`Check::Full`] checks it, rewritten,
    /// and described.
    fn checked_for_compile(&self, wasm: &[u8]) -> Result<Rewritten, LoadError> {
        let passed = self.check_full(wasm)?;
        Ok((passed.rewrite(wasm)?, passed.info, passed.cosmwasm))
    }

    /// Every check of bytes from outside ([`Check::Full`]): the profile's,
    /// and for a CosmWasm contract (detected by its marker export)
    /// cosmwasm-vm's first.
    fn check_full(&self, wasm: &[u8]) -> Result<Passed<'_>, LoadError> {
        Ok(match xwasm_cosmwasm::detect(wasm) {
            Some(_) => {
                let (contract, info, analysis) = self.cosmwasm_checks(wasm)?;
                let (cosmwasm, analysis) = (Some(Arc::new(contract)), Some(analysis));
                Passed { profile: &self.cosmwasm, cosmwasm, info, analysis }
            }
            None => {
                let (info, analysis) = self.native.policy.check_and_analyze(wasm)?;
                Passed { profile: &self.native, cosmwasm: None, info, analysis: Some(Arc::new(analysis)) }
            }
        })
    }

    /// What the disk tier keeps beside the artifact of `wasm`: its
    /// description as a load of stored code makes it, so that a load that
    /// finds a precompiled artifact reads neither the code nor its
    /// operators.
    pub fn sidecar_for(&self, wasm: &[u8]) -> Result<Vec<u8>, LoadError> {
        let (_, info, cosmwasm) = self.describe_stored(wasm)?;
        Ok(sidecar_json(&info, cosmwasm.as_ref()))
    }

    /// Stored code's profile and description (it passed the checks when
    /// it was stored).
    fn describe_stored(
        &self,
        wasm: &[u8],
    ) -> Result<(&ProfileCode, ModuleInfo, Option<ContractInfo>), LoadError> {
        Ok(match xwasm_cosmwasm::detect(wasm) {
            Some(_) => {
                let contract = xwasm_cosmwasm::check_stored(wasm, &self.capabilities, &self.limits)?;
                (&self.cosmwasm, self.cosmwasm.policy.check_stored(wasm)?, Some(contract))
            }
            None => (&self.native, self.native.policy.check_stored(wasm)?, None),
        })
    }

    /// Runs the size passes `passes` (see [`xwasm_security::optimize`]) over
    /// `wasm`, under the features of its profile's policy.
    pub fn optimize(
        &self,
        wasm: &[u8],
        passes: &[&str],
    ) -> Result<xwasm_security::optimize::Optimized, LoadError> {
        let (profile, _) = self.profile_for(wasm)?;
        xwasm_security::optimize::optimize(wasm, passes, profile.policy.features())
            .map_err(|e| LoadError::Optimize(e.to_string()))
    }

    /// The profile `wasm` is judged and rewritten by: a CosmWasm contract
    /// (detected by its marker export) passes cosmwasm-vm's upload checks
    /// first, then the `cosmwasm` profile's policy, whose rewrite meters as
    /// cosmwasm-vm does; anything else the native policy.
    fn profile_for(&self, wasm: &[u8]) -> Result<(&ProfileCode, Option<Arc<ContractInfo>>), LoadError> {
        match xwasm_cosmwasm::detect(wasm) {
            Some(_) => Ok((&self.cosmwasm, Some(Arc::new(self.cosmwasm_check(wasm)?)))),
            None => Ok((&self.native, None)),
        }
    }

    /// Checks (as far as `check` says), rewrites and compiles `wasm` (or
    /// finds its artifact on disk), and links it.
    fn load_missing(
        self: &Arc<Self>,
        code_hash: CodeHash,
        wasm: Arc<[u8]>,
        check: Check,
        on_disk: Option<Module>,
    ) -> Result<(Linked, Origin), LoadError> {
        let Passed { profile, cosmwasm, info, analysis } = self.checked(&wasm, check)?;
        let info = Arc::new(info);
        // A verified artifact on disk needs no rewrite: the rewrite runs
        // only for what is compiled.
        if let Some(module) = on_disk.or_else(|| self.disk_module(&code_hash).map(|(module, _)| module)) {
            return Ok((self.link(code_hash, module, info, cosmwasm, false)?, Origin::Disk));
        }
        let wasm = profile.rewrite(&wasm, analysis.as_deref())?;
        // Tiered: a new contract (no optimized artifact on disk) runs
        // first on the baseline compiler while the optimizing one works
        // in the background.
        if let Some(baseline) = &self.baseline {
            let module = compile(baseline, &wasm, "baseline")?;
            let code = self.link(code_hash, module, info.clone(), cosmwasm.clone(), true)?;
            self.spawn_tier_up(code_hash, wasm, info, cosmwasm)?;
            return Ok((code, Origin::Compiled));
        }
        let module = self.compile_and_store(&code_hash, &wasm, &info, cosmwasm.as_deref())?;
        Ok((self.link(code_hash, module, info, cosmwasm, false)?, Origin::Compiled))
    }

    /// `wasm`'s profile and descriptions, checked as `check` says.
    fn checked(&self, wasm: &[u8], check: Check) -> Result<Passed<'_>, LoadError> {
        Ok(match check {
            Check::Done(checked) => {
                let Checked { info, cosmwasm, analysis } = *checked;
                let profile = if cosmwasm.is_some() { &self.cosmwasm } else { &self.native };
                Passed { profile, cosmwasm: cosmwasm.map(Arc::new), info, analysis }
            }
            Check::Full => self.check_full(wasm)?,
            Check::Stored => {
                let (profile, info, contract) = self.describe_stored(wasm)?;
                Passed { profile, cosmwasm: contract.map(Arc::new), info, analysis: None }
            }
        })
    }

    /// Compiles new code ahead of its first call, as libwasmvm's
    /// `store_code` does: checked as `check` says and compiled (unless a
    /// tier holds it already or its compile is under way: then nothing is
    /// checked, and a caller that must refuse bad bytes checks them first,
    /// as `store_code` does), its artifact stored in the disk tier, and
    /// the memory tier left as it was. A tiered loader compiles the baseline
    /// now and keeps it aside, staged: the first load takes it as it would
    /// read an artifact from disk, while the optimizing compile stores the
    /// artifact in the background ([`Loader::wait_for_tier_up`]).
    pub fn precompile(
        self: &Arc<Self>,
        code_hash: CodeHash,
        wasm: &[u8],
        check: Check,
    ) -> Result<(), LoadError> {
        self.precompiling.run(&code_hash, || self.precompile_once(code_hash, wasm, check))
    }

    /// [`Loader::precompile`], its gate held.
    fn precompile_once(
        self: &Arc<Self>,
        code_hash: CodeHash,
        wasm: &[u8],
        check: Check,
    ) -> Result<(), LoadError> {
        // Held already, or on its way to disk: nothing to compile.
        let held = self.code.meta(&code_hash).is_some() || self.staged.lock().contains_key(&code_hash);
        if held || self.background.is_running(&code_hash) || self.disk_module(&code_hash).is_some() {
            return Ok(());
        }
        let passed = self.checked(wasm, check)?;
        let rewritten = passed.rewrite(wasm)?;
        let (cosmwasm, info) = (passed.cosmwasm, Arc::new(passed.info));
        match &self.baseline {
            Some(baseline) => {
                let module = compile(baseline, &rewritten, "baseline")?;
                let code = self.link(code_hash, module, info.clone(), cosmwasm.clone(), true)?;
                self.staged.lock().insert(code_hash, code);
                self.spawn_tier_up(code_hash, rewritten, info, cosmwasm).inspect_err(|_| {
                    self.staged.lock().remove(&code_hash);
                })
            }
            None => self.compile_and_store(&code_hash, &rewritten, &info, cosmwasm.as_deref()).map(drop),
        }
    }

    /// Waits until the optimizing compile of `code_hash` running in the
    /// background (of every code, if `None`) has finished and stored its
    /// artifact: before reading it from disk, or before a shutdown.
    pub fn wait_for_tier_up(&self, code_hash: Option<&CodeHash>) {
        self.background.wait(code_hash);
    }

    /// Starts the optimizing compile of rewritten `wasm` in the background.
    fn spawn_tier_up(
        self: &Arc<Self>,
        code_hash: CodeHash,
        wasm: Vec<u8>,
        info: Arc<ModuleInfo>,
        cosmwasm: Option<Arc<ContractInfo>>,
    ) -> Result<(), LoadError> {
        // Counted before the thread starts, so that a wait right after
        // this returns finds it; the thread's guard finishes it.
        self.background.start(code_hash);
        let loader = self.clone();
        let spawned = std::thread::Builder::new().name("xwasm-tier-up".into()).spawn(move || {
            let _started = Started { background: &loader.background, code_hash };
            loader.background.compile(|| loader.tier_up(code_hash, &wasm, info, cosmwasm));
        });
        spawned.map(drop).map_err(|e| {
            drop(Started { background: &self.background, code_hash });
            LoadError::Link { reason: format!("cannot start the tier-up thread: {e}") }
        })
    }

    /// Compiles `wasm` with the optimizing tier, stores the artifact, and
    /// replaces the baseline code in the memory tier or drops it where it
    /// is staged. Code the memory tier no longer holds stays out (its
    /// artifact is on disk); so does the baseline a load took from the
    /// staged code just before and inserts just after, which then stays
    /// until evicted. A failure leaves the baseline code in place: it is
    /// correct, only slower.
    fn tier_up(
        &self,
        code_hash: CodeHash,
        wasm: &[u8],
        info: Arc<ModuleInfo>,
        cosmwasm: Option<Arc<ContractInfo>>,
    ) {
        let Ok(module) = self.compile_and_store(&code_hash, wasm, &info, cosmwasm.as_deref()) else { return };
        if let Ok((code, bytes)) = self.link(code_hash, module, info, cosmwasm, false) {
            self.staged.lock().remove(&code_hash);
            self.code.replace(code_hash, code, bytes);
        }
    }

    /// Links a compiled module into ready-to-instantiate code. A CosmWasm
    /// contract's writing imports check for a query themselves, as
    /// cosmwasm-vm's do: its profile's read-only linker is its linker.
    fn link(
        &self,
        code_hash: CodeHash,
        module: Module,
        info: Arc<ModuleInfo>,
        cosmwasm: Option<Arc<ContractInfo>>,
        baseline: bool,
    ) -> Result<Linked, LoadError> {
        let profile = if cosmwasm.is_some() { &self.cosmwasm } else { &self.native };
        let (linker, read_only) = profile.linkers(baseline && self.baseline.is_some());
        let link = |linker: &Linker<WasmContext>| {
            linker.instantiate_pre(&module).map_err(|e| LoadError::Link { reason: format!("{e:#}") })
        };
        let pre = link(linker)?;
        // One linker serves both kinds of call of a CosmWasm contract.
        let pre_read_only = if cosmwasm.is_some() { pre.clone() } else { link(read_only)? };
        let image = module.image_range();
        let artifact_bytes = image.end as usize - image.start as usize;
        let bytes = artifact_bytes.max(info.size);
        let methods = info
            .methods()
            .filter_map(|name| {
                Some((name.to_owned(), xwasm_exec::ResolvedMethod::of(&module, name, info.has_start)?))
            })
            .collect();
        let code = LoadedCode {
            code_hash,
            module,
            pre,
            pre_read_only,
            info,
            methods,
            baseline,
            artifact_bytes,
            cosmwasm,
        };
        Ok((Arc::new(code), bytes))
    }

    /// A verified artifact of `code_hash` from the disk tier, if any,
    /// mapped rather than read where the tier keeps it in a file, and the
    /// description stored beside it.
    fn disk_module(&self, code_hash: &CodeHash) -> Option<(Module, Option<Sidecar>)> {
        let artifacts = self.artifacts.as_ref()?;
        let verified = artifacts.get_verified(code_hash)?;
        // SAFETY: the disk tier hands out only artifacts whose metadata and
        // checksum verified: bytes this loader's engine wrote. A file is
        // never changed in place (replaced by rename, removed by unlink),
        // so its mapping stays valid for the module's life.
        let module = match &verified.artifact {
            Artifact::Bytes(bytes) => unsafe { xwasm_aot::load_precompiled(&self.engine, bytes) },
            Artifact::File(path) => unsafe { xwasm_aot::load_precompiled_file(&self.engine, path) },
        };
        match module {
            Ok(module) => {
                let sidecar = verified.sidecar.and_then(|bytes| serde_json::from_slice(&bytes).ok());
                Some((module, sidecar))
            }
            Err(_) => {
                artifacts.reject(code_hash);
                None
            }
        }
    }

    /// Whether stored code described by `sidecar` still passes this
    /// loader's checks that can change (the capabilities offered); if not,
    /// the full load says why.
    fn still_accepted(&self, sidecar: &Sidecar) -> bool {
        sidecar.cosmwasm.as_ref().is_none_or(|c| c.required_capabilities.is_subset(&self.capabilities))
    }

    /// Compiles rewritten `wasm` with the optimizing tier and stores the
    /// artifact in the disk tier, if there is one, with the module's
    /// description beside it.
    fn compile_and_store(
        &self,
        code_hash: &CodeHash,
        wasm: &[u8],
        info: &ModuleInfo,
        cosmwasm: Option<&ContractInfo>,
    ) -> Result<Module, LoadError> {
        let module = compile(&self.engine, wasm, "optimizing")?;
        if let Some(artifacts) = &self.artifacts
            && let Ok(artifact) = xwasm_aot::serialize(&module)
        {
            let sidecar = SidecarRef { info, cosmwasm };
            let sidecar = serde_json::to_vec(&sidecar).unwrap_or_default();
            artifacts.insert_with_sidecar(code_hash, &artifact, &sidecar);
        }
        Ok(module)
    }
}

/// What the disk tier keeps beside an artifact: the description a load
/// would otherwise read from every operator of the code.
#[derive(serde::Deserialize)]
struct Sidecar {
    info: ModuleInfo,
    cosmwasm: Option<ContractInfo>,
}

#[derive(serde::Serialize)]
struct SidecarRef<'a> {
    info: &'a ModuleInfo,
    cosmwasm: Option<&'a ContractInfo>,
}

/// The description kept beside an artifact, as JSON.
fn sidecar_json(info: &ModuleInfo, cosmwasm: Option<&ContractInfo>) -> Vec<u8> {
    serde_json::to_vec(&SidecarRef { info, cosmwasm }).unwrap_or_default()
}

/// Compiles `wasm` on `engine`, in a tracing span.
fn compile(engine: &Engine, wasm: &[u8], tier: &'static str) -> Result<Module, LoadError> {
    let span = tracing::info_span!("xwasm.compile", tier, bytes = wasm.len(), ms = tracing::field::Empty);
    let _entered = span.enter();
    let started = Instant::now();
    let module = xwasm_aot::compile(engine, wasm)?;
    span.record("ms", started.elapsed().as_secs_f64() * 1e3);
    Ok(module)
}

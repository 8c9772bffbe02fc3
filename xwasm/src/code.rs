//! Loading code: bytes to a cached, linked, ready-to-instantiate contract.

use crate::{Vm, VmError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{InstancePre, Module};
use xwasm_security::ModuleInfo;
use xwasm_store::{CodeHash, WasmContext};

/// Compiled, linked code, shared by every contract deployed from it.
#[derive(Clone)]
pub struct LoadedCode {
    pub code_hash: CodeHash,
    pub module: Module,
    pub pre: InstancePre<WasmContext>,
    /// Linked for read-only calls: host functions with side effects refuse.
    pub pre_read_only: InstancePre<WasmContext>,
    pub info: Arc<ModuleInfo>,
    /// The callable methods, each resolved once to its exports (a B-tree:
    /// a few string comparisons, no hashing, per call).
    pub methods: std::collections::BTreeMap<String, xwasm_exec::ResolvedMethod>,
    /// Compiled by the baseline tier (Winch) of a tiered VM, to be
    /// replaced by the optimizing tier's code once it is ready.
    pub baseline: bool,
    /// Size of the compiled artifact (the code image wasmtime maps).
    pub artifact_bytes: usize,
    /// A CosmWasm contract's description (its profile is `cosmwasm`);
    /// `None` for native code.
    pub cosmwasm: Option<Arc<xwasm_cosmwasm::ContractInfo>>,
}

impl LoadedCode {
    pub fn is_cosmwasm(&self) -> bool {
        self.cosmwasm.is_some()
    }
}

impl std::fmt::Debug for LoadedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCode").field("code_hash", &hex::encode(self.code_hash)).finish_non_exhaustive()
    }
}

/// Committed contract records by address, read once. A sharded map
/// (dashmap): calls on many threads read it at once, and a new record
/// locks one shard, not the whole map. Bounded: past `CAPACITY` entries it
/// starts over.
#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    records: dashmap::DashMap<xwasm_store::Address, xwasm_store::ContractRecord, foldhash::fast::RandomState>,
}

impl RecordCache {
    const CAPACITY: usize = 100_000;

    pub(crate) fn get(&self, address: &xwasm_store::Address) -> Option<xwasm_store::ContractRecord> {
        self.records.get(address).map(|record| *record)
    }

    /// Forgets `address`'s record (a migration changed it).
    pub(crate) fn remove(&self, address: &xwasm_store::Address) {
        self.records.remove(address);
    }

    pub(crate) fn insert(&self, address: xwasm_store::Address, record: xwasm_store::ContractRecord) {
        if self.records.len() >= Self::CAPACITY {
            self.records.clear();
        }
        self.records.insert(address, record);
    }
}

/// Which tier served a piece of code, and how long loading it took on a
/// miss of the memory tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    Memory,
    /// A verified artifact of the disk tier, checked, deserialized and
    /// linked in this long.
    Disk(Duration),
    /// Checked, rewritten, compiled and linked in this long.
    Compiled(Duration),
}

impl CodeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSource::Memory => "memory",
            CodeSource::Disk(_) => "disk",
            CodeSource::Compiled(_) => "compiled",
        }
    }

    /// The time spent loading: zero for a memory-tier hit.
    pub fn load_time(self) -> Duration {
        match self {
            CodeSource::Memory => Duration::ZERO,
            CodeSource::Disk(took) | CodeSource::Compiled(took) => took,
        }
    }
}

/// What a deployment already checked of new code: the policy's
/// description, and cosmwasm-vm's for a CosmWasm contract.
pub(crate) struct Checked {
    pub(crate) info: ModuleInfo,
    pub(crate) cosmwasm: Option<xwasm_cosmwasm::ContractInfo>,
}

/// How much checking code needs on a memory-tier miss.
pub(crate) enum Check {
    /// Bytes from outside: every check.
    Full,
    /// A deployment checked them already.
    Done(Box<Checked>),
    /// Code stored on chain, which passed every check when it was stored:
    /// the checks without validating the bytes again.
    Stored,
}

/// Whose checks and gas units price a deployment's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeProfile {
    Native,
    /// cosmwasm-vm's checks besides the policy's; the native price in
    /// CosmWasm gas (`code_gas_multiplier` per unit).
    Cosmwasm,
}

/// The price of a deployment's code, as far as its gas limit paid for the
/// work of finding it out.
pub(crate) enum CodePrice {
    /// The limit pays `gas`. `checked` is what the load may skip (code
    /// already stored on chain, or new code checked here).
    Paid { gas: u64, checked: Check },
    /// The limit cannot pay `price` for `what`; nothing past what was paid
    /// for was done.
    Unpaid { price: u64, what: String },
}

impl CodePrice {
    /// Whether the code was stored on chain already.
    pub(crate) fn stored(&self) -> bool {
        matches!(self, CodePrice::Paid { checked: Check::Stored, .. })
    }
}

/// Where a module came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Disk,
    Compiled,
}

impl Vm {
    /// The loaded code for `wasm` (whose hash is `code_hash`): from the
    /// memory tier, or checked, compiled and linked on a miss.
    pub(crate) fn load_code(
        &self,
        code_hash: CodeHash,
        wasm: impl FnOnce() -> Result<Arc<[u8]>, VmError>,
    ) -> Result<(Arc<LoadedCode>, CodeSource), VmError> {
        self.load_checked_code(code_hash, wasm, Check::Full)
    }

    /// [`Vm::load_code`] for code stored on chain (see [`Check::Stored`]).
    pub(crate) fn load_stored_code(
        &self,
        code_hash: CodeHash,
        wasm: impl FnOnce() -> Result<Arc<[u8]>, VmError>,
    ) -> Result<(Arc<LoadedCode>, CodeSource), VmError> {
        self.load_checked_code(code_hash, wasm, Check::Stored)
    }

    /// [`Vm::load_code`] for bytes the policy already described as `info`
    /// (a deployment checks new code to price it): a miss does not check
    /// them again.
    pub(crate) fn load_checked_code(
        &self,
        code_hash: CodeHash,
        wasm: impl FnOnce() -> Result<Arc<[u8]>, VmError>,
        info: Check,
    ) -> Result<(Arc<LoadedCode>, CodeSource), VmError> {
        let mut source = CodeSource::Memory;
        let code = self.inner.code.get_or_try_insert_with(&code_hash, || {
            // A miss: only now is the clock read.
            let started = Instant::now();
            let span = tracing::info_span!(
                "xwasm.load",
                code_hash = %crate::calls::HexHash(&code_hash),
                tier = tracing::field::Empty,
                ms = tracing::field::Empty,
            );
            let _entered = span.enter();
            let (loaded, origin) = self.load_missing(code_hash, wasm()?, info)?;
            source = match origin {
                Origin::Disk => CodeSource::Disk(started.elapsed()),
                Origin::Compiled => CodeSource::Compiled(started.elapsed()),
            };
            span.record("tier", source.as_str()).record("ms", source.load_time().as_secs_f64() * 1e3);
            Ok::<_, VmError>(loaded)
        })?;
        Ok((code, source))
    }

    /// Checks (unless `checked` is the policy's description already),
    /// rewrites and compiles `wasm` (or finds its artifact on disk), and
    /// links it.
    fn load_missing(
        &self,
        code_hash: CodeHash,
        wasm: Arc<[u8]>,
        checked: Check,
    ) -> Result<((Arc<LoadedCode>, usize), Origin), VmError> {
        let (policy, cosmwasm, info) = match checked {
            Check::Done(checked) => {
                let Checked { info, cosmwasm } = *checked;
                let policy =
                    if cosmwasm.is_some() { &self.inner.cosmwasm.policy } else { &self.inner.policy };
                (policy, cosmwasm.map(Arc::new), info)
            }
            Check::Full => {
                let (policy, cosmwasm) = self.policy_for(&wasm)?;
                (policy, cosmwasm, policy.check(&wasm)?)
            }
            Check::Stored => match xwasm_cosmwasm::detect(&wasm) {
                Some(_) => {
                    let config = &self.inner.config.cosmwasm;
                    let contract = xwasm_cosmwasm::check_stored(&wasm, &config.capabilities, &config.limits)?;
                    let policy = &self.inner.cosmwasm.policy;
                    (policy, Some(Arc::new(contract)), policy.check_stored(&wasm)?)
                }
                None => (&self.inner.policy, None, self.inner.policy.check_stored(&wasm)?),
            },
        };
        let info = Arc::new(info);
        // A verified artifact on disk needs no rewrite: the rewrite runs
        // only for what is compiled.
        if let Some(module) = self.disk_module(&code_hash) {
            return Ok((self.link(code_hash, module, info, cosmwasm, false)?, Origin::Disk));
        }
        let wasm = policy.preprocess(&wasm)?;
        // Tiered: a new contract (no optimized artifact on disk) runs
        // first on the baseline compiler while the optimizing one works
        // in the background.
        if let Some(baseline) = &self.inner.baseline {
            let module = self.compile(&baseline.engine, &wasm, "baseline")?;
            let code = self.link(code_hash, module, info.clone(), cosmwasm.clone(), true)?;
            let vm = self.clone();
            std::thread::Builder::new()
                .name("xwasm-tier-up".into())
                .spawn(move || vm.tier_up(code_hash, &wasm, info, cosmwasm))
                .map_err(|e| VmError::Link { reason: format!("cannot start the tier-up thread: {e}") })?;
            return Ok((code, Origin::Compiled));
        }
        let module = self.compile_and_store(&code_hash, &wasm)?;
        Ok((self.link(code_hash, module, info, cosmwasm, false)?, Origin::Compiled))
    }

    /// The policy `wasm` is judged and rewritten by: a CosmWasm contract
    /// (detected by its marker export) passes cosmwasm-vm's upload checks
    /// first, then this VM's policy of the `cosmwasm` profile, whose
    /// rewrite meters as cosmwasm-vm does; anything else the VM's policy.
    fn policy_for(
        &self,
        wasm: &[u8],
    ) -> Result<(&xwasm_security::ModulePolicy, Option<Arc<xwasm_cosmwasm::ContractInfo>>), VmError> {
        match xwasm_cosmwasm::detect(wasm) {
            Some(_) => Ok((&self.inner.cosmwasm.policy, Some(Arc::new(self.cosmwasm_check(wasm)?)))),
            None => Ok((&self.inner.policy, None)),
        }
    }

    /// What this VM compiles for `wasm`: checked and rewritten by the
    /// policy of its profile, exactly as a deployment or a call would load
    /// it (for precompiling artifacts the VM will find on disk).
    pub fn rewrite_for_compile(&self, wasm: &[u8]) -> Result<Vec<u8>, VmError> {
        let (policy, _) = self.policy_for(wasm)?;
        policy.check(wasm)?;
        Ok(policy.preprocess(wasm)?)
    }

    /// Runs the size passes `passes` (see [`xwasm_security::optimize`]) over
    /// `wasm`, under the features of its profile's policy.
    pub fn optimize(
        &self,
        wasm: &[u8],
        passes: &[&str],
    ) -> Result<xwasm_security::optimize::Optimized, VmError> {
        let (policy, _) = self.policy_for(wasm)?;
        xwasm_security::optimize::optimize(wasm, passes, policy.features())
            .map_err(|e| VmError::BadInput(e.to_string()))
    }

    /// Prices deploying `wasm` (hash `code_hash`) against `gas_limit`:
    /// its bytes before anything is parsed (code already stored on chain
    /// pays the fixed price and is done); then, for new code, its functions
    /// and locals, counted by checking it (linear work its bytes paid for),
    /// before any compile. The price depends on chain state and the bytes,
    /// never on this node's caches. A refusal by the checks is an error.
    pub(crate) fn price_code(
        &self,
        journal: &xwasm_store::Journal,
        code_hash: &CodeHash,
        wasm: &[u8],
        gas_limit: u64,
        profile: CodeProfile,
    ) -> Result<CodePrice, VmError> {
        let stored = journal.contains(&xwasm_store::keys::code(code_hash))?;
        let schedule = &self.inner.config.gas;
        let per_unit = match profile {
            CodeProfile::Native => 1,
            CodeProfile::Cosmwasm => self.inner.cosmwasm.config.code_gas_multiplier,
        };
        let mut gas = schedule.deployment(wasm.len(), stored).saturating_mul(per_unit);
        if gas > gas_limit {
            return Ok(CodePrice::Unpaid { price: gas, what: format!("{} bytes of code", wasm.len()) });
        }
        if stored {
            return Ok(CodePrice::Paid { gas, checked: Check::Stored });
        }
        let (info, cosmwasm) = match profile {
            CodeProfile::Native => (self.inner.policy.check(wasm)?, None),
            CodeProfile::Cosmwasm => {
                let contract = self.cosmwasm_check(wasm)?;
                (self.inner.cosmwasm.policy.check(wasm)?, Some(contract))
            }
        };
        let items = schedule.deployment_items(info.function_count.into(), info.locals);
        gas = gas.saturating_add(items.saturating_mul(per_unit));
        if gas > gas_limit {
            let what = format!(
                "{} bytes of code with {} functions and {} locals",
                wasm.len(),
                info.function_count,
                info.locals
            );
            return Ok(CodePrice::Unpaid { price: gas, what });
        }
        Ok(CodePrice::Paid { gas, checked: Check::Done(Box::new(Checked { info, cosmwasm })) })
    }

    /// cosmwasm-vm's upload checks, with this VM's capabilities and limits.
    pub(crate) fn cosmwasm_check(&self, wasm: &[u8]) -> Result<xwasm_cosmwasm::ContractInfo, VmError> {
        let config = &self.inner.config.cosmwasm;
        Ok(xwasm_cosmwasm::check_wasm(wasm, &config.capabilities, &config.limits)?)
    }

    /// Compiles `wasm` with the optimizing tier and replaces the baseline
    /// code in the memory tier (and stores the artifact). A failure leaves
    /// the baseline code in place: it is correct, only slower.
    fn tier_up(
        &self,
        code_hash: CodeHash,
        wasm: &[u8],
        info: Arc<ModuleInfo>,
        cosmwasm: Option<Arc<xwasm_cosmwasm::ContractInfo>>,
    ) {
        let Ok(module) = self.compile_and_store(&code_hash, wasm) else { return };
        if let Ok((code, bytes)) = self.link(code_hash, module, info, cosmwasm, false) {
            self.inner.code.insert(code_hash, code, bytes);
        }
    }

    /// Links a compiled module into ready-to-instantiate code.
    fn link(
        &self,
        code_hash: CodeHash,
        module: Module,
        info: Arc<ModuleInfo>,
        cosmwasm: Option<Arc<xwasm_cosmwasm::ContractInfo>>,
        baseline: bool,
    ) -> Result<(Arc<LoadedCode>, usize), VmError> {
        let layer = &self.inner.cosmwasm;
        // A CosmWasm contract's writing imports check for a query
        // themselves, as cosmwasm-vm's do: one linker serves both.
        let (linker, read_only_linker) = match (&self.inner.baseline, baseline, &cosmwasm) {
            (Some(_), true, Some(_)) => {
                let linker = layer.baseline_linker.as_ref().expect("a baseline tier has a cosmwasm linker");
                (linker, linker)
            }
            (_, _, Some(_)) => (&layer.linker, &layer.linker),
            (Some(tier), true, None) => (&tier.linker, &tier.read_only_linker),
            _ => (&self.inner.linker, &self.inner.read_only_linker),
        };
        let link = |linker: &wasmtime::Linker<WasmContext>| {
            linker.instantiate_pre(&module).map_err(|e| VmError::Link { reason: format!("{e:#}") })
        };
        let pre = link(linker)?;
        let pre_read_only = link(read_only_linker)?;
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

    /// A verified artifact of `code_hash` from the disk tier, if any.
    fn disk_module(&self, code_hash: &CodeHash) -> Option<Module> {
        let artifacts = self.inner.artifacts.as_ref()?;
        let artifact = artifacts.get(code_hash)?;
        // SAFETY: the disk tier hands out only artifacts whose header and
        // SHA-256 checksum verified: bytes this VM's engine wrote.
        match unsafe { xwasm_aot::load_precompiled(&self.inner.engine, &artifact) } {
            Ok(module) => Some(module),
            Err(_) => {
                artifacts.reject(code_hash);
                None
            }
        }
    }

    /// Compiles `wasm` on `engine`, in a tracing span.
    fn compile(&self, engine: &wasmtime::Engine, wasm: &[u8], tier: &'static str) -> Result<Module, VmError> {
        let span = tracing::info_span!("xwasm.compile", tier, bytes = wasm.len(), ms = tracing::field::Empty);
        let _entered = span.enter();
        let started = Instant::now();
        let module = xwasm_aot::compile(engine, wasm)?;
        span.record("ms", started.elapsed().as_secs_f64() * 1e3);
        Ok(module)
    }

    /// Compiles rewritten `wasm` with the optimizing tier and stores the
    /// artifact in the disk tier, if there is one.
    fn compile_and_store(&self, code_hash: &CodeHash, wasm: &[u8]) -> Result<Module, VmError> {
        let module = self.compile(&self.inner.engine, wasm, "optimizing")?;
        if let Some(artifacts) = &self.inner.artifacts
            && let Ok(artifact) = xwasm_aot::serialize(&module)
        {
            artifacts.insert(code_hash, &artifact);
        }
        Ok(module)
    }
}

//! The cache behind `cache_t*`: stored Wasm under `base_dir`, compiled
//! code through xwasm's tiers (memory, then the verified disk tier, then
//! the compiler), pinned code apart, and wasmvm's metrics.

use crate::error::Error;
use parking_lot::RwLock;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use xwasm::loader::LoadedCode;
use xwasm::{CodeSource, Vm, VmConfig};

/// A checksum: the SHA-256 of the Wasm.
pub type Checksum = [u8; 32];

/// What `init_cache` gets from Go: cosmwasm-vm's `Config`.
#[derive(Debug, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub wasm_limits: Limits,
    pub cache: CacheOptions,
}

/// cosmwasm-vm's `WasmLimits`: each one optional (its default otherwise).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Limits {
    pub initial_memory_limit_pages: Option<u32>,
    pub table_size_limit_elements: Option<u32>,
    pub max_imports: Option<u32>,
    pub max_functions: Option<u32>,
    pub max_function_params: Option<u32>,
    pub max_total_function_params: Option<u32>,
    pub max_function_results: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct CacheOptions {
    pub base_dir: PathBuf,
    pub available_capabilities: Vec<String>,
    pub memory_cache_size_bytes: u64,
    pub instance_memory_limit_bytes: u64,
}

/// cosmwasm-vm's estimate of an engine's own size, added to each module's.
const ENGINE_SIZE: u64 = 10_240;

struct Pinned {
    code: Arc<LoadedCode>,
    hits: AtomicU32,
}

#[derive(Default)]
struct Counters {
    hits_pinned: AtomicU32,
    hits_memory: AtomicU32,
    hits_fs: AtomicU32,
    misses: AtomicU32,
}

/// `Metrics`, as wasmvm lays it out.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    pub hits_pinned_memory_cache: u32,
    pub hits_memory_cache: u32,
    pub hits_fs_cache: u32,
    pub misses: u32,
    pub elements_pinned_memory_cache: u64,
    pub elements_memory_cache: u64,
    pub size_pinned_memory_cache: u64,
    pub size_memory_cache: u64,
}

/// One cache: a VM of the `cosmwasm` profile and the folders under
/// `base_dir`.
pub struct Cache {
    pub vm: Vm,
    wasm_dir: PathBuf,
    pinned: RwLock<HashMap<Checksum, Pinned>>,
    counters: Counters,
}

impl Cache {
    /// The cache `config` (Go's JSON) describes.
    pub fn new(config: &[u8]) -> Result<Self, Error> {
        let config: Config = serde_json::from_slice(config).map_err(|e| Error::Json(e.to_string()))?;
        let base = &config.cache.base_dir;
        let wasm_dir = base.join("xwasm").join("wasm");
        std::fs::create_dir_all(&wasm_dir).map_err(|_| Error::cache("Error creating wasm directory"))?;
        let mut vm_config = VmConfig::default();
        vm_config.cosmwasm.capabilities = config.cache.available_capabilities.iter().cloned().collect();
        let limits = &mut vm_config.cosmwasm.limits;
        let wasm = &config.wasm_limits;
        let set = |target: &mut usize, value: Option<u32>| {
            if let Some(value) = value {
                *target = value as usize;
            }
        };
        if let Some(pages) = wasm.initial_memory_limit_pages {
            limits.initial_memory_limit_pages = pages;
        }
        if let Some(elements) = wasm.table_size_limit_elements {
            limits.table_size_limit_elements = elements;
        }
        set(&mut limits.max_imports, wasm.max_imports);
        set(&mut limits.max_functions, wasm.max_functions);
        set(&mut limits.max_function_params, wasm.max_function_params);
        set(&mut limits.max_total_function_params, wasm.max_total_function_params);
        set(&mut limits.max_function_results, wasm.max_function_results);
        vm_config.cache_bytes = usize::try_from(config.cache.memory_cache_size_bytes).unwrap_or(usize::MAX);
        vm_config.cache_entries = usize::MAX;
        vm_config.cache_dir = Some(base.join("xwasm").join("modules"));
        vm_config.engine.max_memory_bytes = config.cache.instance_memory_limit_bytes;
        // New code runs first on Winch while Cranelift compiles it in the
        // background: `store_code` waits for the baseline compile only.
        vm_config.tiered = true;
        let vm = Vm::builder().config(vm_config).build().map_err(Error::cache)?;
        Ok(Self { vm, wasm_dir, pinned: RwLock::default(), counters: Counters::default() })
    }

    fn wasm_path(&self, checksum: &Checksum) -> PathBuf {
        self.wasm_dir.join(format!("{}.wasm", hex::encode(checksum)))
    }

    /// `store_code`: checks (if `checked`) and compiles `wasm`, and keeps
    /// it under `base_dir` (if `persist`).
    ///
    /// As cosmwasm-vm's: no hit or miss is counted, and the memory tier is
    /// left as it was (the first call finds the module as if read back from
    /// the disk tier). The caller waits for the checks and Winch's compile;
    /// Cranelift's compile and its artifact on disk follow in the
    /// background.
    pub fn store_code(&self, wasm: &[u8], checked: bool, persist: bool) -> Result<Checksum, Error> {
        let checksum = xwasm::security::code_hash(wasm);
        let loader = self.vm.loader();
        let check = if checked {
            let checked = loader.check_new(wasm, true).map_err(|e| Error::Vm(e.to_string()))?;
            xwasm::loader::Check::Done(Box::new(checked))
        } else if xwasm::cosmwasm::detect(wasm).is_none() {
            return Err(Error::Vm(
                "Error during static Wasm validation: Wasm contract missing a required marker export: interface_version_*"
                    .into(),
            ));
        } else {
            xwasm::loader::Check::Stored
        };
        loader.precompile(checksum, wasm, check).map_err(|e| Error::Vm(e.to_string()))?;
        if persist {
            write_atomically(&self.wasm_path(&checksum), wasm)?;
        }
        Ok(checksum)
    }

    /// `load_wasm`: the stored Wasm, checked against its checksum.
    pub fn load_wasm(&self, checksum: &Checksum) -> Result<Vec<u8>, Error> {
        let wasm = std::fs::read(self.wasm_path(checksum))
            .map_err(|_| Error::cache("Error opening Wasm file for reading"))?;
        if xwasm::security::code_hash(&wasm) != *checksum {
            return Err(Error::Vm("Hash doesn't match stored data".into()));
        }
        Ok(wasm)
    }

    /// `remove_wasm`: the stored Wasm and its compiled code on disk go.
    pub fn remove_wasm(&self, checksum: &Checksum) -> Result<(), Error> {
        let path = self.wasm_path(checksum);
        if !path.exists() {
            return Err(Error::cache("Wasm file does not exist"));
        }
        std::fs::remove_file(path).map_err(|_| Error::cache("Error removing Wasm file from disk"))?;
        self.vm.loader().forget_artifact(checksum);
        Ok(())
    }

    /// The code to run for `checksum`: pinned, else through the tiers (the
    /// stored Wasm read only when no tier has it).
    pub fn code(&self, checksum: &Checksum) -> Result<Arc<LoadedCode>, Error> {
        if let Some(pinned) = self.pinned.read().get(checksum) {
            pinned.hits.fetch_add(1, Ordering::Relaxed);
            self.counters.hits_pinned.fetch_add(1, Ordering::Relaxed);
            return Ok(pinned.code.clone());
        }
        self.load(checksum)
    }

    fn load(&self, checksum: &Checksum) -> Result<Arc<LoadedCode>, Error> {
        let bytes = || self.load_wasm(checksum).map(Arc::from);
        let (code, source) = self.vm.loader().load(*checksum, bytes, xwasm::loader::Check::Stored)?;
        self.count(source);
        Ok(code)
    }

    fn count(&self, source: CodeSource) {
        let counter = match source {
            CodeSource::Memory => &self.counters.hits_memory,
            CodeSource::Disk(_) => &self.counters.hits_fs,
            CodeSource::Compiled(_) => &self.counters.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `pin`: keeps the code in memory, outside the memory tier's budget.
    pub fn pin(&self, checksum: &Checksum) -> Result<(), Error> {
        if self.pinned.read().contains_key(checksum) {
            return Ok(());
        }
        // As cosmwasm-vm's `pin`: from the disk tier or compiled (a hit of
        // the one or a miss), the memory tier left out. Compiled (or read)
        // without the lock: calls on other code go on.
        let loader = self.vm.loader();
        // Code stored moments ago is read back once its optimizing
        // compile is on disk, not compiled a second time.
        loader.wait_for_tier_up(Some(checksum));
        loader.evict(checksum);
        let code = self.load(checksum)?;
        loader.evict(checksum);
        self.pinned.write().entry(*checksum).or_insert(Pinned { code, hits: AtomicU32::new(0) });
        Ok(())
    }

    pub fn unpin(&self, checksum: &Checksum) {
        self.pinned.write().remove(checksum);
    }

    /// `sync_pinned_codes`: pins what `checksums` lists, unpins the rest.
    pub fn sync_pinned(&self, checksums: &[Checksum]) -> Result<(), Error> {
        // Pins first, as cosmwasm-vm: a failed pin leaves the old pins.
        checksums.iter().try_for_each(|checksum| self.pin(checksum))?;
        let keep: std::collections::HashSet<_> = checksums.iter().copied().collect();
        self.pinned.write().retain(|checksum, _| keep.contains(checksum));
        Ok(())
    }

    pub fn metrics(&self) -> Metrics {
        let pinned = self.pinned.read();
        let (elements, bytes) = self.vm.loader().memory_usage();
        let size = |bytes: usize| bytes as u64 + ENGINE_SIZE;
        Metrics {
            hits_pinned_memory_cache: self.counters.hits_pinned.load(Ordering::Relaxed),
            hits_memory_cache: self.counters.hits_memory.load(Ordering::Relaxed),
            hits_fs_cache: self.counters.hits_fs.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            elements_pinned_memory_cache: pinned.len() as u64,
            elements_memory_cache: elements as u64,
            size_pinned_memory_cache: pinned.values().map(|p| size(p.code.artifact_bytes)).sum(),
            size_memory_cache: bytes as u64 + elements as u64 * (ENGINE_SIZE + 32),
        }
    }

    /// `get_pinned_metrics`: `{per_module: [[checksum, {hits, size}], ...]}`
    /// in MessagePack, structs as arrays.
    pub fn pinned_metrics(&self) -> Result<Vec<u8>, Error> {
        #[derive(serde::Serialize)]
        struct PerModule {
            hits: u32,
            size: u64,
        }
        #[derive(serde::Serialize)]
        struct PinnedMetrics {
            per_module: Vec<(Checksum, PerModule)>,
        }
        let pinned = self.pinned.read();
        let per_module = pinned
            .iter()
            .map(|(checksum, p)| {
                let size = p.code.artifact_bytes as u64 + ENGINE_SIZE;
                (*checksum, PerModule { hits: p.hits.load(Ordering::Relaxed), size })
            })
            .collect();
        rmp_serde::to_vec(&PinnedMetrics { per_module })
            .map_err(|e| Error::Vm(format!("Cannot serialize to MessagePack: {e}")))
    }

    /// `analyze_code`: what the stored Wasm exports and requires.
    pub fn analyze(&self, checksum: &Checksum) -> Result<xwasm::cosmwasm::Analysis, Error> {
        let wasm = self.load_wasm(checksum)?;
        xwasm::cosmwasm::analyze(&wasm).map_err(|e| Error::Vm(format!("Error parsing Wasm: {e}")))
    }
}

impl Drop for Cache {
    /// `release_cache`: the optimizing compiles still running finish first,
    /// so that their artifacts are on disk for the next cache on the same
    /// folder.
    fn drop(&mut self) {
        self.vm.loader().wait_for_tier_up(None);
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename: a
/// crash leaves the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| Error::cache(format!("Error writing Wasm file: {e}")))
}

//! Loading code: bytes to a cached, linked, ready-to-instantiate contract.

use crate::{Vm, VmError};
use std::sync::Arc;
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
    /// The callable methods, each resolved once to its export.
    pub methods: std::collections::HashMap<String, wasmtime::ModuleExport>,
}

impl std::fmt::Debug for LoadedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCode").field("code_hash", &hex::encode(self.code_hash)).finish_non_exhaustive()
    }
}

/// Committed contract records by address, read once. Bounded: past
/// `CAPACITY` entries it starts over.
#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    records: std::sync::RwLock<std::collections::HashMap<xwasm_store::Address, xwasm_store::ContractRecord>>,
}

impl RecordCache {
    const CAPACITY: usize = 100_000;

    pub(crate) fn get(&self, address: &xwasm_store::Address) -> Option<xwasm_store::ContractRecord> {
        self.records.read().unwrap_or_else(|e| e.into_inner()).get(address).copied()
    }

    pub(crate) fn insert(&self, address: xwasm_store::Address, record: xwasm_store::ContractRecord) {
        let mut records = self.records.write().unwrap_or_else(|e| e.into_inner());
        if records.len() >= Self::CAPACITY {
            records.clear();
        }
        records.insert(address, record);
    }
}

/// Which tier served a piece of code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    Memory,
    Disk,
    Compiled,
}

impl CodeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSource::Memory => "memory",
            CodeSource::Disk => "disk",
            CodeSource::Compiled => "compiled",
        }
    }
}

impl Vm {
    /// The loaded code for `wasm` (whose hash is `code_hash`): from the
    /// memory tier, or checked, compiled and linked on a miss.
    pub(crate) fn load_code(
        &self,
        code_hash: CodeHash,
        wasm: impl FnOnce() -> Result<Arc<[u8]>, VmError>,
    ) -> Result<(Arc<LoadedCode>, CodeSource), VmError> {
        let mut source = CodeSource::Memory;
        let code = self.inner.code.get_or_try_insert_with(&code_hash, || {
            source = CodeSource::Compiled;
            let wasm = wasm()?;
            let info = self.inner.policy.check(&wasm)?;
            let wasm = self.inner.policy.preprocess(&wasm)?;
            let (module, from) = self.module_for(&code_hash, &wasm)?;
            source = from;
            let link = |linker: &wasmtime::Linker<WasmContext>| {
                linker.instantiate_pre(&module).map_err(|e| VmError::Link { reason: format!("{e:#}") })
            };
            let pre = link(&self.inner.linker)?;
            let pre_read_only = link(&self.inner.read_only_linker)?;
            let image = module.image_range();
            let bytes = (image.end as usize - image.start as usize).max(wasm.len());
            let methods = info
                .methods()
                .filter_map(|name| Some((name.to_owned(), module.get_export_index(name)?)))
                .collect();
            let code = LoadedCode { code_hash, module, pre, pre_read_only, info: Arc::new(info), methods };
            Ok::<_, VmError>((Arc::new(code), bytes))
        })?;
        Ok((code, source))
    }

    /// The compiled module: a verified artifact from the disk tier, or a
    /// fresh compilation (then stored there).
    fn module_for(&self, code_hash: &CodeHash, wasm: &[u8]) -> Result<(Module, CodeSource), VmError> {
        let engine = &self.inner.engine;
        let Some(artifacts) = &self.inner.artifacts else {
            return Ok((xwasm_aot::compile(engine, wasm)?, CodeSource::Compiled));
        };
        if let Some(artifact) = artifacts.get(code_hash) {
            // SAFETY: the disk tier hands out only artifacts whose header
            // and SHA-256 checksum verified: bytes this VM's engine wrote.
            match unsafe { xwasm_aot::load_precompiled(engine, &artifact) } {
                Ok(module) => return Ok((module, CodeSource::Disk)),
                Err(_) => artifacts.reject(code_hash),
            }
        }
        let module = xwasm_aot::compile(engine, wasm)?;
        if let Ok(artifact) = xwasm_aot::serialize(&module) {
            artifacts.insert(code_hash, &artifact);
        }
        Ok((module, CodeSource::Compiled))
    }
}

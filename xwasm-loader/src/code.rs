//! What loading gives: [`LoadedCode`], and which tier served it.

pub use xwasm_exec::CodeSource;

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
    /// The callable methods, each resolved once to its exports (a B-tree:
    /// a few string comparisons, no hashing, per call).
    pub methods: std::collections::BTreeMap<String, xwasm_exec::ResolvedMethod>,
    /// Compiled by the baseline tier (Winch) of a tiered loader, to be
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

    /// The compiled module's names (`func[N]` in its index space) of the
    /// exported functions, each with its export name: for naming the
    /// frames of functions without a name-section entry in a profile.
    pub fn unnamed_exports(&self) -> std::collections::HashMap<String, String> {
        let added = xwasm_security::preprocess::added_imports(self.module.imports().map(|i| i.module()));
        self.info
            .exports
            .iter()
            .filter(|e| e.ty.kind() == "func")
            .map(|e| (format!("func[{}]", e.index + added), e.name.clone()))
            .collect()
    }

    /// The entry for `method`, resolved to its export when known.
    pub fn entry<'a>(&'a self, method: &'a str) -> xwasm_exec::Entry<'a> {
        match self.methods.get(method) {
            Some(export) => xwasm_exec::Entry::Resolved(method, export),
            None => xwasm_exec::Entry::Method(method),
        }
    }

    /// The number of parameters of the exported function `name`, if any.
    pub fn arity(&self, name: &str) -> Option<usize> {
        self.module.get_export(name).and_then(|e| e.func().map(|f| f.params().len()))
    }
}

impl std::fmt::Debug for LoadedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCode").field("code_hash", &hex::encode(self.code_hash)).finish_non_exhaustive()
    }
}

/// A code hash as hex, formatted only when a tracing subscriber wants it.
pub struct HexHash<'a>(pub &'a [u8; 32]);

impl std::fmt::Display for HexHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

//! What a call runs: an [`Entry`] of a fresh instance, a method resolved
//! once per module ([`ResolvedMethod`]), or a profile's own [`Driver`].

use wasmtime::{Store, Val};
use xwasm_store::WasmContext;

/// What to run in a fresh instance.
#[derive(Clone, Copy)]
pub enum Entry<'a> {
    /// A contract method: an exported `() -> ()` function (ABI.md).
    Method(&'a str),
    /// A contract method whose exports were resolved once for the module:
    /// no lookup by name per call.
    Resolved(&'a str, &'a ResolvedMethod),
    /// Any exported function, with arguments (for `xwasm run`).
    Function { name: &'a str, params: &'a [Val] },
    /// A profile's own calling convention: `driver` calls into the fresh
    /// instance as it needs (the `cosmwasm` profile writes the arguments
    /// through the contract's `allocate` first), metered like any call.
    Driven { name: &'a str, driver: &'a dyn Driver },
}

/// Runs an entry point of a profile with its own calling convention
/// ([`Entry::Driven`]). What it leaves in the context's `return_data`
/// is the call's return data; an error is classified like any trap (a
/// `Halt` set in the context names the status).
pub trait Driver: Sync {
    fn drive(&self, store: &mut Store<WasmContext>, instance: &wasmtime::Instance) -> wasmtime::Result<()>;
}

/// A driver that calls nothing: the instance is created, set up and
/// dropped (what instance creation costs, for measurements).
pub struct NoEntry;

impl Driver for NoEntry {
    fn drive(&self, _: &mut Store<WasmContext>, _: &wasmtime::Instance) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// A method's export and the module's memory export, found once per
/// module with `Module::get_export_index`.
#[derive(Clone, Copy)]
pub struct ResolvedMethod {
    pub func: wasmtime::ModuleExport,
    /// The exported `memory`, if the module has one.
    pub memory: Option<wasmtime::ModuleExport>,
    /// The gas global the load-time rewrite exports.
    pub gas: Option<wasmtime::ModuleExport>,
    /// The module has a start function, which instantiation runs on the
    /// gas global's initial value (without one, nothing is read back).
    pub start: bool,
}

impl ResolvedMethod {
    /// `method` of `module`, if it exports a function by that name;
    /// `start`: whether the module has a start function.
    pub fn of(module: &wasmtime::Module, method: &str, start: bool) -> Option<Self> {
        Some(Self {
            func: module.get_export_index(method)?,
            memory: module.get_export_index("memory"),
            gas: module.get_export_index(xwasm_store::GAS_GLOBAL_EXPORT),
            start,
        })
    }
}

impl std::fmt::Debug for ResolvedMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedMethod").field("memory", &self.memory.is_some()).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry({})", self.name())
    }
}

impl Entry<'_> {
    pub fn name(&self) -> &str {
        match self {
            Entry::Method(name)
            | Entry::Resolved(name, _)
            | Entry::Function { name, .. }
            | Entry::Driven { name, .. } => name,
        }
    }
}

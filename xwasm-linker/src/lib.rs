//! The host-function registry: what each host function is (its
//! [`HostFnDescriptor`]) and how to link an allowed set of them into a
//! [`wasmtime::Linker`].
//!
//! This crate knows the shape of host functions (name, namespace,
//! signature, gas formula, permissions, side effects), never what any of
//! them does: the functions themselves arrive as [`HostFunction`] values
//! from `xwasm-host` or from a user's own crate.
//!
//! # Example
//!
//! ```
//! use xwasm_linker::{HostFnDescriptor, HostFunction, HostRegistry, Permissions, WasmType};
//!
//! let mut registry = HostRegistry::new();
//! registry.add(HostFunction::new(
//!     HostFnDescriptor {
//!         namespace: "xwasm",
//!         name: "answer",
//!         params: &[],
//!         results: &[WasmType::I32],
//!         gas: "1",
//!         permissions: Permissions::NONE,
//!     },
//!     |linker| {
//!         linker.func_wrap("xwasm", "answer", || 42i32)?;
//!         Ok(())
//!     },
//! ));
//! let engine = wasmtime::Engine::default();
//! let linker = registry.build_linker(&engine, &|_| true).unwrap();
//! # let _ = linker;
//! assert_eq!(registry.descriptors().count(), 1);
//! ```

use std::fmt;
use xwasm_store::{Halt, WasmContext};

/// A WebAssembly value type a host function takes or returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmType {
    I32,
    I64,
    F32,
    F64,
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
        })
    }
}

/// What a host function may do to the world beyond the call's memory: the
/// seed's permissions and side effects in one set of flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub const NONE: Self = Self(0);
    pub const READ_STATE: Self = Self(1);
    pub const WRITE_STATE: Self = Self(2);
    pub const EMIT_EVENTS: Self = Self(4);
    pub const CALL_CONTRACTS: Self = Self(8);

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether a function with these permissions changes state or emits
    /// anything that outlives the call (forbidden in read-only calls).
    /// Calling another contract is not in itself a side effect: the callee
    /// runs read-only too.
    pub const fn has_side_effects(self) -> bool {
        self.0 & (Self::WRITE_STATE.0 | Self::EMIT_EVENTS.0) != 0
    }
}

/// Everything known about a host function except its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFnDescriptor {
    pub namespace: &'static str,
    pub name: &'static str,
    pub params: &'static [WasmType],
    pub results: &'static [WasmType],
    /// The gas formula, for people (`"500 + 2/key byte + 1/value byte"`).
    pub gas: &'static str,
    pub permissions: Permissions,
}

impl fmt::Display for HostFnDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |types: &[WasmType]| types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
        write!(f, "{}::{}({}) -> ({})", self.namespace, self.name, list(self.params), list(self.results))
    }
}

type Registrar = Box<dyn Fn(&mut wasmtime::Linker<WasmContext>) -> wasmtime::Result<()> + Send + Sync>;

/// A host function: its descriptor and the code that defines it in a
/// linker.
pub struct HostFunction {
    descriptor: HostFnDescriptor,
    register: Registrar,
}

impl HostFunction {
    /// `register` must define exactly `descriptor.namespace::descriptor.name`
    /// with the descriptor's signature.
    pub fn new(
        descriptor: HostFnDescriptor,
        register: impl Fn(&mut wasmtime::Linker<WasmContext>) -> wasmtime::Result<()> + Send + Sync + 'static,
    ) -> Self {
        Self { descriptor, register: Box::new(register) }
    }

    pub fn descriptor(&self) -> &HostFnDescriptor {
        &self.descriptor
    }
}

impl fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFunction").field("descriptor", &self.descriptor).finish_non_exhaustive()
    }
}

/// Why a linker could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkerError {
    #[error("host function {namespace}::{name} is registered twice")]
    Duplicate { namespace: &'static str, name: &'static str },
    #[error("host function {namespace}::{name} could not be linked: {reason}")]
    Define { namespace: &'static str, name: &'static str, reason: String },
}

/// The set of host functions a VM offers.
#[derive(Debug, Default)]
pub struct HostRegistry {
    functions: Vec<HostFunction>,
}

impl HostRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a function; a later function with the same namespace and name
    /// is refused when the linker is built.
    pub fn add(&mut self, function: HostFunction) -> &mut Self {
        self.functions.push(function);
        self
    }

    pub fn descriptors(&self) -> impl Iterator<Item = &HostFnDescriptor> {
        self.functions.iter().map(HostFunction::descriptor)
    }

    pub fn find(&self, namespace: &str, name: &str) -> Option<&HostFnDescriptor> {
        self.descriptors().find(|d| d.namespace == namespace && d.name == name)
    }

    /// A linker holding every registered function that `allow` accepts;
    /// the others are never linked, so a module importing them fails to
    /// instantiate.
    pub fn build_linker(
        &self,
        engine: &wasmtime::Engine,
        allow: &dyn Fn(&HostFnDescriptor) -> bool,
    ) -> Result<wasmtime::Linker<WasmContext>, LinkerError> {
        self.build(engine, allow, LinkMode::Full)
    }

    /// Like [`HostRegistry::build_linker`], but every function with side
    /// effects is linked as a stub that ends the call with
    /// [`Halt::Permission`] naming the function: the linker of read-only
    /// calls. Which functions are stubbed follows from their descriptors.
    pub fn build_read_only_linker(
        &self,
        engine: &wasmtime::Engine,
        allow: &dyn Fn(&HostFnDescriptor) -> bool,
    ) -> Result<wasmtime::Linker<WasmContext>, LinkerError> {
        self.build(engine, allow, LinkMode::ReadOnly)
    }

    fn build(
        &self,
        engine: &wasmtime::Engine,
        allow: &dyn Fn(&HostFnDescriptor) -> bool,
        mode: LinkMode,
    ) -> Result<wasmtime::Linker<WasmContext>, LinkerError> {
        let mut linker = wasmtime::Linker::new(engine);
        let mut seen = std::collections::HashSet::new();
        for function in &self.functions {
            let d = &function.descriptor;
            if !seen.insert((d.namespace, d.name)) {
                return Err(LinkerError::Duplicate { namespace: d.namespace, name: d.name });
            }
            if !allow(d) {
                continue;
            }
            let defined = match mode {
                LinkMode::ReadOnly if d.permissions.has_side_effects() => define_denial(&mut linker, d),
                _ => (function.register)(&mut linker),
            };
            defined.map_err(|e| LinkerError::Define {
                namespace: d.namespace,
                name: d.name,
                reason: format!("{e:#}"),
            })?;
        }
        Ok(linker)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LinkMode {
    Full,
    ReadOnly,
}

fn wasm_type(ty: WasmType) -> wasmtime::ValType {
    match ty {
        WasmType::I32 => wasmtime::ValType::I32,
        WasmType::I64 => wasmtime::ValType::I64,
        WasmType::F32 => wasmtime::ValType::F32,
        WasmType::F64 => wasmtime::ValType::F64,
    }
}

/// Defines `d` as a function that refuses to run in a read-only call.
fn define_denial(linker: &mut wasmtime::Linker<WasmContext>, d: &HostFnDescriptor) -> wasmtime::Result<()> {
    let ty = wasmtime::FuncType::new(
        linker.engine(),
        d.params.iter().copied().map(wasm_type),
        d.results.iter().copied().map(wasm_type),
    );
    let name = d.name;
    linker.func_new(d.namespace, d.name, ty, move |mut caller, _params, _results| {
        let message = format!("{name} is not allowed in a read-only call");
        caller.data_mut().halt = Some(Halt::Permission(message.clone()));
        Err(wasmtime::Error::msg(message))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(name: &'static str) -> HostFunction {
        HostFunction::new(
            HostFnDescriptor {
                namespace: "test",
                name,
                params: &[],
                results: &[WasmType::I32],
                gas: "0",
                permissions: Permissions::READ_STATE,
            },
            move |linker| {
                linker.func_wrap("test", name, || 7i32)?;
                Ok(())
            },
        )
    }

    #[test]
    fn duplicates_are_refused() {
        let mut registry = HostRegistry::new();
        registry.add(constant("a")).add(constant("a"));
        let engine = wasmtime::Engine::default();
        assert!(matches!(
            registry.build_linker(&engine, &|_| true),
            Err(LinkerError::Duplicate { name: "a", .. })
        ));
    }

    #[test]
    fn functions_outside_the_allow_list_are_not_linked() {
        let mut registry = HostRegistry::new();
        registry.add(constant("a")).add(constant("b"));
        let engine = wasmtime::Engine::default();
        let linker = registry.build_linker(&engine, &|d| d.name == "a").unwrap();
        let module = |name: &str| {
            wasmtime::Module::new(
                &engine,
                format!(r#"(module (import "test" "{name}" (func (result i32))))"#),
            )
            .unwrap()
        };
        assert!(linker.instantiate_pre(&module("a")).is_ok());
        assert!(linker.instantiate_pre(&module("b")).is_err());
    }

    #[test]
    fn permissions_compose() {
        let rw = Permissions::READ_STATE.union(Permissions::WRITE_STATE);
        assert!(rw.contains(Permissions::WRITE_STATE));
        assert!(rw.has_side_effects());
        assert!(!Permissions::READ_STATE.has_side_effects());
        assert_eq!(format!("{}", constant("a").descriptor()), "test::a() -> (i32)");
    }
}

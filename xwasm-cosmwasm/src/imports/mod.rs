//! The `env` imports of cosmwasm-vm 3.0 (`packages/vm/src/imports.rs`),
//! with their exact signatures, limits, error codes and order of charges.
//!
//! Each one first charges `host_call_cost`, then the Region reads of its
//! inputs, then its own work. A VM error traps; a user error goes back to
//! the contract as a return code or an error Region, as in cosmwasm-vm.

mod addresses;
mod crypto;
mod diagnostics;
mod query;
mod storage;

use crate::state::{charge_cw, config};
use wasmtime::{Caller, IntoFunc};
use xwasm_linker::{HostFnDescriptor, HostFunction, Permissions, WasmType};
use xwasm_store::WasmContext;

type Ctx<'a> = Caller<'a, WasmContext>;
type R<T> = wasmtime::Result<T>;

/// The namespace of every import.
pub const NAMESPACE: &str = "env";

fn wrap<P, Res>(
    name: &'static str,
    params: &'static [WasmType],
    results: &'static [WasmType],
    gas: &'static str,
    permissions: Permissions,
    func: impl IntoFunc<WasmContext, P, Res> + Clone + 'static,
) -> HostFunction {
    let descriptor = HostFnDescriptor { namespace: NAMESPACE, name, params, results, gas, permissions };
    HostFunction::new(descriptor, move |linker| {
        linker.func_wrap(NAMESPACE, name, func.clone())?;
        Ok(())
    })
}

/// `host_call_cost`, recorded as one call of `name`.
fn enter(c: &mut Ctx<'_>, name: &'static str) -> R<()> {
    let cost = config(c.data()).gas.host_call_cost;
    charge_cw(c, cost)?;
    let gas = config(c.data()).to_gas(cost);
    c.data_mut().record_host_call(name, gas, true);
    Ok(())
}

/// Every `env` import, in the order of cosmwasm-vm's `SUPPORTED_IMPORTS`.
pub fn imports() -> Vec<HostFunction> {
    let mut f = storage::imports();
    f.extend(addresses::imports());
    f.extend(crypto::imports());
    f.extend(diagnostics::imports());
    f.extend(query::imports());
    f
}

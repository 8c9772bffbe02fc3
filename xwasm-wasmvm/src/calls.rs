//! The contract calls: an entry point of stored code, run with the exact
//! argument bytes Go hands over, against Go's storage, API and querier,
//! with cosmwasm-vm's gas report and error texts.

use crate::cache::Cache;
use crate::error::{Error, checksum};
use crate::go::{Db, GoAddressApi, GoApi, GoChainQuerier, GoQuerier, GoStorage};
use crate::memory::ByteSliceView;
use std::sync::Arc;
use xwasm::Status;
use xwasm::cosmwasm::ChainServices;

/// `GasReport`, as wasmvm lays it out (cosmwasm-vm's).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GasReport {
    pub limit: u64,
    pub remaining: u64,
    pub used_externally: u64,
    pub used_internally: u64,
}

/// What every contract call takes after its arguments.
pub struct Tail {
    pub db: Db,
    pub api: GoApi,
    pub querier: GoQuerier,
    pub gas_limit: u64,
    pub print_debug: bool,
    pub gas_report: *mut GasReport,
}

/// Runs `export` of the code `checksum` names with `args` (named `arg1`,
/// `arg2`, ... in errors).
pub fn call(
    cache: *mut Cache,
    checksum_view: ByteSliceView,
    export: &str,
    args: &[ByteSliceView],
    tail: Tail,
) -> Result<Vec<u8>, Error> {
    // SAFETY: a cache made by `init_cache` and not yet released, or NULL.
    let cache = unsafe { cache.as_ref() }.ok_or(Error::UnsetArg("cache"))?;
    if tail.gas_report.is_null() {
        return Err(Error::EmptyArg("gas_report"));
    }
    let checksum = checksum(checksum_view)?;
    const NAMES: [&str; 3] = ["arg1", "arg2", "arg3"];
    let args = args
        .iter()
        .zip(NAMES)
        // SAFETY: Go's views of its slices, valid for the call.
        .map(|(view, name)| unsafe { view.read() }.map(<[u8]>::to_vec).ok_or(Error::UnsetArg(name)))
        .collect::<Result<Vec<_>, _>>()?;
    let code = cache.code(&checksum)?;
    let debug: Option<xwasm::cosmwasm::DebugHandler> = tail.print_debug.then(|| {
        Box::new(|message: &str, gas_left: u64| {
            let now = humantime::format_rfc3339_nanos(std::time::SystemTime::now());
            eprintln!("[{now}]: {message} (gas remaining: {gas_left})");
        }) as xwasm::cosmwasm::DebugHandler
    });
    let chain = ChainServices {
        storage: Box::new(GoStorage::new(tail.db)),
        api: Arc::new(GoAddressApi(tail.api)),
        querier: Arc::new(GoChainQuerier(tail.querier)),
        debug,
    };
    let done = cache
        .vm
        .cosmwasm_run(&code, export, args, chain, tail.gas_limit)
        .map_err(|e| Error::Vm(e.to_string()))?;
    let report = done.gas_report;
    // SAFETY: checked non-NULL above; Go's output struct.
    unsafe {
        tail.gas_report.write(GasReport {
            limit: report.limit,
            remaining: report.remaining,
            used_externally: report.used_externally,
            used_internally: report.used_internally,
        })
    };
    if let Some(result) = done.result {
        return Ok(result);
    }
    match done.outcome.status {
        Status::OutOfGas if !done.out_of_gas_in_import => Err(Error::OutOfGas),
        Status::OutOfGas => {
            Err(Error::Vm(format!("{RUNTIME_ERROR}Ran out of gas during contract execution")))
        }
        _ => Err(Error::Vm(runtime_error(done.outcome.error.as_deref().unwrap_or_default()))),
    }
}

/// A failed run as cosmwasm-vm words it (its `VmError` text): everything
/// that stops a contract is a Wasmer runtime error, its message wasmer's
/// own for a trap, the VM's error text for an import's failure; an export
/// the contract lacks is not found.
pub fn runtime_error(error: &str) -> String {
    let message = if let Some(host) = error.strip_prefix("trap: out of bounds host access: ") {
        if let Some(export) = host.strip_prefix("Could not get export: ") {
            return format!("Error resolving Wasm function: Could not get export: Missing export {export}");
        }
        if host.starts_with("The called function args arity does not match.") {
            return host.to_owned();
        }
        host.to_owned()
    } else if let Some(trap) = error.strip_prefix("trap: ") {
        wasmer_trap(trap.strip_prefix("wasm trap: ").unwrap_or(trap))
    } else if let Some(limit) = error.strip_prefix("limit exceeded: ") {
        limit.to_owned()
    } else {
        error.to_owned()
    };
    format!("{RUNTIME_ERROR}{message}")
}

/// How cosmwasm-vm words every error that stopped a contract's run.
const RUNTIME_ERROR: &str = "Error executing Wasm: Wasmer runtime error: RuntimeError: ";

/// Wasmer's message for the trap wasmtime describes as `trap`.
fn wasmer_trap(trap: &str) -> String {
    let known = [
        ("wasm `unreachable` instruction executed", "unreachable"),
        ("call stack exhausted", "call stack exhausted"),
        ("out of bounds memory access", "out of bounds memory access"),
        ("undefined element: out of bounds table access", "undefined element: out of bounds table access"),
        ("uninitialized element", "uninitialized element"),
        ("indirect call type mismatch", "indirect call type mismatch"),
        ("integer overflow", "integer overflow"),
        ("integer divide by zero", "integer divide by zero"),
        ("invalid conversion to integer", "invalid conversion to integer"),
    ];
    known
        .iter()
        .find(|(wasmtime, _)| trap.starts_with(wasmtime))
        .map_or_else(|| trap.to_owned(), |(_, wasmer)| (*wasmer).to_owned())
}

//! The built-in host functions of xwasm's contract ABI (`ABI.md`,
//! namespace `xwasm`), priced by one [`GasSchedule`].
//!
//! Each function checks every guest pointer against the contract's memory
//! (a bad one is a trap, never a host crash), charges its gas from the
//! call's fuel *before* it works, and enforces the configured
//! [`CallLimits`](xwasm_store::CallLimits). This crate does not know how the
//! functions are linked or executed: it hands [`HostFunction`](xwasm_linker::HostFunction) values to an
//! `xwasm-linker` registry.
//!
//! `call` reaches other contracts through the
//! [`ContractCaller`](xwasm_store::ContractCaller) carried in the context,
//! so this crate never depends on the executor.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_host::{GasSchedule, register_abi};
//! use xwasm_linker::HostRegistry;
//!
//! let mut registry = HostRegistry::new();
//! register_abi(&mut registry, Arc::new(GasSchedule::default()));
//! assert!(registry.find("xwasm", "storage_write").is_some());
//! ```

mod functions;
mod gas;
mod memory;

pub use functions::{INTERNAL_NAMESPACE, abi_functions, internal_functions};
pub use gas::{
    CodeItems, CodePrice, DEPLOY_PER_BYTE_COMPILED, GasSchedule, charge, charge_as, charge_more, halt, linear,
};
pub use memory::{GuestRange, check as check_range, read as read_range, write as write_bytes};

use std::sync::Arc;
use xwasm_linker::HostRegistry;

/// The import namespace of ABI.md.
pub const NAMESPACE: &str = "xwasm";
/// The version of ABI.md these functions implement. Version 2 prices
/// deployments (`GasSchedule::deployment`).
pub const ABI_VERSION: u32 = 2;

/// Adds every built-in host function to `registry`: those of ABI.md and
/// the internal ones the load-time preprocessing imports.
pub fn register_abi(registry: &mut HostRegistry, schedule: Arc<GasSchedule>) {
    for function in abi_functions(schedule.clone()).into_iter().chain(internal_functions(schedule)) {
        registry.add(function);
    }
}

//! The `cosmwasm` profile: what makes a module a CosmWasm 3.0 contract,
//! and the checks cosmwasm-vm 3.0.10 applies when one is uploaded
//! ([`check_wasm`]), with its limits and its messages word for word.
//!
//! This is the profile's first layer. Its host functions (the `env`
//! imports), the Region calling convention and the entry points are not
//! built yet; the facade does not wire the profile yet.
//!
//! # Example
//!
//! ```
//! use xwasm_cosmwasm::{WasmLimits, check_wasm, default_capabilities};
//!
//! let wasm = wat::parse_str(r#"(module (memory 17)
//!     (func (export "allocate") (param i32) (result i32) (local.get 0))
//!     (func (export "deallocate") (param i32))
//!     (func (export "interface_version_8"))
//!     (func (export "requires_iterator")))"#).unwrap();
//! let info = check_wasm(&wasm, &default_capabilities(), &WasmLimits::default()).unwrap();
//! assert!(info.required_capabilities.contains("iterator"));
//! ```

mod check;

pub use check::{CheckError, ContractInfo, WasmLimits, check_wasm, detect};

use std::collections::BTreeSet;

/// The marker export of the only interface version cosmwasm-vm 3.0
/// accepts (std 1.0 through 3.x export it).
pub const INTERFACE_VERSION: &str = "interface_version_8";

/// The capabilities cosmwasm-vm's testing instances offer
/// (`packages/vm/src/testing/instance.rs`, default features): the default
/// set a VM of this profile checks `requires_*` exports against.
pub fn default_capabilities() -> BTreeSet<String> {
    capabilities_from_csv(
        "ibc2,iterator,staking,cosmwasm_1_1,cosmwasm_1_2,cosmwasm_1_3,cosmwasm_1_4,cosmwasm_2_0,cosmwasm_2_1,cosmwasm_2_2,cosmwasm_3_0",
    )
}

/// Capabilities from a comma-separated list, as chains configure them
/// (blanks trimmed, empty entries dropped).
pub fn capabilities_from_csv(csv: &str) -> BTreeSet<String> {
    csv.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

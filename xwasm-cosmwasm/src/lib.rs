//! The `cosmwasm` profile: what makes a module a CosmWasm 3.0 contract,
//! and the checks cosmwasm-vm 3.0.10 applies when one is uploaded
//! ([`check_wasm`]), with its limits and its messages word for word.
//!
//! The layers of the profile, each usable alone:
//! - [`check_wasm`] and [`detect`]: the upload checks;
//! - [`imports`]: every `env` import of cosmwasm-vm 3.0, as host functions
//!   for xwasm's linker, over the Region convention;
//! - [`EntryCall`]: the calling convention of entry points, an
//!   [`xwasm_exec::Driver`];
//! - [`CallState`]: what the imports keep per call (iterators, the address
//!   API, the querier, the gas used externally, the contract's result);
//! - [`Storage`], [`AddressApi`] and [`Querier`]: the chain services, with defaults
//!   that behave as cosmwasm-vm's testing `MockApi` and `MockQuerier`;
//! - [`bank`]: the balances the default querier answers from;
//! - [`GasReport`], [`entry_args`] and [`finish`]: an entry point's
//!   arguments in, and its outcome out as cosmwasm-vm reports it.
//!
//! It knows nothing of the facade, which wires it into the pipeline (its
//! policy, rewrite, caches, journal and monitor are the native profile's).
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

mod api;
pub mod bank;
mod bech32_codec;
mod call;
mod check;
mod imports;
mod outcome;
mod querier;
mod region;
mod rng;
mod state;
mod storage;

pub use api::{AddressApi, ApiError, ApiResult, Bech32Api};
pub use call::{
    BlockEnv, EntryCall, EntryPoint, MAX_RESULT_BYTES, env_json, info_json, migrate_info_json,
    migrate_version,
};
pub use check::{
    Analysis, CheckError, ContractInfo, FEATURES, WasmLimits, analyze, check_stored, check_wasm, detect,
    unreadable,
};
pub use imports::{NAMESPACE, imports};
pub use outcome::{CosmwasmMessage, CosmwasmOutcome, GasReport, entry_args, finish};
pub use querier::{DefaultQuerier, Querier, QueryAnswer, QueryContext, SmartQuerier};
pub use region::{decode_sections, encode_sections};
pub use state::{CallState, CosmwasmConfig, GasConfig, Services};
pub use storage::{BackendError, BackendResult, ChainServices, DebugHandler, GasInfo, Record, Storage};

/// The contract's error string, if `result` is a `ContractResult` error
/// (`{"error": "..."}`).
pub fn contract_error(result: &[u8]) -> Option<String> {
    // The `ok` payload is checked as JSON but not built: only an error
    // matters here, and building the response's tree cost a quarter of a
    // call's instructions.
    match serde_json::from_slice::<cosmwasm_std::ContractResult<serde::de::IgnoredAny>>(result) {
        Ok(cosmwasm_std::ContractResult::Err(message)) => Some(message),
        _ => None,
    }
}

use std::collections::BTreeSet;

/// The profile's host functions: every `env` import, and the load-time
/// rewrite's own import for modules that use bulk instructions
/// (cosmwasm-vm refuses those, but the rewrite is the same for every
/// profile).
pub fn registry(gas: std::sync::Arc<xwasm_host::GasSchedule>) -> xwasm_linker::HostRegistry {
    let mut registry = xwasm_linker::HostRegistry::new();
    for function in imports() {
        registry.add(function);
    }
    for function in xwasm_host::internal_functions(gas) {
        registry.add(function);
    }
    registry
}

/// The marker export of the only interface version cosmwasm-vm 3.0
/// accepts (std 1.0 through 3.x export it).
pub const INTERFACE_VERSION: &str = "interface_version_8";

/// The capabilities a VM of this profile checks `requires_*` exports
/// against by default: cosmwasm-vm's testing set
/// (`packages/vm/src/testing/instance.rs`) with its `stargate` feature,
/// which chains enable (wasmd offers `stargate`): contracts built with
/// cosmwasm-std's `stargate` feature, as many published ones are, deploy.
/// Their stargate and gRPC queries are answered as cosmwasm-vm's mock
/// querier answers them (unsupported).
pub fn default_capabilities() -> BTreeSet<String> {
    capabilities_from_csv(
        "ibc2,iterator,staking,stargate,cosmwasm_1_1,cosmwasm_1_2,cosmwasm_1_3,cosmwasm_1_4,cosmwasm_2_0,cosmwasm_2_1,cosmwasm_2_2,cosmwasm_3_0",
    )
}

/// Capabilities from a comma-separated list, as chains configure them
/// (blanks trimmed, empty entries dropped).
pub fn capabilities_from_csv(csv: &str) -> BTreeSet<String> {
    csv.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

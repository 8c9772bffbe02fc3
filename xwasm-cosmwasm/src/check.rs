//! `check_wasm`: cosmwasm-vm 3.0.10's upload checks
//! (`packages/vm/src/compatibility.rs`, `parsed_wasm.rs`), in its order:
//! parse and validate the module, then tables, memories, the interface
//! version, exports, imports, capabilities, function limits, and last the
//! function bodies.

use crate::INTERFACE_VERSION;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use wasmparser::{
    CompositeInnerType, ExternalKind, FuncValidatorAllocations, Parser, Payload, TypeRef, ValidPayload,
    Validator, WasmFeatures,
};

/// The imports cosmwasm-vm 3.0 provides (`SUPPORTED_IMPORTS`, with the
/// default `iterator` feature), in its order (its messages list them so).
pub const SUPPORTED_IMPORTS: &[&str] = &[
    "env.abort",
    "env.db_read",
    "env.db_write",
    "env.db_remove",
    "env.addr_validate",
    "env.addr_canonicalize",
    "env.addr_humanize",
    "env.bls12_381_aggregate_g1",
    "env.bls12_381_aggregate_g2",
    "env.bls12_381_pairing_equality",
    "env.bls12_381_hash_to_g1",
    "env.bls12_381_hash_to_g2",
    "env.secp256k1_verify",
    "env.secp256k1_recover_pubkey",
    "env.secp256r1_verify",
    "env.secp256r1_recover_pubkey",
    "env.ed25519_verify",
    "env.ed25519_batch_verify",
    "env.debug",
    "env.query_chain",
    "env.db_scan",
    "env.db_next",
    "env.db_next_key",
    "env.db_next_value",
];

/// The exports every contract must have (`REQUIRED_EXPORTS`).
const REQUIRED_EXPORTS: &[&str] = &["allocate", "deallocate"];
const INTERFACE_VERSION_PREFIX: &str = "interface_version_";
const REQUIRES_PREFIX: &str = "requires_";

/// The entry points cosmwasm-vm may call, by export name.
const ENTRY_POINTS: &[&str] = &[
    "instantiate",
    "execute",
    "migrate",
    "sudo",
    "reply",
    "query",
    "ibc_channel_open",
    "ibc_channel_connect",
    "ibc_channel_close",
    "ibc_packet_receive",
    "ibc_packet_ack",
    "ibc_packet_timeout",
    "ibc_source_callback",
    "ibc_destination_callback",
    "ibc2_packet_receive",
    "ibc2_packet_ack",
    "ibc2_packet_timeout",
    "ibc2_packet_send",
];

/// What cosmwasm-vm's `Cache::analyze` reports of stored code, checking
/// nothing: its entry points (sorted by name), whether it has every IBC
/// entry point, the capabilities it requires and its migrate version.
pub fn analyze(wasm: &[u8]) -> Result<Analysis, String> {
    let mut exports = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(section) = payload.map_err(|e| e.to_string())? {
            for export in section {
                let export = export.map_err(|e| e.to_string())?;
                if export.kind == wasmparser::ExternalKind::Func {
                    exports.insert(export.name.to_owned());
                }
            }
        }
    }
    let ibc = ["ibc_channel_open", "ibc_channel_connect", "ibc_channel_close"];
    let packets = ["ibc_packet_receive", "ibc_packet_ack", "ibc_packet_timeout"];
    Ok(Analysis {
        has_ibc_entry_points: ibc.iter().chain(&packets).all(|name| exports.contains(*name)),
        entry_points: exports.iter().filter(|name| ENTRY_POINTS.contains(&name.as_str())).cloned().collect(),
        required_capabilities: required_capabilities(exports.iter().map(String::as_str)),
        migrate_version: crate::migrate_version(wasm),
    })
}

/// The capabilities the exported functions `names` require
/// (`requires_*`, a name without a capability ignored).
fn required_capabilities<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    names
        .filter_map(|name| name.strip_prefix(REQUIRES_PREFIX))
        .filter(|capability| !capability.is_empty())
        .map(str::to_owned)
        .collect()
}

/// [`analyze`]'s report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub has_ibc_entry_points: bool,
    pub entry_points: BTreeSet<String>,
    pub required_capabilities: BTreeSet<String>,
    pub migrate_version: Option<u64>,
}

/// Upload limits (`packages/vm/src/config.rs` `WasmLimits`; defaults as
/// there). Consensus-relevant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WasmLimits {
    pub initial_memory_limit_pages: u32,
    pub table_size_limit_elements: u32,
    pub max_imports: usize,
    pub max_functions: usize,
    pub max_function_params: usize,
    pub max_total_function_params: usize,
    pub max_function_results: usize,
    pub max_function_locals: usize,
    pub max_total_function_locals: usize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        Self {
            initial_memory_limit_pages: 512,
            table_size_limit_elements: 2_500,
            max_imports: 100,
            max_functions: 20_000,
            max_function_params: 100,
            max_total_function_params: 10_000,
            max_function_results: 1,
            max_function_locals: 100,
            max_total_function_locals: 10_000,
        }
    }
}

/// Why a module is not an acceptable contract: cosmwasm-vm's
/// `StaticValidationErr`, displayed as it displays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError(pub String);

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Error during static Wasm validation: {}", self.0)
    }
}

impl std::error::Error for CheckError {}

fn refuse(message: impl Into<String>) -> CheckError {
    CheckError(message.into())
}

/// cosmwasm-vm's refusal of a module it cannot deserialize or validate.
pub fn unreadable(error: wasmparser::BinaryReaderError) -> CheckError {
    refuse(format!("Wasm bytecode could not be deserialized. Deserialization error: \"{error}\""))
}

/// What an accepted contract is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ContractInfo {
    /// Its entry points among those cosmwasm-vm calls, in export order.
    pub entry_points: Vec<String>,
    /// The capabilities it requires (`requires_*` exports).
    pub required_capabilities: BTreeSet<String>,
    /// Its `cw_migrate_version` custom section, if any.
    pub migrate_version: Option<u64>,
    /// Its imports as `module.name`.
    pub imports: Vec<String>,
}

/// The marker export that makes `wasm` a CosmWasm contract of some
/// version (`interface_version_*`, or a pre-1.0 marker:
/// `cosmwasm_vm_version_*`, `cosmwasm_api_*`), if it has one. Only
/// [`INTERFACE_VERSION`] is accepted; [`check_wasm`] refuses the others
/// with cosmwasm-vm's words.
pub fn detect(wasm: &[u8]) -> Option<String> {
    let mut found = None;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::ExportSection(exports)) = payload else {
            if payload.is_err() {
                return None;
            }
            continue;
        };
        for export in exports.into_iter().flatten() {
            let marker = ["interface_version_", "cosmwasm_vm_version_", "cosmwasm_api_"]
                .iter()
                .any(|prefix| export.name.starts_with(prefix));
            if export.kind == ExternalKind::Func && marker {
                found.get_or_insert_with(|| export.name.to_owned());
            }
        }
    }
    found
}

/// A set as cosmwasm-vm's messages print one: `{"a", "b"}`, sorted,
/// shortened to about `max_length` characters with "... N more".
fn limited<'a>(
    items: impl ExactSizeIterator<Item = &'a str>,
    max_length: usize,
    open: &str,
    close: &str,
) -> String {
    let count = items.len();
    let mut out = String::from(open);
    let mut lengths = Vec::new();
    for (i, item) in items.enumerate() {
        lengths.push(out.len());
        out.push_str(if i == 0 { "\"" } else { ", \"" });
        out.push_str(item);
        out.push('"');
        if out.len() > max_length {
            break;
        }
    }
    if out.len() + close.len() <= max_length {
        out.push_str(close);
        return out;
    }
    while let Some(previous) = lengths.pop() {
        let remaining = lengths.len();
        let skipped = count - remaining;
        let text =
            if remaining == 0 { format!("... {skipped} elements") } else { format!(", ... {skipped} more") };
        if previous + text.len() + close.len() <= max_length {
            out.truncate(previous);
            out.push_str(&text);
            out.push_str(close);
            return out;
        }
    }
    out
}

/// Checks `wasm` as cosmwasm-vm 3.0.10's `check_wasm` does, against the
/// chain's `capabilities` and `limits`.
pub fn check_wasm(
    wasm: &[u8],
    capabilities: &BTreeSet<String>,
    limits: &WasmLimits,
) -> Result<ContractInfo, CheckError> {
    check(wasm, capabilities, limits, true)
}

/// The WebAssembly features cosmwasm-vm 3.0 validates contracts under
/// (wasmer's, as its upload checks set them).
pub const FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::REFERENCE_TYPES);

/// [`check_wasm`] for code already accepted on chain (loaded from state
/// on a cache miss): every check but the validation of function bodies,
/// the costly part, which the code passed when it was stored (and which
/// the compiler repeats when it compiles).
pub fn check_stored(
    wasm: &[u8],
    capabilities: &BTreeSet<String>,
    limits: &WasmLimits,
) -> Result<ContractInfo, CheckError> {
    check(wasm, capabilities, limits, false)
}

fn check(
    wasm: &[u8],
    capabilities: &BTreeSet<String>,
    limits: &WasmLimits,
    validate_bodies: bool,
) -> Result<ContractInfo, CheckError> {
    let mut validator = Validator::new_with_features(FEATURES);
    let mut bodies = Vec::new();
    let (mut imports, mut exports, mut tables, mut memories) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut type_params: Vec<usize> = Vec::new();
    let (mut max_params, mut max_results, mut total_params) = (0usize, 0usize, 0usize);
    let (mut function_count, mut max_locals, mut total_locals) = (0usize, 0usize, 0usize);
    let mut migrate_version = None;

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(unreadable)?;
        if let ValidPayload::Func(to_validate, body) = validator.payload(&payload).map_err(unreadable)? {
            let mut locals = 0usize;
            for local in body.get_locals_reader().map_err(unreadable)? {
                locals += local.map_err(unreadable)?.0 as usize;
            }
            max_locals = max_locals.max(locals);
            total_locals += locals;
            function_count += 1;
            if validate_bodies {
                bodies.push((to_validate, body));
            }
        }
        match payload {
            Payload::TypeSection(section) => {
                type_params.clear();
                for group in section {
                    for ty in group.map_err(unreadable)?.into_types() {
                        if let CompositeInnerType::Func(f) = ty.composite_type.inner {
                            type_params.push(f.params().len());
                            max_params = max_params.max(f.params().len());
                            max_results = max_results.max(f.results().len());
                        }
                    }
                }
            }
            Payload::FunctionSection(section) => {
                for index in section {
                    let index = index.map_err(unreadable)? as usize;
                    total_params += type_params
                        .get(index)
                        .ok_or_else(|| refuse("Wasm bytecode error: function uses unknown type index"))?;
                }
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(unreadable)?;
                    imports.push((format!("{}.{}", import.module, import.name), import.ty));
                }
            }
            Payload::TableSection(section) => {
                for table in section {
                    tables.push(table.map_err(unreadable)?.ty);
                }
            }
            Payload::MemorySection(section) => {
                for memory in section {
                    memories.push(memory.map_err(unreadable)?);
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(unreadable)?;
                    exports.push((export.name.to_owned(), export.kind));
                }
            }
            Payload::CustomSection(reader) if reader.name() == "cw_migrate_version" => {
                let text = std::str::from_utf8(reader.data()).map_err(|e| refuse(e.to_string()))?;
                migrate_version = Some(text.parse::<u64>().map_err(|e| refuse(e.to_string()))?);
            }
            _ => {}
        }
    }

    // Tables.
    match tables.as_slice() {
        [] => {}
        [table] => match table.maximum {
            Some(maximum) if maximum > u64::from(limits.table_size_limit_elements) => {
                return Err(refuse("Wasm contract's first table section has a too large max limit"));
            }
            Some(_) => {}
            None => return Err(refuse("Wasm contract must not have unbound table section")),
        },
        _ => return Err(refuse("Wasm contract must not have more than 1 table section")),
    }
    // Memories.
    let [memory] = memories.as_slice() else {
        return Err(refuse("Wasm contract must contain exactly one memory"));
    };
    if memory.initial > u64::from(limits.initial_memory_limit_pages) {
        return Err(refuse(format!(
            "Wasm contract memory's minimum must not exceed {} pages.",
            limits.initial_memory_limit_pages
        )));
    }
    if memory.maximum.is_some() {
        return Err(refuse("Wasm contract memory's maximum must be unset. The host will set it for you."));
    }
    // The interface version.
    let functions: BTreeSet<&str> = exports
        .iter()
        .filter(|(_, kind)| *kind == ExternalKind::Func)
        .map(|(name, _)| name.as_str())
        .collect();
    let markers: Vec<&&str> =
        functions.iter().filter(|name| name.starts_with(INTERFACE_VERSION_PREFIX)).collect();
    match markers.as_slice() {
        [] => return Err(refuse("Wasm contract missing a required marker export: interface_version_*")),
        [marker] if **marker == INTERFACE_VERSION => {}
        [_] => {
            return Err(refuse(
                "Wasm contract has unknown interface_version_* marker export (see https://github.com/CosmWasm/cosmwasm/blob/main/packages/vm/README.md)",
            ));
        }
        _ => return Err(refuse("Wasm contract contains more than one marker export: interface_version_*")),
    }
    // Exports.
    for required in REQUIRED_EXPORTS {
        if !functions.contains(required) {
            return Err(refuse(format!(
                "Wasm contract doesn't have required export: \"{required}\". Exports required by VM: {REQUIRED_EXPORTS:?}."
            )));
        }
    }
    // Imports.
    if imports.len() > limits.max_imports {
        return Err(refuse(format!(
            "Import count exceeds limit. Imports: {}. Limit: {}.",
            imports.len(),
            limits.max_imports
        )));
    }
    for (name, ty) in &imports {
        if !SUPPORTED_IMPORTS.contains(&name.as_str()) {
            let required: BTreeSet<&str> = imports.iter().map(|(n, _)| n.as_str()).collect();
            return Err(refuse(format!(
                "Wasm contract requires unsupported import: \"{name}\". Required imports: {}. Available imports: {SUPPORTED_IMPORTS:?}.",
                limited(required.into_iter(), 200, "{", "}")
            )));
        }
        if !matches!(ty, TypeRef::Func(_)) {
            return Err(refuse(format!(
                "Wasm contract requires non-function import: \"{name}\". Right now, all supported imports are functions."
            )));
        }
    }
    // Capabilities.
    let required_capabilities = required_capabilities(functions.iter().copied());
    let unavailable: BTreeSet<&str> =
        required_capabilities.difference(capabilities).map(String::as_str).collect();
    if !unavailable.is_empty() {
        return Err(refuse(format!(
            "Wasm contract requires unavailable capabilities: {}",
            limited(unavailable.into_iter(), 200, "{", "}")
        )));
    }
    // Function limits.
    if function_count > limits.max_functions {
        return Err(refuse(format!("Wasm contract contains more than {} functions", limits.max_functions)));
    }
    if max_params > limits.max_function_params {
        return Err(refuse(format!(
            "Wasm contract contains function with more than {} parameters",
            limits.max_function_params
        )));
    }
    if max_results > limits.max_function_results {
        return Err(refuse(format!(
            "Wasm contract contains function with more than {} results",
            limits.max_function_results
        )));
    }
    if total_params > limits.max_total_function_params {
        return Err(refuse(format!(
            "Wasm contract contains more than {} function parameters in total",
            limits.max_total_function_params
        )));
    }
    if max_locals > limits.max_function_locals {
        return Err(refuse(format!(
            "Wasm contract contains function with more than {} locals: {max_locals}",
            limits.max_function_locals
        )));
    }
    if total_locals > limits.max_total_function_locals {
        return Err(refuse(format!(
            "Wasm contract contains more than {} function locals in total: {total_locals}",
            limits.max_total_function_locals
        )));
    }
    // Last, the function bodies: on every core, each independent of the
    // others; the first invalid one in the module's order is the error.
    let invalid = bodies
        .into_par_iter()
        .map_init(FuncValidatorAllocations::default, |allocations, (to_validate, body)| {
            let mut validator = to_validate.into_validator(std::mem::take(allocations));
            let valid = validator.validate(&body);
            *allocations = validator.into_allocations();
            valid
        })
        .find_first(Result::is_err);
    if let Some(invalid) = invalid {
        invalid.map_err(unreadable)?;
    }
    let entry_points = exports
        .iter()
        .filter(|(name, kind)| *kind == ExternalKind::Func && ENTRY_POINTS.contains(&name.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    Ok(ContractInfo {
        entry_points,
        required_capabilities,
        migrate_version,
        imports: imports.into_iter().map(|(name, _)| name).collect(),
    })
}

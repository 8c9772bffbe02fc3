//! The profile's configuration, its gas table, and the per-call state its
//! host functions keep in the context ([`CallState`]).

use crate::api::AddressApi;
use crate::querier::{Querier, SmartQuerier};
use std::sync::Arc;
use wasmtime::{AsContext, AsContextMut, Caller};
use xwasm_store::{Extension, Halt, KeyRange, WasmContext};

/// cosmwasm-vm 3.0's `GasConfig` (`packages/vm/src/environment.rs`) in
/// CosmWasm gas, and the costs its testing backend reports
/// (`packages/vm/src/testing`). Consensus-relevant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GasConfig {
    pub host_call_cost: u64,
    pub read_region_base: u64,
    pub read_region_per_byte: u64,
    /// Per byte of a Region longer than 8,000,000 bytes (no base).
    pub read_region_large_per_byte: u64,
    pub write_region_base: u64,
    pub write_region_per_byte: u64,
    pub string_from_bytes_base: u64,
    pub string_from_bytes_per_byte: u64,
    pub secp256k1_verify: u64,
    pub secp256k1_recover_pubkey: u64,
    pub secp256r1_verify: u64,
    pub secp256r1_recover_pubkey: u64,
    pub ed25519_verify: u64,
    pub ed25519_batch_verify_base: u64,
    pub ed25519_batch_verify_per_signature: u64,
    pub ed25519_batch_verify_one_pubkey_base: u64,
    pub ed25519_batch_verify_one_pubkey_per_signature: u64,
    pub bls12_381_aggregate_g1_base: u64,
    pub bls12_381_aggregate_g1_per_point: u64,
    pub bls12_381_aggregate_g2_base: u64,
    pub bls12_381_aggregate_g2_per_point: u64,
    pub bls12_381_hash_to_g1: u64,
    pub bls12_381_hash_to_g2: u64,
    pub bls12_381_pairing_equality_base: u64,
    pub bls12_381_pairing_equality_per_point: u64,
    /// The default backend's costs, as cosmwasm-vm's testing backend
    /// reports them: storage per byte of key (and value), a scan, the end
    /// of an iteration, the address API, and a query (flat and per byte
    /// of its JSON response).
    pub storage_per_byte: u64,
    pub storage_scan: u64,
    pub storage_last_iteration: u64,
    pub canonicalize: u64,
    pub humanize: u64,
    pub query_flat: u64,
    pub query_per_response_byte: u64,
}

impl Default for GasConfig {
    fn default() -> Self {
        const GAS_PER_US: u64 = 1_000_000;
        const WASMD_GAS_MULTIPLIER: u64 = 140_000;
        Self {
            host_call_cost: 18_000,
            read_region_base: 200_000,
            read_region_per_byte: 115,
            read_region_large_per_byte: 520,
            write_region_base: 230_000,
            write_region_per_byte: 570,
            string_from_bytes_base: 28_700,
            string_from_bytes_per_byte: 1_400,
            secp256k1_verify: 96 * GAS_PER_US,
            secp256k1_recover_pubkey: 194 * GAS_PER_US,
            secp256r1_verify: 279 * GAS_PER_US,
            secp256r1_recover_pubkey: 592 * GAS_PER_US,
            ed25519_verify: 35 * GAS_PER_US,
            ed25519_batch_verify_base: 24 * GAS_PER_US,
            ed25519_batch_verify_per_signature: 21 * GAS_PER_US,
            ed25519_batch_verify_one_pubkey_base: 36 * GAS_PER_US,
            ed25519_batch_verify_one_pubkey_per_signature: 10 * GAS_PER_US,
            bls12_381_aggregate_g1_base: 68 * GAS_PER_US,
            bls12_381_aggregate_g1_per_point: 12 * GAS_PER_US,
            bls12_381_aggregate_g2_base: 103_500_000,
            bls12_381_aggregate_g2_per_point: 24_500_000,
            bls12_381_hash_to_g1: 563 * GAS_PER_US,
            bls12_381_hash_to_g2: 871 * GAS_PER_US,
            bls12_381_pairing_equality_base: 2_112 * GAS_PER_US,
            bls12_381_pairing_equality_per_point: 163 * GAS_PER_US,
            storage_per_byte: 1,
            storage_scan: 11,
            storage_last_iteration: 37,
            canonicalize: 5 * WASMD_GAS_MULTIPLIER,
            humanize: 4 * WASMD_GAS_MULTIPLIER,
            query_flat: 100_000,
            query_per_response_byte: 100,
        }
    }
}

impl GasConfig {
    pub fn read_region_cost(&self, bytes: usize) -> u64 {
        let bytes = bytes as u64;
        if bytes <= 8_000_000 {
            self.read_region_base.saturating_add(self.read_region_per_byte.saturating_mul(bytes))
        } else {
            self.read_region_large_per_byte.saturating_mul(bytes)
        }
    }

    pub fn write_region_cost(&self, bytes: usize) -> u64 {
        self.write_region_base.saturating_add(self.write_region_per_byte.saturating_mul(bytes as u64))
    }

    pub fn string_from_bytes(&self, bytes: usize) -> u64 {
        self.string_from_bytes_base
            .saturating_add(self.string_from_bytes_per_byte.saturating_mul(bytes as u64))
    }
}

/// How the profile runs: its gas table, bech32 prefix and limits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CosmwasmConfig {
    pub gas: GasConfig,
    /// CosmWasm gas per unit of the gas a CosmWasm call is given. The
    /// profile's meter is cosmwasm-vm's (115 per operator), so a call's gas
    /// is CosmWasm gas and this is 1; a larger value divides the imports'
    /// prices (rounded up). Consensus-relevant.
    pub cw_gas_per_gas: u64,
    /// The price of storing and compiling new code (the native
    /// `GasSchedule`, about one unit per operator of work) in CosmWasm gas:
    /// 115 per unit, cosmwasm-vm's price of one operator.
    pub code_gas_multiplier: u64,
    /// The bech32 prefix of addresses (default `cosmwasm`, as cosmwasm-vm's
    /// MockApi).
    pub bech32_prefix: String,
    /// The capabilities this VM offers (`requires_*` exports are checked
    /// against them); default: [`crate::default_capabilities`].
    pub capabilities: std::collections::BTreeSet<String>,
    /// cosmwasm-vm's upload limits.
    pub limits: crate::WasmLimits,
}

impl Default for CosmwasmConfig {
    fn default() -> Self {
        Self {
            gas: GasConfig::default(),
            cw_gas_per_gas: 1,
            code_gas_multiplier: 115,
            bech32_prefix: "cosmwasm".into(),
            capabilities: crate::default_capabilities(),
            limits: crate::WasmLimits::default(),
        }
    }
}

impl CosmwasmConfig {
    /// `cw_gas` in xwasm gas.
    pub fn to_gas(&self, cw_gas: u64) -> u64 {
        cw_gas.div_ceil(self.cw_gas_per_gas.max(1))
    }

    /// xwasm gas in CosmWasm gas.
    pub fn to_cw_gas(&self, gas: u64) -> u64 {
        gas.saturating_mul(self.cw_gas_per_gas.max(1))
    }
}

/// An open storage iterator: what is left of its range.
#[derive(Debug, Clone)]
pub(crate) struct Iter {
    pub range: KeyRange,
    pub descending: bool,
}

/// What the profile's host functions need during one call, kept in the
/// context's [`Extension`].
pub struct CallState {
    pub config: Arc<CosmwasmConfig>,
    pub api: Arc<dyn AddressApi>,
    pub querier: Arc<dyn Querier>,
    /// Runs `wasm` smart queries against contracts of this VM.
    pub smart: Option<Arc<dyn SmartQuerier>>,
    /// The chain's storage for this call; none: the context's journal.
    pub storage: Option<Box<dyn crate::Storage>>,
    /// Sees each `debug` message as it comes.
    pub debug_handler: Option<crate::DebugHandler>,
    /// The call ran out of gas in an import (cosmwasm-vm reports that as
    /// a runtime error of the import, not as the meter's depletion).
    pub out_of_gas_in_import: bool,
    pub(crate) iterators: Vec<Iter>,
    /// CosmWasm gas the backend reported (storage, API, queries), as
    /// cosmwasm-vm's GasReport has it.
    pub used_externally: u64,
    /// The contract's `ContractResult` JSON, as it returned it.
    pub result: Option<Vec<u8>>,
    /// Messages the contract passed to `debug`, in order.
    pub debug: Vec<String>,
}

impl CallState {
    pub fn new(config: Arc<CosmwasmConfig>, api: Arc<dyn AddressApi>, querier: Arc<dyn Querier>) -> Self {
        Self {
            config,
            api,
            querier,
            smart: None,
            storage: None,
            debug_handler: None,
            out_of_gas_in_import: false,
            iterators: Vec::new(),
            used_externally: 0,
            result: None,
            debug: Vec::new(),
        }
    }

    /// The state of a call the chain hands its own storage, API and
    /// querier.
    pub fn for_chain(config: Arc<CosmwasmConfig>, chain: crate::ChainServices) -> Self {
        let mut state = Self::new(config, chain.api, chain.querier);
        state.storage = Some(chain.storage);
        state.debug_handler = chain.debug;
        state
    }

    /// This profile's state in `context`, if the call is of this profile.
    pub fn of(context: &WasmContext) -> Option<&CallState> {
        context.extension.as_ref()?.0.downcast_ref()
    }

    pub fn of_mut(context: &mut WasmContext) -> Option<&mut CallState> {
        context.extension.as_mut()?.0.downcast_mut()
    }

    /// Puts this state into `context`.
    pub fn install(self, context: &mut WasmContext) {
        context.extension = Some(self.into_extension());
    }

    /// This state as a context's extension.
    pub fn into_extension(self) -> Extension {
        Extension(Box::new(self))
    }
}

/// The call's state; a host function of this profile runs only in calls
/// of this profile, so its absence is a wiring fault (a trap).
pub(crate) fn call_state<'a>(caller: &'a mut Caller<'_, WasmContext>) -> wasmtime::Result<&'a mut CallState> {
    CallState::of_mut(caller.data_mut())
        .ok_or_else(|| wasmtime::Error::msg("a cosmwasm import called outside a cosmwasm call"))
}

pub(crate) fn config(context: &WasmContext) -> Arc<CosmwasmConfig> {
    CallState::of(context).map(|state| state.config.clone()).unwrap_or_default()
}

/// The call's gas left, in CosmWasm gas.
pub(crate) fn cw_gas_left<C: AsContextMut<Data = WasmContext>>(caller: &mut C) -> u64 {
    let Some(global) = caller.as_context().data().gas else { return 0 };
    let left = global.get(&mut *caller).i64().unwrap_or(0).max(0) as u64;
    config(caller.as_context().data()).to_cw_gas(left)
}

/// Charges `cw_gas` (VM-internal work) from the call's gas global, or ends
/// the call as out of gas (leaving none) when there is not enough.
pub(crate) fn charge_cw<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    cw_gas: u64,
) -> wasmtime::Result<()> {
    let gas = config(caller.as_context().data()).to_gas(cw_gas);
    let Some(global) = caller.as_context().data().gas else {
        return Err(wasmtime::Error::msg("the module has no gas global (not preprocessed)"));
    };
    let left = global.get(&mut *caller).i64().unwrap_or(0).max(0) as u64;
    if left < gas {
        global.set(&mut *caller, wasmtime::Val::I64(0))?;
        if let Some(state) = CallState::of_mut(caller.as_context_mut().data_mut()) {
            state.out_of_gas_in_import = true;
        }
        caller.as_context_mut().data_mut().halt = Some(Halt::OutOfGas);
        return Err(wasmtime::Error::msg("out of gas"));
    }
    global.set(&mut *caller, wasmtime::Val::I64((left - gas) as i64))?;
    caller.as_context_mut().data_mut().host_gas += gas;
    Ok(())
}

/// Charges `cw_gas` the backend reported, and records it as used
/// externally.
pub(crate) fn charge_external<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    cw_gas: u64,
) -> wasmtime::Result<()> {
    charge_backend(caller, crate::GasInfo::with_externally_used(cw_gas))
}

/// Charges what a chain's backend reported: its `cost` as the VM's own
/// work, its `externally_used` gas recorded as used externally.
pub(crate) fn charge_backend<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    gas: crate::GasInfo,
) -> wasmtime::Result<()> {
    if let Some(state) = CallState::of_mut(caller.as_context_mut().data_mut()) {
        state.used_externally = state.used_externally.saturating_add(gas.externally_used);
    }
    charge_cw(caller, gas.cost.saturating_add(gas.externally_used))
}

/// The profile's chain services and configuration, shared by every call:
/// what a fresh [`CallState`] is made of.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<CosmwasmConfig>,
    pub api: Arc<dyn AddressApi>,
    pub querier: Arc<dyn Querier>,
    /// Addresses in bech32 with the configured prefix, priced as
    /// cosmwasm-vm's MockApi.
    pub bech32: crate::Bech32Api,
}

impl Services {
    /// The services of `config`: `api` and `querier` if given, else
    /// bech32 with the configured prefix (as cosmwasm-vm's MockApi) and
    /// the [`DefaultQuerier`](crate::DefaultQuerier) over state.
    pub fn new(
        config: CosmwasmConfig,
        api: Option<Arc<dyn AddressApi>>,
        querier: Option<Arc<dyn Querier>>,
    ) -> Self {
        let bech32 = crate::Bech32Api::new(config.bech32_prefix.clone())
            .with_costs(config.gas.canonicalize, config.gas.humanize);
        let api = api.unwrap_or_else(|| Arc::new(bech32.clone()));
        let querier =
            querier.unwrap_or_else(|| Arc::new(crate::DefaultQuerier::new(bech32.clone(), &config.gas)));
        Self { config: Arc::new(config), api, querier, bech32 }
    }

    /// A fresh call state, its smart queries answered by `smart`.
    pub fn call_state(&self, smart: Option<Arc<dyn crate::SmartQuerier>>) -> CallState {
        let mut state = CallState::new(self.config.clone(), self.api.clone(), self.querier.clone());
        state.smart = smart;
        state
    }
}

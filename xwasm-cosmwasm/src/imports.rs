//! The `env` imports of cosmwasm-vm 3.0 (`packages/vm/src/imports.rs`),
//! with their exact signatures, limits, error codes and order of charges.
//!
//! Each one first charges `host_call_cost`, then the Region reads of its
//! inputs, then its own work. A VM error traps; a user error goes back to
//! the contract as a return code or an error Region, as in cosmwasm-vm.

use crate::api::ApiError;
use crate::querier::QueryContext;
use crate::region::{
    self, decode_sections, encode_sections, read_region, trap, write_region, write_to_contract,
};
use crate::state::{Iter, call_state, charge_cw, charge_external, config};
use cosmwasm_crypto::CryptoError;
use std::ops::Bound;
use wasmtime::{Caller, IntoFunc};
use xwasm_linker::{HostFnDescriptor, HostFunction, Permissions, WasmType};
use xwasm_store::{KeyRange, StateError, WasmContext, keys, stack_used};

type Ctx<'a> = Caller<'a, WasmContext>;
type R<T> = wasmtime::Result<T>;

/// The namespace of every import.
pub const NAMESPACE: &str = "env";

const MAX_LENGTH_DB_KEY: usize = 64 * 1024;
const MAX_LENGTH_DB_VALUE: usize = 128 * 1024;
const MAX_LENGTH_CANONICAL_ADDRESS: usize = 64;
const MAX_LENGTH_HUMAN_ADDRESS: usize = 256;
const MAX_LENGTH_QUERY_CHAIN_REQUEST: usize = 64 * 1024;
const MAX_LENGTH_ED25519_SIGNATURE: usize = 64;
const MAX_LENGTH_ED25519_MESSAGE: usize = 128 * 1024;
const MAX_COUNT_ED25519_BATCH: usize = 256;
const EDDSA_PUBKEY_LEN: usize = 32;
const MAX_LENGTH_DEBUG: usize = 2 * 1024 * 1024;
const MAX_LENGTH_ABORT: usize = 2 * 1024 * 1024;
const BLS12_381_MAX_AGGREGATE_SIZE: usize = 2 * 1024 * 1024;
const BLS12_381_MAX_MESSAGE_SIZE: usize = 5 * 1024 * 1024;
const BLS12_381_MAX_DST_SIZE: usize = 5 * 1024;
const G1_LEN: usize = 48;
const G2_LEN: usize = 96;
const HASH_MAX: usize = 32;
const SIGNATURE_LEN: usize = 64;
const PUBKEY_MAX: usize = 65;

use WasmType::{I32, I64};

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

fn backend_fault(c: &mut Ctx<'_>, error: StateError) -> wasmtime::Error {
    xwasm_host::halt(c, xwasm_store::Halt::Backend(error.to_string()))
}

fn storage_key(c: &Ctx<'_>, key: &[u8]) -> Vec<u8> {
    keys::storage(&c.data().contract, key)
}

fn deny_in_query(c: &mut Ctx<'_>) -> R<()> {
    if c.data().read_only {
        return Err(trap(c, "Must not call a writing storage function in this context."));
    }
    Ok(())
}

/// A Region read whose length error names what was written, as
/// `do_db_write` words it.
fn read_for_write(c: &mut Ctx<'_>, ptr: u32, max: usize, kind: &str) -> R<Vec<u8>> {
    let region = region::get_region(c, ptr)?;
    if region.length as usize > max {
        let cost = config(c.data()).gas.read_region_cost(region.length as usize);
        charge_cw(c, cost)?;
        return Err(trap(
            c,
            format!("{kind} too big. Tried to write {} bytes to storage, limit is {max}.", region.length),
        ));
    }
    read_region(c, ptr, max)
}

/// Every `env` import, in the order of cosmwasm-vm's `SUPPORTED_IMPORTS`.
pub fn imports() -> Vec<HostFunction> {
    let read = Permissions::READ_STATE;
    let write = Permissions::WRITE_STATE;
    let none = Permissions::NONE;
    let mut f = Vec::new();

    f.push(wrap(
        "db_read",
        &[I32],
        &[I32],
        "host call + region + key bytes",
        read,
        |mut c: Ctx<'_>, key: u32| -> R<u32> {
            enter(&mut c, "db_read")?;
            let key = read_region(&mut c, key, MAX_LENGTH_DB_KEY)?;
            let full = storage_key(&c, &key);
            let per_byte = config(c.data()).gas.storage_per_byte;
            charge_external(&mut c, per_byte * key.len() as u64)?;
            match c.data().journal.get(&full) {
                Ok(Some(value)) => write_to_contract(&mut c, &value),
                Ok(None) => Ok(0),
                Err(error) => Err(backend_fault(&mut c, error)),
            }
        },
    ));

    f.push(wrap(
        "db_write",
        &[I32, I32],
        &[],
        "host call + regions + key and value bytes",
        write,
        |mut c: Ctx<'_>, key: u32, value: u32| -> R<()> {
            enter(&mut c, "db_write")?;
            deny_in_query(&mut c)?;
            let key = read_for_write(&mut c, key, MAX_LENGTH_DB_KEY, "Key")?;
            let value = read_for_write(&mut c, value, MAX_LENGTH_DB_VALUE, "Value")?;
            let per_byte = config(c.data()).gas.storage_per_byte;
            charge_external(&mut c, per_byte * (key.len() + value.len()) as u64)?;
            let full = storage_key(&c, &key);
            c.data_mut().journal.set(full, value);
            Ok(())
        },
    ));

    f.push(wrap(
        "db_remove",
        &[I32],
        &[],
        "host call + region + key bytes",
        write,
        |mut c: Ctx<'_>, key: u32| -> R<()> {
            enter(&mut c, "db_remove")?;
            deny_in_query(&mut c)?;
            let key = read_region(&mut c, key, MAX_LENGTH_DB_KEY)?;
            let per_byte = config(c.data()).gas.storage_per_byte;
            charge_external(&mut c, per_byte * key.len() as u64)?;
            let full = storage_key(&c, &key);
            c.data_mut().journal.remove(full);
            Ok(())
        },
    ));

    f.push(wrap(
        "db_scan",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + scan",
        read,
        |mut c: Ctx<'_>, start: u32, end: u32, order: i32| -> R<u32> {
            enter(&mut c, "db_scan")?;
            let start = if start == 0 { None } else { Some(read_region(&mut c, start, MAX_LENGTH_DB_KEY)?) };
            let end = if end == 0 { None } else { Some(read_region(&mut c, end, MAX_LENGTH_DB_KEY)?) };
            let descending = match order {
                1 => false,
                2 => true,
                other => {
                    return Err(trap(&mut c, format!("Got an invalid value for iteration order: {other}")));
                }
            };
            let scan = config(c.data()).gas.storage_scan;
            charge_external(&mut c, scan)?;
            let prefix = keys::storage_prefix(&c.data().contract);
            let bound = |key: Option<Vec<u8>>, inclusive: bool| match key {
                None => Bound::Unbounded,
                Some(key) => {
                    let full = [prefix.as_slice(), &key].concat();
                    if inclusive { Bound::Included(full) } else { Bound::Excluded(full) }
                }
            };
            let range =
                KeyRange { start: bound(start, true), end: bound(end, false), prefix: prefix.clone() };
            let state = call_state(&mut c)?;
            state.iterators.push(Iter { range, descending });
            Ok(state.iterators.len() as u32)
        },
    ));

    f.push(wrap(
        "db_next",
        &[I32],
        &[I32],
        "host call + key and value bytes + region",
        read,
        |mut c: Ctx<'_>, id: u32| -> R<u32> {
            enter(&mut c, "db_next")?;
            let (key, value) = next_record(&mut c, id)?.unwrap_or_default();
            write_to_contract(&mut c, &encode_sections(&[&key, &value]))
        },
    ));

    f.push(wrap(
        "db_next_key",
        &[I32],
        &[I32],
        "host call + key and value bytes + region",
        read,
        |mut c: Ctx<'_>, id: u32| -> R<u32> {
            enter(&mut c, "db_next_key")?;
            match next_record(&mut c, id)? {
                Some((key, _)) => write_to_contract(&mut c, &key),
                None => Ok(0),
            }
        },
    ));

    f.push(wrap(
        "db_next_value",
        &[I32],
        &[I32],
        "host call + key and value bytes + region",
        read,
        |mut c: Ctx<'_>, id: u32| -> R<u32> {
            enter(&mut c, "db_next_value")?;
            match next_record(&mut c, id)? {
                Some((_, value)) => write_to_contract(&mut c, &value),
                None => Ok(0),
            }
        },
    ));

    f.push(wrap(
        "addr_validate",
        &[I32],
        &[I32],
        "host call + region + string + API",
        none,
        |mut c: Ctx<'_>, source: u32| -> R<u32> {
            enter(&mut c, "addr_validate")?;
            let Some(human) = human_input(&mut c, source)? else { return last_error(&mut c) };
            let api = call_state(&mut c)?.api.clone();
            let (result, cost) = api.validate(&human);
            charge_cw(&mut c, cost)?;
            match result {
                Ok(()) => Ok(0),
                Err(error) => api_error(&mut c, error),
            }
        },
    ));

    f.push(wrap(
        "addr_canonicalize",
        &[I32, I32],
        &[I32],
        "host call + regions + string + API",
        none,
        |mut c: Ctx<'_>, source: u32, destination: u32| -> R<u32> {
            enter(&mut c, "addr_canonicalize")?;
            let Some(human) = human_input(&mut c, source)? else { return last_error(&mut c) };
            let api = call_state(&mut c)?.api.clone();
            let (result, cost) = api.canonicalize(&human);
            charge_cw(&mut c, cost)?;
            match result {
                Ok(canonical) => write_region(&mut c, destination, &canonical).map(|()| 0),
                Err(error) => api_error(&mut c, error),
            }
        },
    ));

    f.push(wrap(
        "addr_humanize",
        &[I32, I32],
        &[I32],
        "host call + regions + API",
        none,
        |mut c: Ctx<'_>, source: u32, destination: u32| -> R<u32> {
            enter(&mut c, "addr_humanize")?;
            let canonical = read_region(&mut c, source, MAX_LENGTH_CANONICAL_ADDRESS)?;
            let api = call_state(&mut c)?.api.clone();
            let (result, cost) = api.humanize(&canonical);
            charge_cw(&mut c, cost)?;
            match result {
                Ok(human) => write_region(&mut c, destination, human.as_bytes()).map(|()| 0),
                Err(error) => api_error(&mut c, error),
            }
        },
    ));

    f.push(wrap(
        "secp256k1_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + 96,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, pubkey: u32| -> R<u32> {
            enter(&mut c, "secp256k1_verify")?;
            let (hash, signature, pubkey) = ecdsa_inputs(&mut c, hash, signature, Some(pubkey))?;
            let cost = config(c.data()).gas.secp256k1_verify;
            charge_cw(&mut c, cost)?;
            Ok(verify_code(cosmwasm_crypto::secp256k1_verify(&hash, &signature, &pubkey)))
        },
    ));

    f.push(wrap(
        "secp256k1_recover_pubkey",
        &[I32, I32, I32],
        &[I64],
        "host call + regions + 194,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, param: u32| -> R<u64> {
            enter(&mut c, "secp256k1_recover_pubkey")?;
            let cost = config(c.data()).gas.secp256k1_recover_pubkey;
            recover(&mut c, hash, signature, param, cost, cosmwasm_crypto::secp256k1_recover_pubkey)
        },
    ));

    f.push(wrap(
        "secp256r1_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + 279,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, pubkey: u32| -> R<u32> {
            enter(&mut c, "secp256r1_verify")?;
            let (hash, signature, pubkey) = ecdsa_inputs(&mut c, hash, signature, Some(pubkey))?;
            let cost = config(c.data()).gas.secp256r1_verify;
            charge_cw(&mut c, cost)?;
            Ok(verify_code(cosmwasm_crypto::secp256r1_verify(&hash, &signature, &pubkey)))
        },
    ));

    f.push(wrap(
        "secp256r1_recover_pubkey",
        &[I32, I32, I32],
        &[I64],
        "host call + regions + 592,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, param: u32| -> R<u64> {
            enter(&mut c, "secp256r1_recover_pubkey")?;
            let cost = config(c.data()).gas.secp256r1_recover_pubkey;
            recover(&mut c, hash, signature, param, cost, cosmwasm_crypto::secp256r1_recover_pubkey)
        },
    ));

    f.push(wrap(
        "ed25519_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + 35,000,000",
        none,
        |mut c: Ctx<'_>, message: u32, signature: u32, pubkey: u32| -> R<u32> {
            enter(&mut c, "ed25519_verify")?;
            let message = read_region(&mut c, message, MAX_LENGTH_ED25519_MESSAGE)?;
            let signature = read_region(&mut c, signature, MAX_LENGTH_ED25519_SIGNATURE)?;
            let pubkey = read_region(&mut c, pubkey, EDDSA_PUBKEY_LEN)?;
            let cost = config(c.data()).gas.ed25519_verify;
            charge_cw(&mut c, cost)?;
            Ok(verify_code(cosmwasm_crypto::ed25519_verify(&message, &signature, &pubkey)))
        },
    ));

    f.push(wrap(
        "ed25519_batch_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + per signature",
        none,
        |mut c: Ctx<'_>, messages: u32, signatures: u32, pubkeys: u32| -> R<u32> {
            enter(&mut c, "ed25519_batch_verify")?;
            let messages =
                read_region(&mut c, messages, (MAX_LENGTH_ED25519_MESSAGE + 4) * MAX_COUNT_ED25519_BATCH)?;
            let signatures = read_region(
                &mut c,
                signatures,
                (MAX_LENGTH_ED25519_SIGNATURE + 4) * MAX_COUNT_ED25519_BATCH,
            )?;
            let pubkeys = read_region(&mut c, pubkeys, (EDDSA_PUBKEY_LEN + 4) * MAX_COUNT_ED25519_BATCH)?;
            let sections = |c: &mut Ctx<'_>, data: &[u8]| -> R<Vec<Vec<u8>>> {
                match decode_sections(data) {
                    Some(sections) => Ok(sections.into_iter().map(<[u8]>::to_vec).collect()),
                    None => Err(trap(c, "Error decoding sections: the lengths do not add up")),
                }
            };
            let (messages, signatures, pubkeys) =
                (sections(&mut c, &messages)?, sections(&mut c, &signatures)?, sections(&mut c, &pubkeys)?);
            let gas = config(c.data()).gas.clone();
            let (base, per) = if pubkeys.len() == 1 {
                (gas.ed25519_batch_verify_one_pubkey_base, gas.ed25519_batch_verify_one_pubkey_per_signature)
            } else {
                (gas.ed25519_batch_verify_base, gas.ed25519_batch_verify_per_signature)
            };
            charge_cw(&mut c, base.saturating_add(per.saturating_mul(signatures.len() as u64)))?;
            let mut rng = crate::rng::TranscriptRng::new(&[&messages, &signatures, &pubkeys]);
            Ok(verify_code(cosmwasm_crypto::ed25519_batch_verify(
                &mut rng,
                &refs(&messages),
                &refs(&signatures),
                &refs(&pubkeys),
            )))
        },
    ));

    f.push(wrap(
        "bls12_381_aggregate_g1",
        &[I32, I32],
        &[I32],
        "host call + region + per point",
        none,
        |mut c: Ctx<'_>, points: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_aggregate_g1")?;
            let points = read_region(&mut c, points, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let gas = config(c.data()).gas.clone();
            let count = (points.len() / G1_LEN) as u64;
            charge_cw(
                &mut c,
                gas.bls12_381_aggregate_g1_base
                    .saturating_add(gas.bls12_381_aggregate_g1_per_point.saturating_mul(count)),
            )?;
            match cosmwasm_crypto::bls12_381_aggregate_g1(&points) {
                Ok(point) => write_region(&mut c, out, &point).map(|()| 0),
                Err(error) => Ok(error.code()),
            }
        },
    ));

    f.push(wrap(
        "bls12_381_aggregate_g2",
        &[I32, I32],
        &[I32],
        "host call + region + per point",
        none,
        |mut c: Ctx<'_>, points: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_aggregate_g2")?;
            let points = read_region(&mut c, points, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let gas = config(c.data()).gas.clone();
            let count = (points.len() / G2_LEN) as u64;
            charge_cw(
                &mut c,
                gas.bls12_381_aggregate_g2_base
                    .saturating_add(gas.bls12_381_aggregate_g2_per_point.saturating_mul(count)),
            )?;
            match cosmwasm_crypto::bls12_381_aggregate_g2(&points) {
                Ok(point) => write_region(&mut c, out, &point).map(|()| 0),
                Err(error) => Ok(error.code()),
            }
        },
    ));

    f.push(wrap(
        "bls12_381_pairing_equality",
        &[I32, I32, I32, I32],
        &[I32],
        "host call + regions + per pair",
        none,
        |mut c: Ctx<'_>, ps: u32, qs: u32, r: u32, s: u32| -> R<u32> {
            enter(&mut c, "bls12_381_pairing_equality")?;
            let ps = read_region(&mut c, ps, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let qs = read_region(&mut c, qs, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let r = read_region(&mut c, r, G1_LEN)?;
            let s = read_region(&mut c, s, G2_LEN)?;
            let gas = config(c.data()).gas.clone();
            let k = (ps.len() / G1_LEN) as u64 + 1;
            charge_cw(
                &mut c,
                gas.bls12_381_pairing_equality_base
                    .saturating_add(gas.bls12_381_pairing_equality_per_point.saturating_mul(k)),
            )?;
            Ok(match cosmwasm_crypto::bls12_381_pairing_equality(&ps, &qs, &r, &s) {
                Ok(true) => 0,
                Ok(false) => 1,
                Err(error) => error.code(),
            })
        },
    ));

    f.push(wrap(
        "bls12_381_hash_to_g1",
        &[I32, I32, I32, I32],
        &[I32],
        "host call + regions + 563,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, msg: u32, dst: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_hash_to_g1")?;
            let cost = config(c.data()).gas.bls12_381_hash_to_g1;
            hash_to_curve(&mut c, hash, msg, dst, out, cost, |h, m, d| {
                cosmwasm_crypto::bls12_381_hash_to_g1(h, m, d).to_vec()
            })
        },
    ));

    f.push(wrap(
        "bls12_381_hash_to_g2",
        &[I32, I32, I32, I32],
        &[I32],
        "host call + regions + 871,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, msg: u32, dst: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_hash_to_g2")?;
            let cost = config(c.data()).gas.bls12_381_hash_to_g2;
            hash_to_curve(&mut c, hash, msg, dst, out, cost, |h, m, d| {
                cosmwasm_crypto::bls12_381_hash_to_g2(h, m, d).to_vec()
            })
        },
    ));

    f.push(wrap("debug", &[I32], &[], "host call + region", none, |mut c: Ctx<'_>, message: u32| -> R<()> {
        enter(&mut c, "debug")?;
        let message = read_region(&mut c, message, MAX_LENGTH_DEBUG)?;
        let message = String::from_utf8_lossy(&message).into_owned();
        call_state(&mut c)?.debug.push(message);
        Ok(())
    }));

    f.push(wrap(
        "abort",
        &[I32],
        &[],
        "host call + region + string",
        none,
        |mut c: Ctx<'_>, message: u32| -> R<()> {
            enter(&mut c, "abort")?;
            let message = read_region(&mut c, message, MAX_LENGTH_ABORT)?;
            let cost = config(c.data()).gas.string_from_bytes(message.len());
            charge_cw(&mut c, cost)?;
            let message = String::from_utf8_lossy(&message).into_owned();
            Err(xwasm_host::halt(&mut c, xwasm_store::Halt::Abort(message)))
        },
    ));

    f.push(wrap(
        "query_chain",
        &[I32],
        &[I32],
        "host call + region + query + region",
        read,
        |mut c: Ctx<'_>, request: u32| -> R<u32> {
            enter(&mut c, "query_chain")?;
            let request = read_region(&mut c, request, MAX_LENGTH_QUERY_CHAIN_REQUEST)?;
            let gas_left = crate::state::cw_gas_left(&mut c);
            let state = call_state(&mut c)?;
            let (querier, smart) = (state.querier.clone(), state.smart.clone());
            let stack_used = stack_used(&mut c)?;
            let context = c.data();
            let mut query = QueryContext {
                journal: &context.journal,
                gas_limit: gas_left,
                chain: context.chain,
                smart: smart.as_deref(),
                depth: context.depth,
                stack_used,
                stop: context.stop.clone(),
            };
            let (answer, used) = querier.query(&request, &mut query);
            charge_external(&mut c, used)?;
            match answer {
                Ok(answer) => write_to_contract(&mut c, &answer),
                Err(fault) => Err(trap(&mut c, fault)),
            }
        },
    ));

    f
}

/// The next record of iterator `id` (1-based), charged as cosmwasm-vm's
/// testing storage charges it: its bytes as the VM's work, or the end of
/// the iteration as the backend's.
fn next_record(c: &mut Ctx<'_>, id: u32) -> R<Option<(Vec<u8>, Vec<u8>)>> {
    let iter = match call_state(c)?.iterators.get(id.wrapping_sub(1) as usize) {
        Some(iter) => iter.clone(),
        None => return Err(trap(c, format!("Iterator with ID {id} does not exist"))),
    };
    let found = match c.data().journal.first_in(&iter.range, iter.descending) {
        Ok(found) => found,
        Err(error) => return Err(backend_fault(c, error)),
    };
    let gas = config(c.data()).gas.clone();
    let Some((full, value)) = found else {
        charge_external(c, gas.storage_last_iteration)?;
        return Ok(None);
    };
    charge_cw(c, gas.storage_per_byte * (full.len() - iter.range.prefix.len() + value.len()) as u64)?;
    let state = call_state(c)?;
    let open = &mut state.iterators[id as usize - 1];
    let past = Bound::Excluded(full.clone());
    if open.descending {
        open.range.end = past
    } else {
        open.range.start = past
    }
    let key = full[open.range.prefix.len()..].to_vec();
    Ok(Some((key, value)))
}

/// A human address input of `addr_validate` and `addr_canonicalize`:
/// `None` when it is empty or not UTF-8 (the error Region's text is kept
/// for [`last_error`]).
fn human_input(c: &mut Ctx<'_>, source: u32) -> R<Option<String>> {
    let data = read_region(c, source, MAX_LENGTH_HUMAN_ADDRESS)?;
    if data.is_empty() {
        c.data_mut().last_result = b"Input is empty".to_vec();
        return Ok(None);
    }
    let cost = config(c.data()).gas.string_from_bytes(data.len());
    charge_cw(c, cost)?;
    match String::from_utf8(data) {
        Ok(human) => Ok(Some(human)),
        Err(_) => {
            c.data_mut().last_result = b"Input is not valid UTF-8".to_vec();
            Ok(None)
        }
    }
}

fn last_error(c: &mut Ctx<'_>) -> R<u32> {
    let message = std::mem::take(&mut c.data_mut().last_result);
    write_to_contract(c, &message)
}

fn api_error(c: &mut Ctx<'_>, error: ApiError) -> R<u32> {
    match error {
        ApiError::User(message) => write_to_contract(c, message.as_bytes()),
        ApiError::Backend(message) => Err(trap(c, message)),
    }
}

fn ecdsa_inputs(
    c: &mut Ctx<'_>,
    hash: u32,
    signature: u32,
    pubkey: Option<u32>,
) -> R<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let hash = read_region(c, hash, HASH_MAX)?;
    let signature = read_region(c, signature, SIGNATURE_LEN)?;
    let pubkey = match pubkey {
        Some(pubkey) => read_region(c, pubkey, PUBKEY_MAX)?,
        None => Vec::new(),
    };
    Ok((hash, signature, pubkey))
}

fn refs(sections: &[Vec<u8>]) -> Vec<&[u8]> {
    sections.iter().map(Vec::as_slice).collect()
}

/// 0 valid, 1 invalid, or the error's code.
fn verify_code(result: Result<bool, CryptoError>) -> u32 {
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => error.code(),
    }
}

/// A recover function of cosmwasm-crypto.
type Recover = fn(&[u8], &[u8], u8) -> Result<Vec<u8>, CryptoError>;

fn recover(c: &mut Ctx<'_>, hash: u32, signature: u32, param: u32, cost: u64, recover: Recover) -> R<u64> {
    let (hash, signature, _) = ecdsa_inputs(c, hash, signature, None)?;
    let Ok(param) = u8::try_from(param) else {
        return Ok(u64::from(CryptoError::invalid_recovery_param().code()) << 32);
    };
    charge_cw(c, cost)?;
    match recover(&hash, &signature, param) {
        Ok(pubkey) => write_to_contract(c, &pubkey).map(u64::from),
        Err(error) => Ok(u64::from(error.code()) << 32),
    }
}

fn hash_to_curve(
    c: &mut Ctx<'_>,
    hash: u32,
    msg: u32,
    dst: u32,
    out: u32,
    cost: u64,
    hash_to: impl Fn(cosmwasm_crypto::HashFunction, &[u8], &[u8]) -> Vec<u8>,
) -> R<u32> {
    let msg = read_region(c, msg, BLS12_381_MAX_MESSAGE_SIZE)?;
    let dst = read_region(c, dst, BLS12_381_MAX_DST_SIZE)?;
    charge_cw(c, cost)?;
    let function = match cosmwasm_crypto::HashFunction::from_u32(hash) {
        Ok(function) => function,
        Err(error) => return Ok(error.code()),
    };
    let point = hash_to(function, &msg, &dst);
    write_region(c, out, &point)?;
    Ok(0)
}

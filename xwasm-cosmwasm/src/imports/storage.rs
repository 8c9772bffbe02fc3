//! Storage: `db_read`, `db_write`, `db_remove`, and the iterators
//! (`db_scan`, `db_next`, `db_next_key`, `db_next_value`).

use super::{Ctx, R, enter, wrap};
use crate::region::{self, encode_sections, read_region, trap, write_to_contract};
use crate::state::{Iter, call_state, charge_backend, charge_cw, charge_external, config};
use crate::{BackendError, BackendResult, Storage};
use std::ops::Bound;
use xwasm_linker::WasmType::I32;
use xwasm_linker::{HostFunction, Permissions};
use xwasm_store::{KeyRange, StateError, keys};

const MAX_LENGTH_DB_KEY: usize = 64 * 1024;
const MAX_LENGTH_DB_VALUE: usize = 128 * 1024;

/// The storage imports, in cosmwasm-vm's order.
pub(super) fn imports() -> Vec<HostFunction> {
    let read = Permissions::READ_STATE;
    let write = Permissions::WRITE_STATE;
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
            if let Some(value) = chain(&mut c, |s| s.get(&key))? {
                return match value {
                    Some(value) => write_to_contract(&mut c, &value),
                    None => Ok(0),
                };
            }
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
            if chain(&mut c, |s| s.set(&key, &value))?.is_some() {
                return Ok(());
            }
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
            if chain(&mut c, |s| s.remove(&key))?.is_some() {
                return Ok(());
            }
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
                    return Err(trap(&mut c, format!("Error in guest/host communication: Got an invalid value for iteration order: {other}")));
                }
            };
            let (first, last) = (start.as_deref(), end.as_deref());
            if let Some(id) = chain(&mut c, |s| s.scan(first, last, descending))? {
                return Ok(id);
            }
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
            if let Some(record) = chain(&mut c, |s| s.next(id))? {
                let (key, value) = record.unwrap_or_default();
                return write_to_contract(&mut c, &encode_sections(&[&key, &value]));
            }
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
            if let Some(key) = chain(&mut c, |s| s.next_key(id))? {
                return key.map_or(Ok(0), |key| write_to_contract(&mut c, &key));
            }
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
            if let Some(value) = chain(&mut c, |s| s.next_value(id))? {
                return value.map_or(Ok(0), |value| write_to_contract(&mut c, &value));
            }
            match next_record(&mut c, id)? {
                Some((_, value)) => write_to_contract(&mut c, &value),
                None => Ok(0),
            }
        },
    ));

    f
}

/// Runs `operation` on the chain's storage, if the call was given one
/// (`None` otherwise): its gas is charged first, as cosmwasm-vm's
/// `process_gas_info` charges it, then a failure ends the call as
/// cosmwasm-vm's `BackendErr` does.
fn chain<T>(c: &mut Ctx<'_>, operation: impl FnOnce(&mut dyn Storage) -> BackendResult<T>) -> R<Option<T>> {
    let Some(storage) = call_state(c)?.storage.as_deref_mut() else { return Ok(None) };
    let (result, gas) = operation(storage);
    charge_backend(c, gas)?;
    match result {
        Ok(value) => Ok(Some(value)),
        // cosmwasm-vm: `GasDepletion` raised in the import, a runtime
        // error with the gas left as it was.
        Err(BackendError::OutOfGas) => Err(trap(c, "Ran out of gas during contract execution")),
        Err(error) => Err(trap(c, format!("Error calling into the VM's backend: {error}"))),
    }
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

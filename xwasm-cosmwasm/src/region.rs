//! The Region convention: how bytes cross between cosmwasm-vm and a
//! contract (`packages/vm/src/memory.rs`).
//!
//! A Region is 12 bytes in the contract's memory: `offset`, `capacity`
//! and `length`, little-endian `u32`s. Every failure here is a VM error in
//! cosmwasm-vm, which traps the contract: it ends the call with
//! [`Halt::BadPointer`] and cosmwasm-vm's message.

use crate::state::{self, charge_cw};
use wasmtime::{AsContext, AsContextMut, Caller, Memory};
use xwasm_store::{Halt, WasmContext};

/// Bytes of a Region.
pub const REGION_BYTES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub offset: u32,
    pub capacity: u32,
    pub length: u32,
}

fn memory<C: AsContextMut<Data = WasmContext>>(caller: &mut C) -> wasmtime::Result<Memory> {
    match caller.as_context().data().memory {
        Some(memory) => Ok(memory),
        None => Err(trap(caller, "Could not get memory 'memory'")),
    }
}

/// Ends the call as cosmwasm-vm's VM errors do (a trap), with `message`.
pub(crate) fn trap<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    message: impl Into<String>,
) -> wasmtime::Error {
    let message = message.into();
    caller.as_context_mut().data_mut().halt = Some(Halt::BadPointer(message.clone()));
    wasmtime::Error::msg(message)
}

/// The validated Region at `ptr`.
pub(crate) fn get_region<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    ptr: u32,
) -> wasmtime::Result<Region> {
    let memory = memory(caller)?;
    let mut bytes = [0u8; REGION_BYTES];
    if memory.read(&*caller, ptr as usize, &mut bytes).is_err() {
        return Err(trap(caller, "Could not dereference this pointer to a Region"));
    }
    let field = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let region = Region { offset: field(0), capacity: field(4), length: field(8) };
    if region.offset == 0 {
        return Err(trap(caller, "Region has a zero offset"));
    }
    if region.length > region.capacity {
        return Err(trap(caller, "Region has a length greater than its capacity"));
    }
    if region.capacity > u32::MAX - region.offset {
        return Err(trap(caller, "Region capacity out of range"));
    }
    Ok(region)
}

/// Reads the Region at `ptr`, at most `max_length` bytes: charged for its
/// length before the length is checked, as cosmwasm-vm does.
pub(crate) fn read_region<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    ptr: u32,
    max_length: usize,
) -> wasmtime::Result<Vec<u8>> {
    let region = get_region(caller, ptr)?;
    let cost = state::config(caller.as_context().data()).gas.read_region_cost(region.length as usize);
    charge_cw(caller, cost)?;
    if region.length as usize > max_length {
        return Err(trap(
            caller,
            format!(
                "Error in guest/host communication: Region length too big. Got {}, limit {max_length}",
                region.length
            ),
        ));
    }
    let memory = memory(caller)?;
    let mut data = vec![0u8; region.length as usize];
    if memory.read(&*caller, region.offset as usize, &mut data).is_err() {
        return Err(trap(caller, "Error accessing memory region: out of bounds"));
    }
    Ok(data)
}

/// Writes `data` into the Region at `ptr` and sets its length.
pub(crate) fn write_region<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    ptr: u32,
    data: &[u8],
) -> wasmtime::Result<()> {
    let region = get_region(caller, ptr)?;
    let cost = state::config(caller.as_context().data()).gas.write_region_cost(data.len());
    charge_cw(caller, cost)?;
    if data.len() > region.capacity as usize {
        return Err(trap(
            caller,
            format!(
                "Error in guest/host communication: Region too small. Got {}, required {}",
                region.capacity,
                data.len()
            ),
        ));
    }
    let memory = memory(caller)?;
    let length_at = ptr as usize + 8;
    let written = memory
        .write(&mut *caller, region.offset as usize, data)
        .and_then(|()| memory.write(&mut *caller, length_at, &(data.len() as u32).to_le_bytes()));
    if written.is_err() {
        return Err(trap(caller, "Error accessing memory region: out of bounds"));
    }
    Ok(())
}

/// Has the contract allocate a Region for `data` (its `allocate` export,
/// metered like any of its code), writes `data` there, and returns the
/// Region's pointer: the contract owns it.
pub(crate) fn write_to_contract(caller: &mut Caller<'_, WasmContext>, data: &[u8]) -> wasmtime::Result<u32> {
    let allocate = caller.get_export("allocate").and_then(wasmtime::Extern::into_func);
    write_allocated(caller, allocate, data)
}

/// [`write_to_contract`] with the contract's `allocate` export at hand.
pub(crate) fn write_allocated<C: AsContextMut<Data = WasmContext>>(
    caller: &mut C,
    allocate: Option<wasmtime::Func>,
    data: &[u8],
) -> wasmtime::Result<u32> {
    let Some(allocate) = allocate.and_then(|f| f.typed::<u32, u32>(&*caller).ok()) else {
        return Err(trap(caller, "Could not get export: allocate"));
    };
    let ptr = allocate.call(&mut *caller, data.len() as u32)?;
    if ptr == 0 {
        return Err(trap(caller, "Error in guest/host communication: Got a zero Wasm address"));
    }
    write_region(caller, ptr, data)?;
    Ok(ptr)
}

/// The sections format of `db_next` and the batch imports
/// (`packages/vm/src/sections.rs`): each section followed by its length
/// as a big-endian `u32`.
pub fn encode_sections(sections: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sections.iter().map(|s| s.len() + 4).sum());
    for section in sections {
        out.extend_from_slice(section);
        out.extend_from_slice(&(section.len() as u32).to_be_bytes());
    }
    out
}

/// Splits `data` in the sections format, reading from the back; `None`
/// when the lengths do not add up.
pub fn decode_sections(data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut sections = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let split = rest.len().checked_sub(4)?;
        let len = u32::from_be_bytes(rest[split..].try_into().expect("4 bytes")) as usize;
        let start = split.checked_sub(len)?;
        sections.push(&rest[start..split]);
        rest = &rest[..start];
    }
    sections.reverse();
    Some(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip() {
        let sections: [&[u8]; 3] = [b"key", b"", b"value"];
        let encoded = encode_sections(&sections);
        assert_eq!(&encoded[..7], b"key\0\0\0\x03");
        assert_eq!(decode_sections(&encoded).unwrap(), sections.to_vec());
        assert_eq!(decode_sections(b"\0\0\0\x09"), None);
    }
}

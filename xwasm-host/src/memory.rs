//! Checked access to the calling contract's linear memory.
//!
//! Every guest pointer and length goes through here: an out-of-bounds or
//! negative range ends the call as a trap ([`Halt::BadPointer`]), never a
//! host panic.

use crate::gas::halt;
use wasmtime::{Caller, Memory};
use xwasm_store::{Halt, WasmContext};

/// A guest range `[ptr, ptr + len)` that has been checked against the
/// memory's current size.
#[derive(Debug, Clone, Copy)]
pub struct GuestRange {
    start: usize,
    end: usize,
}

impl GuestRange {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

fn memory(caller: &mut Caller<'_, WasmContext>) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    match caller.get_export("memory").and_then(|export| export.into_memory()) {
        Some(memory) => Ok(memory),
        None => Err(halt(caller, Halt::BadPointer("the contract exports no memory".into()))),
    }
}

/// Checks `[ptr, ptr + len)` against the current memory.
pub fn check(caller: &mut Caller<'_, WasmContext>, ptr: i32, len: i32) -> wasmtime::Result<GuestRange> {
    let memory = memory(caller)?;
    let size = memory.data_size(&*caller) as u64;
    let range =
        (ptr >= 0 && len >= 0).then(|| (ptr as u64, ptr as u64 + len as u64)).filter(|&(_, end)| end <= size);
    match range {
        Some((start, end)) => Ok(GuestRange { start: start as usize, end: end as usize }),
        None => Err(halt(
            caller,
            Halt::BadPointer(format!("range at {ptr} of length {len} outside memory of {size} bytes")),
        )),
    }
}

/// Runs `f` on a checked range of guest memory and the call's context,
/// without copying the range.
pub fn read_with<T>(
    caller: &mut Caller<'_, WasmContext>,
    range: GuestRange,
    f: impl FnOnce(&[u8], &mut WasmContext) -> T,
) -> wasmtime::Result<T> {
    let memory = memory(caller)?;
    let (data, context) = memory.data_and_store_mut(caller);
    // In bounds: see `read`.
    Ok(f(&data[range.start..range.end], context))
}

/// Copies a checked range out of guest memory.
pub fn read(caller: &mut Caller<'_, WasmContext>, range: GuestRange) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    // Memory never shrinks, so a range checked earlier in this host call is
    // still in bounds.
    Ok(memory.data(&*caller)[range.start..range.end].to_vec())
}

/// Writes `bytes` at `ptr`, checking the range.
pub fn write(caller: &mut Caller<'_, WasmContext>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
    let range = check(caller, ptr, len)?;
    write_checked(caller, range, bytes)
}

/// Writes `bytes` (at most `range.len()` of them) at a checked range.
pub fn write_checked(
    caller: &mut Caller<'_, WasmContext>,
    range: GuestRange,
    bytes: &[u8],
) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    let n = bytes.len().min(range.len());
    memory.data_mut(&mut *caller)[range.start..range.start + n].copy_from_slice(&bytes[..n]);
    Ok(())
}

/// Writes bytes that live in the context itself (the input, an address) to
/// a checked range, without copying them first.
pub fn write_from_context(
    caller: &mut Caller<'_, WasmContext>,
    range: GuestRange,
    pick: impl FnOnce(&WasmContext) -> &[u8],
) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    let (data, context) = memory.data_and_store_mut(&mut *caller);
    let bytes = pick(context);
    let n = bytes.len().min(range.len());
    data[range.start..range.start + n].copy_from_slice(&bytes[..n]);
    Ok(())
}

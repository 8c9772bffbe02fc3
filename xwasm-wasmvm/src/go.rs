//! The Go side's callbacks (`Db`, `GoApi`, `GoQuerier`, with their
//! vtables, and the iterators Go opens), and the adapters that make them
//! the profile's [`Storage`], [`AddressApi`] and [`Querier`] for one call.
//!
//! What a callback reports in `gas_used` is gas used externally (storage,
//! iterators, queries) or an internal cost (the address API), as wasmvm
//! and cosmwasm-vm count it.

#![allow(non_camel_case_types)]

use crate::memory::{U8SliceView, UnmanagedVector};
use cosmwasm_std::{Binary, ContractResult, SystemError, SystemResult};
use xwasm::cosmwasm::{
    AddressApi, ApiError, ApiResult, BackendError, BackendResult, GasInfo, Querier, QueryAnswer,
    QueryContext, Record, Storage,
};

/// Opaque Go handles, only passed back.
#[repr(C)]
pub struct gas_meter_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct db_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct api_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct querier_t {
    _private: [u8; 0],
}

/// `GoError`: what a callback returns.
pub mod go_error {
    pub const NONE: i32 = 0;
    pub const PANIC: i32 = 1;
    pub const BAD_ARGUMENT: i32 = 2;
    pub const OUT_OF_GAS: i32 = 3;
    pub const CANNOT_SERIALIZE: i32 = 4;
    pub const USER: i32 = 5;
}

type Out = *mut UnmanagedVector;
type Gas = *mut u64;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IteratorReference {
    pub call_id: u64,
    pub iterator_id: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct IteratorVtable {
    pub next: Option<extern "C" fn(IteratorReference, *mut gas_meter_t, Gas, Out, Out, Out) -> i32>,
    pub next_key: Option<extern "C" fn(IteratorReference, *mut gas_meter_t, Gas, Out, Out) -> i32>,
    pub next_value: Option<extern "C" fn(IteratorReference, *mut gas_meter_t, Gas, Out, Out) -> i32>,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoIter {
    pub gas_meter: *mut gas_meter_t,
    pub reference: IteratorReference,
    pub vtable: IteratorVtable,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct DbVtable {
    pub read_db: Option<extern "C" fn(*mut db_t, *mut gas_meter_t, Gas, U8SliceView, Out, Out) -> i32>,
    pub write_db:
        Option<extern "C" fn(*mut db_t, *mut gas_meter_t, Gas, U8SliceView, U8SliceView, Out) -> i32>,
    pub remove_db: Option<extern "C" fn(*mut db_t, *mut gas_meter_t, Gas, U8SliceView, Out) -> i32>,
    pub scan_db: Option<
        extern "C" fn(
            *mut db_t,
            *mut gas_meter_t,
            Gas,
            U8SliceView,
            U8SliceView,
            i32,
            *mut GoIter,
            Out,
        ) -> i32,
    >,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Db {
    pub gas_meter: *mut gas_meter_t,
    pub state: *mut db_t,
    pub vtable: DbVtable,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoApiVtable {
    pub humanize_address: Option<extern "C" fn(*const api_t, U8SliceView, Out, Out, Gas) -> i32>,
    pub canonicalize_address: Option<extern "C" fn(*const api_t, U8SliceView, Out, Out, Gas) -> i32>,
    pub validate_address: Option<extern "C" fn(*const api_t, U8SliceView, Out, Gas) -> i32>,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoApi {
    pub state: *const api_t,
    pub vtable: GoApiVtable,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct QuerierVtable {
    pub query_external: Option<extern "C" fn(*const querier_t, u64, Gas, U8SliceView, Out, Out) -> i32>,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoQuerier {
    pub state: *const querier_t,
    pub vtable: QuerierVtable,
}

/// Go's error messages are cut to 8 KiB and read as lossy UTF-8.
const MAX_GO_ERROR: usize = 8 * 1024;

/// Takes an output vector Go filled (exactly once).
fn take(vector: UnmanagedVector) -> Option<Vec<u8>> {
    // SAFETY: every output starts as none and Go fills it through
    // `new_unmanaged_vector`, this library's allocator.
    unsafe { vector.consume() }
}

/// A callback's return code as a backend error; `default` words an error
/// Go gave no message for. The message vector is freed whatever the code.
fn go_result(
    code: i32,
    error: UnmanagedVector,
    default: impl FnOnce() -> String,
) -> Result<(), BackendError> {
    let message = take(error).map(|mut bytes| {
        bytes.truncate(MAX_GO_ERROR);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let message = || message.unwrap_or_else(default);
    match code {
        go_error::NONE => Ok(()),
        go_error::PANIC => Err(BackendError::Other("Panic in FFI call".into())),
        go_error::BAD_ARGUMENT => Err(BackendError::Other("Bad argument".into())),
        go_error::OUT_OF_GAS => Err(BackendError::OutOfGas),
        go_error::USER => Err(BackendError::User(message())),
        go_error::CANNOT_SERIALIZE => {
            Err(BackendError::Other(format!("Unknown error during call into backend: {}", message())))
        }
        _ => Err(BackendError::Other(format!("Unknown error during call into backend: {}", message()))),
    }
}

const UNKNOWN: &str = "Unknown error during call into backend: ";

fn missing(name: &str) -> BackendError {
    BackendError::Other(format!("Unknown error during call into backend: vtable function '{name}' not set"))
}

/// The contract's storage through Go's `Db`, and the iterators Go opened
/// for this call (ids from 0, in order).
pub struct GoStorage {
    db: Db,
    iterators: Vec<GoIter>,
}

// SAFETY: the Go handles are used only during the call, on the thread
// Go called the library on (nested queries run on the same thread).
unsafe impl Send for GoStorage {}

impl GoStorage {
    pub fn new(db: Db) -> Self {
        Self { db, iterators: Vec::new() }
    }

    fn iterator(&self, id: u32) -> Result<GoIter, BackendError> {
        self.iterators
            .get(id as usize)
            .copied()
            .ok_or_else(|| BackendError::Other(format!("Iterator with ID {id} does not exist")))
    }

    /// One of the iterator's `next_key` / `next_value` calls.
    fn next_one(&mut self, id: u32, value: bool) -> BackendResult<Option<Vec<u8>>> {
        let iter = match self.iterator(id) {
            Ok(iter) => iter,
            Err(error) => return (Err(error), GasInfo::default()),
        };
        let name = if value { "next_value" } else { "next_key" };
        let function = if value { iter.vtable.next_value } else { iter.vtable.next_key };
        let Some(function) = function else { return (Err(missing(name)), GasInfo::default()) };
        let (mut gas, mut output, mut error) = (0u64, UnmanagedVector::default(), UnmanagedVector::default());
        let code = function(iter.reference, iter.gas_meter, &mut gas, &mut output, &mut error);
        let output = take(output);
        let gas = GasInfo::with_externally_used(gas);
        let default = || format!("Failed to fetch next item from iterator {id}");
        (go_result(code, error, default).map(|()| output), gas)
    }
}

impl Storage for GoStorage {
    fn get(&mut self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        let Some(read) = self.db.vtable.read_db else { return (Err(missing("read_db")), GasInfo::default()) };
        let (mut gas, mut value, mut error) = (0u64, UnmanagedVector::default(), UnmanagedVector::default());
        let code = read(
            self.db.state,
            self.db.gas_meter,
            &mut gas,
            U8SliceView::new(Some(key)),
            &mut value,
            &mut error,
        );
        let value = take(value);
        let default = || format!("Failed to read a key in the database: {}", String::from_utf8_lossy(key));
        (go_result(code, error, default).map(|()| value), GasInfo::with_externally_used(gas))
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> BackendResult<()> {
        let Some(write) = self.db.vtable.write_db else {
            return (Err(missing("write_db")), GasInfo::default());
        };
        let (mut gas, mut error) = (0u64, UnmanagedVector::default());
        let (k, v) = (U8SliceView::new(Some(key)), U8SliceView::new(Some(value)));
        let code = write(self.db.state, self.db.gas_meter, &mut gas, k, v, &mut error);
        let default = || format!("Failed to set a key in the database: {}", String::from_utf8_lossy(key));
        (go_result(code, error, default), GasInfo::with_externally_used(gas))
    }

    fn remove(&mut self, key: &[u8]) -> BackendResult<()> {
        let Some(remove) = self.db.vtable.remove_db else {
            return (Err(missing("remove_db")), GasInfo::default());
        };
        let (mut gas, mut error) = (0u64, UnmanagedVector::default());
        let code =
            remove(self.db.state, self.db.gas_meter, &mut gas, U8SliceView::new(Some(key)), &mut error);
        let default = || format!("Failed to delete a key in the database: {}", String::from_utf8_lossy(key));
        (go_result(code, error, default), GasInfo::with_externally_used(gas))
    }

    fn scan(&mut self, start: Option<&[u8]>, end: Option<&[u8]>, descending: bool) -> BackendResult<u32> {
        let Some(scan) = self.db.vtable.scan_db else { return (Err(missing("scan_db")), GasInfo::default()) };
        let (mut gas, mut error) = (0u64, UnmanagedVector::default());
        let mut iter = GoIter {
            gas_meter: std::ptr::null_mut(),
            reference: IteratorReference::default(),
            vtable: IteratorVtable::default(),
        };
        let order = if descending { 2 } else { 1 };
        let (first, last) = (U8SliceView::new(start), U8SliceView::new(end));
        let code =
            scan(self.db.state, self.db.gas_meter, &mut gas, first, last, order, &mut iter, &mut error);
        let default = || "Failed to read the next key between the bounds".to_owned();
        let gas = GasInfo::with_externally_used(gas);
        if let Err(error) = go_result(code, error, default) {
            return (Err(error), gas);
        }
        let id = self.iterators.len() as u32;
        self.iterators.push(iter);
        (Ok(id), gas)
    }

    fn next(&mut self, id: u32) -> BackendResult<Option<Record>> {
        let iter = match self.iterator(id) {
            Ok(iter) => iter,
            Err(error) => return (Err(error), GasInfo::default()),
        };
        let Some(next) = iter.vtable.next else { return (Err(missing("next")), GasInfo::default()) };
        let mut gas = 0u64;
        let (mut key, mut value, mut error) =
            (UnmanagedVector::default(), UnmanagedVector::default(), UnmanagedVector::default());
        let code = next(iter.reference, iter.gas_meter, &mut gas, &mut key, &mut value, &mut error);
        let (key, value) = (take(key), take(value));
        let gas = GasInfo::with_externally_used(gas);
        let default = || format!("Failed to fetch next item from iterator {id}");
        if let Err(error) = go_result(code, error, default) {
            return (Err(error), gas);
        }
        match (key, value) {
            (None, _) => (Ok(None), gas),
            (Some(key), Some(value)) => (Ok(Some((key, value))), gas),
            (Some(_), None) => {
                let message = format!("{UNKNOWN}Failed to read value while reading the next key in the db");
                (Err(BackendError::Other(message)), gas)
            }
        }
    }

    fn next_key(&mut self, id: u32) -> BackendResult<Option<Vec<u8>>> {
        self.next_one(id, false)
    }

    fn next_value(&mut self, id: u32) -> BackendResult<Option<Vec<u8>>> {
        self.next_one(id, true)
    }
}

/// Addresses through Go's `GoApi`; its gas is an internal cost.
pub struct GoAddressApi(pub GoApi);

// SAFETY: as for `GoStorage`.
unsafe impl Send for GoAddressApi {}
unsafe impl Sync for GoAddressApi {}

fn api_error(error: BackendError) -> ApiError {
    match error {
        BackendError::User(message) => ApiError::User(message),
        // cosmwasm-vm: `GasDepletion` raised in the import.
        BackendError::OutOfGas => ApiError::Backend("Ran out of gas during contract execution".into()),
        other => ApiError::Backend(format!("Error calling into the VM's backend: {other}")),
    }
}

impl GoAddressApi {
    fn convert(
        &self,
        function: Option<extern "C" fn(*const api_t, U8SliceView, Out, Out, Gas) -> i32>,
        name: &str,
        input: &[u8],
    ) -> ApiResult<Vec<u8>> {
        let Some(function) = function else { return (Err(api_error(missing(name))), 0) };
        let (mut gas, mut output, mut error) = (0u64, UnmanagedVector::default(), UnmanagedVector::default());
        let code = function(self.0.state, U8SliceView::new(Some(input)), &mut output, &mut error, &mut gas);
        let output = take(output);
        let default = || format!("Failed to {name} the address: {}", String::from_utf8_lossy(input));
        let result = go_result(code, error, default).map_err(api_error).and_then(|()| {
            output.ok_or_else(|| api_error(BackendError::Other(format!("{UNKNOWN}Unset output"))))
        });
        (result, gas)
    }
}

impl AddressApi for GoAddressApi {
    fn canonicalize(&self, human: &str) -> ApiResult<Vec<u8>> {
        self.convert(self.0.vtable.canonicalize_address, "canonicalize", human.as_bytes())
    }

    fn humanize(&self, canonical: &[u8]) -> ApiResult<String> {
        let (result, gas) = self.convert(self.0.vtable.humanize_address, "humanize", canonical);
        let text = result.and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| {
                api_error(BackendError::Other("VM received invalid UTF-8 data from backend".into()))
            })
        });
        (text, gas)
    }

    fn validate(&self, human: &str) -> ApiResult<()> {
        let Some(validate) = self.0.vtable.validate_address else {
            return (Err(api_error(missing("validate_address"))), 0);
        };
        let (mut gas, mut error) = (0u64, UnmanagedVector::default());
        let code = validate(self.0.state, U8SliceView::new(Some(human.as_bytes())), &mut error, &mut gas);
        let default = || format!("Failed to validate the address: {human}");
        (go_result(code, error, default).map_err(api_error), gas)
    }
}

/// Queries through Go's `GoQuerier`; its gas is used externally.
pub struct GoChainQuerier(pub GoQuerier);

// SAFETY: as for `GoStorage`.
unsafe impl Send for GoChainQuerier {}
unsafe impl Sync for GoChainQuerier {}

impl Querier for GoChainQuerier {
    fn query(&self, request: &[u8], context: &mut QueryContext<'_>) -> QueryAnswer {
        let Some(query) = self.0.vtable.query_external else {
            return (Err(format!("Error calling into the VM's backend: {}", missing("query_external"))), 0);
        };
        let (mut gas, mut output, mut error) = (0u64, UnmanagedVector::default(), UnmanagedVector::default());
        let limit = context.gas_limit;
        let code =
            query(self.0.state, limit, &mut gas, U8SliceView::new(Some(request)), &mut output, &mut error);
        let output = take(output).unwrap_or_default();
        let default = || {
            format!(
                "Failed to query another contract with this request: {}",
                String::from_utf8_lossy(request)
            )
        };
        match go_result(code, error, default) {
            Ok(()) => {}
            // cosmwasm-vm: `GasDepletion` raised in the import.
            Err(BackendError::OutOfGas) => {
                return (Err("Ran out of gas during contract execution".into()), gas);
            }
            Err(error) => return (Err(format!("Error calling into the VM's backend: {error}")), gas),
        }
        let answer =
            serde_json::from_slice::<SystemResult<ContractResult<Binary>>>(&output).unwrap_or_else(|e| {
                SystemResult::Err(SystemError::InvalidResponse {
                    error: format!("Parsing Go response: {e}"),
                    response: output.clone().into(),
                })
            });
        match serde_json::to_vec(&answer) {
            Ok(json) => (Ok(json), gas),
            Err(e) => (Err(format!("Error serializing type SystemResult: {e}")), gas),
        }
    }
}

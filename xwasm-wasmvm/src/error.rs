//! Errors as wasmvm reports them: a text in `error_msg`, and C `errno`
//! (0 success, 1 an error, 2 out of gas) set as the last thing before an
//! export returns. Every export catches panics.

use crate::memory::UnmanagedVector;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// wasmvm's errors, worded as its `RustError` words them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    EmptyArg(&'static str),
    UnsetArg(&'static str),
    InvalidChecksumFormat,
    OutOfGas,
    Panic,
    InvalidUtf8(String),
    /// JSON that does not parse (the configuration).
    Json(String),
    /// `Error calling the VM: {cosmwasm-vm's VmError text}`.
    Vm(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::EmptyArg(name) => write!(f, "Empty argument: {name}"),
            Error::UnsetArg(name) => write!(f, "Null/Nil argument: {name}"),
            Error::InvalidChecksumFormat => write!(f, "Checksum not of length 32"),
            Error::OutOfGas => write!(f, "Ran out of gas"),
            Error::Panic => write!(f, "Caught panic"),
            Error::InvalidUtf8(why) => write!(f, "Cannot decode UTF8 bytes into string: {why}"),
            Error::Json(why) => write!(f, "Cannot serialize to / deserialize from JSON: {why}"),
            Error::Vm(text) => write!(f, "Error calling the VM: {text}"),
        }
    }
}

impl Error {
    /// A cosmwasm-vm `VmError::CacheErr`.
    pub fn cache(message: impl std::fmt::Display) -> Self {
        Error::Vm(format!("Cache error: {message}"))
    }

    fn errno(&self) -> i32 {
        match self {
            Error::OutOfGas => 2,
            _ => 1,
        }
    }
}

/// Runs an export's body: on success clears errno; on an error (or a
/// panic) writes its text to `error_msg` and sets errno. Returns the
/// body's value, or `T::default()` on failure.
pub fn ffi<T: Default>(error_msg: *mut UnmanagedVector, body: impl FnOnce() -> Result<T, Error>) -> T {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or(Err(Error::Panic));
    match result {
        Ok(value) => {
            errno::set_errno(errno::Errno(0));
            value
        }
        Err(error) => {
            if !error_msg.is_null() {
                // SAFETY: Go passes a pointer to its output vector (none);
                // it is overwritten, as wasmvm does.
                unsafe { error_msg.write(UnmanagedVector::some(error.to_string())) };
            }
            errno::set_errno(errno::Errno(error.errno()));
            T::default()
        }
    }
}

/// A 32-byte checksum from Go.
pub fn checksum(view: crate::memory::ByteSliceView) -> Result<[u8; 32], Error> {
    // SAFETY: Go's view of its slice, valid for the call.
    let bytes = unsafe { view.read() }.ok_or(Error::UnsetArg("checksum"))?;
    bytes.try_into().map_err(|_| Error::InvalidChecksumFormat)
}

impl From<xwasm::loader::LoadError> for Error {
    fn from(error: xwasm::loader::LoadError) -> Self {
        Error::Vm(error.to_string())
    }
}

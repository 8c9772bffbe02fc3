//! A drop-in `libwasmvm`: the C interface of wasmvm 3.0.x, through which
//! every CosmWasm chain (wasmd and its forks) reaches its VM from Go,
//! over xwasm's `cosmwasm` profile.
//!
//! # Swapping it in
//!
//! `cargo build --release -p xwasm-wasmvm` builds `target/release/libwasmvm.so`
//! and `target/release/libwasmvm.a`. A chain built the default way (glibc,
//! cgo) loads `libwasmvm.x86_64.so` from beside the Go package
//! (`github.com/CosmWasm/wasmvm/v3/internal/api`) or from the library
//! path: copy `libwasmvm.so` there under that name, and restart the node.
//! A static (`muslc`) build links `libwasmvm_muslc.x86_64.a`: put the
//! archive there under that name (built for the musl target) and relink.
//! Nothing in Go changes.
//!
//! # What it implements
//!
//! The 33 functions of wasmvm 3.0.x's `bindings.h`, with its layouts
//! (`ByteSliceView`, `UnmanagedVector`, `GasReport`, `Metrics`,
//! `AnalysisReport`, the `Db`, `GoApi` and `GoQuerier` vtables), its
//! `errno` convention (0, 1, 2 for out of gas, set last) and its error
//! texts (cosmwasm-vm's `VmError` words behind `Error calling the VM: `).
//! Results and gas reports are cosmwasm-vm 3.0.10's, checked by the
//! differential test in `peers/`.
//!
//! # What differs from the official library
//!
//! - Code compiles with wasmtime, not wasmer: the sizes in the metrics are
//!   wasmtime's artifact sizes (plus cosmwasm-vm's 10,240 per module).
//! - The files under `base_dir` are xwasm's (`xwasm/wasm/`, the stored
//!   Wasm; `xwasm/modules/`, the verified artifacts), beside Go's
//!   `exclusive.lock`; a folder used by the official library is not read.
//! - `version_str` is `3.0.3+xwasm.{version}`.
//! - A store without checks (`checked` false) still needs the
//!   `interface_version_8` marker and passes cosmwasm-vm's checks but the
//!   validation of function bodies: xwasm rewrites every contract for its
//!   meter before compiling it.

// The exports take raw pointers from Go: their contract is the C
// interface, not Rust's `unsafe`.
#![allow(non_camel_case_types, clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

mod cache;
mod calls;
mod error;
mod go;
mod memory;

pub use cache::{Cache, Metrics};
pub use calls::{GasReport, runtime_error};
pub use error::Error;
pub use go::*;
pub use memory::{
    ByteSliceView, U8SliceView, UnmanagedVector, destroy_unmanaged_vector, new_unmanaged_vector, version_str,
};

use calls::Tail;
use error::{checksum, ffi};

/// The cache handle Go holds.
#[repr(C)]
pub struct cache_t {
    _private: [u8; 0],
}

/// `OptionalU64`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalU64 {
    pub is_some: bool,
    pub value: u64,
}

/// `AnalysisReport`: the lists comma-separated, sorted, never none.
#[repr(C)]
#[derive(Debug, Default)]
pub struct AnalysisReport {
    pub has_ibc_entry_points: bool,
    pub entrypoints: UnmanagedVector,
    pub required_capabilities: UnmanagedVector,
    pub contract_migrate_version: OptionalU64,
}

fn cache<'a>(cache: *mut cache_t) -> Result<&'a Cache, Error> {
    // SAFETY: a cache made by `init_cache` and not yet released, or NULL.
    unsafe { cache.cast::<Cache>().as_ref() }.ok_or(Error::UnsetArg("cache"))
}

#[unsafe(no_mangle)]
pub extern "C" fn init_cache(config: ByteSliceView, error_msg: *mut UnmanagedVector) -> *mut cache_t {
    let made = ffi(error_msg, || {
        // SAFETY: Go's view of its slice, valid for the call.
        let config = unsafe { config.read() }.ok_or(Error::UnsetArg("config"))?;
        Ok(Some(Box::new(Cache::new(config)?)))
    });
    made.map_or(std::ptr::null_mut(), |cache| Box::into_raw(cache).cast())
}

#[unsafe(no_mangle)]
pub extern "C" fn store_code(
    cache_ptr: *mut cache_t,
    wasm: ByteSliceView,
    checked: bool,
    persist: bool,
    error_msg: *mut UnmanagedVector,
) -> UnmanagedVector {
    ffi(error_msg, || {
        let cache = cache(cache_ptr)?;
        // SAFETY: Go's view of its slice, valid for the call.
        let wasm = unsafe { wasm.read() }.ok_or(Error::UnsetArg("wasm"))?;
        Ok(UnmanagedVector::some(cache.store_code(wasm, checked, persist)?))
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn remove_wasm(
    cache_ptr: *mut cache_t,
    checksum_view: ByteSliceView,
    error_msg: *mut UnmanagedVector,
) {
    ffi(error_msg, || cache(cache_ptr)?.remove_wasm(&checksum(checksum_view)?))
}

#[unsafe(no_mangle)]
pub extern "C" fn load_wasm(
    cache_ptr: *mut cache_t,
    checksum_view: ByteSliceView,
    error_msg: *mut UnmanagedVector,
) -> UnmanagedVector {
    ffi(error_msg, || Ok(UnmanagedVector::some(cache(cache_ptr)?.load_wasm(&checksum(checksum_view)?)?)))
}

#[unsafe(no_mangle)]
pub extern "C" fn pin(
    cache_ptr: *mut cache_t,
    checksum_view: ByteSliceView,
    error_msg: *mut UnmanagedVector,
) {
    ffi(error_msg, || cache(cache_ptr)?.pin(&checksum(checksum_view)?))
}

#[unsafe(no_mangle)]
pub extern "C" fn unpin(
    cache_ptr: *mut cache_t,
    checksum_view: ByteSliceView,
    error_msg: *mut UnmanagedVector,
) {
    ffi(error_msg, || {
        cache(cache_ptr)?.unpin(&checksum(checksum_view)?);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn sync_pinned_codes(
    cache_ptr: *mut cache_t,
    checksums: ByteSliceView,
    error_msg: *mut UnmanagedVector,
) {
    ffi(error_msg, || {
        let cache = cache(cache_ptr)?;
        // SAFETY: Go's view of its slice, valid for the call.
        // Nil is the empty list.
        let bytes = unsafe { checksums.read() }.unwrap_or_default();
        if bytes.len() % 32 != 0 {
            return Err(Error::InvalidChecksumFormat);
        }
        let list: Vec<[u8; 32]> = bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect();
        cache.sync_pinned(&list)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn analyze_code(
    cache_ptr: *mut cache_t,
    checksum_view: ByteSliceView,
    error_msg: *mut UnmanagedVector,
) -> AnalysisReport {
    ffi(error_msg, || {
        let report = cache(cache_ptr)?.analyze(&checksum(checksum_view)?)?;
        let join = |set: &std::collections::BTreeSet<String>| {
            UnmanagedVector::some(set.iter().map(String::as_str).collect::<Vec<_>>().join(","))
        };
        Ok(AnalysisReport {
            has_ibc_entry_points: report.has_ibc_entry_points,
            entrypoints: join(&report.entry_points),
            required_capabilities: join(&report.required_capabilities),
            contract_migrate_version: OptionalU64 {
                is_some: report.migrate_version.is_some(),
                value: report.migrate_version.unwrap_or_default(),
            },
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn get_metrics(cache_ptr: *mut cache_t, error_msg: *mut UnmanagedVector) -> Metrics {
    ffi(error_msg, || Ok(cache(cache_ptr)?.metrics()))
}

#[unsafe(no_mangle)]
pub extern "C" fn get_pinned_metrics(
    cache_ptr: *mut cache_t,
    error_msg: *mut UnmanagedVector,
) -> UnmanagedVector {
    ffi(error_msg, || Ok(UnmanagedVector::some(cache(cache_ptr)?.pinned_metrics()?)))
}

/// Frees the cache; its files stay under `base_dir`.
#[unsafe(no_mangle)]
pub extern "C" fn release_cache(cache_ptr: *mut cache_t) {
    if !cache_ptr.is_null() {
        // SAFETY: made by `init_cache` with `Box::into_raw`, released once.
        let _ = std::panic::catch_unwind(|| drop(unsafe { Box::from_raw(cache_ptr.cast::<Cache>()) }));
    }
}

/// The contract calls: each export of wasmvm's, its entry point, and the
/// arguments (byte views) before the common tail.
macro_rules! contract_calls {
    ($($name:ident => $export:literal ($($arg:ident),+)),* $(,)?) => {$(
        #[unsafe(no_mangle)]
        #[allow(clippy::too_many_arguments)]
        pub extern "C" fn $name(
            cache_ptr: *mut cache_t,
            checksum: ByteSliceView,
            $($arg: ByteSliceView,)+
            db: Db,
            api: GoApi,
            querier: GoQuerier,
            gas_limit: u64,
            print_debug: bool,
            gas_report: *mut GasReport,
            error_msg: *mut UnmanagedVector,
        ) -> UnmanagedVector {
            let tail = Tail { db, api, querier, gas_limit, print_debug, gas_report };
            ffi(error_msg, || {
                let cache = cache_ptr.cast::<Cache>();
                calls::call(cache, checksum, $export, &[$($arg),+], tail).map(UnmanagedVector::some)
            })
        }
    )*};
}

// (env, info, msg) for instantiate and execute, (env, msg) for the rest.
contract_calls! {
    instantiate => "instantiate" (arg1, arg2, arg3),
    execute => "execute" (arg1, arg2, arg3),
    // (env, msg, migrate_info): a 2-argument `migrate` is retried with
    // two, as cosmwasm-vm's `call_migrate_with_info_raw` does.
    migrate_with_info => "migrate" (arg1, arg2, arg3),
    migrate => "migrate" (arg1, arg2),
    sudo => "sudo" (arg1, arg2),
    reply => "reply" (arg1, arg2),
    query => "query" (arg1, arg2),
    ibc_channel_open => "ibc_channel_open" (arg1, arg2),
    ibc_channel_connect => "ibc_channel_connect" (arg1, arg2),
    ibc_channel_close => "ibc_channel_close" (arg1, arg2),
    ibc_packet_receive => "ibc_packet_receive" (arg1, arg2),
    ibc_packet_ack => "ibc_packet_ack" (arg1, arg2),
    ibc_packet_timeout => "ibc_packet_timeout" (arg1, arg2),
    ibc_source_callback => "ibc_source_callback" (arg1, arg2),
    ibc_destination_callback => "ibc_destination_callback" (arg1, arg2),
    ibc2_packet_receive => "ibc2_packet_receive" (arg1, arg2),
    ibc2_packet_ack => "ibc2_packet_ack" (arg1, arg2),
    ibc2_packet_timeout => "ibc2_packet_timeout" (arg1, arg2),
    ibc2_packet_send => "ibc2_packet_send" (arg1, arg2),
}

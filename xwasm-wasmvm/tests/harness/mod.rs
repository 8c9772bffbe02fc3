//! The Go side of wasmvm, played in Rust: it loads the built shared
//! library and drives it only through its C symbols, as cgo does. Its
//! own copies of the C layouts, errno read right after each call,
//! callbacks over an in-memory sorted store (iterators, gas, an iterator
//! limit of 32,768 per call, as Go's), an address API and a querier the
//! test supplies. Shared by this crate's tests and the differential test
//! in `peers/`.

#![allow(dead_code, non_camel_case_types, clippy::missing_safety_doc)]

use std::collections::{BTreeMap, HashMap};
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

#[repr(C)]
#[derive(Clone, Copy)]
pub struct ByteSliceView {
    is_nil: bool,
    ptr: *const u8,
    len: usize,
}

impl ByteSliceView {
    pub fn of(bytes: &[u8]) -> Self {
        // Go sends an empty slice as NULL and 0.
        let ptr = if bytes.is_empty() { std::ptr::null() } else { bytes.as_ptr() };
        Self { is_nil: false, ptr, len: bytes.len() }
    }

    pub fn nil() -> Self {
        Self { is_nil: true, ptr: std::ptr::null(), len: 0 }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct U8SliceView {
    is_none: bool,
    ptr: *const u8,
    len: usize,
}

impl U8SliceView {
    fn read(&self) -> Option<Vec<u8>> {
        if self.is_none {
            None
        } else if self.len == 0 {
            Some(Vec::new())
        } else {
            Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) }.to_vec())
        }
    }
}

#[repr(C)]
pub struct UnmanagedVector {
    is_none: bool,
    ptr: *mut u8,
    len: usize,
    cap: usize,
}

impl UnmanagedVector {
    pub fn none() -> Self {
        Self { is_none: true, ptr: std::ptr::null_mut(), len: 0, cap: 0 }
    }
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GasReport {
    pub limit: u64,
    pub remaining: u64,
    pub used_externally: u64,
    pub used_internally: u64,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Metrics {
    pub hits_pinned_memory_cache: u32,
    pub hits_memory_cache: u32,
    pub hits_fs_cache: u32,
    pub misses: u32,
    pub elements_pinned_memory_cache: u64,
    pub elements_memory_cache: u64,
    pub size_pinned_memory_cache: u64,
    pub size_memory_cache: u64,
}

#[repr(C)]
pub struct OptionalU64 {
    pub is_some: bool,
    pub value: u64,
}

#[repr(C)]
pub struct AnalysisReport {
    pub has_ibc_entry_points: bool,
    pub entrypoints: UnmanagedVector,
    pub required_capabilities: UnmanagedVector,
    pub contract_migrate_version: OptionalU64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct IteratorReference {
    call_id: u64,
    iterator_id: u64,
}

type Out = *mut UnmanagedVector;
type Gas = *mut u64;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct IteratorVtable {
    next: Option<extern "C" fn(IteratorReference, *mut c_void, Gas, Out, Out, Out) -> i32>,
    next_key: Option<extern "C" fn(IteratorReference, *mut c_void, Gas, Out, Out) -> i32>,
    next_value: Option<extern "C" fn(IteratorReference, *mut c_void, Gas, Out, Out) -> i32>,
}

#[repr(C)]
pub struct GoIter {
    gas_meter: *mut c_void,
    reference: IteratorReference,
    vtable: IteratorVtable,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct DbVtable {
    read_db: Option<extern "C" fn(*mut c_void, *mut c_void, Gas, U8SliceView, Out, Out) -> i32>,
    write_db: Option<extern "C" fn(*mut c_void, *mut c_void, Gas, U8SliceView, U8SliceView, Out) -> i32>,
    remove_db: Option<extern "C" fn(*mut c_void, *mut c_void, Gas, U8SliceView, Out) -> i32>,
    scan_db: Option<
        extern "C" fn(*mut c_void, *mut c_void, Gas, U8SliceView, U8SliceView, i32, *mut GoIter, Out) -> i32,
    >,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Db {
    gas_meter: *mut c_void,
    state: *mut c_void,
    vtable: DbVtable,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoApiVtable {
    humanize_address: Option<extern "C" fn(*const c_void, U8SliceView, Out, Out, Gas) -> i32>,
    canonicalize_address: Option<extern "C" fn(*const c_void, U8SliceView, Out, Out, Gas) -> i32>,
    validate_address: Option<extern "C" fn(*const c_void, U8SliceView, Out, Gas) -> i32>,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoApi {
    state: *const c_void,
    vtable: GoApiVtable,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct QuerierVtable {
    query_external: Option<extern "C" fn(*const c_void, u64, Gas, U8SliceView, Out, Out) -> i32>,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GoQuerier {
    state: *const c_void,
    vtable: QuerierVtable,
}

/// `GoError` codes.
pub const GO_NONE: i32 = 0;
pub const GO_PANIC: i32 = 1;
pub const GO_BAD_ARGUMENT: i32 = 2;
pub const GO_OUT_OF_GAS: i32 = 3;
pub const GO_USER: i32 = 5;

/// The capabilities the tests' caches offer: cosmwasm-vm's testing set
/// with `stargate`.
pub const CAPABILITIES: &[&str] = &[
    "ibc2",
    "iterator",
    "staking",
    "stargate",
    "cosmwasm_1_1",
    "cosmwasm_1_2",
    "cosmwasm_1_3",
    "cosmwasm_1_4",
    "cosmwasm_2_0",
    "cosmwasm_2_1",
    "cosmwasm_2_2",
    "cosmwasm_3_0",
];

/// Go's limit on open iterators per call.
pub const ITERATOR_LIMIT: usize = 32_768;

type Call3 = unsafe extern "C" fn(
    *mut c_void,
    ByteSliceView,
    ByteSliceView,
    ByteSliceView,
    ByteSliceView,
    Db,
    GoApi,
    GoQuerier,
    u64,
    bool,
    *mut GasReport,
    Out,
) -> UnmanagedVector;
type Call2 = unsafe extern "C" fn(
    *mut c_void,
    ByteSliceView,
    ByteSliceView,
    ByteSliceView,
    Db,
    GoApi,
    GoQuerier,
    u64,
    bool,
    *mut GasReport,
    Out,
) -> UnmanagedVector;

/// The library's symbols.
pub struct Lib {
    _library: libloading::Library,
    pub init_cache: unsafe extern "C" fn(ByteSliceView, Out) -> *mut c_void,
    pub release_cache: unsafe extern "C" fn(*mut c_void),
    pub store_code: unsafe extern "C" fn(*mut c_void, ByteSliceView, bool, bool, Out) -> UnmanagedVector,
    pub remove_wasm: unsafe extern "C" fn(*mut c_void, ByteSliceView, Out),
    pub load_wasm: unsafe extern "C" fn(*mut c_void, ByteSliceView, Out) -> UnmanagedVector,
    pub pin: unsafe extern "C" fn(*mut c_void, ByteSliceView, Out),
    pub unpin: unsafe extern "C" fn(*mut c_void, ByteSliceView, Out),
    pub sync_pinned_codes: unsafe extern "C" fn(*mut c_void, ByteSliceView, Out),
    pub analyze_code: unsafe extern "C" fn(*mut c_void, ByteSliceView, Out) -> AnalysisReport,
    pub get_metrics: unsafe extern "C" fn(*mut c_void, Out) -> Metrics,
    pub get_pinned_metrics: unsafe extern "C" fn(*mut c_void, Out) -> UnmanagedVector,
    pub new_unmanaged_vector: unsafe extern "C" fn(bool, *const u8, usize) -> UnmanagedVector,
    pub destroy_unmanaged_vector: unsafe extern "C" fn(UnmanagedVector),
    pub version_str: unsafe extern "C" fn() -> *const std::ffi::c_char,
    calls3: HashMap<&'static str, Call3>,
    calls2: HashMap<&'static str, Call2>,
}

/// The three-argument calls.
pub const CALLS_3: [&str; 3] = ["instantiate", "execute", "migrate_with_info"];
/// The two-argument calls.
pub const CALLS_2: [&str; 16] = [
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

static LIB: OnceLock<Lib> = OnceLock::new();

/// The built `libwasmvm.so` (see [`library_path`]), loaded once per
/// process.
pub fn lib() -> &'static Lib {
    LIB.get_or_init(|| {
        let path = library_path();
        unsafe { Lib::load(&path) }.unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
    })
}

/// `target/<profile>/deps/libwasmvm.so`. Cargo writes it whenever it
/// builds the crate's library, tests included (the crate types are
/// cdylib, staticlib and rlib), so xwasm-wasmvm's own tests find it fresh.
/// Anyone else (peers/) asks cargo for it first, with the arguments CI's
/// workspace test uses, so a build already done is not done again: a
/// `-p xwasm-wasmvm` build would resolve features for that package alone
/// and compile wasmtime a second time. Cargo releases its build lock
/// before tests run.
pub fn library_path() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test>, or target/<profile>/<binary>
    let folder = exe.parent().expect("the binary's folder");
    let profile = if folder.ends_with("deps") || folder.ends_with("examples") {
        folder.parent().expect("target/<profile>")
    } else {
        folder
    };
    if env!("CARGO_PKG_NAME") != "xwasm-wasmvm" {
        build_library(profile);
    }
    let path = profile.join("deps").join("libwasmvm.so");
    assert!(path.exists(), "{} is missing after the build", path.display());
    path
}

/// Builds the library into `profile`'s folder: as `cargo test --workspace`
/// does in a debug build, as `cargo build -p xwasm-wasmvm` in a release one
/// (the race's examples), where no workspace test build is there to share.
fn build_library(profile: &Path) {
    let target = profile.parent().expect("target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    if profile.file_name().is_some_and(|name| name == "release") {
        build.args(["build", "--release", "-p", "xwasm-wasmvm", "--lib"]);
    } else {
        build.args(["test", "--workspace", "--no-run"]);
    }
    build.args(["--quiet", "--locked"]);
    build.arg("--manifest-path").arg(root.join("Cargo.toml")).arg("--target-dir").arg(target);
    let status = build.status().expect("running cargo");
    assert!(status.success(), "building libwasmvm failed");
}

impl Lib {
    unsafe fn load(path: &Path) -> Result<Self, libloading::Error> {
        let library = unsafe { libloading::Library::new(path)? };
        macro_rules! sym {
            ($name:literal) => {
                *unsafe { library.get(concat!($name, "\0").as_bytes())? }
            };
        }
        let mut calls3 = HashMap::new();
        for name in CALLS_3 {
            calls3.insert(name, *unsafe { library.get::<Call3>(name.as_bytes())? });
        }
        let mut calls2 = HashMap::new();
        for name in CALLS_2 {
            calls2.insert(name, *unsafe { library.get::<Call2>(name.as_bytes())? });
        }
        Ok(Self {
            init_cache: sym!("init_cache"),
            release_cache: sym!("release_cache"),
            store_code: sym!("store_code"),
            remove_wasm: sym!("remove_wasm"),
            load_wasm: sym!("load_wasm"),
            pin: sym!("pin"),
            unpin: sym!("unpin"),
            sync_pinned_codes: sym!("sync_pinned_codes"),
            analyze_code: sym!("analyze_code"),
            get_metrics: sym!("get_metrics"),
            get_pinned_metrics: sym!("get_pinned_metrics"),
            new_unmanaged_vector: sym!("new_unmanaged_vector"),
            destroy_unmanaged_vector: sym!("destroy_unmanaged_vector"),
            version_str: sym!("version_str"),
            calls3,
            calls2,
            _library: library,
        })
    }

    /// Takes a vector the library returned, and frees it through it.
    pub fn take(&self, vector: UnmanagedVector) -> Option<Vec<u8>> {
        let bytes = if vector.is_none {
            None
        } else if vector.len == 0 {
            Some(Vec::new())
        } else {
            Some(unsafe { std::slice::from_raw_parts(vector.ptr, vector.len) }.to_vec())
        };
        unsafe { (self.destroy_unmanaged_vector)(vector) };
        bytes
    }

    /// A new vector made by the library, as Go makes its outputs.
    fn vector(&self, bytes: Option<&[u8]>) -> UnmanagedVector {
        match bytes {
            None => unsafe { (self.new_unmanaged_vector)(true, std::ptr::null(), 0) },
            Some(bytes) => unsafe { (self.new_unmanaged_vector)(false, bytes.as_ptr(), bytes.len()) },
        }
    }
}

/// errno as cgo reads it, right after the call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A failed call: errno and the error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub errno: i32,
    pub message: String,
}

/// Runs one export through `error_msg` and errno, as Go's wrappers do.
fn checked<T>(lib: &Lib, body: impl FnOnce(Out) -> T) -> Result<T, Failure> {
    let mut error = UnmanagedVector::none();
    let value = body(&mut error);
    let errno = errno();
    let message = lib.take(error);
    if errno == 0 {
        assert!(message.is_none(), "a message on success: {message:?}");
        Ok(value)
    } else {
        let message = String::from_utf8_lossy(&message.expect("an error message with errno")).into_owned();
        Err(Failure { errno, message })
    }
}

/// A cache, as Go's `InitCache` holds it.
pub struct Cache {
    pub ptr: *mut c_void,
}

unsafe impl Send for Cache {}
unsafe impl Sync for Cache {}

impl Cache {
    pub fn init(config: &str) -> Result<Cache, Failure> {
        let lib = lib();
        let ptr = checked(lib, |e| unsafe { (lib.init_cache)(ByteSliceView::of(config.as_bytes()), e) })?;
        assert!(!ptr.is_null());
        Ok(Cache { ptr })
    }

    /// The configuration wasmd sends, over `dir`.
    pub fn config(dir: &Path, capabilities: &[&str], memory_bytes: u64) -> String {
        serde_json::json!({
            "wasm_limits": {},
            "cache": {
                "base_dir": dir,
                "available_capabilities": capabilities,
                "memory_cache_size_bytes": memory_bytes,
                "instance_memory_limit_bytes": 32u64 << 20,
            }
        })
        .to_string()
    }

    pub fn store_code(&self, wasm: &[u8], checked_: bool, persist: bool) -> Result<Vec<u8>, Failure> {
        let lib = lib();
        let v = checked(lib, |e| unsafe {
            (lib.store_code)(self.ptr, ByteSliceView::of(wasm), checked_, persist, e)
        })?;
        Ok(lib.take(v).expect("a checksum"))
    }

    pub fn load_wasm(&self, checksum: &[u8]) -> Result<Vec<u8>, Failure> {
        let lib = lib();
        let v = checked(lib, |e| unsafe { (lib.load_wasm)(self.ptr, ByteSliceView::of(checksum), e) })?;
        Ok(lib.take(v).expect("the wasm"))
    }

    pub fn remove_wasm(&self, checksum: &[u8]) -> Result<(), Failure> {
        let lib = lib();
        checked(lib, |e| unsafe { (lib.remove_wasm)(self.ptr, ByteSliceView::of(checksum), e) })
    }

    pub fn pin(&self, checksum: &[u8]) -> Result<(), Failure> {
        let lib = lib();
        checked(lib, |e| unsafe { (lib.pin)(self.ptr, ByteSliceView::of(checksum), e) })
    }

    pub fn unpin(&self, checksum: &[u8]) -> Result<(), Failure> {
        let lib = lib();
        checked(lib, |e| unsafe { (lib.unpin)(self.ptr, ByteSliceView::of(checksum), e) })
    }

    pub fn sync_pinned(&self, checksums: &[u8]) -> Result<(), Failure> {
        let lib = lib();
        checked(lib, |e| unsafe { (lib.sync_pinned_codes)(self.ptr, ByteSliceView::of(checksums), e) })
    }

    /// (has IBC entry points, entry points, capabilities, migrate version)
    pub fn analyze(&self, checksum: &[u8]) -> Result<(bool, String, String, Option<u64>), Failure> {
        let lib = lib();
        let report =
            checked(lib, |e| unsafe { (lib.analyze_code)(self.ptr, ByteSliceView::of(checksum), e) })?;
        let text = |v| String::from_utf8(lib.take(v).expect("never none")).expect("UTF-8");
        let version =
            report.contract_migrate_version.is_some.then_some(report.contract_migrate_version.value);
        Ok((
            report.has_ibc_entry_points,
            text(report.entrypoints),
            text(report.required_capabilities),
            version,
        ))
    }

    pub fn metrics(&self) -> Metrics {
        let lib = lib();
        checked(lib, |e| unsafe { (lib.get_metrics)(self.ptr, e) }).expect("metrics")
    }

    pub fn pinned_metrics(&self) -> Vec<u8> {
        let lib = lib();
        let v = checked(lib, |e| unsafe { (lib.get_pinned_metrics)(self.ptr, e) }).expect("pinned metrics");
        lib.take(v).expect("bytes")
    }

    /// Runs `export` (a symbol name) with `args`, against `chain`.
    pub fn call(
        &self,
        export: &str,
        checksum: &[u8],
        args: &[&[u8]],
        chain: &mut Chain,
        gas_limit: u64,
    ) -> Called {
        let mut report = GasReport { limit: u64::MAX, ..GasReport::default() };
        let views: Vec<_> = args.iter().map(|a| ByteSliceView::of(a)).collect();
        let result =
            self.call_views(export, ByteSliceView::of(checksum), &views, chain, gas_limit, &mut report);
        let report = (report.limit != u64::MAX).then_some(report);
        Called { result, report }
    }

    /// [`Cache::call`] with raw views and a raw report pointer (NULL and
    /// nil allowed).
    pub fn call_views(
        &self,
        export: &str,
        checksum: ByteSliceView,
        views: &[ByteSliceView],
        chain: &mut Chain,
        gas_limit: u64,
        report: *mut GasReport,
    ) -> Result<Vec<u8>, Failure> {
        let lib = lib();
        let mut db_state = DbState::new(chain);
        let db = db_state.db();
        let api = GoApi { state: (chain as *const Chain).cast(), vtable: API_VTABLE };
        let querier = GoQuerier { state: (chain as *const Chain).cast(), vtable: QUERIER_VTABLE };
        let result = checked(lib, |e| unsafe {
            match views {
                [a, b, c] => lib.calls3[export](
                    self.ptr, checksum, *a, *b, *c, db, api, querier, gas_limit, false, report, e,
                ),
                [a, b] => lib.calls2[export](
                    self.ptr, checksum, *a, *b, db, api, querier, gas_limit, false, report, e,
                ),
                _ => panic!("{} arguments", views.len()),
            }
        });
        drop(db_state);
        result.map(|v| lib.take(v).expect("a result"))
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        unsafe { (lib().release_cache)(self.ptr) };
    }
}

/// A call's result bytes (or failure) and its gas report, if written.
#[derive(Debug, Clone)]
pub struct Called {
    pub result: Result<Vec<u8>, Failure>,
    pub report: Option<GasReport>,
}

/// The chain's side of a call: the contract's store and the services.
pub struct Chain {
    pub store: BTreeMap<Vec<u8>, Vec<u8>>,
    pub services: Box<dyn Services>,
    /// Fail writes with `GoError_OutOfGas` (the chain's meter ran out).
    pub out_of_gas_on_write: bool,
}

impl Chain {
    pub fn new(services: impl Services + 'static) -> Self {
        Self { store: BTreeMap::new(), services: Box::new(services), out_of_gas_on_write: false }
    }
}

/// The address API and querier the test supplies: each answer is
/// `Ok(value)` or a `GoError` code and message, and the gas reported.
pub trait Services {
    fn canonicalize(&self, human: &str) -> (Result<Vec<u8>, (i32, String)>, u64);
    fn humanize(&self, canonical: &[u8]) -> (Result<String, (i32, String)>, u64);
    fn validate(&self, human: &str) -> (Result<(), (i32, String)>, u64);
    fn query(&self, request: &[u8], gas_limit: u64) -> (Result<Vec<u8>, (i32, String)>, u64);
}

/// The storage's gas, as cosmwasm-vm's testing storage prices it (all of
/// it reported as used externally, as Go reports it).
pub const GAS_COST_RANGE: u64 = 11;
pub const GAS_COST_LAST_ITERATION: u64 = 37;

struct Iter {
    records: Vec<(Vec<u8>, Vec<u8>)>,
    position: usize,
}

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);
static ITERATORS: OnceLock<Mutex<HashMap<u64, Vec<Iter>>>> = OnceLock::new();

fn iterators() -> &'static Mutex<HashMap<u64, Vec<Iter>>> {
    ITERATORS.get_or_init(Default::default)
}

/// One call's `db_t`: the chain's store and the call's id.
struct DbState {
    chain: *mut Chain,
    call_id: u64,
}

impl DbState {
    fn new(chain: &mut Chain) -> Box<Self> {
        let call_id = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
        iterators().lock().unwrap().insert(call_id, Vec::new());
        Box::new(Self { chain, call_id })
    }

    fn db(&mut self) -> Db {
        Db { gas_meter: std::ptr::null_mut(), state: (self as *mut Self).cast(), vtable: DB_VTABLE }
    }
}

impl Drop for DbState {
    fn drop(&mut self) {
        iterators().lock().unwrap().remove(&self.call_id);
    }
}

const DB_VTABLE: DbVtable = DbVtable {
    read_db: Some(read_db),
    write_db: Some(write_db),
    remove_db: Some(remove_db),
    scan_db: Some(scan_db),
};
const ITERATOR_VTABLE: IteratorVtable =
    IteratorVtable { next: Some(next), next_key: Some(next_key), next_value: Some(next_value) };
const API_VTABLE: GoApiVtable = GoApiVtable {
    humanize_address: Some(humanize_address),
    canonicalize_address: Some(canonicalize_address),
    validate_address: Some(validate_address),
};
const QUERIER_VTABLE: QuerierVtable = QuerierVtable { query_external: Some(query_external) };

/// Every output the library hands over starts as none (Go checks).
fn fill(out: Out, bytes: Option<&[u8]>) {
    let out = unsafe { &mut *out };
    assert!(out.is_none && out.cap == 0, "an output vector that is not none");
    *out = lib().vector(bytes);
}

/// A callback's body, its panics caught as Go's are (`GoError_Panic`).
fn guarded(body: impl FnOnce() -> i32) -> i32 {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(GO_PANIC)
}

fn db_state<'a>(state: *mut c_void) -> &'a mut DbState {
    unsafe { &mut *state.cast::<DbState>() }
}

extern "C" fn read_db(
    state: *mut c_void,
    _: *mut c_void,
    gas: Gas,
    key: U8SliceView,
    value: Out,
    _err: Out,
) -> i32 {
    guarded(|| {
        let db = db_state(state);
        let key = key.read().expect("a key");
        let chain = unsafe { &*db.chain };
        unsafe { *gas = key.len() as u64 };
        fill(value, chain.store.get(&key).map(Vec::as_slice));
        GO_NONE
    })
}

extern "C" fn write_db(
    state: *mut c_void,
    _: *mut c_void,
    gas: Gas,
    key: U8SliceView,
    value: U8SliceView,
    err: Out,
) -> i32 {
    guarded(|| {
        let db = db_state(state);
        let (key, value) = (key.read().expect("a key"), value.read().expect("a value"));
        let chain = unsafe { &mut *db.chain };
        unsafe { *gas = (key.len() + value.len()) as u64 };
        if chain.out_of_gas_on_write {
            fill(err, Some(b"out of gas in location: WriteFlat"));
            return GO_OUT_OF_GAS;
        }
        chain.store.insert(key, value);
        GO_NONE
    })
}

extern "C" fn remove_db(state: *mut c_void, _: *mut c_void, gas: Gas, key: U8SliceView, _err: Out) -> i32 {
    guarded(|| {
        let db = db_state(state);
        let key = key.read().expect("a key");
        unsafe { *gas = key.len() as u64 };
        unsafe { &mut *db.chain }.store.remove(&key);
        GO_NONE
    })
}

extern "C" fn scan_db(
    state: *mut c_void,
    gas_meter: *mut c_void,
    gas: Gas,
    start: U8SliceView,
    end: U8SliceView,
    order: i32,
    out: *mut GoIter,
    err: Out,
) -> i32 {
    guarded(|| {
        let db = db_state(state);
        unsafe { *gas = GAS_COST_RANGE };
        let (start, end) = (start.read(), end.read());
        let chain = unsafe { &*db.chain };
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let lower = start.map_or(Unbounded, Included);
        let upper = end.map_or(Unbounded, Excluded);
        if let (Included(a), Excluded(b)) = (&lower, &upper)
            && a >= b
        {
            return open(db, Vec::new(), gas_meter, out, err);
        }
        let mut records: Vec<_> =
            chain.store.range((lower, upper)).map(|(k, v)| (k.clone(), v.clone())).collect();
        match order {
            1 => {}
            2 => records.reverse(),
            _ => return GO_BAD_ARGUMENT,
        }
        open(db, records, gas_meter, out, err)
    })
}

fn open(
    db: &DbState,
    records: Vec<(Vec<u8>, Vec<u8>)>,
    gas_meter: *mut c_void,
    out: *mut GoIter,
    err: Out,
) -> i32 {
    let mut all = iterators().lock().unwrap();
    let list = all.get_mut(&db.call_id).expect("the call's iterators");
    if list.len() >= ITERATOR_LIMIT {
        fill(err, Some(format!("reached iterator limit ({ITERATOR_LIMIT})").as_bytes()));
        return GO_USER;
    }
    list.push(Iter { records, position: 0 });
    let reference = IteratorReference { call_id: db.call_id, iterator_id: list.len() as u64 - 1 };
    unsafe { out.write(GoIter { gas_meter, reference, vtable: ITERATOR_VTABLE }) };
    GO_NONE
}

/// The iterator's next record, and its gas.
type Record = (Vec<u8>, Vec<u8>);

fn advance(reference: IteratorReference) -> (Option<Record>, u64) {
    let mut all = iterators().lock().unwrap();
    let iter = &mut all.get_mut(&reference.call_id).expect("a live call")[reference.iterator_id as usize];
    match iter.records.get(iter.position).cloned() {
        Some(record) => {
            iter.position += 1;
            let gas = (record.0.len() + record.1.len()) as u64;
            (Some(record), gas)
        }
        None => (None, GAS_COST_LAST_ITERATION),
    }
}

extern "C" fn next(
    reference: IteratorReference,
    _: *mut c_void,
    gas: Gas,
    key: Out,
    value: Out,
    _err: Out,
) -> i32 {
    guarded(|| {
        let (record, used) = advance(reference);
        unsafe { *gas = used };
        fill(key, record.as_ref().map(|r| r.0.as_slice()));
        fill(value, record.as_ref().map(|r| r.1.as_slice()));
        GO_NONE
    })
}

extern "C" fn next_key(reference: IteratorReference, _: *mut c_void, gas: Gas, key: Out, _err: Out) -> i32 {
    guarded(|| {
        let (record, used) = advance(reference);
        unsafe { *gas = used };
        fill(key, record.as_ref().map(|r| r.0.as_slice()));
        GO_NONE
    })
}

extern "C" fn next_value(
    reference: IteratorReference,
    _: *mut c_void,
    gas: Gas,
    value: Out,
    _err: Out,
) -> i32 {
    guarded(|| {
        let (record, used) = advance(reference);
        unsafe { *gas = used };
        fill(value, record.as_ref().map(|r| r.1.as_slice()));
        GO_NONE
    })
}

fn chain<'a>(state: *const c_void) -> &'a Chain {
    unsafe { &*state.cast::<Chain>() }
}

fn answer(result: Result<Vec<u8>, (i32, String)>, out: Out, err: Out) -> i32 {
    match result {
        Ok(bytes) => {
            fill(out, Some(&bytes));
            GO_NONE
        }
        Err((code, message)) => {
            fill(err, Some(message.as_bytes()));
            code
        }
    }
}

extern "C" fn humanize_address(
    state: *const c_void,
    input: U8SliceView,
    out: Out,
    err: Out,
    gas: Gas,
) -> i32 {
    guarded(|| {
        let (result, used) = chain(state).services.humanize(&input.read().expect("input"));
        unsafe { *gas = used };
        answer(result.map(String::into_bytes), out, err)
    })
}

extern "C" fn canonicalize_address(
    state: *const c_void,
    input: U8SliceView,
    out: Out,
    err: Out,
    gas: Gas,
) -> i32 {
    guarded(|| {
        let input = String::from_utf8(input.read().expect("input")).expect("UTF-8");
        let (result, used) = chain(state).services.canonicalize(&input);
        unsafe { *gas = used };
        answer(result, out, err)
    })
}

extern "C" fn validate_address(state: *const c_void, input: U8SliceView, err: Out, gas: Gas) -> i32 {
    guarded(|| {
        let input = String::from_utf8(input.read().expect("input")).expect("UTF-8");
        let (result, used) = chain(state).services.validate(&input);
        unsafe { *gas = used };
        match result {
            Ok(()) => GO_NONE,
            Err((code, message)) => {
                fill(err, Some(message.as_bytes()));
                code
            }
        }
    })
}

extern "C" fn query_external(
    state: *const c_void,
    gas_limit: u64,
    gas: Gas,
    request: U8SliceView,
    out: Out,
    err: Out,
) -> i32 {
    guarded(|| {
        let (result, used) = chain(state).services.query(&request.read().expect("a request"), gas_limit);
        unsafe { *gas = used };
        answer(result, out, err)
    })
}

//! The library through its C interface only, as Go drives it (the
//! harness in `harness/`): the cache functions and their errors, contract
//! calls over Go-style callbacks, a restart on the same folder, pinning,
//! eight threads on one cache, a nested query through the querier
//! callback, the iterator limit and both kinds of out of gas.

mod harness;

use cosmwasm_std::Querier as _;
use cosmwasm_std::testing::MockQuerier;
use cosmwasm_std::{Binary, ContractResult, Empty, QueryRequest, SystemResult, WasmQuery};
use harness::{CAPABILITIES, Cache, Chain, GO_USER, Services, lib};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use xwasm::cosmwasm::{AddressApi, ApiError, Bech32Api};

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cache(dir: &std::path::Path) -> Cache {
    Cache::init(&Cache::config(dir, CAPABILITIES, 64 << 20)).expect("a cache")
}

/// Contracts the querier can reach: address -> (checksum, store).
type Contracts = Arc<Mutex<HashMap<String, (Vec<u8>, Chain)>>>;

/// A chain's services as cosmwasm-vm's testing ones answer: bech32
/// addresses (MockApi's costs), bank balances and smart queries against
/// the contracts registered, through the same cache.
struct TestServices {
    api: Bech32Api,
    cache: Option<Arc<Cache>>,
    contracts: Contracts,
}

fn go_api<T>((result, gas): (Result<T, ApiError>, u64)) -> (Result<T, (i32, String)>, u64) {
    let result = result.map_err(|e| match e {
        ApiError::User(message) => (GO_USER, message),
        ApiError::Backend(message) => (-1, message),
    });
    (result, gas)
}

impl Services for TestServices {
    fn canonicalize(&self, human: &str) -> (Result<Vec<u8>, (i32, String)>, u64) {
        go_api(self.api.canonicalize(human))
    }

    fn humanize(&self, canonical: &[u8]) -> (Result<String, (i32, String)>, u64) {
        go_api(self.api.humanize(canonical))
    }

    fn validate(&self, human: &str) -> (Result<(), (i32, String)>, u64) {
        go_api(self.api.validate(human))
    }

    fn query(&self, request: &[u8], gas_limit: u64) -> (Result<Vec<u8>, (i32, String)>, u64) {
        let parsed: Result<QueryRequest<Empty>, _> = cosmwasm_std::from_json(request);
        let answer: SystemResult<ContractResult<Binary>> = match parsed {
            Ok(QueryRequest::Wasm(WasmQuery::Smart { contract_addr, msg })) => {
                let (checksum, mut chain) = {
                    let mut contracts = self.contracts.lock().unwrap();
                    let (checksum, chain) = contracts.get_mut(&contract_addr).expect("a known contract");
                    let copy = Chain {
                        store: chain.store.clone(),
                        services: Box::new(TestServices {
                            api: self.api.clone(),
                            cache: self.cache.clone(),
                            contracts: self.contracts.clone(),
                        }),
                        out_of_gas_on_write: false,
                    };
                    (checksum.clone(), copy)
                };
                let env = env_json(&contract_addr);
                let cache = self.cache.as_ref().expect("a cache for smart queries");
                let called = cache.call("query", &checksum, &[&env, msg.as_slice()], &mut chain, gas_limit);
                let used = called.report.map_or(0, |r| r.limit - r.remaining);
                match called.result {
                    Ok(bytes) => {
                        let result: ContractResult<Binary> =
                            cosmwasm_std::from_json(&bytes).expect("a result");
                        return (Ok(serde_json::to_vec(&SystemResult::Ok(result)).unwrap()), used);
                    }
                    Err(failure) if failure.errno == 2 => return (Err((3, "out of gas".into())), used),
                    Err(failure) => SystemResult::Ok(ContractResult::Err(failure.message)),
                }
            }
            _ => MockQuerier::<Empty>::new(&[]).raw_query(request),
        };
        let json = serde_json::to_vec(&answer).unwrap();
        let gas = 100_000 + 100 * json.len() as u64;
        (Ok(json), gas)
    }
}

fn services(cache: Option<Arc<Cache>>, contracts: &Contracts) -> TestServices {
    TestServices { api: Bech32Api::default(), cache, contracts: contracts.clone() }
}

fn chain() -> Chain {
    Chain::new(services(None, &Contracts::default()))
}

fn addr(name: &str) -> String {
    Bech32Api::default().addr_make(name)
}

fn env_json(contract: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "block": {"height": 12345, "time": "1571797419879305533", "chain_id": "cosmos-testnet-14002"},
        "transaction": {"index": 3},
        "contract": {"address": contract},
    }))
    .unwrap()
}

fn info_json(sender: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"sender": sender, "funds": []})).unwrap()
}

const GAS: u64 = 500_000_000_000;

/// hackatom instantiated through `cache`: (checksum, its chain).
fn hackatom(cache: &Cache) -> (Vec<u8>, Chain, String) {
    let checksum = cache.store_code(&corpus("hackatom.wasm"), true, true).expect("stored");
    let mut chain = chain();
    let contract = addr("hackatom");
    let msg = format!(r#"{{"verifier":"{}","beneficiary":"{}"}}"#, addr("verifier"), addr("beneficiary"));
    let called = cache.call(
        "instantiate",
        &checksum,
        &[&env_json(&contract), &info_json(&addr("creator")), msg.as_bytes()],
        &mut chain,
        GAS,
    );
    let result = called.result.expect("instantiate runs");
    assert!(result.starts_with(br#"{"ok":"#), "{}", String::from_utf8_lossy(&result));
    (checksum, chain, contract)
}

#[test]
fn hackatom_runs_through_the_c_interface() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let (checksum, mut chain, contract) = hackatom(&cache);
    assert_eq!(checksum, xwasm::security::code_hash(&corpus("hackatom.wasm")).to_vec());
    assert!(!chain.store.is_empty(), "instantiate wrote its config through write_db");
    let env = env_json(&contract);
    let query = cache.call("query", &checksum, &[&env, br#"{"verifier":{}}"#], &mut chain, GAS);
    let answer = query.result.expect("a query answer");
    let expected = format!(r#"{{"verifier":"{}"}}"#, addr("verifier"));
    let ok: ContractResult<Binary> = cosmwasm_std::from_json(&answer).unwrap();
    assert_eq!(ok.unwrap().as_slice(), expected.as_bytes());
    let report = query.report.expect("a gas report");
    assert_eq!(report.limit, GAS);
    assert!(report.used_internally > 0 && report.used_externally > 0, "{report:?}");
    assert_eq!(report.limit, report.remaining + report.used_internally + report.used_externally);
    // The same query again: the same bytes and gas.
    let again = cache.call("query", &checksum, &[&env, br#"{"verifier":{}}"#], &mut chain, GAS);
    assert_eq!(again.result.unwrap(), answer);
    assert_eq!(again.report, Some(report));
    // A contract error comes back as result bytes, errno 0.
    let denied = cache.call(
        "execute",
        &checksum,
        &[&env, &info_json(&addr("stranger")), br#"{"release":{"denom":"earth"}}"#],
        &mut chain,
        GAS,
    );
    let denied = String::from_utf8(denied.result.expect("a contract error is a result")).unwrap();
    assert!(denied.starts_with(r#"{"error":"#), "{denied}");
    // A panic is a VM error, worded as cosmwasm-vm words it.
    let panicked = cache.call(
        "execute",
        &checksum,
        &[&env, &info_json(&addr("x")), br#"{"panic":{}}"#],
        &mut chain,
        GAS,
    );
    let failure = panicked.result.unwrap_err();
    assert_eq!(failure.errno, 1);
    assert!(
        failure.message.starts_with("Error calling the VM: Error executing Wasm: Wasmer runtime error: RuntimeError: Aborted: panicked at"),
        "{}",
        failure.message
    );
    assert!(panicked.report.is_some(), "the gas report is written after a failed run");
}

#[test]
fn every_cache_function_and_its_errors() {
    let lib = lib();
    let version = unsafe { std::ffi::CStr::from_ptr((lib.version_str)()) }.to_str().unwrap();
    assert!(version.starts_with("3.0."), "{version}");
    // Go's tests hand a vector with pointer 42 and no capacity.
    unsafe {
        (lib.destroy_unmanaged_vector)(std::mem::transmute::<[usize; 4], harness::UnmanagedVector>([
            0, 42, 0, 0,
        ]))
    };

    let failure = Cache::init("not json").err().expect("garbage configuration");
    assert_eq!(failure.errno, 1);
    assert!(
        failure.message.starts_with("Cannot serialize to / deserialize from JSON: "),
        "{}",
        failure.message
    );

    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let nowhere = Cache { ptr: std::ptr::null_mut() };
    assert_eq!(nowhere.pin(&[0; 32]).unwrap_err().message, "Null/Nil argument: cache");
    std::mem::forget(nowhere);
    assert_eq!(cache.pin(&[1; 31]).unwrap_err().message, "Checksum not of length 32");
    assert_eq!(
        cache.load_wasm(&[7; 32]).unwrap_err().message,
        "Error calling the VM: Cache error: Error opening Wasm file for reading"
    );
    assert_eq!(
        cache.remove_wasm(&[7; 32]).unwrap_err().message,
        "Error calling the VM: Cache error: Wasm file does not exist"
    );
    assert!(cache.pin(&[7; 32]).is_err(), "pinning unknown code fails");
    assert_eq!(cache.sync_pinned(&[0; 33]).unwrap_err().message, "Checksum not of length 32");

    let refused = cache.store_code(&corpus("hackatom_0.16.wasm"), true, true).unwrap_err();
    assert!(
        refused.message.starts_with("Error calling the VM: Error during static Wasm validation: "),
        "{}",
        refused.message
    );
    let corrupted = cache.store_code(&corpus("corrupted.wasm"), true, true).unwrap_err();
    assert_eq!(corrupted.errno, 1);
    assert!(corrupted.message.starts_with("Error calling the VM: "), "{}", corrupted.message);
    let garbage = cache.store_code(b"not wasm", false, true).unwrap_err();
    assert!(garbage.message.starts_with("Error calling the VM: "), "{}", garbage.message);

    let wasm = corpus("hackatom_1.3.wasm");
    let checksum = cache.store_code(&wasm, true, true).unwrap();
    assert_eq!(cache.load_wasm(&checksum).unwrap(), wasm);
    let (ibc, entry_points, capabilities, version) = cache.analyze(&checksum).unwrap();
    assert!(!ibc);
    assert_eq!(entry_points, "execute,instantiate,migrate,query,sudo");
    assert_eq!(version, Some(42));
    let checks = xwasm::cosmwasm::check_wasm(
        &wasm,
        &xwasm::cosmwasm::capabilities_from_csv(&CAPABILITIES.join(",")),
        &Default::default(),
    )
    .unwrap();
    let required: Vec<_> = checks.required_capabilities.into_iter().collect();
    assert_eq!(capabilities, required.join(","));
    let reflect = cache.store_code(&corpus("ibc_reflect.wasm"), true, true).unwrap();
    assert!(cache.analyze(&reflect).unwrap().0, "ibc_reflect has every IBC entry point");
    cache.remove_wasm(&checksum).unwrap();
    assert!(cache.load_wasm(&checksum).is_err(), "removed");

    // Not persisted: compiled and checked, but not stored.
    let floaty = corpus("floaty_2.0.wasm");
    let simulated = cache.store_code(&floaty, true, false).unwrap();
    assert!(cache.load_wasm(&simulated).is_err());
}

#[test]
fn stored_code_runs_after_a_restart_on_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (checksum, contract, mut chain) = {
        let first = cache(dir.path());
        let (checksum, chain, contract) = hackatom(&first);
        (checksum, contract, chain)
    };
    let second = cache(dir.path());
    let query =
        second.call("query", &checksum, &[&env_json(&contract), br#"{"verifier":{}}"#], &mut chain, GAS);
    assert!(query.result.is_ok(), "{:?}", query.result);
    let metrics = second.metrics();
    assert_eq!((metrics.hits_fs_cache, metrics.misses), (1, 0), "read back from the disk tier: {metrics:?}");
    assert_eq!(second.load_wasm(&checksum).unwrap(), corpus("hackatom.wasm"));
}

#[test]
fn pinning_counts_apart() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let (checksum, mut chain, contract) = hackatom(&cache);
    // As wasmvm's own metrics test: storing counts nothing and leaves the
    // memory tier empty; the first call reads the module from disk.
    let stored = cache.metrics();
    assert_eq!((stored.hits_fs_cache, stored.misses, stored.hits_memory_cache), (1, 0, 0), "{stored:?}");
    assert_eq!(stored.elements_memory_cache, 1);
    assert!(stored.size_memory_cache > 10_240 + 32);
    cache.pin(&checksum).unwrap();
    let before = cache.metrics();
    assert_eq!(before.hits_fs_cache, 2, "pinning reads the module from disk");
    assert_eq!(before.elements_pinned_memory_cache, 1);
    assert!(before.size_pinned_memory_cache > 10_240);
    for _ in 0..3 {
        let query =
            cache.call("query", &checksum, &[&env_json(&contract), br#"{"verifier":{}}"#], &mut chain, GAS);
        query.result.unwrap();
    }
    let after = cache.metrics();
    assert_eq!(after.hits_pinned_memory_cache, before.hits_pinned_memory_cache + 3);
    assert_eq!(after.hits_memory_cache, before.hits_memory_cache);
    // MessagePack: {per_module: [[checksum as 32 integers, {hits, size}]]}, structs as arrays.
    let bytes = cache.pinned_metrics();
    type PinnedMetrics = (Vec<(Vec<u8>, (u32, u64))>,);
    let decoded: PinnedMetrics = rmp_serde::from_slice(&bytes).expect("MessagePack");
    assert_eq!(decoded.0.len(), 1);
    assert_eq!(decoded.0[0].0, checksum);
    assert_eq!(decoded.0[0].1.0, 3);
    assert_eq!(bytes[0], 0x91, "a one-element array (the struct)");
    cache.unpin(&checksum).unwrap();
    assert_eq!(cache.metrics().elements_pinned_memory_cache, 0);
    cache.sync_pinned(&checksum).unwrap();
    assert_eq!(cache.metrics().elements_pinned_memory_cache, 1);
    cache.sync_pinned(&[]).unwrap();
    assert_eq!(cache.metrics().elements_pinned_memory_cache, 0);
}

#[test]
fn eight_threads_share_one_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(cache(dir.path()));
    let (checksum, chain, contract) = hackatom(&cache);
    let store = chain.store.clone();
    let env = env_json(&contract);
    let one = |cache: &Cache| {
        let mut chain = Chain { store: store.clone(), ..self::chain() };
        let query = cache.call("query", &checksum, &[&env, br#"{"verifier":{}}"#], &mut chain, GAS);
        let execute = cache.call(
            "execute",
            &checksum,
            &[&env, &info_json(&addr("x")), br#"{"release":{"denom":"earth"}}"#],
            &mut chain,
            GAS,
        );
        (query.result.unwrap(), query.report, execute.result.unwrap(), execute.report)
    };
    let expected = one(&cache);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                let one = &one;
                scope.spawn(move || (0..5).map(|_| one(&cache)).collect::<Vec<_>>())
            })
            .collect();
        for handle in handles {
            for got in handle.join().unwrap() {
                assert_eq!(got, expected);
            }
        }
    });
}

#[test]
fn a_querier_callback_queries_another_contract_through_the_same_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(cache(dir.path()));
    let (checksum, chain, contract) = hackatom(&cache);
    let contracts = Contracts::default();
    let store = chain.store.clone();
    contracts
        .lock()
        .unwrap()
        .insert(contract.clone(), (checksum.clone(), Chain { store: store.clone(), ..self::chain() }));
    let mut chain = Chain {
        store,
        services: Box::new(services(Some(cache.clone()), &contracts)),
        out_of_gas_on_write: false,
    };
    // hackatom's `recurse` queries itself `depth` times.
    let msg = br#"{"recurse":{"depth":3,"work":10}}"#;
    let called = cache.call("query", &checksum, &[&env_json(&contract), msg], &mut chain, GAS);
    let answer = called.result.expect("the nested queries answer");
    let ok: ContractResult<Binary> = cosmwasm_std::from_json(&answer).unwrap();
    let text = String::from_utf8(ok.unwrap().to_vec()).unwrap();
    assert!(text.contains("hashed"), "{text}");
    assert!(
        called.report.unwrap().used_externally > 300_000,
        "three nested queries were charged as external gas"
    );
}

/// A contract whose `execute` opens `count` iterators (its msg is ignored).
fn scanner() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (import "env" "db_scan" (func $scan (param i32 i32 i32) (result i32)))
            (memory (export "memory") 17)
            (global $heap (mut i32) (i32.const 65536))
            (func (export "allocate") (param $n i32) (result i32)
                (local $region i32)
                (local.set $region (global.get $heap))
                (i32.store (local.get $region) (i32.add (local.get $region) (i32.const 12)))
                (i32.store offset=4 (local.get $region) (local.get $n))
                (i32.store offset=8 (local.get $region) (i32.const 0))
                (global.set $heap (i32.add (global.get $heap) (i32.add (local.get $n) (i32.const 16))))
                (local.get $region))
            (func (export "deallocate") (param i32))
            (func (export "interface_version_8"))
            (func (export "requires_iterator"))
            (func (export "execute") (param i32 i32 i32) (result i32)
                (local $i i32)
                (loop $again
                    (drop (call $scan (i32.const 0) (i32.const 0) (i32.const 1)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $again (i32.lt_u (local.get $i) (i32.const 40000))))
                (i32.const 0)))"#,
    )
    .unwrap()
}

#[test]
fn the_iterator_limit_is_the_chains() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let checksum = cache.store_code(&scanner(), true, true).expect("the scanner passes the checks");
    let mut chain = chain();
    let called = cache.call(
        "execute",
        &checksum,
        &[&env_json(&addr("s")), &info_json(&addr("x")), b"{}"],
        &mut chain,
        GAS,
    );
    let failure = called.result.unwrap_err();
    assert_eq!(failure.errno, 1);
    assert!(
        failure.message.ends_with("Error calling into the VM's backend: User error during call into backend: reached iterator limit (32768)"),
        "{}",
        failure.message
    );
}

#[test]
fn out_of_gas_in_wasm_is_errno_2_and_in_a_callback_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let (checksum, mut chain, contract) = hackatom(&cache);
    let env = env_json(&contract);
    let looping = cache.call(
        "execute",
        &checksum,
        &[&env, &info_json(&addr("x")), br#"{"cpu_loop":{}}"#],
        &mut chain,
        50_000_000,
    );
    let failure = looping.result.unwrap_err();
    assert_eq!((failure.errno, failure.message.as_str()), (2, "Ran out of gas"));
    let report = looping.report.expect("a report");
    assert_eq!((report.limit, report.remaining), (50_000_000, 0));

    chain.out_of_gas_on_write = true;
    let msg = format!(r#"{{"verifier":"{}","beneficiary":"{}"}}"#, addr("a"), addr("b"));
    let writing = cache.call(
        "instantiate",
        &checksum,
        &[&env, &info_json(&addr("x")), msg.as_bytes()],
        &mut chain,
        GAS,
    );
    // cosmwasm-vm: the backend's out of gas is raised in the import, a
    // runtime error (errno 1), not the meter's depletion.
    let failure = writing.result.unwrap_err();
    let expected = "Error calling the VM: Error executing Wasm: Wasmer runtime error: RuntimeError: Ran out of gas during contract execution";
    assert_eq!((failure.errno, failure.message.as_str()), (1, expected));
}

#[test]
fn a_missing_gas_report_or_argument_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let (checksum, mut chain, contract) = hackatom(&cache);
    let (env, info) = (env_json(&contract), info_json(&addr("x")));
    let views = [
        harness::ByteSliceView::of(&env),
        harness::ByteSliceView::of(&info),
        harness::ByteSliceView::of(b"{}"),
    ];
    let checksum_view = harness::ByteSliceView::of(&checksum);
    let failure = cache
        .call_views("execute", checksum_view, &views, &mut chain, GAS, std::ptr::null_mut())
        .unwrap_err();
    assert_eq!((failure.errno, failure.message.as_str()), (1, "Empty argument: gas_report"));
    let mut report = harness::GasReport::default();
    let nil = [views[0], views[1], harness::ByteSliceView::nil()];
    let failure = cache.call_views("execute", checksum_view, &nil, &mut chain, GAS, &mut report).unwrap_err();
    assert_eq!(failure.message, "Null/Nil argument: arg3");
    let unknown = harness::ByteSliceView::of(&[9; 32]);
    let failure = cache.call_views("execute", unknown, &views, &mut chain, GAS, &mut report).unwrap_err();
    assert_eq!(failure.message, "Error calling the VM: Cache error: Error opening Wasm file for reading");
    assert_eq!(report, harness::GasReport::default(), "no report when no instance ran");
}

#[test]
fn a_compile_does_not_hold_up_calls_on_other_code() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let (checksum, chain, contract) = hackatom(&cache);
    cache.pin(&checksum).unwrap();
    let (compiling, compiled, during) = (AtomicBool::new(false), AtomicBool::new(false), AtomicUsize::new(0));
    let big = corpus("ibc_reflect.wasm");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            compiling.store(true, Ordering::SeqCst);
            cache.store_code(&big, true, true).expect("ibc_reflect compiles");
            compiled.store(true, Ordering::SeqCst);
        });
        scope.spawn(|| {
            while !compiling.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            let mut chain = Chain { store: chain.store.clone(), ..self::chain() };
            while !compiled.load(Ordering::SeqCst) {
                let query = cache.call(
                    "query",
                    &checksum,
                    &[&env_json(&contract), br#"{"verifier":{}}"#],
                    &mut chain,
                    GAS,
                );
                query.result.expect("a query during the compile");
                if !compiled.load(Ordering::SeqCst) {
                    during.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    });
    // A compile that held a lock the calls wait for would let none finish.
    assert!(during.load(Ordering::SeqCst) >= 1, "no call finished while another contract compiled");
}

#[test]
fn removed_code_is_gone_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (checksum, contract, mut chain) = {
        let first = cache(dir.path());
        let (checksum, chain, contract) = hackatom(&first);
        first.remove_wasm(&checksum).unwrap();
        (checksum, contract, chain)
    };
    let second = cache(dir.path());
    let query =
        second.call("query", &checksum, &[&env_json(&contract), br#"{"verifier":{}}"#], &mut chain, GAS);
    let failure = query.result.unwrap_err();
    assert_eq!(failure.message, "Error calling the VM: Cache error: Error opening Wasm file for reading");
}

//! The example contracts, driven through `Vm`: the token and the counter,
//! rollback, persistence across VMs on one redb folder, and determinism.

use std::sync::Arc;
use xwasm::store::{MemoryBackend, RedbBackend, StateBackend};
use xwasm::{Address, ChainContext, Outcome, Status, Transaction, Vm};

const TOKEN: &str = include_str!("../../examples/contracts/token.wat");
const COUNTER: &str = include_str!("../../examples/contracts/counter.wat");
const GAS: u64 = 1_000_000;
const DEPLOY_GAS: u64 = 100_000_000;
const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };
const ALICE: Address = Address([0xa1; 32]);
const BOB: Address = Address([0xb0; 32]);

fn vm_on(backend: Arc<dyn StateBackend>) -> Vm {
    Vm::builder().backend(backend).build().unwrap()
}

fn tx(sender: Address, input: impl Into<Vec<u8>>) -> Transaction {
    Transaction::new(sender, GAS, input)
}

/// A deployment's transaction: its gas pays for the code's bytes too.
fn deploy_tx(sender: Address, input: impl Into<Vec<u8>>) -> Transaction {
    Transaction::new(sender, DEPLOY_GAS, input)
}

fn transfer(to: &Address, amount: u64) -> Vec<u8> {
    [to.0.as_slice(), &amount.to_le_bytes()].concat()
}

fn u64_of(outcome: &Outcome) -> u64 {
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    u64::from_le_bytes(outcome.return_data.as_slice().try_into().unwrap())
}

fn deploy_token(vm: &Vm, supply: u64) -> Address {
    let wasm = wat::parse_str(TOKEN).unwrap();
    let outcome = vm.deploy(&wasm, &CHAIN, &deploy_tx(ALICE, supply.to_le_bytes())).unwrap();
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    outcome.address.unwrap()
}

fn balance(vm: &Vm, token: &Address, who: &Address) -> u64 {
    u64_of(&vm.call(token, "balance_of", &CHAIN, &tx(BOB, who.0)).unwrap())
}

#[test]
fn token_mints_transfers_and_emits() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let token = deploy_token(&vm, 1_000);
    assert_eq!(u64_of(&vm.call(&token, "total_supply", &CHAIN, &tx(BOB, [])).unwrap()), 1_000);
    assert_eq!(balance(&vm, &token, &ALICE), 1_000);

    let outcome = vm.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, 300))).unwrap();
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].topic, b"transfer");
    assert_eq!(outcome.events[0].data, [ALICE.0.as_slice(), &BOB.0, &300u64.to_le_bytes()].concat());
    assert_eq!((balance(&vm, &token, &ALICE), balance(&vm, &token, &BOB)), (700, 300));
}

#[test]
fn failed_transfers_change_nothing() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let token = deploy_token(&vm, 1_000);
    let before = vm.storage(&token).unwrap();
    for (input, message) in [(transfer(&ALICE, 1_001), "insufficient balance"), (vec![1, 2, 3], "bad input")]
    {
        let outcome = vm.call(&token, "transfer", &CHAIN, &tx(ALICE, input)).unwrap();
        assert_eq!(outcome.status, Status::Abort);
        assert!(outcome.error.as_deref().unwrap().contains(message), "{:?}", outcome.error);
        assert!(outcome.events.is_empty());
    }
    let out_of_gas =
        vm.call(&token, "transfer", &CHAIN, &Transaction::new(ALICE, 3_000, transfer(&BOB, 1))).unwrap();
    assert_eq!((out_of_gas.status, out_of_gas.gas_used), (Status::OutOfGas, 3_000));
    assert_eq!(vm.storage(&token).unwrap(), before);
}

#[test]
fn counter_counts_and_only_its_owner_resets() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let wasm = wat::parse_str(COUNTER).unwrap();
    let counter = vm.deploy(&wasm, &CHAIN, &deploy_tx(ALICE, 41u64.to_le_bytes())).unwrap().address.unwrap();
    assert_eq!(u64_of(&vm.call(&counter, "increment", &CHAIN, &tx(BOB, [])).unwrap()), 42);
    let failed = vm.call(&counter, "increment_and_fail", &CHAIN, &tx(BOB, [])).unwrap();
    assert_eq!(failed.status, Status::Abort);
    assert_eq!(u64_of(&vm.call(&counter, "get", &CHAIN, &tx(BOB, [])).unwrap()), 42);
    let refused = vm.call(&counter, "reset", &CHAIN, &tx(BOB, [])).unwrap();
    assert_eq!(refused.error.as_deref(), Some("aborted: only the owner may reset"));
    assert_eq!(vm.call(&counter, "reset", &CHAIN, &tx(ALICE, [])).unwrap().status, Status::Ok);
    assert_eq!(u64_of(&vm.call(&counter, "get", &CHAIN, &tx(BOB, [])).unwrap()), 0);
}

#[test]
fn a_failed_init_leaves_no_trace() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let wasm = wat::parse_str(TOKEN).unwrap();
    let failed = vm.deploy(&wasm, &CHAIN, &deploy_tx(ALICE, [1, 2, 3])).unwrap();
    assert_eq!(failed.status, Status::Abort);
    assert_eq!(failed.address, None);
    // The deploy count did not move: the next deployment takes the address
    // the failed one would have had, and that address held nothing before.
    let expected = Address::derive_contract(&ALICE, 0, &xwasm::security::code_hash(&wasm));
    assert_eq!(vm.contract(&expected).unwrap(), None);
    assert_eq!(deploy_token(&vm, 5), expected);
}

#[test]
fn call_errors_are_typed() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let token = deploy_token(&vm, 1);
    let err = vm.call(&Address([9; 32]), "transfer", &CHAIN, &tx(ALICE, [])).unwrap_err();
    assert!(matches!(err, xwasm::VmError::NoContract { .. }), "{err}");
    let err = vm.call(&token, "mint", &CHAIN, &tx(ALICE, [])).unwrap_err();
    assert!(err.to_string().contains("no method `mint`"), "{err}");
    assert!(err.to_string().contains("transfer"), "lists the methods: {err}");
    assert!(matches!(vm.call(&token, "init", &CHAIN, &tx(ALICE, [])), Err(xwasm::VmError::InitNotCallable)));
}

#[test]
fn state_persists_across_vms_on_one_redb_folder() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("state.redb");
    let token = {
        let vm = vm_on(Arc::new(RedbBackend::open(&path).unwrap()));
        let token = deploy_token(&vm, 1_000);
        vm.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, 10))).unwrap();
        token
    };
    let vm = vm_on(Arc::new(RedbBackend::open(&path).unwrap()));
    assert_eq!(balance(&vm, &token, &BOB), 10);
    vm.call(&token, "transfer", &CHAIN, &tx(BOB, transfer(&ALICE, 4))).unwrap();
    assert_eq!((balance(&vm, &token, &ALICE), balance(&vm, &token, &BOB)), (994, 6));
}

/// Runs the same transactions on a fresh VM and returns every outcome and
/// the final storage.
fn script(backend: Arc<dyn StateBackend>) -> (Vec<Outcome>, xwasm::store::Entries) {
    let vm = vm_on(backend);
    let token = deploy_token(&vm, 500);
    let mut outcomes = Vec::new();
    for (from, to, amount) in [(ALICE, BOB, 100), (BOB, ALICE, 1_000), (BOB, BOB, 50), (ALICE, BOB, 400)] {
        outcomes.push(vm.call(&token, "transfer", &CHAIN, &tx(from, transfer(&to, amount))).unwrap());
    }
    outcomes.push(vm.call(&token, "balance_of", &CHAIN, &tx(ALICE, BOB.0)).unwrap());
    (outcomes, vm.storage(&token).unwrap())
}

#[test]
fn same_transactions_same_outcomes_gas_and_state() {
    let folder = tempfile::tempdir().unwrap();
    let first = script(Arc::new(MemoryBackend::new()));
    let second = script(Arc::new(MemoryBackend::new()));
    let on_disk = script(Arc::new(RedbBackend::open(folder.path().join("s.redb")).unwrap()));
    assert_eq!(first, second);
    assert_eq!(first, on_disk);
    let statuses: Vec<_> = first.0.iter().map(|o| o.status).collect();
    assert_eq!(statuses, [Status::Ok, Status::Abort, Status::Ok, Status::Ok, Status::Ok]);
}

#[test]
fn second_call_is_served_from_the_memory_tier() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let token = deploy_token(&vm, 1);
    for _ in 0..3 {
        vm.call(&token, "total_supply", &CHAIN, &tx(ALICE, [])).unwrap();
    }
    let stats = vm.cache_stats();
    assert_eq!((stats.misses, stats.inserts, stats.memory_hits), (1, 1, 3));
}

fn vm_with_cache(dir: &std::path::Path, strategy: xwasm::engine::Strategy) -> Vm {
    let engine = xwasm::engine::EngineConfig { strategy, ..Default::default() };
    Vm::builder().engine(engine).cache_dir(dir).build().unwrap()
}

#[test]
fn the_disk_tier_serves_a_new_vm_and_survives_corruption() {
    use xwasm::engine::Strategy;
    let dir = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(TOKEN).unwrap();
    let run = |vm: &Vm| -> (Vec<Outcome>, String) {
        let deployed = vm.deploy(&wasm, &CHAIN, &deploy_tx(ALICE, 1_000u64.to_le_bytes())).unwrap();
        let token = deployed.address.unwrap();
        let moved = vm.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, 7))).unwrap();
        let tiers =
            vm.monitor().unwrap().snapshot().by_cache_tier.keys().cloned().collect::<Vec<_>>().join(",");
        (vec![deployed, moved], tiers)
    };
    let (fresh, tiers) = run(&vm_with_cache(dir.path(), Strategy::Cranelift));
    assert_eq!(tiers, "compiled,memory");
    let second = vm_with_cache(dir.path(), Strategy::Cranelift);
    let (cached, tiers) = run(&second);
    assert_eq!(tiers, "disk,memory", "a new VM loads the artifact instead of compiling");
    assert_eq!(fresh, cached, "same outcomes and gas from the disk tier");
    let stats = second.cache_stats();
    assert_eq!((stats.disk_hits, stats.corrupt_artifacts), (1, 0), "{stats:?}");

    // Flip one byte in every artifact: detected, deleted, recompiled.
    for entry in walk(dir.path()) {
        let mut bytes = std::fs::read(&entry).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&entry, bytes).unwrap();
    }
    let third = vm_with_cache(dir.path(), Strategy::Cranelift);
    let (recovered, tiers) = run(&third);
    assert_eq!(tiers, "compiled,memory");
    assert_eq!(fresh, recovered);
    let stats = third.cache_stats();
    assert_eq!((stats.disk_hits, stats.corrupt_artifacts), (0, 1), "counted: {stats:?}");

    // Winch: its own namespace, the same gas and results on this contract.
    let (winch, _) = run(&vm_with_cache(dir.path(), Strategy::Winch));
    assert_eq!(fresh, winch, "Cranelift and Winch agree on outcome and gas");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn the_monitor_counts_every_call_and_details_one_in_sixty_four() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let token = deploy_token(&vm, 100);
    for i in 0..70u64 {
        let amount = if i % 10 == 9 { 1_000 } else { 1 };
        vm.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, amount))).unwrap();
    }
    let snapshot = vm.monitor().unwrap().snapshot();
    assert_eq!(snapshot.calls, 71);
    assert_eq!((snapshot.by_status["ok"], snapshot.by_status["abort"]), (64, 7));
    assert_eq!(snapshot.by_kind["call"], 70);
    assert_eq!(snapshot.detailed_calls, 2, "calls 0 and 64");
    assert_eq!(snapshot.history.len(), 2);
    assert_eq!(snapshot.latency_ns.count(), 2);
    // A call whose code is compiled (call 71 here) is always detailed, so
    // every module's compilation is on record.
    let counter =
        vm.deploy(&wat::parse_str(COUNTER).unwrap(), &CHAIN, &deploy_tx(ALICE, Vec::new())).unwrap();
    assert!(counter.is_ok());
    let snapshot = vm.monitor().unwrap().snapshot();
    assert_eq!(snapshot.detailed_calls, 3);
    assert_eq!(snapshot.compiles, 2);
    assert_eq!(snapshot.modules.len(), 2);
    for module in snapshot.modules.values() {
        assert_eq!(module.compiles, 1);
        assert!(module.compile_ns > 0 && module.artifact_bytes > 0, "{module:?}");
    }
    // Every call's gas is counted, detailed or not.
    let detailed = Vm::builder()
        .monitoring(Some(xwasm::monitor::MonitorConfig { detail_every: 1, ..Default::default() }))
        .backend(Arc::new(MemoryBackend::new()))
        .build()
        .unwrap();
    let token = deploy_token(&detailed, 100);
    let mut gas = 0;
    for _ in 0..5 {
        gas += detailed.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, 1))).unwrap().gas_used;
    }
    let all = detailed.monitor().unwrap().snapshot();
    assert_eq!((all.calls, all.detailed_calls), (6, 6));
    assert_eq!(all.gas_used - all.history[0].gas_used, gas);
    // Host functions are timed on detailed calls.
    let (calls, write_gas, nanos) = all.host_functions["storage_write"];
    // init writes the supply ("supply", 8 bytes) and a balance; each of the
    // 5 transfers writes two balances ("bal:" ++ address, 8 bytes).
    assert_eq!((calls, write_gas), (12, (1_000 + 10 * (6 + 8)) + 11 * (1_000 + 10 * (36 + 8))));
    assert!(nanos > 0, "storage_write was timed");
}

/// The value of the sample `line_start` (name and labels) in an
/// exposition, as a number.
fn sample(exposition: &str, line_start: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {line_start} in:\n{exposition}"))
}

#[test]
fn a_node_registers_the_metrics_in_its_own_registry() {
    let vm = vm_on(Arc::new(MemoryBackend::new()));
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(vm.metrics_collector().unwrap()));
    let token = deploy_token(&vm, 100);
    for amount in [1, 1, 1_000] {
        vm.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, amount))).unwrap();
    }
    let mut openmetrics = String::new();
    prometheus_client::encoding::text::encode(&mut openmetrics, &registry).unwrap();
    let text = xwasm::monitor::prometheus(&vm.monitor().unwrap().snapshot());
    // The same figures as the text exposition, read at scrape time.
    for (ours, theirs) in [
        ("xwasm_calls_total{status=\"ok\"}", "xwasm_calls_total{status=\"ok\"}"),
        ("xwasm_calls_total{status=\"abort\"}", "xwasm_calls_total{status=\"abort\"}"),
        ("xwasm_gas_used_total{part=\"wasm\"}", "xwasm_gas_used_total{part=\"wasm\"}"),
        ("xwasm_gas_used_total{part=\"host\"}", "xwasm_gas_used_total{part=\"host\"}"),
        ("xwasm_call_duration_seconds_count", "xwasm_call_duration_seconds_count"),
        ("xwasm_code_lookups_total{tier=\"memory\"}", "xwasm_code_lookups_total{tier=\"memory\"}"),
    ] {
        assert_eq!(sample(&openmetrics, theirs), sample(&text, ours), "{ours}");
    }
    assert_eq!(sample(&openmetrics, "xwasm_calls_total{status=\"ok\"}"), 3.0, "deploy and two transfers");
    assert!(openmetrics.ends_with("# EOF\n"), "OpenMetrics text");
    // The registry reads the monitor at each scrape: a later call shows.
    vm.call(&token, "transfer", &CHAIN, &tx(ALICE, transfer(&BOB, 1))).unwrap();
    let mut later = String::new();
    prometheus_client::encoding::text::encode(&mut later, &registry).unwrap();
    assert_eq!(sample(&later, "xwasm_calls_total{status=\"ok\"}"), 4.0);
}

//! The race: xwasm against cosmwasm-vm 3.0.10 on the same contracts and
//! messages, measured in alternation in one process.
//!
//! `cargo run --release --manifest-path peers/Cargo.toml [-- --quick]
//! [--explicit-bounds-checks]`: the second runs xwasm with
//! `EngineConfig::explicit_bounds_checks` (the setting for parallel
//! blocks on many cores).
//!
//! Each row times the same work in both VMs, one sample of each in turn,
//! and compares medians; every sample's result bytes and gas are compared
//! too (a difference aborts the race).

use cosmwasm_std::Checksum;
use cosmwasm_std::coins;
use cosmwasm_vm::testing::{MockApi, MockQuerier, MockStorage};
use cosmwasm_vm::{Backend, Cache, CacheOptions, Instance, InstanceOptions, Size};
use std::time::{Duration, Instant};
use xwasm::cosmwasm::{Bech32Api, BlockEnv, EntryPoint};
use xwasm::{CosmwasmMessage, Vm, VmConfig};
use xwasm_peers::harness;
use xwasm_peers::wasmvm::PeerServices;

const HACKATOM: &[u8] = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
const GAS: u64 = xwasm_peers::CW_GAS;
/// Enough for argon2 with mem_cost 256 and time_cost 5 (about 8.6 billion).
const ARGON_GAS: u64 = 100_000_000_000;

type PeerCache = Cache<MockApi, MockStorage, MockQuerier>;
type PeerInstance = Instance<MockApi, MockStorage, MockQuerier>;

struct Row {
    name: &'static str,
    xwasm: Duration,
    peer: Duration,
    /// Target: xwasm at least this many times faster (a value below 1: at
    /// most 1/value the time).
    target: f64,
    target_text: &'static str,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `ours` and `theirs` in alternation, `n` samples each.
fn race(
    n: usize,
    mut ours: impl FnMut() -> Duration,
    mut theirs: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        a.push(ours());
        b.push(theirs());
    }
    (median(a), median(b))
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let started = Instant::now();
    let value = f();
    (started.elapsed(), value)
}

fn capabilities() -> std::collections::HashSet<String> {
    cosmwasm_vm::capabilities_from_csv(
        "ibc2,iterator,staking,stargate,cosmwasm_1_1,cosmwasm_1_2,cosmwasm_1_3,cosmwasm_1_4,cosmwasm_2_0,cosmwasm_2_1,cosmwasm_2_2,cosmwasm_3_0",
    )
}

fn peer_cache(dir: &std::path::Path, memory: Size) -> PeerCache {
    let options = CacheOptions::new(dir, capabilities(), memory, Size::mebi(16));
    // SAFETY: one cache per folder at a time, as cosmwasm-vm requires.
    unsafe { Cache::new(options) }.expect("a cosmwasm-vm cache")
}

/// cosmwasm-vm's `store_code` of hackatom (checked, persisted) on a fresh
/// cache in `dir`: the peer's side of every cold-deployment row.
fn peer_store_code(dir: &std::path::Path) -> Duration {
    let cache = peer_cache(dir, Size::mebi(200));
    timed(|| cache.store_code(HACKATOM, true, true).unwrap()).0
}

fn backend(contract: &str, balance: &[cosmwasm_std::Coin]) -> Backend<MockApi, MockStorage, MockQuerier> {
    Backend {
        api: MockApi::default(),
        storage: MockStorage::default(),
        querier: MockQuerier::new(&[(contract, balance)]),
    }
}

fn peer_instance(cache: &PeerCache, checksum: &Checksum, gas: u64, contract: &str) -> PeerInstance {
    cache
        .get_instance(checksum, backend(contract, &coins(1000, "earth")), InstanceOptions { gas_limit: gas })
        .unwrap()
}

/// A backend for the peer holding the contract's storage as xwasm holds it
/// and a balance of 1000 earth.
fn with_storage(
    contract: &str,
    vm: &Vm,
    address: &xwasm::Address,
) -> Backend<MockApi, MockStorage, MockQuerier> {
    let mut backend = backend(contract, &coins(1000, "earth"));
    for (key, value) in vm.storage(address).unwrap() {
        let _ = cosmwasm_vm::Storage::set(&mut backend.storage, &key, &value);
    }
    backend
}

fn used(instance: &mut PeerInstance) -> u64 {
    let report = instance.create_gas_report();
    report.used_internally + report.used_externally
}

fn ours_used(done: &xwasm::CosmwasmOutcome) -> u64 {
    done.gas_report.used_internally + done.gas_report.used_externally
}

/// Panics unless both VMs gave the same bytes and gas.
fn same(what: &str, ours: &xwasm::CosmwasmOutcome, theirs: &[u8], their_gas: u64) {
    assert_eq!(ours.result.as_deref(), Some(theirs), "{what}: results differ");
    assert_eq!(ours_used(ours), their_gas, "{what}: gas differs");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let explicit_bounds_checks = std::env::args().any(|a| a == "--explicit-bounds-checks");
    let (fast, slow, argon) = if quick { (40, 5, 3) } else { (300, 21, 7) };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let api = Bech32Api::default();
    let [creator, verifier, beneficiary] = ["creator", "verifies", "benefits"].map(|n| api.addr_make(n));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let env = BlockEnv::default();

    // cosmwasm-vm: the code stored and pinned.
    let cache = peer_cache(&dir.path().join("peer"), Size::mebi(200));
    let checksum = cache.store_code(HACKATOM, true, true).unwrap();
    cache.pin(&checksum).unwrap();
    let cyberpunk = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/cyberpunk.wasm"))
        .expect("the corpus beside the repository");
    let cyberpunk_checksum = cache.store_code(&cyberpunk, true, true).unwrap();
    cache.pin(&cyberpunk_checksum).unwrap();

    // xwasm: the code deployed once, in memory and on disk.
    let mut config = VmConfig::default();
    config.engine.explicit_bounds_checks = explicit_bounds_checks;
    config.cosmwasm.capabilities.insert("stargate".into());
    let vm = Vm::builder().config(config.clone()).cache_dir(dir.path().join("xwasm")).build().unwrap();
    let mut deploy = CosmwasmMessage::new(&creator, init.as_bytes(), 1_000_000_000_000);
    deploy.funds = coins(1000, "earth");
    let deployed = vm.cosmwasm_instantiate(HACKATOM, &deploy, None).unwrap();
    let address = deployed.outcome.address.unwrap();
    let contract = deployed.contract.clone();
    let code_hash = vm.contract(&address).unwrap().expect("the contract's record").code_hash;
    let env_json = xwasm::cosmwasm::env_json(&env.env(&contract));
    let mut rows = Vec::new();

    // 1. Instance creation.
    let (ours, theirs) = race(
        fast,
        || timed(|| vm.cosmwasm_instance(&address).unwrap()).0,
        || timed(|| drop(peer_instance(&cache, &checksum, GAS, &contract))).0,
    );
    rows.push(Row {
        name: "instance creation: fresh instance vs cosmwasm-vm's pinned cache",
        xwasm: ours,
        peer: theirs,
        target: 20.0,
        target_text: ">= 20x faster",
    });

    // 1b. The floor under instance creation: wasmtime alone on the VM's
    // own engine (no xwasm), instantiating the module xwasm compiled for
    // hackatom, its imports stubbed.
    let rewritten = vm.rewrite_for_compile(HACKATOM).unwrap();
    let module = wasmtime::Module::new(vm.engine(), &rewritten).unwrap();
    let mut linker = wasmtime::Linker::new(vm.engine());
    linker.define_unknown_imports_as_traps(&module).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    let (floor, theirs) = race(
        fast,
        || {
            timed(|| {
                let mut store = wasmtime::Store::new(vm.engine(), ());
                let _instance = pre.instantiate(&mut store).unwrap();
            })
            .0
        },
        || timed(|| drop(peer_instance(&cache, &checksum, GAS, &contract))).0,
    );
    rows.push(Row {
        name: "the floor: wasmtime alone (Store + InstancePre::instantiate) vs cosmwasm-vm's instance",
        xwasm: floor,
        peer: theirs,
        target: 20.0,
        target_text: ">= 20x faster",
    });

    // 2. A fresh instance and the instantiate message (code already stored).
    let info = xwasm::cosmwasm::info_json(&creator, &[]);
    let (ours, theirs) = race(
        fast,
        || {
            let message = CosmwasmMessage::new(&creator, init.as_bytes(), GAS);
            let (took, done) = timed(|| vm.cosmwasm_instantiate_stored(&code_hash, &message, None).unwrap());
            assert!(done.outcome.is_ok(), "{:?}", done.outcome.error);
            took
        },
        || {
            let (took, (bytes, gas)) = timed(|| {
                let mut instance = peer_instance(&cache, &checksum, GAS, &contract);
                let bytes =
                    cosmwasm_vm::call_instantiate_raw(&mut instance, &env_json, &info, init.as_bytes())
                        .unwrap();
                (bytes, used(&mut instance))
            });
            let message = CosmwasmMessage::new(&creator, init.as_bytes(), GAS);
            same(
                "instantiate",
                &vm.cosmwasm_instantiate_stored(&code_hash, &message, None).unwrap(),
                &bytes,
                gas,
            );
            took
        },
    );
    rows.push(Row {
        name: "fresh instance + instantiate (hackatom)",
        xwasm: ours,
        peer: theirs,
        target: 3.0,
        target_text: ">= 3x faster",
    });

    // 3 and 4: execute release and query verifier, each on a fresh instance.
    let release = br#"{"release":{"denom":"earth"}}"#;
    let verifier_info = xwasm::cosmwasm::info_json(&verifier, &[]);
    let (ours, theirs) = race(
        fast,
        || {
            let message = CosmwasmMessage::new(&verifier, release.as_slice(), GAS);
            timed(|| vm.cosmwasm_call(&address, EntryPoint::Execute, &message).unwrap()).0
        },
        || {
            // The state instantiate left, prepared outside the timing.
            let backend = with_storage(&contract, &vm, &address);
            let (took, (bytes, gas)) = timed(|| {
                let mut instance =
                    cache.get_instance(&checksum, backend, InstanceOptions { gas_limit: GAS }).unwrap();
                let bytes =
                    cosmwasm_vm::call_execute_raw(&mut instance, &env_json, &verifier_info, release).unwrap();
                (bytes, used(&mut instance))
            });
            let message = CosmwasmMessage::new(&verifier, release.as_slice(), GAS);
            same("release", &vm.cosmwasm_call(&address, EntryPoint::Execute, &message).unwrap(), &bytes, gas);
            took
        },
    );
    rows.push(Row {
        name: "fresh instance + execute release (hackatom)",
        xwasm: ours,
        peer: theirs,
        target: 3.0,
        target_text: ">= 3x faster",
    });

    let query = br#"{"verifier":{}}"#;
    let (ours, theirs) = race(
        fast,
        || timed(|| vm.cosmwasm_query(&address, query, &env, GAS).unwrap()).0,
        || {
            let backend = with_storage(&contract, &vm, &address);
            let (took, (bytes, gas)) = timed(|| {
                let mut instance =
                    cache.get_instance(&checksum, backend, InstanceOptions { gas_limit: GAS }).unwrap();
                let bytes = cosmwasm_vm::call_query_raw(&mut instance, &env_json, query).unwrap();
                (bytes, used(&mut instance))
            });
            same("query", &vm.cosmwasm_query(&address, query, &env, GAS).unwrap(), &bytes, gas);
            took
        },
    );
    rows.push(Row {
        name: "fresh instance + query verifier (hackatom)",
        xwasm: ours,
        peer: theirs,
        target: 3.0,
        target_text: ">= 3x faster",
    });

    // 5. Compute-bound: argon2 in cyberpunk.
    let admin = api.addr_make("admin");
    let mut deploy = CosmwasmMessage::new(&admin, b"{}".as_slice(), 1_000_000_000_000);
    deploy.env = env.clone();
    let punk = vm.cosmwasm_instantiate(&cyberpunk, &deploy, None).unwrap();
    let punk_address = punk.outcome.address.unwrap();
    let punk_env = xwasm::cosmwasm::env_json(&env.env(&punk.contract));
    let argon2 = br#"{"argon2":{"mem_cost":256,"time_cost":5}}"#;
    let admin_info = xwasm::cosmwasm::info_json(&admin, &[]);
    let (ours, theirs) = race(
        argon,
        || {
            let message = CosmwasmMessage::new(&admin, argon2.as_slice(), ARGON_GAS);
            timed(|| vm.cosmwasm_call(&punk_address, EntryPoint::Execute, &message).unwrap()).0
        },
        || {
            let (took, (bytes, gas)) = timed(|| {
                let mut instance = peer_instance(&cache, &cyberpunk_checksum, ARGON_GAS, &punk.contract);
                let bytes =
                    cosmwasm_vm::call_execute_raw(&mut instance, &punk_env, &admin_info, argon2).unwrap();
                (bytes, used(&mut instance))
            });
            let message = CosmwasmMessage::new(&admin, argon2.as_slice(), ARGON_GAS);
            same(
                "argon2",
                &vm.cosmwasm_call(&punk_address, EntryPoint::Execute, &message).unwrap(),
                &bytes,
                gas,
            );
            took
        },
    );
    rows.push(Row {
        name: "compute-bound: cyberpunk argon2 (mem_cost 256, time_cost 5)",
        xwasm: ours,
        peer: theirs,
        target: 2.0,
        target_text: ">= 2x faster",
    });

    // The drop-in libwasmvm: the same query through its C interface, as a
    // chain's Go code makes it (code pinned, as a node pins hot code),
    // against cosmwasm-vm in-process and against xwasm's Rust API.
    let capabilities: Vec<String> = capabilities().into_iter().collect();
    let capabilities: Vec<&str> = capabilities.iter().map(String::as_str).collect();
    let config_json = harness::Cache::config(&dir.path().join("libwasmvm"), &capabilities, 200 << 20);
    let c_cache = harness::Cache::init(&config_json).expect("libwasmvm's cache");
    let c_checksum = c_cache.store_code(HACKATOM, true, true).unwrap();
    c_cache.pin(&c_checksum).unwrap();
    let go_chain = || {
        let balances = vec![(contract.clone(), coins(1000, "earth"))];
        let mut chain = harness::Chain::new(PeerServices { api: MockApi::default(), balances });
        chain.store = vm.storage(&address).unwrap().into_iter().collect();
        chain
    };
    let (mut chain, mut check_chain) = (go_chain(), go_chain());
    let c_query = |chain: &mut harness::Chain| {
        let called = c_cache.call("query", &c_checksum, &[&env_json, query], chain, GAS);
        let report = called.report.expect("a gas report");
        (called.result.expect("libwasmvm answers"), report.used_internally + report.used_externally)
    };
    let (ours, theirs) = race(
        fast,
        || timed(|| c_query(&mut chain)).0,
        || {
            let backend = with_storage(&contract, &vm, &address);
            let (took, (bytes, gas)) = timed(|| {
                let mut instance =
                    cache.get_instance(&checksum, backend, InstanceOptions { gas_limit: GAS }).unwrap();
                let bytes = cosmwasm_vm::call_query_raw(&mut instance, &env_json, query).unwrap();
                (bytes, used(&mut instance))
            });
            assert_eq!(c_query(&mut check_chain), (bytes, gas), "libwasmvm and cosmwasm-vm differ");
            took
        },
    );
    rows.push(Row {
        name: "libwasmvm (C interface) query vs cosmwasm-vm in-process (both pinned)",
        xwasm: ours,
        peer: theirs,
        target: 3.0,
        target_text: ">= 3x faster",
    });
    let (ours, theirs) = race(
        fast,
        || timed(|| c_query(&mut chain)).0,
        || {
            let (took, done) = timed(|| vm.cosmwasm_query(&address, query, &env, GAS).unwrap());
            let (bytes, gas) = c_query(&mut check_chain);
            let gas_used = ours_used(&done);
            assert_eq!((done.result.unwrap(), gas_used), (bytes, gas), "C and Rust differ");
            took
        },
    );
    rows.push(Row {
        name: "the C boundary: libwasmvm query vs xwasm's Rust API (Vm::cosmwasm_query)",
        xwasm: ours,
        peer: theirs,
        target: 0.9,
        target_text: "<= 1.1x the time",
    });
    drop(c_cache);

    // 6. Cold deployment: a fresh VM (tiered) and a fresh cache each time.
    let mut tiered = config.clone();
    tiered.tiered = true;
    let (mut n, mut m) = (0, 0);
    let (ours, theirs) = race(
        slow,
        || {
            n += 1;
            let vm = Vm::builder()
                .config(tiered.clone())
                .cache_dir(dir.path().join(format!("cold{n}")))
                .build()
                .unwrap();
            let message = CosmwasmMessage::new(&creator, init.as_bytes(), 1_000_000_000_000);
            let took = timed(|| vm.cosmwasm_instantiate(HACKATOM, &message, None).unwrap()).0;
            // Let the background tier-up finish outside the timing (it
            // writes the artifact's `.meta` last), so that it does not
            // compete with the next sample: a fixed pause is too short on
            // a slow machine.
            let cold = dir.path().join(format!("cold{n}"));
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while !holds_meta(&cold) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            took
        },
        || {
            m += 1;
            peer_store_code(&dir.path().join(format!("peer-cold{m}")))
        },
    );
    rows.push(Row {
        name: "cold deployment: xwasm deploy (tiered) vs store_code",
        xwasm: ours,
        peer: theirs,
        target: 1.25,
        target_text: "<= 0.8x the time",
    });

    // 6b. The floor under a cold deployment: Winch's compile alone, of the
    // code xwasm compiles for hackatom (checked and rewritten beforehand),
    // on the baseline engine a tiered VM uses.
    let winch = xwasm::engine::build_engine(&tiered.engine.baseline().unwrap()).unwrap();
    let mut m = 0;
    let (floor, theirs) = race(
        slow,
        || timed(|| drop(wasmtime::Module::new(&winch, &rewritten).unwrap())).0,
        || {
            m += 1;
            peer_store_code(&dir.path().join(format!("peer-floor{m}")))
        },
    );
    rows.push(Row {
        name: "the floor: Winch's compile alone (wasmtime) vs store_code",
        xwasm: floor,
        peer: theirs,
        target: 1.25,
        target_text: "<= 0.8x the time",
    });

    // 6c. Cold deployment through the drop-in libwasmvm, as a chain's
    // MsgStoreCode makes it: `store_code` (checked, persisted) on a fresh
    // cache each time, against cosmwasm-vm's.
    let (mut n, mut m) = (0, 0);
    let (ours, theirs) = race(
        slow,
        || {
            n += 1;
            let lib_dir = dir.path().join(format!("lib-cold{n}"));
            let cache = harness::Cache::init(&harness::Cache::config(&lib_dir, &capabilities, 200 << 20))
                .expect("libwasmvm's cache");
            // Released outside the timing: `release_cache` waits for the
            // compile left in the background.
            timed(|| cache.store_code(HACKATOM, true, true).unwrap()).0
        },
        || {
            m += 1;
            peer_store_code(&dir.path().join(format!("peer-lib-cold{m}")))
        },
    );
    rows.push(Row {
        name: "cold deployment through libwasmvm: store_code vs store_code",
        xwasm: ours,
        peer: theirs,
        target: 1.25,
        target_text: "<= 0.8x the time",
    });

    // 7. From the disk tier: evicted from memory, loaded and queried.
    let fs_dir = dir.path().join("peer");
    drop(cache);
    let (ours, theirs) = race(
        slow,
        || {
            vm.evict_code(&code_hash);
            timed(|| vm.cosmwasm_query(&address, query, &env, GAS).unwrap()).0
        },
        || {
            let cache = peer_cache(&fs_dir, Size::mebi(0));
            timed(|| {
                let mut instance = peer_instance(&cache, &checksum, GAS, &contract);
                cosmwasm_vm::call_query_raw(&mut instance, &env_json, query).unwrap()
            })
            .0
        },
    );
    rows.push(Row {
        name: "from the disk tier vs cosmwasm-vm's file-system cache (+ query)",
        xwasm: ours,
        peer: theirs,
        target: 3.0,
        target_text: ">= 3x faster",
    });

    print(&rows, quick, explicit_bounds_checks);
}

fn human(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn print(rows: &[Row], quick: bool, explicit_bounds_checks: bool) {
    println!(
        "xwasm vs cosmwasm-vm 3.0.10 ({}{}; medians, measured in alternation)\n",
        if quick { "--quick" } else { "full run" },
        if explicit_bounds_checks { ", explicit bounds checks" } else { "" }
    );
    println!("| row | xwasm | cosmwasm-vm | xwasm is | target | met |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        let speedup = row.peer.as_secs_f64() / row.xwasm.as_secs_f64();
        let met = speedup >= row.target;
        println!(
            "| {} | {} | {} | {:.2}x faster | {} | {} |",
            row.name,
            human(row.xwasm),
            human(row.peer),
            speedup,
            row.target_text,
            if met { "met" } else { "not met" }
        );
    }
    println!("| every row: equal results and equal gas | | | | always | met |");
}

/// Whether `dir` holds, at any depth, a disk-tier `.meta` file.
fn holds_meta(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() { holds_meta(&path) } else { path.extension().is_some_and(|e| e == "meta") }
    })
}

//! A repeatable loop of CosmWasm calls on hackatom, as the race makes them
//! (`instantiate` of stored code, `execute` release, `query` verifier,
//! or `instance`: a fresh instance alone; `floor`: wasmtime alone on the
//! same code; `cold-instance`, `cold-floor`: the same, caches evicted),
//! for a profiler. Small pool (16 slots) so that valgrind can run it:
//!
//! ```text
//! cargo build --release -p xwasm-benches --example cosmwasm_probe
//! valgrind --tool=callgrind target/release/examples/cosmwasm_probe instantiate 200
//! ```

use xwasm::cosmwasm::{Bech32Api, BlockEnv, EntryPoint};
use xwasm::{CosmwasmMessage, Vm, VmConfig};

const HACKATOM: &[u8] = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
const GAS: u64 = 500_000_000_000;

fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "query".into());
    let n: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(200);
    let api = Bech32Api::default();
    let [creator, verifier, beneficiary] = ["creator", "verifies", "benefits"].map(|n| api.addr_make(n));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let mut config = VmConfig::default();
    if let Some(pooling) = config.engine.pooling.as_mut() {
        pooling.total_instances = 16;
        // The memory cap reserved, not 4 GiB: valgrind cannot reserve
        // that much (the code then keeps its bounds checks).
        pooling.memory_reservation_bytes = xwasm::engine::DEFAULT_MAX_MEMORY_BYTES;
    }
    let vm = Vm::builder().config(config).build().expect("vm");
    let mut deploy = CosmwasmMessage::new(&creator, init.as_bytes(), 1_000_000_000_000);
    deploy.funds = xwasm::cosmwasm::bank::parse_coins("1000earth").expect("coins");
    let deployed = vm.cosmwasm_instantiate(HACKATOM, &deploy, None).expect("deploys");
    let address = deployed.outcome.address.expect("an address");
    let code_hash = vm.contract(&address).unwrap().expect("a record").code_hash;
    let env = BlockEnv::default();
    let started = std::time::Instant::now();
    if ["instance", "floor", "cold-instance", "cold-floor"].contains(&what.as_str()) {
        // Instance creation alone, as the race's first row times it; cold:
        // the caches evicted before each (as the race's alternation with
        // the peer evicts them), for cachegrind's cache simulation;
        // floor: wasmtime alone on the same code (the race's floor row).
        let rewritten = vm.rewrite_for_compile(HACKATOM).expect("rewrites");
        let module = wasmtime::Module::new(vm.engine(), &rewritten).expect("compiles");
        let mut linker = wasmtime::Linker::new(vm.engine());
        linker.define_unknown_imports_as_traps(&module).expect("stubs");
        let pre = linker.instantiate_pre(&module).expect("links");
        let mut evict = vec![0u8; 64 << 20];
        let mut took = std::time::Duration::ZERO;
        for i in 0..n {
            if what.starts_with("cold") {
                evict.iter_mut().step_by(64).for_each(|b| *b = b.wrapping_add(i as u8));
            }
            let started = std::time::Instant::now();
            if what.ends_with("floor") {
                let mut store = wasmtime::Store::new(vm.engine(), ());
                std::hint::black_box(pre.instantiate(&mut store).expect("instantiates"));
            } else {
                vm.cosmwasm_instance(&address).expect("an instance");
            }
            took += started.elapsed();
        }
        std::hint::black_box(&evict);
        eprintln!("{what}: {:.1} µs each", took.as_secs_f64() * 1e6 / n as f64);
        return;
    }
    for _ in 0..n {
        let done = match what.as_str() {
            "instantiate" => {
                let message = CosmwasmMessage::new(&creator, init.as_bytes(), GAS);
                vm.cosmwasm_instantiate_stored(&code_hash, &message, None)
            }
            "execute" => {
                let message =
                    CosmwasmMessage::new(&verifier, br#"{"release":{"denom":"earth"}}"#.as_slice(), GAS);
                vm.cosmwasm_call(&address, EntryPoint::Execute, &message)
            }
            _ => vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &env, GAS),
        };
        assert!(done.expect("runs").outcome.is_ok());
    }
    eprintln!("{what}: {:.1} µs per call", started.elapsed().as_secs_f64() * 1e6 / n as f64);
}

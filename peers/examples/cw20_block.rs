//! Blocks of real cw20-base transfers (cw-plus, as Oraichain compiled and
//! published it; `python3 peers/scripts/fetch_public_contracts.py` fetches
//! it): the block on every core against one thread, at three contention
//! levels, and the one-thread executor against plain calls, as the
//! report's block rows measure the example token; with the engine's
//! defaults and with `explicit_bounds_checks`. With a thread count after
//! TRANSFERS, only the distinct-accounts block on that many threads (for
//! a profiler; `EXPLICIT=1` for explicit bounds checks).
//!
//! `cargo run --release --manifest-path peers/Cargo.toml --target-dir target --example cw20_block [TRANSFERS [THREADS]]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use xwasm::store::MemoryBackend;
use xwasm::{BlockTransaction, ChainContext, CosmwasmMessage, Vm, VmConfig};

/// Whether the VMs check bounds in the code (`EngineConfig::explicit_bounds_checks`).
static EXPLICIT: AtomicBool = AtomicBool::new(false);

const CHAIN: ChainContext = ChainContext { block_height: 12_345, block_time_ms: 1_571_797_419_879 };

fn user(i: u64) -> String {
    xwasm::cosmwasm::Bech32Api::default().addr_make(&format!("user {i}"))
}

/// A VM holding cw20-base, each of `senders` users given 1,000,000; the
/// block of `count` transfers of 1 (user i to user count + i with
/// `accounts` 0, else between random pairs of `accounts` users).
fn setup(wasm: &[u8], cache: &std::path::Path, count: u64, accounts: u64) -> (Vm, Vec<BlockTransaction>) {
    let mut config = VmConfig::default();
    config.engine.explicit_bounds_checks = EXPLICIT.load(Ordering::Relaxed);
    let vm = Vm::builder()
        .config(config)
        .backend(Arc::new(MemoryBackend::new()))
        .cache_dir(cache)
        .monitoring(None)
        .build()
        .unwrap();
    let senders = if accounts == 0 { count } else { accounts };
    let balances: Vec<String> =
        (0..senders).map(|i| format!(r#"{{"address":"{}","amount":"1000000"}}"#, user(i))).collect();
    let init = format!(
        r#"{{"name":"Token","symbol":"TOK","decimals":6,"initial_balances":[{}],"mint":null,"marketing":null}}"#,
        balances.join(",")
    );
    let message = CosmwasmMessage::new(user(0), init.into_bytes(), 10_000_000_000_000);
    let done = vm.cosmwasm_instantiate(wasm, &message, None).unwrap();
    assert!(done.outcome.is_ok(), "{:?}", done.outcome.error);
    let token = done.outcome.address.unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut below = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let block = (0..count)
        .map(|i| {
            let (from, to) = match accounts {
                0 => (i, count + i),
                n => {
                    let from = below(n);
                    (from, (from + 1 + below(n - 1)) % n)
                }
            };
            let msg = format!(r#"{{"transfer":{{"recipient":"{}","amount":"1"}}}}"#, user(to));
            let message = CosmwasmMessage::new(user(from), msg.into_bytes(), 2_000_000_000);
            BlockTransaction::CosmwasmCall { contract: token, entry: "execute".into(), message }
        })
        .collect();
    (vm, block)
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/public-contracts/cw20-base.wasm");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("error: {}: {e} (run peers/scripts/fetch_public_contracts.py)", path.display());
        std::process::exit(1)
    });
    let count: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let samples = 7;
    let cache = tempfile::tempdir().unwrap();
    EXPLICIT.store(std::env::var_os("EXPLICIT").is_some(), Ordering::Relaxed);
    if let Some(threads) = std::env::args().nth(2).and_then(|a| a.parse::<usize>().ok()) {
        // Only the distinct-accounts block on THREADS threads, for a
        // profiler: setups first, then the blocks.
        let runs: Vec<_> = (0..samples).map(|_| setup(&wasm, cache.path(), count, 0)).collect();
        let started = Instant::now();
        for (vm, block) in &runs {
            std::hint::black_box(vm.execute_block(&CHAIN, block, threads).unwrap());
        }
        println!("{samples} blocks on {threads} threads: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        return;
    }
    for explicit in [false, true] {
        EXPLICIT.store(explicit, Ordering::Relaxed);
        println!("explicit_bounds_checks = {explicit}");
        for (accounts, among) in
            [(0, "distinct accounts"), (100, "among 100 accounts"), (2, "between 2 accounts")]
        {
            let (mut parallel, mut sequential, mut re_executions) = (Vec::new(), Vec::new(), 0);
            for _ in 0..samples {
                for (threads, times) in [(cores, &mut parallel), (1, &mut sequential)] {
                    let (vm, block) = setup(&wasm, cache.path(), count, accounts);
                    let started = Instant::now();
                    let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
                    times.push(started.elapsed().as_secs_f64());
                    assert!(outcome.outcomes.iter().all(|o| o.as_ref().is_ok_and(|o| o.is_ok())));
                    if threads > 1 {
                        re_executions = outcome.re_executions;
                    }
                }
            }
            let (p, s) = (median(parallel), median(sequential));
            println!(
                "cw20-base block, {count} transfers {among}: {cores} cores {:.1} ms vs one thread {:.1} ms: {:.2}x ({re_executions} re-executions)",
                p * 1e3,
                s * 1e3,
                s / p
            );
        }
        let (mut executor, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..samples {
            let (vm, block) = setup(&wasm, cache.path(), count, 0);
            let started = Instant::now();
            let outcome = vm.execute_block(&CHAIN, &block, 1).unwrap();
            executor.push(started.elapsed().as_secs_f64());
            std::hint::black_box(outcome);
            let (vm, block) = setup(&wasm, cache.path(), count, 0);
            let started = Instant::now();
            let mut results = Vec::new();
            for t in &block {
                let BlockTransaction::CosmwasmCall { contract, entry, message } = t else { unreachable!() };
                results.push(vm.cosmwasm_call_export(contract, entry, message).unwrap());
            }
            plain.push(started.elapsed().as_secs_f64());
            std::hint::black_box(results);
        }
        let (e, p) = (median(executor), median(plain));
        println!(
            "cw20-base: block executor on one thread {:.1} ms vs plain calls {:.1} ms: {:.3}x",
            e * 1e3,
            p * 1e3,
            p / e
        );
    }
}

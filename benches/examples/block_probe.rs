//! A block of token transfers against the same transfers as plain calls
//! (whose outcomes are kept too, as a block keeps them):
//! `target/release/examples/block_probe block|calls|alternate COUNT [THREADS]
//! [ACCOUNTS]` (ACCOUNTS 0: each sender its own recipient; else random
//! pairs among that many accounts). A `cw-` prefix (`cw-block`, ...) runs
//! the CosmWasm token's transfers instead of the native token's. A small pool (17 slots per thread,
//! each reserving the memory cap, not 4 GiB) so that valgrind can run it: `valgrind --tool=callgrind` counts the
//! instructions of `block` and of `calls` deterministically, and the
//! setup is the same in both.

use xwasm::{BlockTransaction, Transaction, Vm};
use xwasm_benches::{CHAIN, SENDER, TOKEN, account, cosmwasm_transfers, deployed_on, transfer_input};

fn main() {
    let arg = |n: usize| std::env::args().nth(n);
    let mode = arg(1).unwrap_or_else(|| "block".into());
    let (cosmwasm, mode) = match mode.strip_prefix("cw-") {
        Some(mode) => (true, mode.to_string()),
        None => (false, mode),
    };
    let setup = |count, accounts, threads| setup(cosmwasm, count, accounts, threads);
    let count: u64 = arg(2).and_then(|n| n.parse().ok()).unwrap_or(500);
    let threads: usize = arg(3).and_then(|n| n.parse().ok()).unwrap_or(1);
    let accounts: u64 = arg(4).and_then(|n| n.parse().ok()).unwrap_or(0);
    match mode.as_str() {
        "block" => {
            let (vm, block) = setup(count, accounts, threads);
            let started = std::time::Instant::now();
            let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
            eprintln!("block total {:?} ({} re-executions)", started.elapsed(), outcome.re_executions);
        }
        "calls" => {
            let (vm, block) = setup(count, accounts, 1);
            let started = std::time::Instant::now();
            std::hint::black_box(calls(&vm, &block));
            eprintln!("calls total {:?}", started.elapsed());
        }
        // The calls split among THREADS threads, each its share as plain
        // calls on the one VM: how far the VM scales without the block
        // executor (distinct accounts: the shares do not conflict).
        "split" => {
            let (vm, block) = setup(count, accounts, threads);
            let started = std::time::Instant::now();
            let share = block.len().div_ceil(threads.max(1));
            std::thread::scope(|scope| {
                for part in block.chunks(share) {
                    let vm = &vm;
                    scope.spawn(move || std::hint::black_box(calls(vm, part)));
                }
            });
            eprintln!("split total {:?}", started.elapsed());
        }
        // The block on one VM and the calls on another, in alternation,
        // ROUNDS times (THREADS is the round count here): each round after
        // the first transfers between accounts that hold balances already.
        "alternate" => {
            let (block_vm, block) = setup(count, accounts, 1);
            let (calls_vm, _) = setup(count, accounts, 1);
            let mut ratios = Vec::new();
            for round in 0..threads.max(1) {
                let started = std::time::Instant::now();
                std::hint::black_box(block_vm.execute_block(&CHAIN, &block, 1).unwrap());
                let in_block = started.elapsed();
                let started = std::time::Instant::now();
                std::hint::black_box(calls(&calls_vm, &block));
                let plain = started.elapsed();
                ratios.push(plain.as_secs_f64() / in_block.as_secs_f64());
                eprintln!("round {round}: block {in_block:?}, calls {plain:?}");
            }
            ratios.sort_by(f64::total_cmp);
            eprintln!("median calls/block {:.3}", ratios[ratios.len() / 2]);
        }
        _ => eprintln!("usage: block_probe block|calls|alternate COUNT [THREADS|ROUNDS] [ACCOUNTS]"),
    }
}

/// The plain calls of `block`, their outcomes kept as a block keeps them.
fn calls(vm: &Vm, block: &[BlockTransaction]) -> Vec<Result<xwasm::Outcome, xwasm::VmError>> {
    let call = |t: &BlockTransaction| match t {
        BlockTransaction::Call { address, method, tx } => vm.call(address, method, &CHAIN, tx),
        BlockTransaction::CosmwasmCall { contract, entry, message } => {
            vm.cosmwasm_call_export(contract, entry, message).map(|done| done.outcome)
        }
        _ => unreachable!("transfers"),
    };
    block.iter().map(call).collect()
}

/// A token (native, or CosmWasm with `cosmwasm`) with `count` funded
/// senders, and the block of `count` transfers of 1, on a VM whose pool
/// holds `threads` workers' calls.
fn setup(cosmwasm: bool, count: u64, accounts: u64, threads: usize) -> (Vm, Vec<BlockTransaction>) {
    let supply = count * (count + 10);
    let mut engine = xwasm::engine::EngineConfig::default();
    if let Some(pooling) = engine.pooling.as_mut() {
        // A block runs no more workers than the pool holds calls nesting
        // to the limit (`EngineConfig::parallel_calls`).
        let depth = xwasm::store::CallLimits::default().max_call_depth;
        pooling.total_instances = (depth + 1) * threads.max(1) as u32;
        // The memory cap reserved, not 4 GiB: valgrind cannot reserve
        // that much (the code then keeps its bounds checks).
        pooling.memory_reservation_bytes = xwasm::engine::DEFAULT_MAX_MEMORY_BYTES;
    }
    let builder = Vm::builder().engine(engine).monitoring(None);
    let senders = if accounts == 0 { count } else { accounts };
    if cosmwasm {
        let pairs: Vec<(u64, u64)> = (0..count)
            .map(|i| match accounts {
                0 => (i, count + i),
                n => (i % n, (i + 1) % n),
            })
            .collect();
        return cosmwasm_transfers(builder, senders, count + 5, &pairs);
    }
    let (vm, token) = deployed_on(builder, TOKEN, &supply.to_le_bytes());
    for i in 0..senders {
        let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&account(i), count + 5));
        vm.call(&token, "transfer", &CHAIN, &tx).unwrap();
    }
    let block = (0..count)
        .map(|i| {
            let (from, to) = match accounts {
                0 => (account(i), account(count + i)),
                n => (account(i % n), account((i + 1) % n)),
            };
            BlockTransaction::Call {
                address: token,
                method: "transfer".into(),
                tx: Transaction::new(from, 1_000_000, transfer_input(&to, 1)),
            }
        })
        .collect();
    (vm, block)
}

//! A block of token transfers against the same transfers as plain calls
//! (whose outcomes are kept too, as a block keeps them):
//! `target/release/examples/block_probe block|calls COUNT [THREADS]
//! [ACCOUNTS]` (ACCOUNTS 0: each sender its own recipient; else random
//! pairs among that many accounts), under `perf record` for a profile
//! (valgrind cannot reserve the default instance pool's address space).

use xwasm::{BlockTransaction, Transaction, Vm};
use xwasm_benches::{CHAIN, SENDER, TOKEN, deployed_on, transfer_input};

fn main() {
    let arg = |n: usize| std::env::args().nth(n);
    let mode = arg(1).unwrap_or_else(|| "block".into());
    let count: u64 = arg(2).and_then(|n| n.parse().ok()).unwrap_or(500);
    let threads: usize = arg(3).and_then(|n| n.parse().ok()).unwrap_or(1);
    let accounts: u64 = arg(4).and_then(|n| n.parse().ok()).unwrap_or(0);
    let supply = count * (count + 10);
    let (vm, token) = deployed_on(Vm::builder().monitoring(None), TOKEN, &supply.to_le_bytes());
    let account = |i: u64| {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
        xwasm::Address(bytes)
    };
    let senders = if accounts == 0 { count } else { accounts };
    for i in 0..senders {
        let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&account(i), count + 5));
        vm.call(&token, "transfer", &CHAIN, &tx).unwrap();
    }
    let block: Vec<BlockTransaction> = (0..count)
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
    let started = std::time::Instant::now();
    if mode == "block" {
        let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
        eprintln!("block total {:?} ({} re-executions)", started.elapsed(), outcome.re_executions);
    } else {
        let mut kept = Vec::new();
        for t in &block {
            let BlockTransaction::Call { address, method, tx } = t else { unreachable!() };
            kept.push(vm.call(address, method, &CHAIN, tx));
        }
        eprintln!("calls total {:?}", started.elapsed());
    }
}

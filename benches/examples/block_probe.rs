//! A block of token transfers on one thread against the same transfers
//! as plain calls (whose outcomes are kept too, as a block keeps them):
//! `target/release/examples/block_probe block|calls 20000`, under
//! `perf record` for a profile (valgrind cannot reserve the default
//! instance pool's address space).

use xwasm::{BlockTransaction, Transaction, Vm};
use xwasm_benches::{CHAIN, SENDER, TOKEN, deployed_on, transfer_input};

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "block".into());
    let count: u64 = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(500);
    let (vm, token) = deployed_on(Vm::builder().monitoring(None), TOKEN, &(count * 10).to_le_bytes());
    let account = |i: u64| {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
        xwasm::Address(bytes)
    };
    for i in 0..count {
        let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&account(i), 5));
        vm.call(&token, "transfer", &CHAIN, &tx).unwrap();
    }
    let block: Vec<BlockTransaction> = (0..count)
        .map(|i| BlockTransaction::Call {
            address: token,
            method: "transfer".into(),
            tx: Transaction::new(account(i), 1_000_000, transfer_input(&account(count + i), 1)),
        })
        .collect();
    let started = std::time::Instant::now();
    if mode == "block" {
        vm.execute_block(&CHAIN, &block, 1).unwrap();
        eprintln!("block total {:?}", started.elapsed());
    } else {
        let mut kept = Vec::new();
        for t in &block {
            let BlockTransaction::Call { address, method, tx } = t else { unreachable!() };
            kept.push(vm.call(address, method, &CHAIN, tx));
        }
        eprintln!("calls total {:?}", started.elapsed());
    }
}

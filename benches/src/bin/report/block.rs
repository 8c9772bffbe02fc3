//! Section 10: a block of token transfers, Block-STM on every core against
//! one thread at three contention levels, and the block executor against
//! plain calls.

use crate::measure::{human_ns, median};
use crate::{Row, Settings};
use std::time::Instant;
use xwasm::{Transaction, Vm};
use xwasm_benches::{CHAIN, SENDER, TOKEN, deployed_on, transfer_input};

/// The block rows.
pub(crate) fn measure(settings: Settings, rows: &mut Vec<Row>) {
    let Settings { quick, cores, .. } = settings;
    // 10. A block of token transfers: Block-STM on every core vs one
    // thread, at three contention levels, and the one-thread block
    // executor vs plain calls one by one.
    let transfers = if quick { 2_000 } else { 10_000 };
    for (name, accounts, target, factor) in [
        ("block of transfers, distinct accounts: all cores vs one", 0u64, "≥ 0.85 × cores", 0.85),
        ("block of transfers among 100 accounts: all cores vs one", 100, "≥ 0.5 × cores", 0.5),
        ("block of transfers between 2 accounts: all cores vs one", 2, "≥ 0.85x", 0.0),
    ] {
        let (parallel, sequential, re_executions) =
            block_timing(transfers, accounts, cores, if quick { 1 } else { 3 });
        let ratio = sequential / parallel;
        let needed = if factor > 0.0 { factor * cores as f64 } else { 0.85 };
        rows.push(Row {
            name,
            what: format!(
                "{transfers} transfers, {cores} cores: {} vs {} ({re_executions} re-executions)",
                human_ns(parallel),
                human_ns(sequential)
            ),
            value: ratio,
            unit: "x",
            target,
            met: Some(ratio >= needed),
        });
    }
    let (executor, plain) = block_vs_calls(transfers, if quick { 1 } else { 3 });
    rows.push(Row {
        name: "block executor on one thread vs plain calls",
        what: format!("{transfers} transfers: {} vs {}", human_ns(executor), human_ns(plain)),
        value: plain / executor,
        unit: "x",
        target: "≥ 0.95x",
        met: Some(plain / executor >= 0.95),
    });
}

/// A token and `count` funded senders; the block of `count` transfers of
/// 1: sender `i` to a recipient of its own (`accounts` 0), or between
/// random pairs of `accounts` accounts.
fn transfer_block(count: u64, accounts: u64) -> (Vm, Vec<xwasm::BlockTransaction>) {
    let (vm, token) =
        deployed_on(Vm::builder().monitoring(None), TOKEN, &(count * (count + 10)).to_le_bytes());
    let account = |i: u64| {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
        xwasm::Address(bytes)
    };
    let senders = if accounts == 0 { count } else { accounts };
    for i in 0..senders {
        let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&account(i), count + 5));
        assert!(vm.call(&token, "transfer", &CHAIN, &tx).unwrap().is_ok());
    }
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
                0 => (account(i), account(count + i)),
                n => {
                    let from = below(n);
                    (account(from), account((from + 1 + below(n - 1)) % n))
                }
            };
            xwasm::BlockTransaction::Call {
                address: token,
                method: "transfer".into(),
                tx: Transaction::new(from, 1_000_000, transfer_input(&to, 1)),
            }
        })
        .collect();
    (vm, block)
}

/// Median wall time of the transfer block on `threads` and on one thread
/// (measured in alternation), and the re-executions of the last parallel
/// run.
fn block_timing(count: u64, accounts: u64, threads: usize, samples: usize) -> (f64, f64, usize) {
    let (mut parallel, mut sequential, mut re_executions) = (Vec::new(), Vec::new(), 0);
    for _ in 0..samples {
        for (threads, times) in [(threads, &mut parallel), (1, &mut sequential)] {
            let (vm, block) = transfer_block(count, accounts);
            let started = Instant::now();
            let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
            times.push(started.elapsed().as_nanos() as f64);
            assert!(outcome.outcomes.iter().all(|o| o.as_ref().is_ok_and(|o| o.is_ok())));
            if threads > 1 {
                re_executions = outcome.re_executions;
            }
        }
    }
    (median(parallel), median(sequential), re_executions)
}

/// Median wall time of the distinct-accounts transfer block through the
/// block executor on one thread, and as plain calls one by one.
fn block_vs_calls(count: u64, samples: usize) -> (f64, f64) {
    let (mut executor, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let (vm, block) = transfer_block(count, 0);
        let started = Instant::now();
        vm.execute_block(&CHAIN, &block, 1).unwrap();
        executor.push(started.elapsed().as_nanos() as f64);
        let (vm, block) = transfer_block(count, 0);
        let started = Instant::now();
        for t in &block {
            let xwasm::BlockTransaction::Call { address, method, tx } = t else { unreachable!() };
            std::hint::black_box(vm.call(address, method, &CHAIN, tx).unwrap());
        }
        plain.push(started.elapsed().as_nanos() as f64);
    }
    (median(executor), median(plain))
}

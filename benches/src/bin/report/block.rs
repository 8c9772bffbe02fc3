//! Section 10: a block of token transfers, Block-STM on every core against
//! one thread at three contention levels, and the block executor against
//! plain calls; the same for a CosmWasm token's transfers.

use crate::measure::{human_ns, median};
use crate::{Row, Settings};
use std::time::Instant;
use xwasm::{BlockTransaction, Transaction, Vm, VmConfig};
use xwasm_benches::{
    CHAIN, SENDER, TOKEN, account, cosmwasm_transfers, cw20_init, deployed_on, token_transfers,
    transfer_input,
};

/// Builds a VM and a block of `count` transfers among `accounts` (0: each
/// sender to a recipient of its own).
type MakeBlock = fn(u64, u64) -> (Vm, Vec<BlockTransaction>);

/// The block rows.
pub(crate) fn measure(settings: Settings, rows: &mut Vec<Row>) {
    let Settings { quick, cores, .. } = settings;
    // 10. A block of token transfers: Block-STM on every core vs one
    // thread, at three contention levels, and the one-thread block
    // executor vs plain calls one by one.
    let transfers = if quick { 2_000 } else { 10_000 };
    // Each sample is a fresh block of a few milliseconds: medians of
    // several, since this machine's speed drifts between runs.
    let samples = if quick { 7 } else { 15 };
    let mut kinds = vec![
        ("", transfer_block as MakeBlock, transfers),
        ("CosmWasm ", cosmwasm_block as MakeBlock, transfers / 2),
    ];
    // Real cw20-base, as published, where it was fetched: with the
    // engine's defaults and with explicit bounds checks (docs/blocks.md,
    // contracts that grow their memory).
    if cw20_base().is_some() {
        kinds.push(("cw20-base ", cw20_block, transfers / 2));
        kinds.push(("cw20-base (explicit bounds checks) ", cw20_block_explicit, transfers / 2));
    } else {
        eprintln!(
            "report: no target/public-contracts/cw20-base.wasm, so no cw20-base rows (run peers/scripts/fetch_public_contracts.py)"
        );
    }
    for (kind, make, count) in kinds {
        for (accounts, target, factor) in
            [(0u64, "≥ 0.85 × cores", 0.85), (100, "≥ 0.5 × cores", 0.5), (2, "≥ 0.85x", 0.0)]
        {
            let (parallel, sequential, re_executions) = block_timing(make, count, accounts, cores, samples);
            let ratio = sequential / parallel;
            let needed = if factor > 0.0 { factor * cores as f64 } else { 0.85 };
            let among = match accounts {
                0 => "distinct accounts".to_string(),
                2 => "between 2 accounts".to_string(),
                n => format!("among {n} accounts"),
            };
            rows.push(Row {
                name: format!("block of {kind}transfers, {among}: all cores vs one").into(),
                what: format!(
                    "{count} transfers, {cores} cores: {} vs {} ({re_executions} re-executions)",
                    human_ns(parallel),
                    human_ns(sequential)
                ),
                value: ratio,
                unit: "x",
                target,
                met: Some(ratio >= needed),
            });
        }
        let (executor, plain) = block_vs_calls(make, count, samples);
        rows.push(Row {
            name: format!("{kind}block executor on one thread vs plain calls").into(),
            what: format!("{count} transfers: {} vs {}", human_ns(executor), human_ns(plain)),
            value: plain / executor,
            unit: "x",
            target: "≥ 0.95x",
            met: Some(plain / executor >= 0.95),
        });
    }
}

/// `count` transfers of 1 from sender `i` to a recipient of its own
/// (`accounts` 0), or between random pairs of `accounts` accounts: the
/// pairs, by account number.
fn pairs(count: u64, accounts: u64) -> Vec<(u64, u64)> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut below = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    (0..count)
        .map(|i| match accounts {
            0 => (i, count + i),
            n => {
                let from = below(n);
                (from, (from + 1 + below(n - 1)) % n)
            }
        })
        .collect()
}

/// The CosmWasm token, instantiated by [`SENDER`], and `count` funded
/// senders; the block of `count` transfers of 1 ([`pairs`]).
fn cosmwasm_block(count: u64, accounts: u64) -> (Vm, Vec<BlockTransaction>) {
    let senders = if accounts == 0 { count } else { accounts };
    let builder = Vm::builder().monitoring(None);
    cosmwasm_transfers(builder, senders, count + 5, &pairs(count, accounts))
}

/// cw20-base as published, if `peers/scripts/fetch_public_contracts.py`
/// fetched it.
fn cw20_base() -> Option<&'static [u8]> {
    static WASM: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    WASM.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/public-contracts/cw20-base.wasm");
        std::fs::read(path).ok()
    })
    .as_deref()
}

/// cw20-base, [`SENDER`] holding the supply, and `count` funded senders;
/// the block of `count` transfers of 1 ([`pairs`]).
fn cw20_block(count: u64, accounts: u64) -> (Vm, Vec<BlockTransaction>) {
    cw20_block_on(VmConfig::default(), count, accounts)
}

fn cw20_block_explicit(count: u64, accounts: u64) -> (Vm, Vec<BlockTransaction>) {
    let mut config = VmConfig::default();
    config.engine.explicit_bounds_checks = true;
    cw20_block_on(config, count, accounts)
}

fn cw20_block_on(config: VmConfig, count: u64, accounts: u64) -> (Vm, Vec<BlockTransaction>) {
    let senders = if accounts == 0 { count } else { accounts };
    let builder = Vm::builder().config(config).monitoring(None);
    let wasm = cw20_base().expect("fetched");
    token_transfers(builder, wasm, &cw20_init, senders, count + 5, &pairs(count, accounts))
}

/// A token and `count` funded senders; the block of `count` transfers of
/// 1 ([`pairs`]).
fn transfer_block(count: u64, accounts: u64) -> (Vm, Vec<BlockTransaction>) {
    let (vm, token) =
        deployed_on(Vm::builder().monitoring(None), TOKEN, &(count * (count + 10)).to_le_bytes());
    let senders = if accounts == 0 { count } else { accounts };
    for i in 0..senders {
        let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&account(i), count + 5));
        assert!(vm.call(&token, "transfer", &CHAIN, &tx).unwrap().is_ok());
    }
    let block = pairs(count, accounts)
        .into_iter()
        .map(|(from, to)| BlockTransaction::Call {
            address: token,
            method: "transfer".into(),
            tx: Transaction::new(account(from), 1_000_000, transfer_input(&account(to), 1)),
        })
        .collect();
    (vm, block)
}

/// Median wall time of the transfer block on `threads` and on one thread
/// (measured in alternation), and the re-executions of the last parallel
/// run.
fn block_timing(
    make: MakeBlock,
    count: u64,
    accounts: u64,
    threads: usize,
    samples: usize,
) -> (f64, f64, usize) {
    let (mut parallel, mut sequential, mut re_executions) = (Vec::new(), Vec::new(), 0);
    for _ in 0..samples {
        for (threads, times) in [(threads, &mut parallel), (1, &mut sequential)] {
            let (vm, block) = make(count, accounts);
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
/// block executor on one thread, and as plain calls one by one (their
/// results kept, as the block keeps them).
fn block_vs_calls(make: MakeBlock, count: u64, samples: usize) -> (f64, f64) {
    let (mut executor, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        let (vm, block) = make(count, 0);
        let started = Instant::now();
        let outcome = vm.execute_block(&CHAIN, &block, 1).unwrap();
        executor.push(started.elapsed().as_nanos() as f64);
        // Dropped after the timing, as the plain calls' results are.
        std::hint::black_box(outcome);
        let (vm, block) = make(count, 0);
        let started = Instant::now();
        // Each result kept, as a block keeps them (and as a node keeps
        // them for the block's results).
        let (mut native, mut cosmwasm) = (Vec::new(), Vec::new());
        for t in &block {
            match t {
                BlockTransaction::Call { address, method, tx } => {
                    native.push(vm.call(address, method, &CHAIN, tx).unwrap());
                }
                BlockTransaction::CosmwasmCall { contract, entry, message } => {
                    cosmwasm.push(vm.cosmwasm_call_export(contract, entry, message).unwrap());
                }
                _ => unreachable!("blocks of transfers"),
            }
        }
        plain.push(started.elapsed().as_nanos() as f64);
        std::hint::black_box((native, cosmwasm));
    }
    (median(executor), median(plain))
}

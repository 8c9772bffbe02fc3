//! The call path: xwasm against the minimal embedding, and a token transfer.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};
use xwasm::{Status, Transaction, Vm};
use xwasm_benches::{
    CHAIN, EMPTY_CONTRACT, MinimalEmbedding, RECIPIENT, SENDER, TOKEN, deployed, deployed_on, transfer_input,
};

fn empty_call(c: &mut Criterion) {
    let mut group = c.benchmark_group("empty_call");
    let baseline = MinimalEmbedding::new(EMPTY_CONTRACT);
    group.bench_function("minimal_wasmtime", |b| b.iter(|| baseline.call("noop")));
    let (vm, address) = deployed(EMPTY_CONTRACT, &[]);
    let tx = Transaction::new(SENDER, 1_000_000, Vec::new());
    group.bench_function("xwasm", |b| {
        b.iter(|| {
            let outcome = vm.call(&address, "noop", &CHAIN, &tx).expect("runs");
            debug_assert_eq!(outcome.status, Status::Ok);
            black_box(outcome)
        })
    });
    let (vm, address) = deployed_on(Vm::builder().monitoring(None), EMPTY_CONTRACT, &[]);
    group.bench_function("xwasm_unmonitored", |b| {
        b.iter(|| black_box(vm.call(&address, "noop", &CHAIN, &tx).expect("runs")))
    });
    group.finish();
}

fn token_transfer(c: &mut Criterion) {
    let (vm, token) = deployed(TOKEN, &u64::MAX.to_le_bytes());
    let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&RECIPIENT, 1));
    c.bench_function("token_transfer/xwasm", |b| {
        b.iter(|| {
            let outcome = vm.call(&token, "transfer", &CHAIN, &tx).expect("runs");
            debug_assert_eq!(outcome.status, Status::Ok);
            black_box(outcome)
        })
    });
    let (vm, token) = deployed_on(Vm::builder().monitoring(None), TOKEN, &u64::MAX.to_le_bytes());
    c.bench_function("token_transfer/xwasm_unmonitored", |b| {
        b.iter(|| black_box(vm.call(&token, "transfer", &CHAIN, &tx).expect("runs")))
    });
}

/// Monitoring on vs off on the token transfer, each measured while the
/// other runs in between: every timed call of one VM is followed by an
/// untimed call of the other, so both see the same machine and the same
/// heap. (Separate runs on a shared machine drift by more than the 5%
/// being measured.)
fn monitoring_interleaved(c: &mut Criterion) {
    let on = deployed(TOKEN, &u64::MAX.to_le_bytes());
    let off = deployed_on(Vm::builder().monitoring(None), TOKEN, &u64::MAX.to_le_bytes());
    let tx = Transaction::new(SENDER, 1_000_000, transfer_input(&RECIPIENT, 1));
    let transfer =
        |(vm, token): &(Vm, xwasm::Address)| vm.call(token, "transfer", &CHAIN, &tx).expect("runs");
    let mut group = c.benchmark_group("monitoring_interleaved");
    for (name, timed, other) in [("transfer_on", &on, &off), ("transfer_off", &off, &on)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    black_box(transfer(timed));
                    total += started.elapsed();
                    black_box(transfer(other));
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, empty_call, token_transfer, monitoring_interleaved);
criterion_main!(benches);

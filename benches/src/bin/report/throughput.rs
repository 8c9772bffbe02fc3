//! Section 7: calls per second on every core against one, for xwasm and
//! for a minimal wasmtime embedding.

use crate::{Row, Settings};
use std::time::Instant;
use xwasm::{Transaction, Vm};
use xwasm_benches::{CHAIN, MinimalEmbedding, RECIPIENT, SENDER, TOKEN, deployed_on};

/// The throughput rows, against `baseline` (a minimal wasmtime embedding).
pub(crate) fn measure(settings: Settings, baseline: &MinimalEmbedding, rows: &mut Vec<Row>) {
    let Settings { scale, cores, .. } = settings;
    // 7. Throughput on every core vs one.
    let (vm, token) = deployed_on(Vm::builder().monitoring(None), TOKEN, &u64::MAX.to_le_bytes());
    let calls = 2_000 * scale;
    let throughput = |threads: usize| {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let tx = Transaction::new(SENDER, 1_000_000, RECIPIENT.0.to_vec());
                    for _ in 0..calls {
                        std::hint::black_box(vm.call(&token, "balance_of", &CHAIN, &tx).unwrap());
                    }
                });
            }
        });
        (threads * calls) as f64 / started.elapsed().as_secs_f64()
    };
    let one = throughput(1);
    let all = throughput(cores);
    let minimal_throughput = |threads: usize| {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..calls {
                        baseline.call("noop");
                    }
                });
            }
        });
        (threads * calls) as f64 / started.elapsed().as_secs_f64()
    };
    let (minimal_one, minimal_all) = (minimal_throughput(1), minimal_throughput(cores));
    rows.push(Row {
        name: "  minimal wasmtime, all cores vs one".into(),
        what: format!("{cores} cores: {:.0}/s vs {:.0}/s", minimal_all, minimal_one),
        value: minimal_all / minimal_one,
        unit: "x",
        target: "(reference)",
        met: None,
    });
    rows.push(Row {
        name: "throughput: all cores vs one".into(),
        what: format!("{cores} cores: {:.0}/s vs {:.0}/s", all, one),
        value: all / one,
        unit: "x",
        target: "≥ 0.8 × cores",
        met: Some(all / one >= 0.8 * cores as f64),
    });
}

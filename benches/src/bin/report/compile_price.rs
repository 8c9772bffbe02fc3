//! Section 9: compile work against the price a deployment pays for it,
//! the worst module the default policy accepts against the corpus.

use crate::Row;
use crate::measure::median_ns;
use xwasm::engine::{EngineConfig, Strategy};
use xwasm_benches::EMPTY_CONTRACT;

/// The compile-price rows, under Cranelift and Winch.
pub(crate) fn measure(quick: bool, rows: &mut Vec<Row>) {
    // 9. Compile work against the price a deployment pays for it (its
    // bytes, functions and locals): the worst module the default policy
    // accepts, against the corpus contracts, in nanoseconds per gas paid.
    // Deployments are priced for Cranelift, the default (the ≤ 2x target);
    // Winch compiles the corpus about 7x faster, so its row is a figure.
    for (strategy, name, target) in [
        (
            Strategy::Cranelift,
            "compile time per gas paid: worst accepted module vs corpus (Cranelift)",
            "≤ 2x",
        ),
        (Strategy::Winch, "compile time per gas paid: worst accepted module vs corpus (Winch)", "-"),
    ] {
        let work = compile_work(strategy, quick);
        let ratio = work.worst_ns_per_gas / work.corpus_ns_per_gas;
        rows.push(Row {
            name: name.into(),
            what: format!(
                "{}: {:.3} vs {:.3} ns per gas",
                work.worst, work.worst_ns_per_gas, work.corpus_ns_per_gas
            ),
            value: ratio,
            unit: "x",
            target,
            met: (target != "-").then_some(ratio <= 2.0),
        });
    }
}

/// Compile time per gas paid under one strategy: the corpus contracts'
/// median, and the worst compile bomb at the default policy's limits.
struct CompileWork {
    corpus_ns_per_gas: f64,
    worst: &'static str,
    worst_ns_per_gas: f64,
}

/// Measures [`CompileWork`] under `strategy`; every bomb is checked to be
/// accepted by the default limits.
fn compile_work(strategy: Strategy, quick: bool) -> CompileWork {
    use xwasm::security::{ModuleLimits, ModulePolicy, Profile};
    use xwasm_fuzzing::bombs;
    let engine = xwasm::engine::build_engine(&EngineConfig { strategy, ..Default::default() }).unwrap();
    let policy = ModulePolicy::new(Profile::Permissive, Vec::new());
    let schedule = xwasm::host::GasSchedule::default();
    let runs = if quick { 1 } else { 3 };
    let ns_per_gas = |wasm: &[u8]| {
        let info = policy.check(wasm).expect("accepted by the default limits");
        let price = schedule.deployment(wasm.len(), false)
            + schedule.deployment_items(info.function_count.into(), info.locals);
        let prepared = policy.preprocess(wasm).unwrap();
        let ns = median_ns(runs, 1, || {
            std::hint::black_box(xwasm::aot::compile(&engine, &prepared).unwrap());
        });
        ns / price as f64
    };
    let dir = format!("{}/../../shared/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut corpus: Vec<f64> = ["hackatom.wasm", "cyberpunk.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm"]
        .iter()
        .filter_map(|name| std::fs::read(format!("{dir}/{name}")).ok())
        .map(|wasm| ns_per_gas(&wasm))
        .collect();
    corpus.sort_by(f64::total_cmp);
    let corpus_ns_per_gas = corpus.get(corpus.len() / 2).copied().unwrap_or(f64::NAN);
    let limits = ModuleLimits::default();
    let body = limits.max_function_body_bytes as usize - 64;
    let bombs: Vec<(&'static str, Vec<u8>)> = vec![
        ("the empty contract", wat::parse_str(EMPTY_CONTRACT).unwrap()),
        ("register pressure at the body limit", bombs::register_pressure(512, body)),
        ("nesting at the limit", bombs::deep_nesting(limits.max_nesting_depth as usize - 1, 64)),
        ("br_tables at the limit", bombs::wide_br_table(limits.max_br_table_targets as usize, 8)),
        ("locals at both limits", bombs::many_locals(4_096, 16)),
        ("the most functions", bombs::many_functions(limits.max_functions as usize - 1)),
        ("1,000 functions in a small module", bombs::many_functions(1_000)),
    ];
    let mut work = CompileWork { corpus_ns_per_gas, worst: "", worst_ns_per_gas: 0.0 };
    for (name, wasm) in bombs {
        let ns = ns_per_gas(&wasm);
        if ns > work.worst_ns_per_gas {
            (work.worst, work.worst_ns_per_gas) = (name, ns);
        }
    }
    work
}

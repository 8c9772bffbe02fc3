//! Compile cost per byte: the corpus contracts against the bombs, under
//! Cranelift and Winch, and the execution speed of metered code (ns per
//! gas), which together price a byte compiled in gas.
//!
//! `cargo run --release -p xwasm-benches --example compile_probe [-- SCALE]`

use std::time::Instant;
use xwasm::engine::{EngineConfig, Strategy, build_engine};

fn main() {
    let scale: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(64);
    let corpus = format!("{}/../../shared/corpus", env!("CARGO_MANIFEST_DIR"));
    let mut modules: Vec<(String, Vec<u8>)> =
        ["hackatom.wasm", "cyberpunk.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm"]
            .iter()
            .map(|name| {
                (name.to_string(), std::fs::read(format!("{corpus}/{name}")).expect("corpus contract"))
            })
            .collect();
    modules.extend(xwasm_fuzzing::bombs::all_at(scale).into_iter().map(|(n, w)| (n.to_string(), w)));
    for kib in [128, 256, 512, 1024] {
        modules.push((format!("huge function {kib} KiB"), xwasm_fuzzing::bombs::huge_function(kib << 10)));
    }
    for kib in [64, 256, 1024] {
        modules
            .push((format!("pressure {kib} KiB"), xwasm_fuzzing::bombs::register_pressure(512, kib << 10)));
    }
    for (locals, functions) in [(4_096, 16), (50_000, 1)] {
        modules.push((
            format!("{functions} x {locals} locals"),
            xwasm_fuzzing::bombs::many_locals(locals, functions),
        ));
    }
    for strategy in [Strategy::Cranelift, Strategy::Winch] {
        let engine = build_engine(&EngineConfig { strategy, ..Default::default() }).unwrap();
        for (name, wasm) in &modules {
            let started = Instant::now();
            let result = wasmtime::Module::new(&engine, wasm);
            let took = started.elapsed();
            println!(
                "{strategy:?}\t{name}\t{} bytes\t{:.1} ms\t{:.0} ns/byte\t{}",
                wasm.len(),
                took.as_secs_f64() * 1e3,
                took.as_nanos() as f64 / wasm.len() as f64,
                result
                    .map(|_| "ok".to_owned())
                    .unwrap_or_else(|e| format!("{e:#}").chars().take(80).collect())
            );
        }
    }
    // Metered execution: ns per gas on the loop kernel.
    let vm = xwasm::Vm::builder().profile(xwasm::security::Profile::Permissive).build().unwrap();
    let wasm = wat::parse_str(xwasm_benches::MIX).unwrap();
    let run = |rounds: i32| {
        let started = Instant::now();
        let run = vm.run_function(&wasm, "mix", &[xwasm::Val::I32(rounds)], 10_000_000_000).unwrap();
        (started.elapsed(), run.outcome.gas_used)
    };
    run(100);
    for rounds in [2_000, 20_000, 200_000] {
        let (took, gas) = run(rounds);
        println!(
            "metered mix, {rounds} rounds: {gas} gas in {:.2} ms: {:.3} ns per gas",
            took.as_secs_f64() * 1e3,
            took.as_nanos() as f64 / gas as f64
        );
    }
}

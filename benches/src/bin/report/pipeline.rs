//! The optimization pipeline's passes, each switched on and off (printed
//! after the table, and written with the report).

use crate::measure::{human_ns, median_ns};
use xwasm::Vm;
use xwasm::engine::EngineConfig;

/// The optimization pipeline's passes, each switched on and off: Cranelift
/// opt level and stripping custom sections, on the corpus contracts
/// (compile time, artifact size) and on the loop kernel (run time).
pub(crate) fn optimization_pipeline(quick: bool, kernel: &[u8], arg: i32) -> serde_json::Value {
    use xwasm::engine::OptLevel;
    use xwasm::security::preprocess::RewriteOptions;
    let corpus_dir = format!("{}/../../shared/corpus", env!("CARGO_MANIFEST_DIR"));
    let names: &[&str] = if quick {
        &["hackatom.wasm"]
    } else {
        &["hackatom.wasm", "cyberpunk.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm"]
    };
    let mut rows = Vec::new();
    println!("\n### Optimization pipeline\n");
    println!("| contract | opt level | strip custom sections | compile | artifact | kernel run |");
    println!("|---|---|---|---|---|---|");
    for name in names {
        let Ok(wasm) = std::fs::read(format!("{corpus_dir}/{name}")) else { continue };
        for opt in [OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize] {
            let engine =
                xwasm::engine::build_engine(&EngineConfig { opt_level: opt, ..Default::default() }).unwrap();
            let kernel_vm = Vm::builder()
                .engine(EngineConfig { opt_level: opt, ..Default::default() })
                .profile(xwasm::security::Profile::Permissive)
                .monitoring(None)
                .build()
                .unwrap();
            let run = median_ns(5, 1, || {
                std::hint::black_box(
                    kernel_vm.run_function(kernel, "mix", &[xwasm::Val::I32(arg)], u64::MAX / 4).unwrap(),
                );
            });
            for strip in [false, true] {
                let mut policy =
                    xwasm::security::ModulePolicy::new(xwasm::security::Profile::Permissive, Vec::new());
                policy.rewrite = RewriteOptions { strip_custom_sections: strip, ..RewriteOptions::default() };
                let prepared = policy.preprocess(&wasm).unwrap();
                let compile = median_ns(3, 1, || {
                    std::hint::black_box(xwasm::aot::compile(&engine, &prepared).unwrap());
                });
                let artifact = xwasm::aot::precompile(&engine, &prepared).unwrap().len();
                println!(
                    "| {name} | {opt:?} | {strip} | {} | {:.0} KiB | {} |",
                    human_ns(compile),
                    artifact as f64 / 1024.0,
                    human_ns(run)
                );
                rows.push(serde_json::json!({
                    "contract": name, "opt_level": format!("{opt:?}"), "strip": strip,
                    "compile_ns": compile, "artifact_bytes": artifact, "kernel_run_ns": run,
                }));
            }
        }
    }
    serde_json::Value::Array(rows)
}

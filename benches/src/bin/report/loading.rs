//! Section 5: getting a corpus contract's code ready: a disk-tier hit
//! against a cold compile, a memory-tier hit, batch precompilation on every
//! core, and Winch's compile time against Cranelift's.

use crate::measure::{human_ns, median_ns};
use crate::{Row, Settings};
use std::sync::Arc;
use std::time::Instant;
use xwasm::cache::{ArtifactCache, ArtifactStore, MemoryTier, MemoryTierConfig};
use xwasm::engine::{EngineConfig, Strategy};

/// The code-loading rows (none when the corpus is not there).
pub(crate) fn measure(settings: Settings, rows: &mut Vec<Row>) {
    let Settings { quick, samples, cores, .. } = settings;
    // 5. Disk tier vs cold compile, memory tier, on a corpus contract.
    let corpus = format!("{}/../../shared/corpus/hackatom.wasm", env!("CARGO_MANIFEST_DIR"));
    if let Ok(hackatom) = std::fs::read(&corpus) {
        let engine = xwasm::engine::build_engine(&EngineConfig::default()).unwrap();
        let policy = xwasm::security::ModulePolicy::new(xwasm::security::Profile::Permissive, Vec::new());
        let prepared = policy.preprocess(&hackatom).unwrap();
        let cold = median_ns(if quick { 3 } else { 5 }, 1, || {
            std::hint::black_box(xwasm::aot::compile(&engine, &prepared).unwrap());
        });
        let dir = std::env::temp_dir().join(format!("xwasm-report-{}", std::process::id()));
        let store = ArtifactStore::open(&dir, xwasm::artifact_namespace(&engine, &policy), 1 << 30).unwrap();
        let hash = xwasm::security::code_hash(&hackatom);
        store.insert(&hash, &xwasm::aot::precompile(&engine, &prepared).unwrap());
        let disk = median_ns(samples, 3, || {
            let artifact = store.get(&hash).unwrap();
            // SAFETY: verified by the disk tier's checksum; written above.
            std::hint::black_box(unsafe { xwasm::aot::load_precompiled(&engine, &artifact) }.unwrap());
        });
        let _ = std::fs::remove_dir_all(&dir);
        rows.push(Row {
            name: "disk-tier hit vs cold compile (hackatom)".into(),
            what: format!("{} vs {}", human_ns(disk), human_ns(cold)),
            value: cold / disk,
            unit: "x faster",
            target: "≥ 50x",
            met: Some(cold / disk >= 50.0),
        });
        let tier: MemoryTier<[u8; 32], Arc<wasmtime::Module>> = MemoryTier::new(MemoryTierConfig::default());
        tier.insert(hash, Arc::new(xwasm::aot::compile(&engine, &prepared).unwrap()), 1);
        let hit = median_ns(samples, 10_000, || {
            std::hint::black_box(tier.get(&hash).unwrap());
        });
        rows.push(Row {
            name: "memory-tier hit".into(),
            what: human_ns(hit),
            value: hit / 1e3,
            unit: "µs",
            target: "≤ 1 µs",
            met: Some(hit <= 1_000.0),
        });

        // Batch precompilation: the corpus on one thread vs every core,
        // each module compiled single-threaded.
        let serial_engine =
            xwasm::engine::build_engine(&EngineConfig { parallel_compilation: false, ..Default::default() })
                .unwrap();
        let names = ["hackatom.wasm", "cyberpunk.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm", "empty.wasm"];
        let dir = format!("{}/../../shared/corpus", env!("CARGO_MANIFEST_DIR"));
        let modules: Vec<Vec<u8>> = names
            .iter()
            .filter_map(|n| std::fs::read(format!("{dir}/{n}")).ok())
            .map(|wasm| policy.preprocess(&wasm).unwrap())
            .collect();
        let slices: Vec<&[u8]> = modules.iter().map(Vec::as_slice).collect();
        let batch = |threads: usize| {
            let started = Instant::now();
            let results = xwasm::aot::precompile_batch(&serial_engine, &slices, threads, &|_, _| {});
            assert!(results.iter().all(Result::is_ok));
            started.elapsed().as_nanos() as f64
        };
        let (one, all) = (batch(1), batch(cores));
        rows.push(Row {
            name: "batch precompile (corpus): all cores vs one".into(),
            what: format!("{cores} cores: {} vs {}", human_ns(all), human_ns(one)),
            value: one / all,
            unit: "x",
            target: "≥ 0.8 × cores",
            met: Some(one / all >= 0.8 * cores as f64),
        });

        // 6. Winch vs Cranelift.
        let winch =
            xwasm::engine::build_engine(&EngineConfig { strategy: Strategy::Winch, ..Default::default() })
                .unwrap();
        let winch_compile = median_ns(if quick { 3 } else { 5 }, 1, || {
            std::hint::black_box(xwasm::aot::compile(&winch, &prepared).unwrap());
        });
        rows.push(Row {
            name: "compile: Winch vs Cranelift (hackatom)".into(),
            what: format!("{} vs {}", human_ns(winch_compile), human_ns(cold)),
            value: cold / winch_compile,
            unit: "x faster",
            target: "-",
            met: None,
        });
    }
}

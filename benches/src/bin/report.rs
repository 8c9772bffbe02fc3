//! The side-by-side performance report: every comparison of the
//! performance targets, measured in one process so the machine's noise
//! cancels, printed as a markdown table and written as JSON
//! (`target/xwasm-report.json`).
//!
//! `cargo run --release -p xwasm-benches --bin report [-- --quick]`

use std::sync::Arc;
use std::time::Instant;
use xwasm::cache::{ArtifactCache, ArtifactStore, MemoryTier, MemoryTierConfig};
use xwasm::engine::{EngineConfig, Strategy};
use xwasm::{Transaction, Vm};
use xwasm_benches::{
    CHAIN, EMPTY_CONTRACT, FIB, MIX, MinimalEmbedding, RECIPIENT, SENDER, TOKEN, deployed_on, transfer_input,
};

/// A large xwasm contract: `functions` arithmetic functions, all called by
/// the method `run`.
fn big_contract(functions: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1)");
    for i in 0..functions {
        wat.push_str(&format!(
            "(func $f{i} (param $x i64) (result i64) (local $i i32)
               (loop $l
                 (local.set $x (i64.add (i64.mul (local.get $x) (i64.const {m})) (i64.const {i})))
                 (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 13))))
                 (local.set $x (i64.rotl (local.get $x) (i64.const 7)))
                 (i64.store (i32.const {offset}) (local.get $x))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
               (local.get $x))",
            m = 6364136223846793005u64 as i64 ^ i as i64,
            offset = (i % 512) * 8
        ));
    }
    wat.push_str("(func (export \"run\") (local $x i64)");
    for i in 0..functions {
        wat.push_str(&format!("(local.set $x (call $f{i} (local.get $x)))"));
    }
    wat.push_str("(i64.store (i32.const 0) (local.get $x)))");
    wat.push(')');
    wat::parse_str(wat).unwrap()
}

/// A run of `function(arg)` of `wasm` on an engine without fuel (the
/// unmetered baseline), in a fresh store.
fn unmetered(wasm: &[u8], function: &str, arg: i32) -> impl FnMut() {
    let mut config = EngineConfig::default().to_wasmtime();
    config.consume_fuel(false).epoch_interruption(false);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let function = function.to_owned();
    move || {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<i32, i64>(&mut store, &function).unwrap();
        std::hint::black_box(f.call(&mut store, arg).unwrap());
    }
}

/// A run of `function(arg)` of `wasm` in wasmi with fuel.
fn wasmi(wasm: &[u8], function: &str, arg: i32) -> impl FnMut() {
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let function = function.to_owned();
    move || {
        let mut store = wasmi::Store::new(&engine, ());
        store.set_fuel(u64::MAX / 4).unwrap();
        let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).unwrap();
        let f = instance.get_typed_func::<i32, i64>(&store, &function).unwrap();
        std::hint::black_box(f.call(&mut store, arg).unwrap());
    }
}

struct Row {
    name: &'static str,
    what: String,
    value: f64,
    unit: &'static str,
    target: &'static str,
    met: Option<bool>,
}

/// The median time of one call of `f`, in nanoseconds, over `samples`
/// batches of `batch` calls.
fn median_ns(samples: usize, batch: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..batch {
        f();
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                f();
            }
            started.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Two workloads measured in alternation, `a` then `b` then `b` then `a`
/// and so on, so that the machine's drift hits both alike: the median
/// time of each per call, and the median of the per-round ratios a / b.
fn paired_ns(samples: usize, batch: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..batch {
            f();
        }
        started.elapsed().as_nanos() as f64 / batch as f64
    };
    time(&mut a);
    time(&mut b);
    let mut rounds: Vec<(f64, f64)> = (0..samples)
        .map(|round| {
            if round % 2 == 0 {
                let ta = time(&mut a);
                (ta, time(&mut b))
            } else {
                let tb = time(&mut b);
                (time(&mut a), tb)
            }
        })
        .collect();
    let ratio = median(rounds.iter().map(|(ta, tb)| ta / tb).collect());
    rounds.sort_by(|x, y| x.0.total_cmp(&y.0));
    let ta = rounds[rounds.len() / 2].0;
    let tb = median(rounds.iter().map(|r| r.1).collect());
    (ta, tb, ratio)
}

/// The median of `values` (the upper one of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn human_ns(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (samples, scale) = if quick { (15, 1) } else { (41, 4) };
    let mut rows = Vec::new();

    // 1. Framework overhead on an empty method.
    // Each pair is measured in alternation (`paired_ns`): the ratios are
    // medians of per-round ratios.
    let baseline = MinimalEmbedding::new(EMPTY_CONTRACT);
    let minimal_call = || {
        baseline.call("noop");
    };
    let (vm, noop) = deployed_on(Vm::builder(), EMPTY_CONTRACT, &[]);
    let tx = Transaction::new(SENDER, 1_000_000, Vec::new());
    let empty_call = || {
        std::hint::black_box(vm.call(&noop, "noop", &CHAIN, &tx).unwrap());
    };
    let (empty, minimal, empty_ratio) = paired_ns(samples, 2_000 * scale, empty_call, minimal_call);
    let (quiet_vm, quiet_noop) = deployed_on(Vm::builder().monitoring(None), EMPTY_CONTRACT, &[]);
    let (empty_quiet, minimal_again, quiet_ratio) = paired_ns(
        samples,
        2_000 * scale,
        || {
            std::hint::black_box(quiet_vm.call(&quiet_noop, "noop", &CHAIN, &tx).unwrap());
        },
        minimal_call,
    );
    rows.push(Row {
        name: "empty call vs minimal wasmtime",
        what: format!("{} vs {}", human_ns(empty), human_ns(minimal)),
        value: empty_ratio,
        unit: "x",
        target: "≤ 1.2x",
        met: Some(empty_ratio <= 1.2),
    });
    rows.push(Row {
        name: "  same, monitoring off",
        what: format!("{} vs {}", human_ns(empty_quiet), human_ns(minimal_again)),
        value: quiet_ratio,
        unit: "x",
        target: "≤ 1.2x",
        met: Some(quiet_ratio <= 1.2),
    });

    // 2. A token transfer against the empty call; monitoring's cost.
    let (vm, token) = deployed_on(Vm::builder(), TOKEN, &u64::MAX.to_le_bytes());
    let transfer = Transaction::new(SENDER, 1_000_000, transfer_input(&RECIPIENT, 1));
    let transfer_call = || {
        std::hint::black_box(vm.call(&token, "transfer", &CHAIN, &transfer).unwrap());
    };
    let (transfer_ns, empty_again, transfer_ratio) =
        paired_ns(samples, 500 * scale, transfer_call, empty_call);
    let (quiet_vm, quiet_token) = deployed_on(Vm::builder().monitoring(None), TOKEN, &u64::MAX.to_le_bytes());
    let (transfer_on, transfer_quiet, monitoring_ratio) =
        paired_ns(samples, 500 * scale, transfer_call, || {
            std::hint::black_box(quiet_vm.call(&quiet_token, "transfer", &CHAIN, &transfer).unwrap());
        });
    rows.push(Row {
        name: "token transfer vs empty call",
        what: format!("{} vs {}", human_ns(transfer_ns), human_ns(empty_again)),
        value: transfer_ratio,
        unit: "x",
        target: "≤ 2x",
        met: Some(transfer_ratio <= 2.0),
    });
    rows.push(Row {
        name: "monitoring on vs off (transfer)",
        what: format!("{} vs {}", human_ns(transfer_on), human_ns(transfer_quiet)),
        value: monitoring_ratio,
        unit: "x",
        target: "≤ 1.05x",
        met: Some(monitoring_ratio <= 1.05),
    });

    // The monitor's share: one record's aggregation, alone.
    let monitor = xwasm::monitor::Monitor::default();
    let record = std::sync::Arc::new(xwasm::monitor::CallRecord {
        unix_ms: 1,
        kind: "call".into(),
        contract: "ab".repeat(32),
        method: "transfer".into(),
        status: "ok".into(),
        gas_used: 4_700,
        gas_limit: 1_000_000,
        host_gas: 4_500,
        instantiate_ns: 900,
        execute_ns: 2_000,
        commit_ns: 300,
        total_ns: 4_000,
        peak_memory_pages: 1,
        cache_tier: "memory".into(),
        compile_ns: None,
        load_ns: 0,
        code_hash: "cd".repeat(32),
        artifact_bytes: 4_096,
        host_calls: ["input_len", "input_read", "caller", "storage_read", "storage_write", "emit_event"]
            .iter()
            .map(|n| xwasm::monitor::HostCallRecord { name: (*n).into(), calls: 1, gas: 100, nanos: 50 })
            .collect(),
    });
    let aggregate = median_ns(samples, 5_000 * scale, || {
        use xwasm::monitor::Observer;
        monitor.record(&record);
    });
    let no_history = xwasm::monitor::MonitorConfig { history_capacity: 0, ..Default::default() };
    let (h_vm, h_token) =
        deployed_on(Vm::builder().monitoring(Some(no_history)), TOKEN, &u64::MAX.to_le_bytes());
    let (transfer_no_history, _, no_history_ratio) = paired_ns(
        samples,
        500 * scale,
        || {
            std::hint::black_box(h_vm.call(&h_token, "transfer", &CHAIN, &transfer).unwrap());
        },
        || {
            std::hint::black_box(quiet_vm.call(&quiet_token, "transfer", &CHAIN, &transfer).unwrap());
        },
    );
    rows.push(Row {
        name: "  transfer, monitor without history",
        what: human_ns(transfer_no_history),
        value: no_history_ratio,
        unit: "x",
        target: "-",
        met: None,
    });
    rows.push(Row {
        name: "  monitor: aggregating one record",
        what: human_ns(aggregate),
        value: aggregate / transfer_quiet,
        unit: "of a transfer",
        target: "(part of the 5%)",
        met: None,
    });

    // 3. Metered vs unmetered compute, and 4. against wasmi: a
    // loop-heavy kernel, and call-heavy recursion (the worst case for the
    // per-call stack accounting).
    let metered_vm = Vm::builder().profile(xwasm::security::Profile::Permissive).build().unwrap();
    let xwasm_run = |wasm: Vec<u8>, function: &'static str, arg: i32| {
        let vm = &metered_vm;
        move || {
            let run = vm.run_function(&wasm, function, &[xwasm::Val::I32(arg)], u64::MAX / 4).unwrap();
            assert_eq!(run.outcome.status, xwasm::Status::Ok);
        }
    };
    // (kernel, function, argument, its two rows' names)
    let kernels = [
        (MIX, "mix", 20_000, "metered vs unmetered (loop kernel)", "xwasm vs wasmi with fuel (loop kernel)"),
        (FIB, "fib", 25, "metered vs unmetered (fib 25, call-heavy)", "xwasm vs wasmi with fuel (fib 25)"),
    ];
    for (wat, function, arg, metering_row, wasmi_row) in kernels {
        let wasm = wat::parse_str(wat).unwrap();
        let (metered, plain, ratio) =
            paired_ns(9, 1, xwasm_run(wasm.clone(), function, arg), unmetered(&wasm, function, arg));
        let (interpreted, metered_again, slower) =
            paired_ns(5, 1, wasmi(&wasm, function, arg), xwasm_run(wasm.clone(), function, arg));
        rows.push(Row {
            name: metering_row,
            what: format!("{} vs {}", human_ns(metered), human_ns(plain)),
            value: ratio,
            unit: "x",
            target: "≤ 1.3x",
            met: Some(ratio <= 1.3),
        });
        // A reference, not a target: unmetered wasmtime is itself only
        // about 9.5x faster than wasmi 2 on the loop kernel here, so no
        // meter could reach 10x; metered vs unmetered is the target.
        rows.push(Row {
            name: wasmi_row,
            what: format!("{} vs {}", human_ns(metered_again), human_ns(interpreted)),
            value: slower,
            unit: "x faster",
            target: "(reference)",
            met: None,
        });
    }

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
            name: "disk-tier hit vs cold compile (hackatom)",
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
            name: "memory-tier hit",
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
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (one, all) = (batch(1), batch(cores));
        rows.push(Row {
            name: "batch precompile (corpus): all cores vs one",
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
            name: "compile: Winch vs Cranelift (hackatom)",
            what: format!("{} vs {}", human_ns(winch_compile), human_ns(cold)),
            value: cold / winch_compile,
            unit: "x faster",
            target: "-",
            met: None,
        });
    }
    let winch_vm = Vm::builder()
        .engine(EngineConfig { strategy: Strategy::Winch, ..Default::default() })
        .profile(xwasm::security::Profile::Permissive)
        .build()
        .unwrap();
    let fib_wasm = wat::parse_str(FIB).unwrap();
    let (winch_run, cranelift_run, winch_ratio) = paired_ns(
        7,
        3,
        || {
            std::hint::black_box(
                winch_vm.run_function(&fib_wasm, "fib", &[xwasm::Val::I32(25)], u64::MAX / 4).unwrap(),
            );
        },
        xwasm_run(fib_wasm.clone(), "fib", 25),
    );
    rows.push(Row {
        name: "execute: Winch vs Cranelift (fib 25)",
        what: format!("{} vs {}", human_ns(winch_run), human_ns(cranelift_run)),
        value: winch_ratio,
        unit: "x slower",
        target: "-",
        met: None,
    });

    // Tiered compilation: the first call of a new, large contract waits
    // for Winch instead of Cranelift.
    let big = big_contract(400);
    let first_call = |tiered: bool| {
        let vm = Vm::builder()
            .config(xwasm::VmConfig { tiered, ..Default::default() })
            .monitoring(None)
            .build()
            .unwrap();
        let started = Instant::now();
        let deployed = vm.deploy(&big, &CHAIN, &Transaction::new(SENDER, 1_000_000_000, Vec::new())).unwrap();
        let outcome = vm
            .call(
                &deployed.address.unwrap(),
                "run",
                &CHAIN,
                &Transaction::new(SENDER, 10_000_000, Vec::new()),
            )
            .unwrap();
        assert_eq!(outcome.status, xwasm::Status::Ok);
        started.elapsed().as_nanos() as f64
    };
    let (tiered_first, cranelift_first) = (first_call(true), first_call(false));
    rows.push(Row {
        name: "first deploy + call of a new contract: tiered vs Cranelift",
        what: format!(
            "{} KiB: {} vs {}",
            big.len() / 1024,
            human_ns(tiered_first),
            human_ns(cranelift_first)
        ),
        value: cranelift_first / tiered_first,
        unit: "x faster",
        target: "-",
        met: None,
    });

    // 7. Throughput on every core vs one.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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
        name: "  minimal wasmtime, all cores vs one",
        what: format!("{cores} cores: {:.0}/s vs {:.0}/s", minimal_all, minimal_one),
        value: minimal_all / minimal_one,
        unit: "x",
        target: "(reference)",
        met: None,
    });
    rows.push(Row {
        name: "throughput: all cores vs one",
        what: format!("{cores} cores: {:.0}/s vs {:.0}/s", all, one),
        value: all / one,
        unit: "x",
        target: "≥ 0.8 × cores",
        met: Some(all / one >= 0.8 * cores as f64),
    });

    // 8. Memory.
    let statm = || -> f64 {
        std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            * 4096.0
    };
    let before = statm();
    let many = Vm::builder().monitoring(None).build().unwrap();
    let count = 50;
    for i in 0..count {
        let wat =
            format!(r#"(module (memory (export "memory") 1) (func (export "m{i}") (drop (i32.const {i}))))"#);
        let wasm = wat::parse_str(wat).unwrap();
        many.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, 100_000_000, Vec::new())).unwrap();
    }
    let per_module = (statm() - before) / count as f64;
    rows.push(Row {
        name: "resident memory per cached small module",
        what: format!("{:.1} KiB", per_module / 1024.0),
        value: per_module / 1024.0,
        unit: "KiB",
        target: "-",
        met: None,
    });
    let slot = EngineConfig::default().max_memory_bytes as f64;
    rows.push(Row {
        name: "address space per pooled instance slot",
        what: format!("{:.0} MiB reserved, resident only when touched", slot / 1048576.0),
        value: slot / 1048576.0,
        unit: "MiB",
        target: "-",
        met: None,
    });

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
            name,
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

    print_table(&rows, quick);
    let pipeline = optimization_pipeline(quick, &wat::parse_str(MIX).unwrap(), 20_000);
    let json: Vec<_> = rows
        .iter()
        .map(|r| serde_json::json!({"name": r.name.trim(), "measured": r.what, "value": r.value, "unit": r.unit, "target": r.target, "met": r.met}))
        .collect();
    let out = format!("{}/../target/xwasm-report.json", env!("CARGO_MANIFEST_DIR"));
    let report = serde_json::json!({"quick": quick, "cores": cores, "rows": json, "pipeline": pipeline});
    if std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).is_ok() {
        println!("\nwritten to {out}");
    }
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

/// The optimization pipeline's passes, each switched on and off: Cranelift
/// opt level and stripping custom sections, on the corpus contracts
/// (compile time, artifact size) and on the loop kernel (run time).
fn optimization_pipeline(quick: bool, kernel: &[u8], arg: i32) -> serde_json::Value {
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

fn print_table(rows: &[Row], quick: bool) {
    println!("| comparison | measured | ratio | target | met |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        println!("| {} | {} | {:.2} {} | {} | {} |", r.name.trim(), r.what, r.value, r.unit, r.target, met);
    }
    if quick {
        println!("\n(--quick: fewer samples)");
    }
}

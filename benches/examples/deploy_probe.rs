//! Where a cold CosmWasm deployment spends its time, part by part.
//!
//! `cargo run --release -p xwasm-benches --example deploy_probe [rewrite]`
use std::time::Instant;
fn main() {
    let wasm = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
    let t = |name: &str, runs: u32, f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..runs {
            f();
        }
        println!("{name:<32} {:>8.2} ms", started.elapsed().as_secs_f64() * 1e3 / runs as f64);
    };
    let caps = xwasm::cosmwasm::default_capabilities();
    let limits = xwasm::cosmwasm::WasmLimits::default();
    t("code hash (SHA-256)", 20, &mut || {
        std::hint::black_box(xwasm::security::code_hash(wasm));
    });
    t("cosmwasm check_wasm", 20, &mut || drop(xwasm::cosmwasm::check_wasm(wasm, &caps, &limits)));
    let mut config = xwasm::VmConfig { tiered: true, ..xwasm::VmConfig::default() };
    // A small pool, so that valgrind can run it.
    if let Some(pooling) = config.engine.pooling.as_mut() {
        pooling.total_instances = 16;
        // The memory cap reserved, not 4 GiB: valgrind cannot reserve
        // that much (the code then keeps its bounds checks).
        pooling.memory_reservation_bytes = xwasm::engine::DEFAULT_MAX_MEMORY_BYTES;
    }
    let vm = xwasm::Vm::builder().config(config.clone()).build().unwrap();
    let policy = vm.loader().cosmwasm_policy().clone();
    t("policy check", 20, &mut || drop(policy.check(wasm)));
    t("policy check (stored code)", 20, &mut || drop(policy.check_stored(wasm)));
    t("rewrite", 20, &mut || drop(vm.rewrite_for_compile(wasm)));
    // What `xwasm precompile` prepares per module: the code to compile and
    // the description kept beside its artifact.
    t("rewrite, then describe", 20, &mut || {
        drop(vm.rewrite_for_compile(wasm));
        drop(vm.loader().sidecar_for(wasm));
    });
    t("precompile's preparation", 20, &mut || drop(vm.loader().prepare_for_disk(wasm)));
    // `deploy_probe rewrite`: the rewrite alone (for callgrind).
    if std::env::args().nth(1).as_deref() == Some("rewrite") {
        return;
    }
    let rewritten = vm.rewrite_for_compile(wasm).unwrap();
    // The tiered VM's baseline engine: Winch compiles the functions,
    // Cranelift the trampolines (unoptimized there).
    let winch = xwasm::engine::build_engine(&config.engine.baseline().unwrap()).unwrap();
    t("winch compile", 10, &mut || drop(wasmtime::Module::new(&winch, &rewritten).unwrap()));
    // `deploy_probe original`: the code as it came, not rewritten (what the
    // rewrite adds to the compile), then stop.
    if std::env::args().nth(1).as_deref() == Some("original") {
        t("winch compile (not rewritten)", 10, &mut || drop(wasmtime::Module::new(&winch, wasm).unwrap()));
        return;
    }
    let optimized = xwasm::engine::build_engine(&xwasm::engine::EngineConfig {
        strategy: xwasm::engine::Strategy::Winch,
        ..config.engine.clone()
    })
    .unwrap();
    t("winch compile (trampolines optimized)", 10, &mut || {
        drop(wasmtime::Module::new(&optimized, &rewritten).unwrap())
    });
    let mut n = 0;
    let init = br#"{"verifier":"cosmwasm1pu6qnztwn8w95j903786aqstj3smhxysenasp3rkhdfw06e9vrjs2rlx8w","beneficiary":"cosmwasm1pu6qnztwn8w95j903786aqstj3smhxysenasp3rkhdfw06e9vrjs2rlx8w"}"#;
    t("deploy (tiered, fresh VM)", 5, &mut || {
        n += 1;
        let dir = std::env::temp_dir().join(format!("deploy-probe-{}-{n}", std::process::id()));
        let vm = xwasm::Vm::builder().config(config.clone()).cache_dir(&dir).build().unwrap();
        let message = xwasm::CosmwasmMessage::new(
            xwasm::cosmwasm::Bech32Api::default().addr_make("c"),
            init.to_vec(),
            1_000_000_000_000,
        );
        let started = Instant::now();
        vm.cosmwasm_instantiate(wasm, &message, None).unwrap();
        println!("  one deploy {:.2} ms", started.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(std::time::Duration::from_millis(800));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

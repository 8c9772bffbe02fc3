//! Where a cold deployment of hackatom (tiered) spends its time: the
//! checks, the rewrite, Winch's compile of the rewritten code and of the
//! code as it came, and a whole deployment.
//! `LOOP=check|rewrite|winch N=..` repeats one step (`winch`: the rewrite
//! and Winch's compile of its output), for a profiler.
use std::time::Instant;
use xwasm::cosmwasm::CosmwasmMessage;
fn main() {
    let wasm = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
    let n = 10;
    let t = |name: &str, f: &mut dyn FnMut()| {
        let mut v = Vec::new();
        for _ in 0..n {
            let s = Instant::now();
            f();
            v.push(s.elapsed().as_secs_f64() * 1e3);
        }
        v.sort_by(f64::total_cmp);
        println!("{name:<28} {:>8.2} ms (min {:.2})", v[n / 2], v[0]);
    };
    let caps = xwasm::cosmwasm::default_capabilities();
    let limits = xwasm::cosmwasm::WasmLimits::default();
    let mut config = xwasm::VmConfig::default();
    config.tiered = true;
    if let Ok(what) = std::env::var("LOOP") {
        // No pool: valgrind cannot reserve its address space.
        config.engine.pooling = None;
        let vm = xwasm::Vm::builder().config(config.clone()).build().unwrap();
        let winch = xwasm::engine::build_engine(&config.engine.baseline().unwrap()).unwrap();
        for _ in 0..std::env::var("N").map_or(200, |n| n.parse().unwrap()) {
            match what.as_str() {
                "check" => drop(xwasm::cosmwasm::check_wasm(wasm, &caps, &limits)),
                "winch" => {
                    let rewritten = vm.rewrite_for_compile(wasm).unwrap();
                    drop(wasmtime::Module::new(&winch, &rewritten).unwrap());
                }
                _ => drop(vm.rewrite_for_compile(wasm)),
            }
        }
        return;
    }
    let vm = xwasm::Vm::builder().config(config.clone()).build().unwrap();
    t("sha256", &mut || {
        std::hint::black_box(xwasm::security::code_hash(wasm));
    });
    t("check_wasm", &mut || drop(xwasm::cosmwasm::check_wasm(wasm, &caps, &limits)));
    t("rewrite (check+rewrite)", &mut || drop(vm.rewrite_for_compile(wasm)));
    let policy = vm.loader().cosmwasm_policy().clone();
    t("describe (check_stored)", &mut || drop(policy.check_stored(wasm)));
    t("preprocess (analysis+rw)", &mut || drop(policy.preprocess(wasm)));
    let rewritten = vm.rewrite_for_compile(wasm).unwrap();
    let winch = xwasm::engine::build_engine(&config.engine.baseline().unwrap()).unwrap();
    t("winch compile rewritten", &mut || drop(wasmtime::Module::new(&winch, &rewritten).unwrap()));
    t("winch compile original", &mut || drop(wasmtime::Module::new(&winch, wasm).unwrap()));
    let api = cosmwasm_std::testing::MockApi::default();
    let creator = api.addr_make("creator").to_string();
    let init = format!(r#"{{"verifier":"{}","beneficiary":"{}"}}"#, api.addr_make("v"), api.addr_make("b"));
    let dir = tempfile::tempdir().unwrap();
    let mut v = Vec::new();
    for k in 0..n {
        let vm = xwasm::Vm::builder()
            .config(config.clone())
            .cache_dir(dir.path().join(format!("c{k}")))
            .build()
            .unwrap();
        let m = CosmwasmMessage::new(&creator, init.as_bytes(), 1_000_000_000_000);
        let s = Instant::now();
        vm.cosmwasm_instantiate(wasm, &m, None).unwrap();
        v.push(s.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(std::time::Duration::from_millis(800));
    }
    v.sort_by(f64::total_cmp);
    println!("{:<28} {:>8.2} ms (min {:.2})", "cosmwasm_instantiate cold", v[n / 2], v[0]);
}

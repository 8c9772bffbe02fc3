//! Where a CosmWasm contract's load from the disk tier spends its time.
use std::time::Instant;
fn main() {
    let wasm = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
    let t = |name: &str, f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..20 {
            f();
        }
        println!("{name:<24} {:>8.1} µs", started.elapsed().as_secs_f64() * 1e6 / 20.0);
    };
    let caps = xwasm::cosmwasm::default_capabilities();
    let limits = xwasm::cosmwasm::WasmLimits::default();
    t("sha256", &mut || {
        std::hint::black_box(xwasm::security::code_hash(wasm));
    });
    t("detect", &mut || drop(xwasm::cosmwasm::detect(wasm)));
    t("check_wasm", &mut || drop(xwasm::cosmwasm::check_wasm(wasm, &caps, &limits)));
    let vm = xwasm::Vm::builder().build().unwrap();
    let policy = vm.policy().clone();
    t("policy.check (native)", &mut || drop(policy.check(wasm)));
    t("rewrite", &mut || drop(vm.rewrite_for_compile(wasm)));
}

use std::time::Instant;
fn main() {
    let wasm = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
    let mut config = xwasm::VmConfig { tiered: true, ..xwasm::VmConfig::default() };
    if let Some(pooling) = config.engine.pooling.as_mut() {
        pooling.total_instances = 16;
        pooling.memory_reservation_bytes = xwasm::engine::DEFAULT_MAX_MEMORY_BYTES;
    }
    let vm = xwasm::Vm::builder().config(config.clone()).build().unwrap();
    let rewritten = vm.rewrite_for_compile(wasm).unwrap();
    let mut base = config.engine.baseline().unwrap();
    if std::env::var("SERIAL").is_ok() { base.parallel_compilation = false; }
    let winch = xwasm::engine::build_engine(&base).unwrap();
    let runs: u32 = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let started = Instant::now();
    for _ in 0..runs { drop(wasmtime::Module::new(&winch, &rewritten).unwrap()); }
    println!("winch compile {:.2} ms", started.elapsed().as_secs_f64() * 1e3 / runs as f64);
}

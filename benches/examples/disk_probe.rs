//! Where a load from the disk tier spends its time, part by part: what a
//! hit now skips (describing the code, SHA-256, copying the artifact) beside
//! what it does (mapping it), and the whole evict-and-query.
//!
//! `cargo run --release -p xwasm-benches --example disk_probe`
use std::time::Instant;
fn main() {
    let wasm = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
    let t = |name: &str, f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..50 {
            f();
        }
        println!("{name:<28} {:>8.1} µs", started.elapsed().as_secs_f64() * 1e6 / 50.0);
    };
    let caps = xwasm::cosmwasm::default_capabilities();
    let limits = xwasm::cosmwasm::WasmLimits::default();
    let dir = std::env::temp_dir().join(format!("disk-probe-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let vm = xwasm::Vm::builder().cache_dir(&dir).build().unwrap();
    t("cosmwasm check_stored", &mut || drop(xwasm::cosmwasm::check_stored(wasm, &caps, &limits)));
    let policy = vm.loader().cosmwasm_policy().clone();
    t("policy check_stored", &mut || drop(policy.check_stored(wasm)));
    let rewritten = vm.rewrite_for_compile(wasm).unwrap();
    let module = wasmtime::Module::new(vm.engine(), &rewritten).unwrap();
    let artifact = module.serialize().unwrap();
    println!("artifact bytes {}", artifact.len());
    let path = dir.join("a.bin");
    std::fs::write(&path, &artifact).unwrap();
    t("fs::read", &mut || drop(std::hint::black_box(std::fs::read(&path).unwrap())));
    t("sha256 (no longer done)", &mut || {
        std::hint::black_box(xwasm::security::code_hash(&artifact));
    });
    t("deserialize (bytes)", &mut || {
        drop(unsafe { wasmtime::Module::deserialize(vm.engine(), &artifact) }.unwrap())
    });
    t("deserialize_file (mmap)", &mut || {
        drop(unsafe { wasmtime::Module::deserialize_file(vm.engine(), &path) }.unwrap())
    });
    let mut deploy = xwasm::CosmwasmMessage::new(xwasm::cosmwasm::Bech32Api::default().addr_make("c"), br#"{"verifier":"cosmwasm1pu6qnztwn8w95j903786aqstj3smhxysenasp3rkhdfw06e9vrjs2rlx8w","beneficiary":"cosmwasm1pu6qnztwn8w95j903786aqstj3smhxysenasp3rkhdfw06e9vrjs2rlx8w"}"#.to_vec(), 1_000_000_000_000);
    deploy.funds = vec![];
    let done = vm.cosmwasm_instantiate(wasm, &deploy, None).unwrap();
    let address = done.outcome.address.unwrap();
    let hash = vm.contract(&address).unwrap().unwrap().code_hash;
    let env = xwasm::cosmwasm::BlockEnv::default();
    t("evict + query (disk tier)", &mut || {
        vm.evict_code(&hash);
        drop(vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &env, 2_000_000_000).unwrap())
    });
    t("query (memory tier)", &mut || {
        drop(vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &env, 2_000_000_000).unwrap())
    });
}

//! Instance creation, for callgrind: N fresh CosmWasm instances of
//! hackatom (`valgrind --tool=callgrind target/release/examples/instance_probe`).
fn main() {
    let wasm = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
    let mut config = xwasm::VmConfig::default();
    // Valgrind cannot reserve the pool's address space: on-demand instances.
    config.engine.pooling = std::env::var_os("NO_POOL").map_or(config.engine.pooling, |_| None);
    let vm = xwasm::Vm::builder().config(config).build().unwrap();
    let api = xwasm::cosmwasm::Bech32Api::default();
    let v = api.addr_make("verifies");
    let init = format!(r#"{{"verifier":"{v}","beneficiary":"{v}"}}"#);
    let message = xwasm::CosmwasmMessage::new(api.addr_make("creator"), init.into_bytes(), 1_000_000_000_000);
    let address = vm.cosmwasm_instantiate(wasm, &message, None).unwrap().outcome.address.unwrap();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    for _ in 0..n {
        vm.cosmwasm_instance(&address).unwrap();
    }
}

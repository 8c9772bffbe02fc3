//! cyberpunk's argon2 (mem_cost 256, time_cost 5) through xwasm alone,
//! the race's compute-bound row: the median of `N` calls (default 41).
use std::time::Instant;
use xwasm::cosmwasm::{Bech32Api, EntryPoint};
use xwasm::{CosmwasmMessage, Vm};
fn main() {
    let cyberpunk = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/cyberpunk.wasm"))
        .expect("the corpus beside the repository");
    let mut config = xwasm::VmConfig::default();
    if std::env::var("NO_POOL").is_ok() {
        // For valgrind, which cannot reserve the pool's address space.
        config.engine.pooling = None;
    }
    let vm = Vm::builder().config(config).build().unwrap();
    let admin = Bech32Api::default().addr_make("admin");
    let deploy = CosmwasmMessage::new(&admin, b"{}".as_slice(), 1_000_000_000_000);
    let punk = vm.cosmwasm_instantiate(&cyberpunk, &deploy, None).unwrap();
    let address = punk.outcome.address.unwrap();
    let argon2 = br#"{"argon2":{"mem_cost":256,"time_cost":5}}"#;
    let n = std::env::var("N").map_or(41, |n| n.parse().unwrap());
    let mut times = Vec::new();
    for _ in 0..n {
        let message = CosmwasmMessage::new(&admin, argon2.as_slice(), 10_000_000_000_000);
        let started = Instant::now();
        let done = vm.cosmwasm_call(&address, EntryPoint::Execute, &message).unwrap();
        times.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(done.outcome.status == xwasm::Status::Ok, "{:?}", done.outcome.status);
    }
    times.sort_by(f64::total_cmp);
    println!("argon2: median {:.2} ms, min {:.2} ms", times[n / 2], times[0]);
}

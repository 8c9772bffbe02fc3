//! A repeatable call loop to look into with a profiler: `N` token transfers
//! or empty calls, or `N` empty calls in the minimal wasmtime embedding,
//! with the heap allocations per call counted. Monitoring: `on` (the
//! default monitor), `off`, `never` (every call counted, none detailed),
//! `every` (every call detailed) or `nohistory` (the default without a
//! history). Small pool (8 slots) so that valgrind can run it:
//!
//! ```text
//! cargo build --release -p xwasm-benches --example call_probe
//! valgrind --tool=callgrind target/release/examples/call_probe transfer on 2000
//! heaptrack target/release/examples/call_probe transfer off 2000
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use xwasm::monitor::MonitorConfig;
use xwasm::{Transaction, Vm};
use xwasm_benches::{
    CHAIN, EMPTY_CONTRACT, MinimalEmbedding, RECIPIENT, SENDER, TOKEN, deployed_on, transfer_input,
};

/// The system allocator, counting allocations and their bytes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const USAGE: &str = "usage: call_probe transfer|empty|minimal on|off|never|every|nohistory N";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, monitoring, n] = args.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let mut engine = xwasm::engine::EngineConfig::default();
    if let Some(pooling) = engine.pooling.as_mut() {
        pooling.total_instances = 8;
        // The memory cap reserved, not 4 GiB: valgrind cannot reserve
        // that much (the code then keeps its bounds checks).
        pooling.memory_reservation_bytes = xwasm::engine::DEFAULT_MAX_MEMORY_BYTES;
    }
    if what == "minimal" {
        let minimal = MinimalEmbedding::on(&engine, EMPTY_CONTRACT);
        minimal.call("noop");
        let (allocations, bytes) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed));
        for _ in 0..n {
            minimal.call("noop");
        }
        report(what, "off", n, allocations, bytes);
        return;
    }
    let builder = Vm::builder().engine(engine);
    let config = |config: MonitorConfig| Some(config);
    let builder = match monitoring.as_str() {
        "on" => builder,
        "off" => builder.monitoring(None),
        "never" => builder.monitoring(config(MonitorConfig { detail_every: u32::MAX, ..Default::default() })),
        "every" => builder.monitoring(config(MonitorConfig { detail_every: 1, ..Default::default() })),
        "nohistory" => {
            builder.monitoring(config(MonitorConfig { history_capacity: 0, ..Default::default() }))
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let (vm, contract, method, tx) = match what.as_str() {
        "transfer" => {
            let (vm, token) = deployed_on(builder, TOKEN, &u64::MAX.to_le_bytes());
            (vm, token, "transfer", Transaction::new(SENDER, 1_000_000, transfer_input(&RECIPIENT, 1)))
        }
        "empty" => {
            let (vm, noop) = deployed_on(builder, EMPTY_CONTRACT, &[]);
            (vm, noop, "noop", Transaction::new(SENDER, 1_000_000, Vec::new()))
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    // The first call warms the caches; count the rest.
    assert!(vm.call(&contract, method, &CHAIN, &tx).unwrap().is_ok());
    let (allocations, bytes) = (ALLOCATIONS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..n {
        assert!(vm.call(&contract, method, &CHAIN, &tx).unwrap().is_ok());
    }
    report(what, monitoring, n, allocations, bytes);
}

/// Prints the allocations per call since the counts were `allocations`
/// and `bytes`.
fn report(what: &str, monitoring: &str, n: u64, allocations: u64, bytes: u64) {
    let per_call = |total: u64, before: u64| (total - before) as f64 / n.max(1) as f64;
    println!(
        "{what}, monitoring {monitoring}: {:.1} allocations, {:.0} bytes per call",
        per_call(ALLOCATIONS.load(Relaxed), allocations),
        per_call(BYTES.load(Relaxed), bytes)
    );
}

//! Memory stays bounded: 10,000 calls over 200 distinct contracts, with a
//! memory tier whose byte budget (real artifact sizes) holds 20 of them.
//! The tier never holds more than its budget, and resident memory stops
//! growing once the working set has cycled: loads from the disk tier map
//! artifacts and unmap them when their code leaves the tier.
//!
//! Alone in its test binary, so that no other test's allocations move the
//! resident set it measures.

use std::sync::Arc;
use xwasm::{Address, ChainContext, Status, Transaction, Vm, VmConfig};

const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };
const CONTRACTS: usize = 200;
const CALLS: usize = 10_000;
const HELD: usize = 20;
/// Resident memory may grow by at most this between the end of the first
/// tenth of the calls and the end of the run.
const GROWTH_BOUND: u64 = 48 << 20;

/// A distinct contract: its data segment names it.
fn contract(i: usize) -> Vec<u8> {
    let wat = format!(
        r#"(module (memory (export "memory") 1)
            (global $n (mut i64) (i64.const {i}))
            (func (export "ping") (global.set $n (i64.add (global.get $n) (i64.const 1))))
            (func (export "spin") (local $k i32)
                (loop $l (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $k) (i32.const {i})))))
            (data (i32.const 0) "contract {i}"))"#
    );
    wat::parse_str(wat).unwrap()
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn ten_thousand_calls_over_two_hundred_contracts_stay_in_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn xwasm::store::StateBackend> = Arc::new(xwasm::store::MemoryBackend::new());
    let build = |budget: usize| {
        let config = VmConfig { cache_bytes: budget, cache_entries: usize::MAX, ..VmConfig::default() };
        Vm::builder().config(config).backend(backend.clone()).cache_dir(dir.path()).build().unwrap()
    };
    // Deploy every contract (each compiled once, its artifact on disk).
    let deployer = build(usize::MAX);
    let sender = Address([7; 32]);
    let mut addresses = Vec::new();
    for i in 0..CONTRACTS {
        let deployed =
            deployer.deploy(&contract(i), &CHAIN, &Transaction::new(sender, 10_000_000, vec![])).unwrap();
        assert_eq!(deployed.status, Status::Ok, "{:?}", deployed.error);
        addresses.push(deployed.address.unwrap());
    }
    let (entries, bytes) = deployer.loader().memory_usage();
    assert_eq!(entries, CONTRACTS);
    let per_contract = bytes / entries;
    drop(deployer);

    // A node whose memory tier holds 20 of them.
    let budget = per_contract * HELD + per_contract / 2;
    let vm = build(budget);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut baseline = 0;
    for call in 0..CALLS {
        // Half the calls on 20 hot contracts, half on any of the 200.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let index =
            if rng.is_multiple_of(2) { (rng >> 8) as usize % HELD } else { (rng >> 8) as usize % CONTRACTS };
        let method = if rng.is_multiple_of(3) { "spin" } else { "ping" };
        let outcome = vm
            .call(&addresses[index], method, &CHAIN, &Transaction::new(sender, 10_000_000, vec![]))
            .unwrap();
        assert_eq!(outcome.status, Status::Ok, "call {call}: {:?}", outcome.error);
        let (held, held_bytes) = vm.loader().memory_usage();
        assert!(held_bytes <= budget && held <= HELD + 1, "call {call}: {held} codes, {held_bytes} bytes");
        if call == CALLS / 10 {
            baseline = resident_bytes();
        }
    }
    let end = resident_bytes();
    let stats = vm.cache_stats();
    println!(
        "{per_contract} bytes per contract, budget {budget}; resident {} -> {} MiB; {stats:?}",
        baseline >> 20,
        end >> 20
    );
    assert!(stats.evictions > 1_000, "the tier cycled: {stats:?}");
    assert!(
        end <= baseline + GROWTH_BOUND,
        "resident memory grew from {} MiB to {} MiB",
        baseline >> 20,
        end >> 20
    );
}

//! Many threads on one `Vm`: shared code, shared cache, shared contracts.
//! Every outcome equals its single-threaded result, each code compiles
//! once, and the test ends by itself.

use xwasm::{Address, ChainContext, Outcome, Status, Transaction, Vm};

const TOKEN: &str = include_str!("../../examples/contracts/token.wat");
const THREADS: u8 = 4;
const TRANSFERS: u64 = 40;
const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };

fn assert_send_sync<T: Send + Sync>() {}

fn transfer(to: &Address, amount: u64) -> Vec<u8> {
    [to.0.as_slice(), &amount.to_le_bytes()].concat()
}

/// One thread's work: its own token (same code), transfers on it, and
/// reads of a token all threads share.
fn work(vm: &Vm, wasm: &[u8], owner: Address, shared: &Address) -> Vec<Outcome> {
    let deployed =
        vm.deploy(wasm, &CHAIN, &Transaction::new(owner, 100_000_000, 10_000u64.to_le_bytes())).unwrap();
    let token = deployed.address.unwrap();
    let mut outcomes = vec![deployed];
    for i in 0..TRANSFERS {
        let to = Address([i as u8; 32]);
        outcomes.push(
            vm.call(&token, "transfer", &CHAIN, &Transaction::new(owner, 100_000_000, transfer(&to, i)))
                .unwrap(),
        );
        let balance = Transaction::new(owner, 100_000_000, owner.0.to_vec());
        outcomes.push(vm.call(shared, "balance_of", &CHAIN, &balance).unwrap());
    }
    outcomes
}

#[test]
fn threads_share_a_vm_and_agree_with_a_single_thread() {
    assert_send_sync::<Vm>();
    let wasm = wat::parse_str(TOKEN).unwrap();
    let run = |threads: bool| -> (Vec<Vec<Outcome>>, Vm) {
        let vm = Vm::builder().build().unwrap();
        let shared = vm
            .deploy(&wasm, &CHAIN, &Transaction::new(Address([0xee; 32]), 100_000_000, vec![]))
            .unwrap()
            .address
            .unwrap();
        let owners: Vec<Address> = (1..=THREADS).map(|t| Address([t; 32])).collect();
        let results = if threads {
            std::thread::scope(|scope| {
                let handles: Vec<_> =
                    owners.iter().map(|owner| scope.spawn(|| work(&vm, &wasm, *owner, &shared))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        } else {
            owners.iter().map(|owner| work(&vm, &wasm, *owner, &shared)).collect()
        };
        (results, vm)
    };
    let (serial, _) = run(false);
    let (parallel, vm) = run(true);
    // Each thread deploys its own token; deploy counts are per owner, so
    // the addresses and every outcome match the single-threaded run.
    assert_eq!(parallel, serial);
    assert!(parallel.iter().flatten().all(|o| o.status == Status::Ok));
    let stats = vm.cache_stats();
    assert_eq!((stats.misses, stats.inserts), (1, 1), "one code, compiled once: {stats:?}");
}

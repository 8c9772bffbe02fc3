//! Blocks run in parallel against the same transactions run one by one:
//! equal outcomes (status, gas, return data, events, errors, addresses)
//! and equal final state, for 1 to 8 threads, each block run twice.

mod common;

use common::{Rng, account};
use std::sync::Arc;
use xwasm::store::{MemoryBackend, RedbBackend, StateBackend};
use xwasm::{Address, BlockTransaction, ChainContext, Outcome, Transaction, Vm, VmError};

const TOKEN: &str = include_str!("../../examples/contracts/token.wat");
const COUNTER: &str = include_str!("../../examples/contracts/counter.wat");
const CHAIN: ChainContext = ChainContext { block_height: 9, block_time_ms: 9 };
const ALICE: Address = Address([0xa1; 32]);
const GAS: u64 = 10_000_000;

/// Forwards `callee (32) ++ method length (1) ++ method ++ input` as a
/// nested call with half its gas, writing its own "calls" key around it,
/// and returns the callee's status byte: a proxy every call through which
/// conflicts on that key.
const PROXY: &str = r#"(module
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "gas_left" (func $gas_left (result i64)))
  (import "xwasm" "call" (func $call (param i32 i32 i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "calls")
  (func (export "forward") (local $len i32) (local $mlen i32)
    (local.set $len (call $input_len))
    (call $input_read (i32.const 1024))
    (local.set $mlen (i32.load8_u (i32.const 1056)))
    (drop (call $storage_read (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8)))
    (i64.store (i32.const 16) (i64.add (i64.load (i32.const 16)) (i64.const 1)))
    (call $storage_write (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8))
    (i32.store8 (i32.const 4096)
      (call $call (i32.const 1024) (i32.const 1057) (local.get $mlen)
        (i32.add (i32.const 1057) (local.get $mlen))
        (i32.sub (local.get $len) (i32.add (i32.const 33) (local.get $mlen)))
        (i64.div_u (call $gas_left) (i64.const 2))))
    (call $return_data (i32.const 4096) (i32.const 1))))"#;

fn transfer(to: &Address, amount: u64) -> Vec<u8> {
    [to.0.as_slice(), &amount.to_le_bytes()].concat()
}

/// The contracts every block starts from, with `accounts` funded.
struct Setup {
    token: Address,
    counter: Address,
    proxy: Address,
}

fn setup(vm: &Vm, accounts: u64) -> Setup {
    let deploy = |wat: &str, input: Vec<u8>| {
        let wasm = wat::parse_str(wat).unwrap();
        vm.deploy(&wasm, &CHAIN, &Transaction::new(ALICE, 100_000_000, input)).unwrap().address.unwrap()
    };
    let token = deploy(TOKEN, (accounts * 1_000 + 1_000_000).to_le_bytes().to_vec());
    let counter = deploy(COUNTER, Vec::new());
    let proxy = deploy(PROXY, Vec::new());
    for i in 0..accounts {
        let tx = Transaction::new(ALICE, GAS, transfer(&account(i), 1_000));
        assert!(vm.call(&token, "transfer", &CHAIN, &tx).unwrap().is_ok());
    }
    // The proxy holds tokens of its own, which forwarded transfers spend.
    let tx = Transaction::new(ALICE, GAS, transfer(&proxy, 5_000));
    assert!(vm.call(&token, "transfer", &CHAIN, &tx).unwrap().is_ok());
    Setup { token, counter, proxy }
}

/// A block of `size` transactions among `accounts` accounts: transfers
/// (some overdrawn), counter increments, out-of-gas transfers, transfers
/// through the proxy, deployments and calls of the contracts deployed.
fn random_block(rng: &mut Rng, s: &Setup, accounts: u64, size: usize) -> Vec<BlockTransaction> {
    let counter_wasm: Arc<[u8]> = wat::parse_str(COUNTER).unwrap().into();
    let code_hash = xwasm::security::code_hash(&counter_wasm);
    let mut deployed = Vec::new();
    let mut deploys = std::collections::HashMap::<Address, u64>::new();
    (0..size)
        .map(|_| {
            let from = account(rng.below(accounts));
            let to = account(rng.below(accounts));
            let call = |address: Address, method: &str, sender, gas, input| BlockTransaction::Call {
                address,
                method: method.into(),
                tx: Transaction::new(sender, gas, input),
            };
            match rng.below(20) {
                0..=9 => call(s.token, "transfer", from, GAS, transfer(&to, rng.below(1_500))),
                10..=11 => call(s.counter, "increment", from, GAS, Vec::new()),
                12 => call(s.token, "transfer", from, 3_000, transfer(&to, 1)),
                13..=14 => {
                    let input =
                        [s.token.0.as_slice(), &[8], b"transfer", &transfer(&to, rng.below(50))].concat();
                    call(s.proxy, "forward", from, GAS, input)
                }
                15 => {
                    // The deployment's address follows from the sender's
                    // deploy count (1 for ALICE, who deployed the setup).
                    let sender = if rng.below(2) == 0 { ALICE } else { from };
                    let count = deploys.entry(sender).or_insert(if sender == ALICE { 3 } else { 0 });
                    deployed.push(Address::derive_contract(&sender, *count, &code_hash));
                    *count += 1;
                    let tx = Transaction::new(sender, 100_000_000, 7u64.to_le_bytes().to_vec());
                    BlockTransaction::Deploy { wasm: counter_wasm.clone(), tx }
                }
                16..=17 if !deployed.is_empty() => {
                    let target = deployed[rng.below(deployed.len() as u64) as usize];
                    call(target, "increment", from, GAS, Vec::new())
                }
                _ => call(s.token, "balance_of", from, GAS, to.0.to_vec()),
            }
        })
        .collect()
}

/// What a transaction's result is made of, comparably.
fn essence(result: &Result<Outcome, VmError>) -> String {
    match result {
        Ok(o) => format!(
            "{} {} {} {:?} {:?} {:?} {:?}",
            o.status,
            o.gas_used,
            hex::encode(&o.return_data),
            o.events,
            o.error,
            o.address,
            o.logs
        ),
        Err(e) => format!("error: {e}"),
    }
}

fn state(vm: &Vm) -> Vec<(Vec<u8>, Vec<u8>)> {
    vm.backend().scan_prefix(&[]).unwrap()
}

fn fresh(accounts: u64) -> (Vm, Setup) {
    fresh_on(Arc::new(MemoryBackend::new()), accounts)
}

fn fresh_on(backend: Arc<dyn StateBackend>, accounts: u64) -> (Vm, Setup) {
    let vm = Vm::builder().backend(backend).monitoring(None).build().unwrap();
    let setup = setup(&vm, accounts);
    (vm, setup)
}

#[test]
fn parallel_blocks_give_exactly_the_sequential_outcomes_and_state() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut re_executions = 0;
    for (accounts, size) in [(2, 120), (10, 200), (1_000, 300)] {
        let (reference, s) = fresh(accounts);
        let block = random_block(&mut rng, &s, accounts, size);
        let expected: Vec<String> = block
            .iter()
            .map(|t| {
                essence(&match t {
                    BlockTransaction::Deploy { wasm, tx } => reference.deploy(wasm, &CHAIN, tx),
                    BlockTransaction::Call { address, method, tx } => {
                        reference.call(address, method, &CHAIN, tx)
                    }
                    other => unreachable!("a native block: {other:?}"),
                })
            })
            .collect();
        let statuses: std::collections::BTreeSet<String> =
            expected.iter().map(|e| e.split(' ').next().unwrap().to_owned()).collect();
        assert!(statuses.len() >= 3, "the block mixes outcomes: {statuses:?}");
        for threads in [1, 2, 4, 8] {
            for _ in 0..2 {
                let (vm, _) = fresh(accounts);
                let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
                re_executions += outcome.re_executions;
                let got: Vec<String> = outcome.outcomes.iter().map(essence).collect();
                for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
                    assert_eq!(
                        got, expected,
                        "transaction {i} of {size} among {accounts} accounts, {threads} threads"
                    );
                }
                assert_eq!(state(&vm), state(&reference), "state, {accounts} accounts, {threads} threads");
            }
        }
    }
    assert!(re_executions > 0, "the blocks had conflicts to resolve");
    eprintln!("{re_executions} re-executions");
}

#[test]
fn a_block_whose_every_transaction_conflicts() {
    let (reference, s) = fresh(2);
    let block: Vec<BlockTransaction> = (0..100)
        .map(|i| BlockTransaction::Call {
            address: s.counter,
            method: if i % 10 == 5 { "increment_and_fail".into() } else { "increment".into() },
            tx: Transaction::new(account(i % 2), if i % 17 == 3 { 2_000 } else { GAS }, Vec::new()),
        })
        .collect();
    let expected: Vec<String> = block
        .iter()
        .map(|t| {
            let BlockTransaction::Call { address, method, tx } = t else { unreachable!() };
            essence(&reference.call(address, method, &CHAIN, tx))
        })
        .collect();
    // The rest after the contention stop runs straight on the memory
    // backend, and over an overlay of the prefix's writes on redb.
    let folder = tempfile::tempdir().unwrap();
    let durable = Arc::new(RedbBackend::open(folder.path().join("state.redb")).unwrap());
    for backend in [Arc::new(MemoryBackend::new()) as Arc<dyn StateBackend>, durable] {
        let (vm, _) = fresh_on(backend, 2);
        let outcome = vm.execute_block(&CHAIN, &block, 4).unwrap();
        assert_eq!(outcome.outcomes.iter().map(essence).collect::<Vec<_>>(), expected);
        assert_eq!(state(&vm), state(&reference));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]

    /// The one-thread path (in order, no multi-version store: straight
    /// on the memory backend, over an overlay committed at the end on a
    /// durable one) and the parallel one give the same outcomes and state
    /// on random blocks.
    #[test]
    fn the_one_thread_path_equals_the_parallel_path(seed in 1u64.., accounts in 1u64..12, size in 1usize..80) {
        let mut rng = Rng(seed);
        let (parallel_vm, s) = fresh(accounts);
        let block = random_block(&mut rng, &s, accounts, size);
        let parallel = parallel_vm.execute_block(&CHAIN, &block, 3).unwrap();
        let essences = |o: &xwasm::BlockOutcome| o.outcomes.iter().map(essence).collect::<Vec<_>>();
        let folder = tempfile::tempdir().unwrap();
        let durable = Arc::new(RedbBackend::open(folder.path().join("state.redb")).unwrap());
        for backend in [Arc::new(MemoryBackend::new()) as Arc<dyn StateBackend>, durable] {
            let volatile = backend.is_volatile();
            let (one, _) = fresh_on(backend, accounts);
            let sequential = one.execute_block(&CHAIN, &block, 1).unwrap();
            proptest::prop_assert_eq!(essences(&sequential), essences(&parallel), "volatile: {}", volatile);
            proptest::prop_assert_eq!(state(&one), state(&parallel_vm), "volatile: {}", volatile);
        }
    }
}

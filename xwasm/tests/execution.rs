//! Execution control: cross-contract calls, read-only queries, deadlines,
//! interrupts, memory caps, deep recursion and the audit log.

use std::sync::Arc;
use std::time::{Duration, Instant};
use xwasm::security::{AuditKind, MemoryAudit};
use xwasm::{Address, CallOptions, ChainContext, InterruptHandle, Outcome, Status, Transaction, Vm};

const GAS: u64 = 100_000_000;
const SENDER: Address = Address([7; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };
const TOKEN: &str = include_str!("../../examples/contracts/token.wat");

/// A contract that calls others. `forward` takes
/// `callee (32) ++ method length (1) ++ method ++ callee input`, writes
/// "before" and "after" around the call, and returns
/// `status (1 byte) ++ the callee's result bytes`; it forwards half of its
/// gas.
/// `recurse` writes its depth byte as a key, then calls itself one deeper.
const ROUTER: &str = r#"(module
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "self_address" (func $self_address (param i32)))
  (import "xwasm" "gas_left" (func $gas_left (result i64)))
  (import "xwasm" "call" (func $call (param i32 i32 i32 i32 i32 i64) (result i32)))
  (import "xwasm" "result_len" (func $result_len (result i32)))
  (import "xwasm" "result_read" (func $result_read (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "beforeafter")
  (data (i32.const 16) "recurse")
  (func (export "forward") (local $len i32) (local $mlen i32)
    (local.set $len (call $input_len))
    (call $input_read (i32.const 1024))
    (local.set $mlen (i32.load8_u (i32.const 1056)))
    (call $storage_write (i32.const 0) (i32.const 6) (i32.const 0) (i32.const 6))
    (i32.store8 (i32.const 4096)
      (call $call (i32.const 1024) (i32.const 1057) (local.get $mlen)
        (i32.add (i32.const 1057) (local.get $mlen))
        (i32.sub (local.get $len) (i32.add (i32.const 33) (local.get $mlen)))
        (i64.div_u (call $gas_left) (i64.const 2))))
    (call $storage_write (i32.const 6) (i32.const 5) (i32.const 6) (i32.const 5))
    (call $result_read (i32.const 4097))
    (call $return_data (i32.const 4096) (i32.add (i32.const 1) (call $result_len))))
  (func (export "recurse")
    (call $input_read (i32.const 64))
    (call $storage_write (i32.const 64) (i32.const 1) (i32.const 64) (i32.const 1))
    (i32.store8 (i32.const 64) (i32.add (i32.load8_u (i32.const 64)) (i32.const 1)))
    (call $self_address (i32.const 128))
    (drop (call $call (i32.const 128) (i32.const 16) (i32.const 7) (i32.const 64) (i32.const 1) (call $gas_left)))))
"#;

/// Writes "k" then aborts with "callee says no"; `fine` writes "k" and
/// returns "yes".
const CALLEE: &str = r#"(module
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "abort" (func $abort (param i32 i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "emit_event" (func $emit_event (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "kcallee says noyes")
  (func (export "refuse")
    (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))
    (call $abort (i32.const 1) (i32.const 14)))
  (func (export "fine")
    (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))
    (call $emit_event (i32.const 0) (i32.const 1) (i32.const 15) (i32.const 3))
    (call $return_data (i32.const 15) (i32.const 3)))
  (func (export "spin") (loop br 0)))
"#;

fn deploy(vm: &Vm, wat: &str, input: &[u8]) -> Address {
    let wasm = wat::parse_str(wat).unwrap();
    let outcome = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, GAS, input)).unwrap();
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    outcome.address.unwrap()
}

fn forward_input(callee: &Address, method: &str, input: &[u8]) -> Vec<u8> {
    [callee.0.as_slice(), &[method.len() as u8], method.as_bytes(), input].concat()
}

fn forward(vm: &Vm, router: &Address, callee: &Address, method: &str, input: &[u8]) -> Outcome {
    let tx = Transaction::new(SENDER, GAS, forward_input(callee, method, input));
    vm.call(router, "forward", &CHAIN, &tx).unwrap()
}

fn keys(vm: &Vm, address: &Address) -> Vec<Vec<u8>> {
    vm.storage(address).unwrap().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn a_successful_callee_commits_with_its_caller() {
    let vm = Vm::builder().build().unwrap();
    let (router, callee) = (deploy(&vm, ROUTER, &[]), deploy(&vm, CALLEE, &[]));
    let outcome = forward(&vm, &router, &callee, "fine", &[]);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    assert_eq!(outcome.return_data, b"\0yes");
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].contract, callee, "the event names its emitter");
    assert_eq!(keys(&vm, &callee), vec![b"k".to_vec()]);
    assert_eq!(keys(&vm, &router), vec![b"after".to_vec(), b"before".to_vec()]);
}

#[test]
fn a_failed_callee_is_undone_and_its_caller_goes_on() {
    let vm = Vm::builder().build().unwrap();
    let (router, callee) = (deploy(&vm, ROUTER, &[]), deploy(&vm, CALLEE, &[]));
    let outcome = forward(&vm, &router, &callee, "refuse", &[]);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    assert_eq!(outcome.return_data, b"\x01callee says no", "status 1 and the abort message");
    assert!(keys(&vm, &callee).is_empty(), "the callee's write is undone");
    assert_eq!(keys(&vm, &router).len(), 2, "the caller's writes on both sides of the call stay");

    // A callee that runs out of the gas it was given fails the same way
    // and is charged everything it was given.
    let spin = forward(&vm, &router, &callee, "spin", &[]);
    assert_eq!(spin.status, Status::Ok, "{:?}", spin.error);
    assert_eq!(spin.return_data[0], 1);
    assert!(String::from_utf8_lossy(&spin.return_data[1..]).contains("out of gas"));
    // A missing method is a failed callee too.
    let missing = forward(&vm, &router, &callee, "nope", &[]);
    assert_eq!(missing.return_data[0], 1);
    assert!(String::from_utf8_lossy(&missing.return_data).contains("no method `nope`"));
}

#[test]
fn the_callee_sees_the_calling_contract_as_caller_and_gas_adds_up() {
    let vm = Vm::builder().build().unwrap();
    let router = deploy(&vm, ROUTER, &[]);
    let token = deploy(&vm, TOKEN, &1_000u64.to_le_bytes());
    // The router holds nothing, so its transfer aborts: the token saw the
    // router, not the transaction's sender, as its caller.
    let to = Address([9; 32]);
    let transfer = [to.0.as_slice(), &5u64.to_le_bytes()].concat();
    let outcome = forward(&vm, &router, &token, "transfer", &transfer);
    assert_eq!(outcome.return_data, b"\x01insufficient balance");
    let direct =
        vm.call(&token, "transfer", &CHAIN, &Transaction::new(SENDER, GAS, transfer.clone())).unwrap();
    assert_eq!(direct.status, Status::Ok);
    // Gas: the forwarded call costs at least the 5000 base plus the
    // callee's own work.
    let nested = forward(&vm, &router, &token, "balance_of", &SENDER.0);
    let alone =
        vm.call(&token, "balance_of", &CHAIN, &Transaction::new(SENDER, GAS, SENDER.0.to_vec())).unwrap();
    assert!(nested.gas_used > alone.gas_used + 5_000, "{} vs {}", nested.gas_used, alone.gas_used);
    assert!(nested.host_gas >= alone.gas_used + 5_000);
}

#[test]
fn re_entrancy_stops_at_the_depth_limit() {
    let vm = Vm::builder().build().unwrap();
    let router = deploy(&vm, ROUTER, &[]);
    let outcome = vm.call(&router, "recurse", &CHAIN, &Transaction::new(SENDER, GAS, vec![0])).unwrap();
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    // Depths 0..=15 committed; depth 16 failed (its call to depth 17 hit
    // the limit), so its write was undone.
    let expected: Vec<Vec<u8>> = (0u8..16).map(|d| vec![d]).collect();
    assert_eq!(keys(&vm, &router), expected);
}

#[test]
fn queries_read_but_never_write() {
    let audit = Arc::new(MemoryAudit::default());
    let vm = Vm::builder().audit(audit.clone()).build().unwrap();
    let token = deploy(&vm, TOKEN, &1_000u64.to_le_bytes());
    let router = deploy(&vm, ROUTER, &[]);
    let balance =
        vm.query(&token, "balance_of", &CHAIN, &Transaction::new(SENDER, GAS, SENDER.0.to_vec())).unwrap();
    assert_eq!((balance.status, balance.return_data.clone()), (Status::Ok, 1_000u64.to_le_bytes().to_vec()));

    let before = vm.storage(&token).unwrap();
    let transfer = [[9u8; 32].as_slice(), &5u64.to_le_bytes()].concat();
    let refused =
        vm.query(&token, "transfer", &CHAIN, &Transaction::new(SENDER, GAS, transfer.clone())).unwrap();
    assert_eq!(refused.status, Status::Limit);
    assert_eq!(
        refused.error.as_deref(),
        Some("permission denied: storage_write is not allowed in a read-only call")
    );
    // Through a nested call, the denial ends the whole query.
    let input = forward_input(&token, "transfer", &transfer);
    let nested = vm.query(&router, "forward", &CHAIN, &Transaction::new(SENDER, GAS, input)).unwrap();
    assert_eq!(nested.status, Status::Limit);
    assert!(nested.error.as_deref().unwrap().contains("storage_write"), "{:?}", nested.error);
    assert_eq!(vm.storage(&token).unwrap(), before);
    assert!(vm.storage(&router).unwrap().is_empty());

    let entries = audit.entries();
    let denied: Vec<_> = entries.iter().filter(|e| e.kind == AuditKind::HostFunctionDenied).collect();
    assert_eq!(denied.len(), 2, "{entries:?}");
    assert!(entries.iter().any(|e| e.kind == AuditKind::Deploy && e.status == "ok"));
    assert_eq!(entries.iter().filter(|e| e.kind == AuditKind::Query).count(), 3);
}

#[test]
fn an_endless_loop_with_plenty_of_gas_times_out() {
    let vm = Vm::builder().timeout(Some(Duration::from_millis(100))).build().unwrap();
    let callee = deploy(&vm, CALLEE, &[]);
    let started = Instant::now();
    let outcome = vm.call(&callee, "spin", &CHAIN, &Transaction::new(SENDER, u64::MAX / 4, vec![])).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(outcome.status, Status::Timeout, "{:?}", outcome.error);
    assert_eq!(outcome.gas_used, u64::MAX / 4, "a timeout costs the whole limit");
    assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    // Inside a nested call the deadline ends the whole transaction.
    let router = deploy(&vm, ROUTER, &[]);
    let tx = Transaction::new(SENDER, u64::MAX / 4, forward_input(&callee, "spin", &[]));
    let nested = vm.call(&router, "forward", &CHAIN, &tx).unwrap();
    assert_eq!(nested.status, Status::Timeout, "{:?}", nested.error);
    assert!(vm.storage(&router).unwrap().is_empty());
}

#[test]
fn another_thread_can_interrupt_a_call() {
    let vm = Vm::builder().interruptible(true).build().unwrap();
    let callee = deploy(&vm, CALLEE, &[]);
    let handle = InterruptHandle::new();
    let options = CallOptions { interrupt: Some(handle.clone()), timeout: None };
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    let started = Instant::now();
    let tx = Transaction::new(SENDER, u64::MAX / 4, vec![]);
    let outcome = vm.call_with(&callee, "spin", &CHAIN, &tx, &options).unwrap();
    stopper.join().unwrap();
    assert_eq!(outcome.status, Status::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_vm_that_is_not_interruptible_refuses_a_stoppable_call() {
    // Its code has no epoch checks: a timeout could never fire, so the
    // call is refused instead of running unstoppable.
    let vm = Vm::builder().build().unwrap();
    assert!(!vm.config().engine.interruptible);
    let callee = deploy(&vm, CALLEE, &[]);
    let options = CallOptions { interrupt: None, timeout: Some(Duration::from_millis(10)) };
    let tx = Transaction::new(SENDER, 1_000, vec![]);
    let error = vm.call_with(&callee, "spin", &CHAIN, &tx, &options).unwrap_err();
    assert!(error.to_string().contains("interruptible"), "{error}");
    // Nothing was committed; a plain call still runs (out of gas here).
    assert!(vm.storage(&callee).unwrap().is_empty());
    assert_eq!(vm.call(&callee, "spin", &CHAIN, &tx).unwrap().status, Status::OutOfGas);
    // A timeout makes a VM interruptible.
    let timed = Vm::builder().timeout(Some(Duration::from_secs(5))).build().unwrap();
    assert!(timed.config().engine.interruptible);
}

const MEMORY_BOMB: &str = r#"(module
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "huge") (i32.store (i32.const 0) (memory.grow (i32.const 65535)))
    (call $return_data (i32.const 0) (i32.const 4)))
  (func (export "creep")
    (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (i32.store (i32.const 0) (memory.size))
    (call $return_data (i32.const 0) (i32.const 4))))"#;

#[test]
fn memory_is_capped_with_and_without_the_pool() {
    for pooling in [true, false] {
        let engine = xwasm::engine::EngineConfig {
            max_memory_bytes: 16 << 20,
            pooling: pooling.then(Default::default),
            ..Default::default()
        };
        let vm = Vm::builder().engine(engine).build().unwrap();
        let bomb = deploy(&vm, MEMORY_BOMB, &[]);
        let tx = Transaction::new(SENDER, GAS, vec![]);
        let huge = vm.call(&bomb, "huge", &CHAIN, &tx).unwrap();
        assert_eq!(huge.return_data, (-1i32).to_le_bytes(), "pooling {pooling}");
        let creep = vm.call(&bomb, "creep", &CHAIN, &tx).unwrap();
        assert_eq!(creep.status, Status::Ok);
        assert_eq!(creep.return_data, 256u32.to_le_bytes(), "16 MiB is 256 pages (pooling {pooling})");
    }
}

#[test]
fn endless_recursion_traps_and_the_vm_goes_on() {
    let vm = Vm::builder().build().unwrap();
    let wasm = r#"(module (import "xwasm" "storage_write" (func $w (param i32 i32 i32 i32)))
        (memory (export "memory") 1)
        (func $down (call $down))
        (func (export "dive") (call $w (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)) (call $down))
        (func (export "ok")))"#;
    let address = deploy(&vm, wasm, &[]);
    let tx = Transaction::new(SENDER, GAS, vec![]);
    let outcome = vm.call(&address, "dive", &CHAIN, &tx).unwrap();
    assert_eq!((outcome.status, outcome.gas_used), (Status::Trap, GAS), "{:?}", outcome.error);
    assert!(vm.storage(&address).unwrap().is_empty());
    assert_eq!(vm.call(&address, "ok", &CHAIN, &tx).unwrap().status, Status::Ok);
}

#[test]
fn host_functions_outside_the_allow_list_are_refused_at_deploy() {
    let allowed =
        ["storage_read", "return_data", "input_len", "input_read", "abort", "caller", "storage_write"];
    let config = xwasm::VmConfig {
        host_functions: Some(allowed.iter().map(|n| n.to_string()).collect()),
        ..Default::default()
    };
    let vm = Vm::builder().config(config).build().unwrap();
    let wasm = wat::parse_str(TOKEN).unwrap();
    let err = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, GAS, vec![])).unwrap_err();
    assert!(err.to_string().contains("xwasm::emit_event"), "{err}");
}

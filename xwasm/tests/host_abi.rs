//! Every host function of ABI.md, driven through `Vm`: what it does, what
//! it costs, and how it fails. Each case is a small contract and the
//! outcome it must produce.

use sha2::Digest;
use xwasm::{Address, ChainContext, Outcome, Status, Transaction, Vm};

const GAS: u64 = 1_000_000;
const DEPLOY_GAS: u64 = 100_000_000;
const SENDER: Address = Address([7; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 42, block_time_ms: 1_700_000_000_123 };

const IMPORTS: &str = r#"
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "abort" (func $abort (param i32 i32)))
  (import "xwasm" "log" (func $log (param i32 i32)))
  (import "xwasm" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "storage_remove" (func $storage_remove (param i32 i32) (result i32)))
  (import "xwasm" "caller" (func $caller (param i32)))
  (import "xwasm" "self_address" (func $self_address (param i32)))
  (import "xwasm" "owner" (func $owner (param i32)))
  (import "xwasm" "block_height" (func $block_height (result i64)))
  (import "xwasm" "block_time" (func $block_time (result i64)))
  (import "xwasm" "gas_left" (func $gas_left (result i64)))
  (import "xwasm" "emit_event" (func $emit_event (param i32 i32 i32 i32)))
  (import "xwasm" "sha256" (func $sha256 (param i32 i32 i32)))
  (import "xwasm" "keccak256" (func $keccak256 (param i32 i32 i32)))
  (memory (export "memory") 1)
"#;

/// Deploys a contract whose body is `body` (functions and data) and calls
/// `method` with `input`.
fn call(body: &str, method: &str, input: &[u8]) -> (Vm, Address, Outcome) {
    let vm = Vm::builder().build().unwrap();
    let wasm = wat::parse_str(format!("(module {IMPORTS} {body})")).unwrap();
    let deployed = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, DEPLOY_GAS, vec![])).unwrap();
    assert_eq!(deployed.status, Status::Ok, "{:?}", deployed.error);
    let address = deployed.address.unwrap();
    let outcome = vm.call(&address, method, &CHAIN, &Transaction::new(SENDER, GAS, input.to_vec())).unwrap();
    (vm, address, outcome)
}

/// Calls `method` and checks its status and return bytes.
fn check(body: &str, method: &str, input: &[u8], status: Status, returned: &[u8]) -> Outcome {
    let (_, _, outcome) = call(body, method, input);
    assert_eq!(outcome.status, status, "error: {:?}", outcome.error);
    assert_eq!(outcome.return_data, returned);
    outcome
}

#[test]
fn input_is_echoed() {
    let body = r#"(func (export "echo")
        (call $input_read (i32.const 100))
        (call $return_data (i32.const 100) (call $input_len)))"#;
    let outcome = check(body, "echo", b"hello xwasm", Status::Ok, b"hello xwasm");
    // input_len 20 + input_read (20 + 11) + return_data (20 + 11)
    assert_eq!(outcome.host_gas, 20 + 31 + 31);
}

#[test]
fn a_later_return_replaces_an_earlier_one() {
    let body = r#"(data (i32.const 0) "firstsecond")
      (func (export "m")
        (call $return_data (i32.const 0) (i32.const 5))
        (call $return_data (i32.const 5) (i32.const 6)))"#;
    check(body, "m", b"", Status::Ok, b"second");
}

#[test]
fn storage_round_trip_and_truncated_read() {
    let body = r#"(data (i32.const 0) "key") (data (i32.const 16) "a value of 18 byte")
      (func (export "write") (call $storage_write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 18)))
      (func (export "read_short")
        ;; dst_cap 4: copies 4 bytes, returns the full length 18
        (i64.store (i32.const 200) (call $storage_read (i32.const 0) (i32.const 3) (i32.const 100) (i32.const 4)))
        (call $return_data (i32.const 100) (i32.const 4))
        (call $log (i32.const 100) (i32.const 4)))
      (func (export "len")
        (i64.store (i32.const 200) (call $storage_read (i32.const 0) (i32.const 3) (i32.const 100) (i32.const 0)))
        (call $return_data (i32.const 200) (i32.const 8)))
      (func (export "remove")
        (i32.store (i32.const 200) (call $storage_remove (i32.const 0) (i32.const 3)))
        (i32.store (i32.const 204) (call $storage_remove (i32.const 0) (i32.const 3)))
        (call $return_data (i32.const 200) (i32.const 8)))"#;
    let (vm, address, outcome) = call(body, "len", b"");
    assert_eq!(outcome.return_data, (-1i64).to_le_bytes());
    let tx = Transaction::new(SENDER, GAS, vec![]);
    let written = vm.call(&address, "write", &CHAIN, &tx).unwrap();
    assert_eq!(written.host_gas, 1_000 + 10 * (3 + 18));
    let read = vm.call(&address, "read_short", &CHAIN, &tx).unwrap();
    assert_eq!(read.return_data, b"a va");
    assert_eq!(read.host_gas, (500 + 2 * 3 + 18) + (20 + 4) + (50 + 4));
    assert_eq!(vm.call(&address, "len", &CHAIN, &tx).unwrap().return_data, 18i64.to_le_bytes());
    let removed = vm.call(&address, "remove", &CHAIN, &tx).unwrap();
    assert_eq!(removed.return_data, [1, 0, 0, 0, 0, 0, 0, 0]);
    assert!(vm.storage(&address).unwrap().is_empty());
}

#[test]
fn addresses_and_chain_context() {
    let body = r#"(func (export "who")
        (call $caller (i32.const 0)) (call $self_address (i32.const 32)) (call $owner (i32.const 64))
        (i64.store (i32.const 96) (call $block_height)) (i64.store (i32.const 104) (call $block_time))
        (call $return_data (i32.const 0) (i32.const 112)))"#;
    let (_, address, outcome) = call(body, "who", b"");
    let r = &outcome.return_data;
    assert_eq!(&r[..32], &SENDER.0);
    assert_eq!(&r[32..64], &address.0);
    assert_eq!(&r[64..96], &SENDER.0);
    assert_eq!(&r[96..104], &42u64.to_le_bytes());
    assert_eq!(&r[104..112], &1_700_000_000_123u64.to_le_bytes());
}

#[test]
fn hashes_match_reference_implementations() {
    let body = r#"(data (i32.const 0) "abc")
      (func (export "hash")
        (call $sha256 (i32.const 0) (i32.const 3) (i32.const 100))
        (call $keccak256 (i32.const 0) (i32.const 3) (i32.const 132))
        (call $return_data (i32.const 100) (i32.const 64)))"#;
    let outcome = check(body, "hash", b"", Status::Ok, &{
        let mut expected = sha2::Sha256::digest(b"abc").to_vec();
        expected.extend_from_slice(&sha3::Keccak256::digest(b"abc"));
        expected
    });
    assert_eq!(outcome.host_gas, (100 + 3 * 3) + (100 + 4 * 3) + (20 + 64));
}

#[test]
fn gas_left_counts_down() {
    let body = r#"(func (export "m")
        (i64.store (i32.const 0) (call $gas_left))
        (i64.store (i32.const 8) (call $gas_left))
        (call $return_data (i32.const 0) (i32.const 16)))"#;
    let (_, _, outcome) = call(body, "m", b"");
    let first = i64::from_le_bytes(outcome.return_data[..8].try_into().unwrap());
    let second = i64::from_le_bytes(outcome.return_data[8..].try_into().unwrap());
    assert!(first < GAS as i64 && second < first, "{first} {second}");
    assert!(first - second >= 20);
}

#[test]
fn events_are_kept_on_success_and_dropped_on_failure() {
    let body = r#"(data (i32.const 0) "topicdata")
      (func (export "emit") (call $emit_event (i32.const 0) (i32.const 5) (i32.const 5) (i32.const 4)))
      (func (export "emit_then_abort")
        (call $emit_event (i32.const 0) (i32.const 5) (i32.const 5) (i32.const 4))
        (call $log (i32.const 0) (i32.const 5))
        (call $abort (i32.const 5) (i32.const 4)))"#;
    let (vm, address, outcome) = call(body, "emit", b"");
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(
        (outcome.events[0].topic.as_slice(), outcome.events[0].data.as_slice()),
        (&b"topic"[..], &b"data"[..])
    );
    assert_eq!(outcome.events[0].contract, address);
    assert_eq!(outcome.host_gas, 200 + 2 * 9);
    let failed =
        vm.call(&address, "emit_then_abort", &CHAIN, &Transaction::new(SENDER, GAS, vec![])).unwrap();
    assert_eq!(failed.status, Status::Abort);
    assert!(failed.events.is_empty());
    assert_eq!(failed.logs, vec!["topic".to_owned()], "logs survive a failure");
    assert_eq!(failed.error.as_deref(), Some("aborted: data"));
}

#[test]
fn abort_message_is_decoded_lossily() {
    let body = r#"(data (i32.const 0) "bad \ff\fe utf8")
      (func (export "m") (call $abort (i32.const 0) (i32.const 11)))"#;
    let outcome = check(body, "m", b"", Status::Abort, b"");
    assert_eq!(outcome.error.as_deref(), Some("aborted: bad \u{fffd}\u{fffd} utf8"));
    assert!(outcome.gas_used < GAS, "abort is charged as measured");
}

#[test]
fn failed_calls_leave_state_untouched() {
    let body = r#"(data (i32.const 0) "kv")
      (func (export "write_then_abort")
        (call $storage_write (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1))
        (call $abort (i32.const 0) (i32.const 0)))
      (func (export "write_then_trap")
        (call $storage_write (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1))
        unreachable)"#;
    for method in ["write_then_abort", "write_then_trap"] {
        let (vm, address, outcome) = call(body, method, b"");
        assert_ne!(outcome.status, Status::Ok);
        assert!(vm.storage(&address).unwrap().is_empty(), "{method} left state behind");
    }
}

#[test]
fn bad_pointers_trap_and_cost_the_whole_limit() {
    let cases = [
        "(call $return_data (i32.const 65530) (i32.const 100))",
        "(call $return_data (i32.const -1) (i32.const 1))",
        "(call $return_data (i32.const 0) (i32.const -1))",
        "(call $log (i32.const 2147483647) (i32.const 2147483647))",
        "(call $caller (i32.const 65535))",
        "(call $input_read (i32.const 65536))",
        "(drop (call $storage_read (i32.const 0) (i32.const 1) (i32.const 65530) (i32.const 100)))",
        "(call $storage_write (i32.const 0) (i32.const 1) (i32.const -8) (i32.const 8))",
        "(call $sha256 (i32.const 0) (i32.const 1) (i32.const 65534))",
        "(call $emit_event (i32.const 70000) (i32.const 1) (i32.const 0) (i32.const 0))",
        "(call $abort (i32.const 65536) (i32.const 1))",
    ];
    for case in cases {
        let body = format!(r#"(func (export "m") {case})"#);
        let (_, _, outcome) = call(&body, "m", b"x");
        assert_eq!(outcome.status, Status::Trap, "{case}: {:?}", outcome.error);
        assert_eq!(outcome.gas_used, GAS, "{case}");
        assert!(outcome.error.unwrap().contains("out of bounds"), "{case}");
    }
}

#[test]
fn engine_traps_are_traps() {
    for (case, needle) in [
        ("unreachable", "unreachable"),
        ("(drop (i32.div_u (i32.const 1) (i32.const 0)))", "divide by zero"),
        ("(drop (i32.load (i32.const 70000)))", "out of bounds"),
    ] {
        let body = format!(r#"(func (export "m") {case})"#);
        let outcome = check(&body, "m", b"", Status::Trap, b"");
        assert_eq!(outcome.gas_used, GAS);
        assert!(outcome.error.as_deref().unwrap().contains(needle), "{:?}", outcome.error);
    }
}

#[test]
fn a_trap_reports_its_backtrace_by_function_name() {
    let body =
        r#"(func $inner unreachable) (func $middle (call $inner)) (func (export "outer") (call $middle))"#;
    let outcome = check(body, "outer", b"", Status::Trap, b"");
    assert_eq!(outcome.backtrace, ["inner", "middle", "outer"]);
}

#[test]
fn running_out_of_gas_costs_exactly_the_limit() {
    let outcome = check(r#"(func (export "spin") (loop br 0))"#, "spin", b"", Status::OutOfGas, b"");
    assert_eq!(outcome.gas_used, GAS);
    // A host function that cannot pay ends the call the same way.
    let body = r#"(func (export "big") (call $log (i32.const 0) (i32.const 65536)))"#;
    let vm = Vm::builder().build().unwrap();
    let wasm = wat::parse_str(format!("(module {IMPORTS} {body})")).unwrap();
    let address =
        vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, DEPLOY_GAS, vec![])).unwrap().address.unwrap();
    let outcome = vm.call(&address, "big", &CHAIN, &Transaction::new(SENDER, 1_000, vec![])).unwrap();
    assert_eq!((outcome.status, outcome.gas_used), (Status::OutOfGas, 1_000));
}

#[test]
fn limits_end_the_call_with_status_limit() {
    let cases = [
        ("(call $storage_write (i32.const 0) (i32.const 1025) (i32.const 0) (i32.const 1))", "key"),
        (
            "(drop (memory.grow (i32.const 1))) (call $storage_write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 65537))",
            "value",
        ),
        ("(drop (call $storage_read (i32.const 0) (i32.const 1025) (i32.const 0) (i32.const 0)))", "key"),
        ("(loop (call $log (i32.const 0) (i32.const 1)) (br 0))", "logs"),
        (
            "(loop (call $emit_event (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)) (br 0))",
            "events",
        ),
    ];
    for (case, needle) in cases {
        let body = format!(r#"(func (export "m") {case})"#);
        let (_, _, outcome) = call(&body, "m", b"");
        assert_eq!(outcome.status, Status::Limit, "{case}: {:?}", outcome.error);
        assert!(outcome.gas_used < GAS, "a limit is charged as measured");
        assert!(outcome.error.as_deref().unwrap().contains(needle), "{case}: {:?}", outcome.error);
    }
}

#[test]
fn memory_grow_past_the_cap_returns_minus_one() {
    // 64 MiB cap = 1024 pages; the contract starts with 1.
    let body = r#"(func (export "grow")
        (i32.store (i32.const 0) (memory.grow (i32.const 2000)))
        (i32.store (i32.const 4) (memory.grow (i32.const 10)))
        (call $return_data (i32.const 0) (i32.const 8)))"#;
    check(body, "grow", b"", Status::Ok, &[0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]);
}

//! Property tests of gas accounting and guest memory access.

use proptest::prelude::*;
use std::sync::OnceLock;
use xwasm::host::{GasSchedule, linear};
use xwasm::{Address, ChainContext, Status, Transaction, Vm};

const GAS: u64 = 100_000_000;
const SENDER: Address = Address([5; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 1 };

/// A contract whose `run` performs host calls described by its input:
/// records of `op (1 byte), a (i32 LE), b (i32 LE)`; `a` is a pointer, `b`
/// a length. Storage uses one key, 8 zero bytes at 40000.
const INTERPRETER: &str = r#"(module
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "log" (func $log (param i32 i32)))
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "xwasm" "emit_event" (func $emit_event (param i32 i32 i32 i32)))
  (import "xwasm" "sha256" (func $sha256 (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "run") (local $p i32) (local $end i32) (local $op i32) (local $a i32) (local $b i32)
    (local.set $end (i32.add (i32.const 60000) (call $input_len)))
    (call $input_read (i32.const 60000))
    (local.set $p (i32.const 60000))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $op (i32.load8_u (local.get $p)))
      (local.set $a (i32.load (i32.add (local.get $p) (i32.const 1))))
      (local.set $b (i32.load (i32.add (local.get $p) (i32.const 5))))
      (local.set $p (i32.add (local.get $p) (i32.const 9)))
      (block $other
        (br_if $other (i32.ne (local.get $op) (i32.const 0)))
        (call $log (local.get $a) (local.get $b)) (br $next))
      (block $other
        (br_if $other (i32.ne (local.get $op) (i32.const 1)))
        (call $storage_write (i32.const 40000) (i32.const 8) (local.get $a) (local.get $b)) (br $next))
      (block $other
        (br_if $other (i32.ne (local.get $op) (i32.const 2)))
        (drop (call $storage_read (i32.const 40000) (i32.const 8) (local.get $a) (i32.const 16))) (br $next))
      (block $other
        (br_if $other (i32.ne (local.get $op) (i32.const 3)))
        (call $emit_event (local.get $a) (i32.const 4) (local.get $a) (local.get $b)) (br $next))
      (block $other
        (br_if $other (i32.ne (local.get $op) (i32.const 4)))
        (call $sha256 (local.get $a) (local.get $b) (i32.const 50000)) (br $next))
      (call $return_data (local.get $a) (local.get $b))
      (br $next)))))"#;

fn vm_and_contract() -> &'static (Vm, Address) {
    static SHARED: OnceLock<(Vm, Address)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let vm = Vm::builder().build().unwrap();
        let wasm = wat::parse_str(INTERPRETER).unwrap();
        let address =
            vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, GAS, vec![])).unwrap().address.unwrap();
        (vm, address)
    })
}

fn encode(ops: &[(u8, i32, i32)]) -> Vec<u8> {
    ops.iter()
        .flat_map(|(op, a, b)| [vec![*op], a.to_le_bytes().to_vec(), b.to_le_bytes().to_vec()].concat())
        .collect()
}

/// The host gas the schedule says `ops` cost (in-bounds operations only).
fn expected_host_gas(ops: &[(u8, i32, i32)], input_len: u64) -> u64 {
    let s = GasSchedule::default();
    // The length of the one key's value, once written (in this call only:
    // each case runs against the state the previous ones committed, so
    // the contract is deployed fresh per VM and keys start absent).
    let mut value_len: Option<u64> = None;
    let mut total = s.simple + linear(s.copy_base, s.copy_per_byte, input_len);
    for &(op, _, b) in ops {
        let b = b as u64;
        total += match op {
            0 => linear(s.log_base, s.log_per_byte, b),
            1 => {
                value_len = Some(b);
                linear(s.storage_write_base, s.storage_write_per_byte, 8 + b)
            }
            2 => {
                linear(s.storage_read_base, s.storage_read_per_key_byte, 8)
                    + value_len.map_or(0, |len| s.storage_read_per_value_byte * len)
            }
            3 => linear(s.event_base, s.event_per_byte, 4 + b),
            4 => linear(s.sha256_base, s.sha256_per_byte, b),
            _ => linear(s.copy_base, s.copy_per_byte, b),
        };
    }
    total
}

fn in_bounds_op() -> impl Strategy<Value = (u8, i32, i32)> {
    (0u8..6, 0i32..30_000, 0i32..2048)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The host gas of a call is exactly the sum of the schedule's charges,
    /// and the call's gas is host gas plus a WebAssembly part.
    #[test]
    fn host_gas_is_the_sum_of_the_charges(ops in proptest::collection::vec(in_bounds_op(), 0..12)) {
        // A fresh contract, so that its one key starts absent.
        let vm = Vm::builder().build().unwrap();
        let wasm = wat::parse_str(INTERPRETER).unwrap();
        let address = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, GAS, vec![])).unwrap().address.unwrap();
        let input = encode(&ops);
        let outcome = vm.call(&address, "run", &CHAIN, &Transaction::new(SENDER, GAS, input.clone())).unwrap();
        prop_assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
        prop_assert_eq!(outcome.host_gas, expected_host_gas(&ops, input.len() as u64));
        prop_assert!(outcome.gas_used > outcome.host_gas && outcome.gas_used <= GAS);
    }

    /// Any pointer and length: never a panic; out of bounds is always a
    /// trap costing the whole limit, in bounds never is.
    #[test]
    fn any_pointer_is_checked(ptr in any::<i32>(), len in any::<i32>()) {
        let (vm, address) = vm_and_contract();
        let input = encode(&[(5, ptr, len)]);
        let outcome = vm.call(address, "run", &CHAIN, &Transaction::new(SENDER, GAS, input)).unwrap();
        let in_bounds = ptr >= 0 && len >= 0 && (ptr as i64 + len as i64) <= 65_536;
        if in_bounds {
            prop_assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
            prop_assert_eq!(outcome.return_data.len(), len as usize);
        } else {
            prop_assert_eq!((outcome.status, outcome.gas_used), (Status::Trap, GAS), "{:?}", outcome.error);
        }
    }

    /// Costs saturate instead of wrapping.
    #[test]
    fn linear_costs_never_wrap(base in any::<u64>(), per in any::<u64>(), units in any::<u64>()) {
        let cost = linear(base, per, units);
        prop_assert!(cost >= base);
        if units > 0 && per > 0 { prop_assert!(cost >= per.min(u64::MAX / units.max(1))); }
    }
}

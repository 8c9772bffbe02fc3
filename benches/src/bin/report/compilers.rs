//! Section 6: Winch against Cranelift at run time, and tiered compilation
//! on the first call of a new, large contract.

use crate::Row;
use crate::compute::xwasm_run;
use crate::measure::{human_ns, paired_ns};
use std::time::Instant;
use xwasm::engine::{EngineConfig, Strategy};
use xwasm::{Transaction, Vm};
use xwasm_benches::{CHAIN, FIB, SENDER};

/// The compiler rows; `vm` is the metered (permissive) VM, on Cranelift.
pub(crate) fn measure(vm: &Vm, rows: &mut Vec<Row>) {
    let winch_vm = Vm::builder()
        .engine(EngineConfig { strategy: Strategy::Winch, ..Default::default() })
        .profile(xwasm::security::Profile::Permissive)
        .build()
        .unwrap();
    let fib_wasm = wat::parse_str(FIB).unwrap();
    let (winch_run, cranelift_run, winch_ratio) = paired_ns(
        7,
        3,
        || {
            std::hint::black_box(
                winch_vm.run_function(&fib_wasm, "fib", &[xwasm::Val::I32(25)], u64::MAX / 4).unwrap(),
            );
        },
        xwasm_run(vm, fib_wasm.clone(), "fib", 25),
    );
    rows.push(Row {
        name: "execute: Winch vs Cranelift (fib 25)".into(),
        what: format!("{} vs {}", human_ns(winch_run), human_ns(cranelift_run)),
        value: winch_ratio,
        unit: "x slower",
        target: "-",
        met: None,
    });

    // Tiered compilation: the first call of a new, large contract waits
    // for Winch instead of Cranelift.
    let big = big_contract(400);
    let first_call = |tiered: bool| {
        let vm = Vm::builder()
            .config(xwasm::VmConfig { tiered, ..Default::default() })
            .monitoring(None)
            .build()
            .unwrap();
        let started = Instant::now();
        let deployed = vm.deploy(&big, &CHAIN, &Transaction::new(SENDER, 1_000_000_000, Vec::new())).unwrap();
        let outcome = vm
            .call(
                &deployed.address.unwrap(),
                "run",
                &CHAIN,
                &Transaction::new(SENDER, 10_000_000, Vec::new()),
            )
            .unwrap();
        assert_eq!(outcome.status, xwasm::Status::Ok);
        started.elapsed().as_nanos() as f64
    };
    let (tiered_first, cranelift_first) = (first_call(true), first_call(false));
    rows.push(Row {
        name: "first deploy + call of a new contract: tiered vs Cranelift".into(),
        what: format!(
            "{} KiB: {} vs {}",
            big.len() / 1024,
            human_ns(tiered_first),
            human_ns(cranelift_first)
        ),
        value: cranelift_first / tiered_first,
        unit: "x faster",
        target: "-",
        met: None,
    });
}

/// A large xwasm contract: `functions` arithmetic functions, all called by
/// the method `run`.
fn big_contract(functions: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1)");
    for i in 0..functions {
        wat.push_str(&format!(
            "(func $f{i} (param $x i64) (result i64) (local $i i32)
               (loop $l
                 (local.set $x (i64.add (i64.mul (local.get $x) (i64.const {m})) (i64.const {i})))
                 (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 13))))
                 (local.set $x (i64.rotl (local.get $x) (i64.const 7)))
                 (i64.store (i32.const {offset}) (local.get $x))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
               (local.get $x))",
            m = 6364136223846793005u64 as i64 ^ i as i64,
            offset = (i % 512) * 8
        ));
    }
    wat.push_str("(func (export \"run\") (local $x i64)");
    for i in 0..functions {
        wat.push_str(&format!("(local.set $x (call $f{i} (local.get $x)))"));
    }
    wat.push_str("(i64.store (i32.const 0) (local.get $x)))");
    wat.push(')');
    wat::parse_str(wat).unwrap()
}

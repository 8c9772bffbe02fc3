//! Why the rewrite keeps its stack count in a global it does not export:
//! fib metered by hand (gas and stack count in two globals, as the
//! rewrite does it) with neither, one or both globals exported, and the
//! rewrite itself, each against unmetered fib on xwasm's engine.
//!
//! wasmtime's Cranelift puts every exported global in one alias class,
//! so a store to one makes it reload the other; a global only the module
//! sees has a class of its own.
//!
//! `cargo run --release -p xwasm-benches --example stack_probe`

use std::time::Instant;

/// fib with gas charged per basic block and a stack count claimed on entry
/// and released on exit; `exports` goes into the module's header.
fn metered_fib(exports: &str) -> String {
    format!(
        r#"(module (memory (export "memory") 1)
  (global $gas (mut i64) (i64.const 0x3fffffffffffffff))
  (global $stack (mut i32) (i32.const 0))
  {exports}
  (func $fib (export "fib") (param $n i32) (result i64)
    (global.set $gas (i64.sub (global.get $gas) (i64.const 17)))
    (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
    (global.set $stack (i32.add (global.get $stack) (i32.const 11)))
    (if (i32.gt_u (global.get $stack) (i32.const 32768))
      (then (global.set $stack (i32.const -1)) unreachable))
    (block (result i64)
      (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
        (then
          (global.set $gas (i64.sub (global.get $gas) (i64.const 2)))
          (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
          (i64.extend_i32_u (local.get $n)))
        (else
          (global.set $gas (i64.sub (global.get $gas) (i64.const 9)))
          (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
          (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                   (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
    (global.set $stack (i32.sub (global.get $stack) (i32.const 11)))))"#
    )
}

fn main() {
    let engine = xwasm::engine::build_engine(&Default::default()).unwrap();
    let time = |wasm: &[u8]| {
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut linker = wasmtime::Linker::new(&engine);
        linker.func_wrap("xwasm_internal", "charge_bulk", |bytes: i32| bytes).unwrap();
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let mut store = wasmtime::Store::new(&engine, ());
                let instance = linker.instantiate(&mut store, &module).unwrap();
                if let Some(gas) = instance.get_global(&mut store, "__xwasm_gas") {
                    gas.set(&mut store, wasmtime::Val::I64(i64::MAX / 2)).unwrap();
                }
                let f = instance.get_typed_func::<i32, i64>(&mut store, "fib").unwrap();
                let started = Instant::now();
                std::hint::black_box(f.call(&mut store, 25).unwrap());
                started.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[7]
    };
    let unmetered = wat::parse_str(xwasm_benches::FIB).unwrap();
    let policy = xwasm::security::ModulePolicy::new(xwasm::security::Profile::Permissive, Vec::new());
    let variants = [
        ("neither global exported", wat::parse_str(metered_fib("")).unwrap()),
        ("gas exported", wat::parse_str(metered_fib(r#"(export "g" (global $gas))"#)).unwrap()),
        (
            "both exported",
            wat::parse_str(metered_fib(r#"(export "g" (global $gas)) (export "s" (global $stack))"#))
                .unwrap(),
        ),
        ("the rewrite (gas exported)", policy.preprocess(&unmetered).unwrap()),
    ];
    for round in 0..3 {
        let base = time(&unmetered);
        for (name, wasm) in &variants {
            println!("round {round}: fib(25) metered, {name:28} {:.2}x unmetered", time(wasm) / base);
        }
    }
}

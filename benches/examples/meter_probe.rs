//! Where metering time goes, on the report's two compute kernels: a plain
//! wasmtime embedding with fuel and epoch checks each on or off; the
//! instrumentation meter written by hand into the two kernels (gas in a
//! wasm global, charged per basic block), run without fuel; and xwasm's
//! engine running each kernel as compiled and after the load-time rewrite
//! (stack accounting, and the same meter, generated).
//!
//! `cargo run --release -p xwasm-benches --example meter_probe`
//!
//! Figures are medians of 9 runs in a fresh store, in microseconds.

use std::time::Instant;
use xwasm_benches::{FIB, MIX};

/// The loop kernel metered by instrumentation: each basic block takes its
/// operator count from the global `$gas` and traps below zero.
const MIX_INSTRUMENTED: &str = r#"(module (memory (export "memory") 1)
  (global $gas (mut i64) (i64.const 0x3fffffffffffffff))
  (func (export "mix") (param $rounds i32) (result i64) (local $r i32) (local $i i32) (local $x i64) (local $sum i64)
    (loop $round
      (global.set $gas (i64.sub (global.get $gas) (i64.const 3)))
      (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
      (local.set $i (i32.const 0))
      (loop $each
        (global.set $gas (i64.sub (global.get $gas) (i64.const 37)))
        (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
        (local.set $x (i64.load offset=1024 (i32.shl (local.get $i) (i32.const 3))))
        (local.set $x (i64.xor (local.get $x) (i64.extend_i32_u (local.get $r))))
        (local.set $x (i64.mul (local.get $x) (i64.const 0x100000001b3)))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 29))))
        (i64.store offset=1024 (i32.shl (local.get $i) (i32.const 3)) (local.get $x))
        (local.set $sum (i64.add (local.get $sum) (local.get $x)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $i) (i32.const 64))))
      (global.set $gas (i64.sub (global.get $gas) (i64.const 8)))
      (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (local.get $rounds))))
    (local.get $sum)))"#;

/// fib metered by instrumentation, as above.
const FIB_INSTRUMENTED: &str = r#"(module (memory (export "memory") 1)
  (global $gas (mut i64) (i64.const 0x3fffffffffffffff))
  (func $fib (export "fib") (param $n i32) (result i64)
    (global.set $gas (i64.sub (global.get $gas) (i64.const 4)))
    (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then
        (global.set $gas (i64.sub (global.get $gas) (i64.const 2)))
        (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
        (i64.extend_i32_u (local.get $n)))
      (else
        (global.set $gas (i64.sub (global.get $gas) (i64.const 9)))
        (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
        (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                 (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

/// The kernels, their instrumented twins, their exported function and its
/// argument.
const KERNELS: [(&str, &str, &str, i32); 2] =
    [(MIX, MIX_INSTRUMENTED, "mix", 20_000), (FIB, FIB_INSTRUMENTED, "fib", 25)];

fn median_us(mut run: impl FnMut() -> f64) -> f64 {
    let mut times: Vec<f64> = (0..9).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    times[4]
}

/// `function(arg)` of `wasm` on a plain engine (64 MiB memory reservation,
/// as xwasm's pool uses) with fuel and epoch checks as asked.
fn plain(fuel: bool, epoch: bool, wasm: &[u8], function: &str, arg: i32) -> f64 {
    let mut config = wasmtime::Config::new();
    config
        .consume_fuel(fuel)
        .epoch_interruption(epoch)
        .memory_reservation(64 << 20)
        .memory_reservation_for_growth(0);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    median_us(|| {
        let mut store = wasmtime::Store::new(&engine, ());
        if fuel {
            store.set_fuel(u64::MAX / 4).unwrap();
        }
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<i32, i64>(&mut store, function).unwrap();
        let started = Instant::now();
        std::hint::black_box(f.call(&mut store, arg).unwrap());
        started.elapsed().as_secs_f64() * 1e6
    })
}

/// `function(arg)` of `wasm` on xwasm's default engine (no fuel), after
/// the load-time rewrite when `rewrite` is set: then metered by the
/// rewrite's gas global, charged per basic block.
fn xwasm_engine(rewrite: bool, wasm: &[u8], function: &str, arg: i32) -> f64 {
    let engine = xwasm::engine::build_engine(&Default::default()).unwrap();
    let wasm = if rewrite {
        let policy = xwasm::security::ModulePolicy::new(xwasm::security::Profile::Permissive, Vec::new());
        policy.preprocess(wasm).unwrap()
    } else {
        wasm.to_vec()
    };
    let module = wasmtime::Module::new(&engine, &wasm).unwrap();
    let mut linker = wasmtime::Linker::new(&engine);
    linker.allow_unknown_exports(true);
    linker.func_wrap("xwasm_internal", "charge_bulk", |bytes: i32| bytes).unwrap();
    median_us(|| {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        if let Some(gas) = instance.get_global(&mut store, "__xwasm_gas") {
            gas.set(&mut store, wasmtime::Val::I64(i64::MAX / 2)).unwrap();
        }
        let f = instance.get_typed_func::<i32, i64>(&mut store, function).unwrap();
        let started = Instant::now();
        std::hint::black_box(f.call(&mut store, arg).unwrap());
        started.elapsed().as_secs_f64() * 1e6
    })
}

fn main() {
    for (wat, instrumented, function, arg) in KERNELS {
        let wasm = wat::parse_str(wat).unwrap();
        let none = plain(false, false, &wasm, function, arg);
        let fuel = plain(true, false, &wasm, function, arg);
        let epoch = plain(false, true, &wasm, function, arg);
        let both = plain(true, true, &wasm, function, arg);
        println!(
            "{function}({arg}) plain wasmtime: unmetered {none:.0} µs; fuel {:.2}x, epoch {:.2}x, both {:.2}x",
            fuel / none,
            epoch / none,
            both / none
        );
        let by_block = plain(false, false, &wat::parse_str(instrumented).unwrap(), function, arg);
        println!(
            "{function}({arg}) gas in a global, per basic block, no fuel: {:.2}x unmetered ({:.2}x of fuel's time)",
            by_block / none,
            by_block / fuel
        );
        let raw = xwasm_engine(false, &wasm, function, arg);
        let rewritten = xwasm_engine(true, &wasm, function, arg);
        println!(
            "{function}({arg}) xwasm engine: unmetered {raw:.0} µs, rewritten and metered {rewritten:.0} µs ({:.2}x)",
            rewritten / raw
        );
    }
}

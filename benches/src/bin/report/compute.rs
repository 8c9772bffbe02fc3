//! Sections 3 and 4: metered against unmetered compute, and xwasm against
//! wasmi with fuel, on a loop kernel and on call-heavy recursion.

use crate::Row;
use crate::measure::{human_ns, paired_ns};
use xwasm::Vm;
use xwasm::engine::EngineConfig;
use xwasm_benches::{FIB, MIX};

/// The metering rows; `vm` is the metered (permissive) VM.
pub(crate) fn measure(vm: &Vm, rows: &mut Vec<Row>) {
    // 3. Metered vs unmetered compute, and 4. against wasmi: a
    // loop-heavy kernel, and call-heavy recursion (the worst case for the
    // per-call stack accounting).
    // (kernel, function, argument, its two rows' names)
    let kernels = [
        (MIX, "mix", 20_000, "metered vs unmetered (loop kernel)", "xwasm vs wasmi with fuel (loop kernel)"),
        (FIB, "fib", 25, "metered vs unmetered (fib 25, call-heavy)", "xwasm vs wasmi with fuel (fib 25)"),
    ];
    for (wat, function, arg, metering_row, wasmi_row) in kernels {
        let wasm = wat::parse_str(wat).unwrap();
        let (metered, plain, ratio) =
            paired_ns(9, 1, xwasm_run(vm, wasm.clone(), function, arg), unmetered(&wasm, function, arg));
        let (interpreted, metered_again, slower) =
            paired_ns(5, 1, wasmi(&wasm, function, arg), xwasm_run(vm, wasm.clone(), function, arg));
        rows.push(Row {
            name: metering_row.into(),
            what: format!("{} vs {}", human_ns(metered), human_ns(plain)),
            value: ratio,
            unit: "x",
            target: "≤ 1.3x",
            met: Some(ratio <= 1.3),
        });
        // A reference, not a target: unmetered wasmtime is itself only
        // about 9.5x faster than wasmi 2 on the loop kernel here, so no
        // meter could reach 10x; metered vs unmetered is the target.
        rows.push(Row {
            name: wasmi_row.into(),
            what: format!("{} vs {}", human_ns(metered_again), human_ns(interpreted)),
            value: slower,
            unit: "x faster",
            target: "(reference)",
            met: None,
        });
    }
}

/// A run of `function(arg)` of `wasm` on `vm`, which must succeed.
pub(crate) fn xwasm_run<'a>(
    vm: &'a Vm,
    wasm: Vec<u8>,
    function: &'static str,
    arg: i32,
) -> impl FnMut() + 'a {
    move || {
        let run = vm.run_function(&wasm, function, &[xwasm::Val::I32(arg)], u64::MAX / 4).unwrap();
        assert_eq!(run.outcome.status, xwasm::Status::Ok);
    }
}

/// A run of `function(arg)` of `wasm` on an engine without fuel (the
/// unmetered baseline), in a fresh store.
fn unmetered(wasm: &[u8], function: &str, arg: i32) -> impl FnMut() {
    let mut config = EngineConfig::default().to_wasmtime();
    config.consume_fuel(false).epoch_interruption(false);
    let engine = wasmtime::Engine::new(&config).unwrap();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let function = function.to_owned();
    move || {
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<i32, i64>(&mut store, &function).unwrap();
        std::hint::black_box(f.call(&mut store, arg).unwrap());
    }
}

/// A run of `function(arg)` of `wasm` in wasmi with fuel.
fn wasmi(wasm: &[u8], function: &str, arg: i32) -> impl FnMut() {
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let function = function.to_owned();
    move || {
        let mut store = wasmi::Store::new(&engine, ());
        store.set_fuel(u64::MAX / 4).unwrap();
        let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).unwrap();
        let f = instance.get_typed_func::<i32, i64>(&store, &function).unwrap();
        std::hint::black_box(f.call(&mut store, arg).unwrap());
    }
}

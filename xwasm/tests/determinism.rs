//! Determinism: the same call gives the same outcome and gas twice, under
//! Cranelift and Winch, fresh and from the disk tier; bulk memory costs the
//! same everywhere; the call-stack limit is the same everywhere.

use xwasm::engine::{EngineConfig, Strategy};
use xwasm::security::preprocess::StackLimit;
use xwasm::{Address, ChainContext, Outcome, Status, Transaction, Val, Vm, VmConfig};

const GAS: u64 = 500_000_000;
const SENDER: Address = Address([3; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 9, block_time_ms: 9 };

fn vm(strategy: Strategy, stack: Option<u32>) -> Vm {
    let config = VmConfig {
        engine: EngineConfig { strategy, ..Default::default() },
        stack_limit: stack.map_or_else(StackLimit::default, |max_units| StackLimit { max_units }),
        ..Default::default()
    };
    Vm::builder().config(config).build().unwrap()
}

fn deploy(vm: &Vm, wat: &str) -> Address {
    let wasm = wat::parse_str(wat).unwrap();
    let outcome = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, GAS, vec![])).unwrap();
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
    outcome.address.unwrap()
}

fn call(vm: &Vm, address: &Address, method: &str, input: &[u8]) -> Outcome {
    vm.call(address, method, &CHAIN, &Transaction::new(SENDER, GAS, input.to_vec())).unwrap()
}

const BULK: &str = r#"(module
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (memory (export "memory") 2)
  (data $seed "0123456789")
  (func $n (result i32) (call $input_read (i32.const 0)) (i32.load (i32.const 0)))
  (func (export "fill") (memory.fill (i32.const 100) (i32.const 7) (call $n)))
  (func (export "copy") (memory.copy (i32.const 200) (i32.const 0) (call $n)))
  (func (export "init_segment") (memory.init $seed (i32.const 300) (i32.const 0) (call $n))))"#;

#[test]
fn bulk_memory_costs_the_same_under_both_strategies() {
    let (cranelift, winch) = (vm(Strategy::Cranelift, None), vm(Strategy::Winch, None));
    let (a, b) = (deploy(&cranelift, BULK), deploy(&winch, BULK));
    for (method, small, large) in [("fill", 10u32, 10_010u32), ("copy", 10, 10_010), ("init_segment", 0, 10)]
    {
        let mut gas = Vec::new();
        for n in [small, large] {
            let x = call(&cranelift, &a, method, &n.to_le_bytes());
            let y = call(&winch, &b, method, &n.to_le_bytes());
            assert_eq!(x.status, Status::Ok, "{method} {n}: {:?}", x.error);
            assert_eq!((x.status, x.gas_used), (y.status, y.gas_used), "{method} of {n} bytes");
            gas.push(x.gas_used);
        }
        assert_eq!(gas[1] - gas[0], (large - small) as u64, "{method}: one gas per byte");
    }
}

const RECURSION: &str = r#"(module
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "self_address" (func $self_address (param i32)))
  (import "xwasm" "call" (func $call (param i32 i32 i32 i32 i32 i64) (result i32)))
  (import "xwasm" "gas_left" (func $gas_left (result i64)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "down")
  (func $down (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get $n) (i32.const 1)))))))
  (func $wide (param $n i32) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local v128 v128 v128 v128)
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.const 0))
      (else (i64.add (local.get 3) (call $wide (i32.sub (local.get $n) (i32.const 1)))))))
  ;; A helper of a large frame that nothing else calls in a cycle: the
  ;; recursive function calling it claims its frame too.
  (func $helper (param $n i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (i32.add (local.get $n) (i32.wrap_i64 (local.get 7))))
  (func $helped (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (call $helper (call $helped (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "down") (call $input_read (i32.const 0)) (drop (call $down (i32.load (i32.const 0)))))
  (func (export "helped") (call $input_read (i32.const 0)) (drop (call $helped (i32.load (i32.const 0)))))
  (func (export "wide") (call $input_read (i32.const 0)) (drop (call $wide (i32.load (i32.const 0)))))
  ;; Recurse n frames (input bytes 0..4), then call `down` of this contract
  ;; with m (input bytes 4..8); return the call's status.
  (func $then_call (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then
        (call $self_address (i32.const 32))
        (call $call (i32.const 32) (i32.const 64) (i32.const 4) (i32.const 4) (i32.const 4)
          (i64.div_u (call $gas_left) (i64.const 2))))
      (else (call $then_call (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "deep_then_call")
    (call $input_read (i32.const 0))
    (i32.store (i32.const 16) (call $then_call (i32.load (i32.const 0))))
    (call $return_data (i32.const 16) (i32.const 4))))"#;

/// The deepest `n` for which `method` succeeds, by bisection.
fn deepest(vm: &Vm, address: &Address, method: &str) -> u32 {
    let (mut ok, mut fail) = (0u32, 1_000_000u32);
    while fail - ok > 1 {
        let mid = (ok + fail) / 2;
        let outcome = call(vm, address, method, &mid.to_le_bytes());
        match outcome.status {
            Status::Ok => ok = mid,
            Status::Trap => {
                let error = outcome.error.unwrap();
                assert!(
                    error.contains("call stack exhausted (deterministic limit)"),
                    "{method} {mid}: {error}"
                );
                fail = mid;
            }
            other => panic!("{method} {mid}: {other} {:?}", outcome.error),
        }
    }
    ok
}

#[test]
fn the_stack_limit_is_the_same_under_both_strategies_and_fits_1000_frames() {
    let (cranelift, winch) = (vm(Strategy::Cranelift, None), vm(Strategy::Winch, None));
    let (a, b) = (deploy(&cranelift, RECURSION), deploy(&winch, RECURSION));
    for method in ["down", "wide"] {
        let depth = deepest(&cranelift, &a, method);
        assert_eq!(depth, deepest(&winch, &b, method), "{method}");
        if method == "down" {
            assert!(depth >= 1_000, "a recursion of 1,000 frames must succeed: {depth}");
        }
        let ok = call(&cranelift, &a, method, &depth.to_le_bytes());
        assert_eq!(ok.gas_used, call(&winch, &b, method, &depth.to_le_bytes()).gas_used);
    }
}

/// Only functions in a cycle or entered from outside claim stack units;
/// each claims for the functions it calls that do not. A recursion that
/// calls a large helper at every level therefore goes less deep than one
/// that does not, by the helper's frame, the same under both compilers.
#[test]
fn a_recursive_function_claims_for_the_helpers_it_calls() {
    let (cranelift, winch) = (vm(Strategy::Cranelift, None), vm(Strategy::Winch, None));
    let (a, b) = (deploy(&cranelift, RECURSION), deploy(&winch, RECURSION));
    let down = deepest(&cranelift, &a, "down");
    let helped = deepest(&cranelift, &a, "helped");
    assert_eq!(helped, deepest(&winch, &b, "helped"));
    assert!(helped < down / 2, "the helper's 20 locals count at every level: {helped} vs {down}");
    assert!(helped >= 500, "{helped}");
    let (x, y) = (
        call(&cranelift, &a, "helped", &helped.to_le_bytes()),
        call(&winch, &b, "helped", &helped.to_le_bytes()),
    );
    assert_eq!((x.status, x.gas_used), (y.status, y.gas_used));
}

/// A stack limit the rewrite cannot count to is a configuration error.
#[test]
fn a_stack_limit_past_what_the_rewrite_counts_is_refused() {
    let config =
        VmConfig { stack_limit: StackLimit { max_units: StackLimit::MAX_UNITS + 1 }, ..Default::default() };
    let Err(error) = Vm::builder().config(config).build() else { panic!("a limit past 2^30 was accepted") };
    let error = error.to_string();
    assert!(error.contains("stack_limit.max_units"), "{error}");
    assert!(vm(Strategy::Cranelift, Some(StackLimit::MAX_UNITS)).config().stack_limit.max_units > 0);
}

/// The rewrite's own exports (the stack count's accessor, the gas global)
/// are not entry points, and a module cannot take their names.
#[test]
fn the_rewrites_own_exports_are_not_entry_points() {
    let vm = vm_permissive(Strategy::Cranelift);
    let wasm = wat::parse_str(r#"(module (func (export "f") (result i32) (i32.const 7)))"#).unwrap();
    assert_eq!(vals(&vm.run_function(&wasm, "f", &[], 1_000_000).unwrap().results), ["i32:7"]);
    for (name, params) in [("__xwasm_stack", vec![Val::I32(-1)]), ("__xwasm_gas", vec![])] {
        let error = vm.run_function(&wasm, name, &params, 1_000_000).unwrap_err().to_string();
        assert!(error.contains("unknown method") || error.contains(name), "{name}: {error}");
    }
    let squatter =
        wat::parse_str(r#"(module (func (export "__xwasm_stack") (result i32) (i32.const 7)))"#).unwrap();
    let error = vm.run_function(&squatter, "__xwasm_stack", &[], 1_000_000).unwrap_err().to_string();
    assert!(error.contains("is reserved"), "{error}");
}

#[test]
fn a_nested_call_continues_its_callers_stack_count() {
    let vm = vm(Strategy::Cranelift, None);
    let address = deploy(&vm, RECURSION);
    let limit = deepest(&vm, &address, "down");
    let run = |caller_frames: u32, callee_frames: u32| {
        let input = [caller_frames.to_le_bytes(), callee_frames.to_le_bytes()].concat();
        let outcome = call(&vm, &address, "deep_then_call", &input);
        assert_eq!(outcome.status, Status::Ok, "{:?} {:?} limit {limit}", outcome.error, outcome.backtrace);
        u32::from_le_bytes(outcome.return_data.try_into().unwrap())
    };
    // The deepest the caller can go itself (its callee then recursing 0).
    let caller_limit = deepest(&vm, &address, "deep_then_call");
    assert_eq!(run(0, limit / 2), 0, "the callee alone fits");
    assert_eq!(run(caller_limit * 3 / 4, limit / 2), 1, "on top of a deep caller it does not");
    assert_eq!(run(caller_limit * 3 / 4, limit / 8), 0, "a shallow one still fits");
}

const SMITH_RUNS: u32 = 200;

#[test]
fn random_modules_give_the_same_results_and_gas_everywhere() {
    let runners = [
        vm_permissive(Strategy::Cranelift),
        vm_permissive(Strategy::Winch),
        vm_permissive(Strategy::Cranelift),
    ];
    let mut executed = 0;
    let mut statuses = std::collections::BTreeMap::<String, u32>::new();
    for seed in 0..SMITH_RUNS {
        let Some(wasm) = smith_module(seed) else { continue };
        let Ok(Some((export, params))) = runners[0].inspect(&wasm).map(|info| {
            info.exports.iter().find_map(|e| match &e.ty {
                xwasm::security::ItemType::Func { signature } => {
                    let zeros: Option<Vec<Val>> = signature.params.iter().map(zero).collect();
                    zeros.map(|zeros| (e.name.clone(), zeros))
                }
                _ => None,
            })
        }) else {
            eprintln!(
                "seed {seed}: no callable export: {:?}",
                runners[0].inspect(&wasm).map(|i| i
                    .exports
                    .iter()
                    .map(|e| e.ty.to_string())
                    .collect::<Vec<_>>())
            );
            continue;
        };
        let results: Vec<_> = runners
            .iter()
            .map(|vm| match vm.run_function(&wasm, &export, &params, 1_000_000) {
                Ok(run) => Ok((run.outcome.status, run.outcome.gas_used, vals(&run.results))),
                Err(e) => Err(e.to_string()),
            })
            .collect();
        assert_eq!(results[0], results[1], "seed {seed}: Cranelift vs Winch");
        assert_eq!(results[0], results[2], "seed {seed}: twice");
        if let Err(e) = &results[0] {
            eprintln!("seed {seed}: {e}");
        }
        if let Ok((status, _, _)) = &results[0] {
            *statuses.entry(status.to_string()).or_default() += 1;
        }
        executed += results[0].is_ok() as u32;
    }
    eprintln!("{executed} of {SMITH_RUNS} random modules ran: {statuses:?}");
    assert!(
        statuses.get("ok").copied().unwrap_or(0) >= SMITH_RUNS / 10,
        "too few ran to the end: {statuses:?}"
    );
    assert!(executed >= SMITH_RUNS / 2, "only {executed} of {SMITH_RUNS} modules ran");
}

/// A random valid module (wasm-smith, seeded by `seed`) with exports and no
/// imports; `None` when wasm-smith cannot make one from the seed.
fn smith_module(seed: u32) -> Option<Vec<u8>> {
    use arbitrary::{Arbitrary, Unstructured};
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (seed as u64 + 1).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let bytes: Vec<u8> = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut u = Unstructured::new(&bytes);
    let mut config = wasm_smith::Config::arbitrary(&mut u).unwrap();
    config.max_imports = 0;
    config.export_everything = true;
    config.min_types = 1;
    config.max_types = config.max_types.max(8);
    config.min_funcs = 1;
    config.max_funcs = config.max_funcs.max(8);
    config.min_exports = 1;
    config.max_exports = config.max_exports.max(8);
    config.max_memories = 1;
    config.max_tables = 1;
    config.memory64_enabled = false;
    config.threads_enabled = false;
    config.relaxed_simd_enabled = false;
    config.simd_enabled = false;
    config.gc_enabled = false;
    config.exceptions_enabled = false;
    config.tail_call_enabled = false;
    config.custom_page_sizes_enabled = false;
    config.wide_arithmetic_enabled = false;
    config.reference_types_enabled = false;
    config.multi_value_enabled = true;
    config.canonicalize_nans = true;
    config.max_table_elements = 1_000;
    config.max_memory32_bytes = 16 * 65_536;
    config.max_data_segments = 100;
    let module = match wasm_smith::Module::new(config, &mut u) {
        Ok(module) => module,
        Err(e) => {
            eprintln!("seed {seed}: {e}");
            return None;
        }
    };
    Some(module.to_bytes())
}

/// The gas meter against wasmtime's fuel: on random modules, every call
/// that runs to the end is charged exactly what fuel charges for the same
/// code without the meter (same operator costs, bulk bytes through
/// `charge_bulk` in both).
#[test]
fn the_meter_charges_what_fuel_would() {
    let vm = vm_permissive(Strategy::Cranelift);
    let fuel = Fuel::new();
    let mut compared = 0;
    for seed in 0..SMITH_RUNS {
        let Some(wasm) = smith_module(seed) else { continue };
        // A start function's gas is taken from the call in the VM, but
        // cannot be told apart from segment initialization in fuel.
        let Ok(info) = vm.inspect(&wasm) else { continue };
        if info.has_start {
            continue;
        }
        let Some((export, params)) = info.exports.iter().find_map(|e| match &e.ty {
            xwasm::security::ItemType::Func { signature } => {
                let zeros: Option<Vec<Val>> = signature.params.iter().map(zero).collect();
                zeros.map(|zeros| (e.name.clone(), zeros))
            }
            _ => None,
        }) else {
            continue;
        };
        let Ok(run) = vm.run_function(&wasm, &export, &params, 1_000_000) else { continue };
        if run.outcome.status != Status::Ok {
            continue;
        }
        let (fuel_used, results) = fuel.run(&wasm, &export, &params);
        assert_eq!(run.outcome.gas_used, fuel_used, "seed {seed}: meter vs fuel");
        assert_eq!(vals(&run.results), vals(&results), "seed {seed}: results");
        compared += 1;
    }
    eprintln!("{compared} of {SMITH_RUNS} random modules compared with fuel");
    assert!(compared >= SMITH_RUNS / 10, "only {compared} modules ran to the end");
}

/// wasm-smith's calls go anywhere, so nearly every function it calls is in
/// a cycle and claims stack units. These modules call only down a random
/// acyclic graph, so most functions are private helpers that claim
/// nothing: the meter equals fuel on their code too, the results equal
/// unmetered wasmtime's, and both compilers agree on results and gas.
#[test]
fn the_meter_charges_what_fuel_would_on_call_chains() {
    let (cranelift, winch) = (vm_permissive(Strategy::Cranelift), vm_permissive(Strategy::Winch));
    let fuel = Fuel::new();
    let mut calls = 0;
    for seed in 0..60u64 {
        let (wat, exports) = call_chain_module(seed);
        let wasm = wat::parse_str(&wat).unwrap();
        for export in exports {
            let params = [Val::I32(seed as i32 * 7919)];
            let run = cranelift.run_function(&wasm, &export, &params, 1_000_000).unwrap();
            assert_eq!(run.outcome.status, Status::Ok, "seed {seed} {export}: {:?}", run.outcome.error);
            let other = winch.run_function(&wasm, &export, &params, 1_000_000).unwrap();
            assert_eq!(
                (run.outcome.gas_used, vals(&run.results)),
                (other.outcome.gas_used, vals(&other.results)),
                "seed {seed} {export}: Cranelift vs Winch"
            );
            let (fuel_used, results) = fuel.run(&wasm, &export, &params);
            assert_eq!(run.outcome.gas_used, fuel_used, "seed {seed} {export}: meter vs fuel\n{wat}");
            assert_eq!(vals(&run.results), vals(&results), "seed {seed} {export}: results");
            calls += 1;
        }
    }
    assert!(calls >= 60, "{calls}");
}

/// A module of 2-9 functions `(i32) -> i32` where function `k` calls only
/// functions below it: adds, branches out of blocks, early returns and
/// calls, in a random order. The last function and a random few others
/// are exported; the rest are private. Returns the text and the exports.
fn call_chain_module(seed: u64) -> (String, Vec<String>) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below.max(1)
    };
    let count = 2 + next(8);
    let mut wat = String::from("(module\n");
    let mut exports = Vec::new();
    for k in 0..count {
        let exported = k == count - 1 || next(4) == 0;
        if exported {
            exports.push(format!("f{k}"));
        }
        let export = if exported { format!(r#"(export "f{k}")"#) } else { String::new() };
        wat += &format!("  (func $f{k} {export} (param $x i32) (result i32) (local $y i32)\n");
        wat += "    (local.set $y (local.get $x))\n";
        for _ in 0..1 + next(6) {
            let c = next(1000);
            wat += &match next(if k == 0 { 3 } else { 5 }) {
                0 => format!("    (local.set $y (i32.add (local.get $y) (i32.const {c})))\n"),
                1 => format!(
                    "    (if (i32.eqz (i32.and (local.get $y) (i32.const 3))) (then (return (i32.mul (local.get $y) (i32.const {c})))))\n"
                ),
                2 => format!(
                    "    (block (br_if 0 (i32.and (local.get $y) (i32.const 1))) (local.set $y (i32.xor (local.get $y) (i32.const {c}))))\n"
                ),
                _ => format!(
                    "    (local.set $y (call $f{} (i32.add (local.get $y) (i32.const {c}))))\n",
                    next(k)
                ),
            };
        }
        wat += "    (local.get $y))\n";
    }
    wat += ")";
    (wat, exports)
}

/// Plain wasmtime with fuel on the rewritten module without its meter:
/// what fuel charges for the very code the meter charges for.
struct Fuel {
    engine: wasmtime::Engine,
    linker: wasmtime::Linker<()>,
    policy: xwasm::security::ModulePolicy,
}

impl Fuel {
    fn new() -> Self {
        let mut fuel_config = EngineConfig::default().to_wasmtime();
        let mut cost = wasmtime::OperatorCost::new();
        let v = &mut cost.variable;
        (v.memory_copy_per_byte, v.memory_fill_per_byte, v.memory_init_per_byte) = (0, 0, 0);
        (v.table_copy_per_element, v.table_fill_per_element, v.table_init_per_element) = (0, 0, 0);
        v.table_grow_per_element = 0;
        fuel_config.consume_fuel(true).operator_cost(cost);
        let engine = wasmtime::Engine::new(&fuel_config).unwrap();
        let mut linker = wasmtime::Linker::<()>::new(&engine);
        linker
            .func_wrap("xwasm_internal", "charge_bulk", |mut caller: wasmtime::Caller<'_, ()>, n: i32| {
                let left = caller.get_fuel()?;
                caller.set_fuel(left.saturating_sub(n as u32 as u64))?;
                Ok(n)
            })
            .unwrap();
        let policy = xwasm::security::ModulePolicy::new(xwasm::security::Profile::Permissive, Vec::new());
        Self { engine, linker, policy }
    }

    /// The fuel `export(params)` uses, and what it returns.
    fn run(&self, wasm: &[u8], export: &str, params: &[Val]) -> (u64, Vec<Val>) {
        let policy = &self.policy;
        let unmetered = xwasm::security::preprocess::preprocess_unmetered(
            wasm,
            policy.stack_limit,
            policy.rewrite,
            policy.features(),
        )
        .unwrap();
        let module = wasmtime::Module::new(&self.engine, &unmetered).unwrap();
        let mut store = wasmtime::Store::new(&self.engine, ());
        // Fuel is set after instantiation: wasmtime may charge for
        // initializing segments (wasmtime #14331); the meter does not.
        store.set_fuel(u64::MAX / 2).unwrap();
        let instance = self.linker.instantiate(&mut store, &module).unwrap();
        store.set_fuel(1_000_000).unwrap();
        let func = instance.get_func(&mut store, export).unwrap();
        let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
        func.call(&mut store, params, &mut results).unwrap();
        (1_000_000 - store.get_fuel().unwrap(), results)
    }
}

/// The zero of a parameter type, for the numeric types.
fn zero(ty: &xwasm::security::ValType) -> Option<Val> {
    use xwasm::security::ValType as T;
    Some(match ty {
        T::I32 => Val::I32(0),
        T::I64 => Val::I64(0),
        T::F32 => Val::F32(0),
        T::F64 => Val::F64(0),
        _ => return None,
    })
}

fn vm_permissive(strategy: Strategy) -> Vm {
    Vm::builder()
        .engine(EngineConfig { strategy, ..Default::default() })
        .profile(xwasm::security::Profile::Permissive)
        .build()
        .unwrap()
}

fn vals(values: &[Val]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v {
            Val::I32(x) => format!("i32:{x}"),
            Val::I64(x) => format!("i64:{x}"),
            Val::F32(x) => format!("f32:{x:#x}"),
            Val::F64(x) => format!("f64:{x:#x}"),
            other => format!("{other:?}"),
        })
        .collect()
}

/// Also where the optimizing tier checks bounds explicitly: its baseline
/// (Winch) keeps guard pages.
#[test]
fn tiered_compilation_switches_tiers_with_the_same_results_and_gas() {
    for explicit_bounds_checks in [false, true] {
        let mut config = VmConfig { tiered: true, ..Default::default() };
        config.engine.explicit_bounds_checks = explicit_bounds_checks;
        switches_tiers(Vm::builder().config(config).build().unwrap());
    }
}

fn switches_tiers(tiered: Vm) {
    let plain = vm(Strategy::Cranelift, None);
    let (a, b) = (deploy(&tiered, RECURSION), deploy(&plain, RECURSION));
    let first = call(&tiered, &a, "down", &300u32.to_le_bytes());
    // Wait (bounded) for the optimizing tier to take over.
    let mut upgraded = false;
    for _ in 0..500 {
        let probe = call(&tiered, &a, "down", &300u32.to_le_bytes());
        assert_eq!((probe.status, probe.gas_used), (first.status, first.gas_used));
        if tiered.loaded_tier(&a).unwrap() == "optimizing" {
            upgraded = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(upgraded, "the optimizing tier never took over");
    let later = call(&tiered, &a, "down", &300u32.to_le_bytes());
    let reference = call(&plain, &b, "down", &300u32.to_le_bytes());
    assert_eq!((first.status, first.gas_used), (reference.status, reference.gas_used));
    assert_eq!(
        (later.status, later.gas_used, later.return_data),
        (reference.status, reference.gas_used, reference.return_data)
    );
}

//! Hostile deployments: every bomb is refused by name before any compile
//! work, or accepted and then runs; deployments pay for their bytes before
//! they are parsed; what the policy accepts the engine always takes.

use arbitrary::{Arbitrary, Unstructured};
use xwasm::engine::{EngineConfig, Strategy};
use xwasm::security::{ModuleLimits, PolicyViolation};
use xwasm::{Address, ChainContext, Status, Transaction, Vm, VmConfig, VmError};
use xwasm_fuzzing::bombs;

const SENDER: Address = Address([0x5e; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };
const COUNTER: &str = include_str!("../../examples/contracts/counter.wat");

fn vm(strategy: Strategy) -> Vm {
    Vm::builder().engine(EngineConfig { strategy, ..Default::default() }).build().unwrap()
}

/// The gas that pays for deploying `wasm` on `vm` as new code, plus `extra`.
fn priced(vm: &Vm, wasm: &[u8], extra: u64) -> Transaction {
    Transaction::new(SENDER, xwasm_fuzzing::deployment_price(vm, wasm) + extra, Vec::new())
}

/// Deploys `wasm` and calls its `run`; the limit it was refused by, if any.
/// Anything else (a compile or instantiation failure) fails the test.
fn deploy_and_run(vm: &Vm, wasm: &[u8]) -> Option<&'static str> {
    match vm.deploy(wasm, &CHAIN, &priced(vm, wasm, 1_000_000)) {
        Ok(outcome) => {
            assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.error);
            let address = outcome.address.unwrap();
            let run =
                vm.call(&address, "run", &CHAIN, &Transaction::new(SENDER, 1_000_000_000, vec![])).unwrap();
            assert_ne!(run.status, Status::Trap, "{:?}", run.error);
            None
        }
        Err(VmError::Policy(PolicyViolation::LimitExceeded { what, .. })) => Some(what),
        Err(other) => panic!("neither refused by a limit nor run: {other}"),
    }
}

#[test]
fn every_bomb_is_refused_by_name_or_runs_under_both_compilers() {
    let limits = ModuleLimits::default();
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("3 tables", bombs::tables(3, 10), None),
        ("4 tables of the most elements", bombs::tables(4, limits.max_table_elements), None),
        ("5 tables", bombs::tables(5, 10), Some("tables")),
        ("a table of 100,000 elements", bombs::tables(1, 100_000), Some("table elements")),
        ("a br_table at the limit", bombs::wide_br_table(limits.max_br_table_targets as usize, 2), None),
        ("a br_table of 99,999 targets", bombs::wide_br_table(99_999, 1), Some("targets of one br_table")),
        (
            "a function at the body limit",
            bombs::huge_function(limits.max_function_body_bytes as usize - 64),
            None,
        ),
        ("a 1.4 MB function", bombs::register_pressure(512, 1_400_000), Some("bytes of one function body")),
        ("nesting at the limit", bombs::deep_nesting(limits.max_nesting_depth as usize - 1, 2), None),
        (
            "nesting past the limit",
            bombs::deep_nesting(limits.max_nesting_depth as usize + 1, 1),
            Some("nesting depth of blocks in one function"),
        ),
        ("locals at both limits", bombs::many_locals(4_096, 16), None),
        ("50,000 locals in one function", bombs::many_locals(50_000, 1), Some("locals in one function")),
        ("locals past the total", bombs::many_locals(4_096, 17), Some("locals of all functions")),
        ("the most functions", bombs::many_functions(19_999), None),
        ("one function too many", bombs::many_functions(20_000), Some("functions")),
        ("initial memory at the cap", bombs::initial_memory(1_024), None),
        ("initial memory past the cap", bombs::initial_memory(1_025), Some("initial memory pages")),
    ];
    for strategy in [Strategy::Cranelift, Strategy::Winch] {
        let vm = vm(strategy);
        for (name, wasm, refused_by) in &cases {
            assert_eq!(deploy_and_run(&vm, wasm), *refused_by, "{name} under {strategy:?}");
        }
    }
}

#[test]
fn the_initial_memory_limit_follows_the_engines_memory_cap() {
    let config = VmConfig {
        engine: EngineConfig { max_memory_bytes: 1 << 20, ..Default::default() },
        ..Default::default()
    };
    let vm = Vm::builder().config(config).build().unwrap();
    assert_eq!(vm.policy().limits.max_initial_memory_pages, 16);
    assert_eq!(deploy_and_run(&vm, &bombs::initial_memory(16)), None);
    assert_eq!(deploy_and_run(&vm, &bombs::initial_memory(17)), Some("initial memory pages"));
}

#[test]
fn limits_the_compiler_cannot_honour_are_a_configuration_error() {
    let config = VmConfig {
        module_limits: ModuleLimits { max_br_table_targets: 100_000, ..Default::default() },
        ..Default::default()
    };
    let err = Vm::builder().config(config).build().unwrap_err();
    assert!(
        err.to_string().contains("max_br_table_targets 100000 exceeds what the compiler takes (65520)"),
        "{err}"
    );
    // Up to Cranelift's maximum, the policy's limit is the pool's and the
    // compiler's: a br_table of that many targets compiles and runs.
    let config = VmConfig {
        module_limits: ModuleLimits { max_br_table_targets: 65_520, ..Default::default() },
        ..Default::default()
    };
    let vm = Vm::builder().config(config).build().unwrap();
    assert_eq!(deploy_and_run(&vm, &bombs::wide_br_table(65_520, 1)), None);
    // More tables than the default, sized into the pool from the policy.
    let config = VmConfig {
        module_limits: ModuleLimits { max_tables: 8, max_table_elements: 1_000, ..Default::default() },
        ..Default::default()
    };
    let vm = Vm::builder().config(config).build().unwrap();
    assert_eq!(deploy_and_run(&vm, &bombs::tables(8, 1_000)), None);
    assert_eq!(deploy_and_run(&vm, &bombs::tables(1, 1_001)), Some("table elements"));
}

#[test]
fn an_unpaid_deployment_ends_out_of_gas_before_any_work() {
    let vm = vm(Strategy::Cranelift);
    // A compile bomb the policy would refuse, and bytes that are no module
    // at all: neither is parsed when the gas cannot pay for them.
    for wasm in [bombs::register_pressure(512, 1_400_000), vec![0xff; 100_000]] {
        let price = vm.config().gas.deployment(wasm.len(), false);
        let tx = Transaction::new(SENDER, price - 1, Vec::new());
        let outcome = vm.deploy(&wasm, &CHAIN, &tx).unwrap();
        assert_eq!(outcome.status, Status::OutOfGas);
        assert_eq!(outcome.gas_used, price - 1, "out of gas costs the whole limit");
        assert_eq!(outcome.address, None);
        assert!(outcome.error.unwrap().contains(&format!("costs {price} gas")));
    }
    // A small module of many locals pays for its bytes, not for its
    // functions and locals: refused after validation, still before any
    // compile.
    let wasm = bombs::many_locals(4_096, 16);
    let bytes_only = vm.config().gas.deployment(wasm.len(), false);
    let outcome = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, bytes_only, Vec::new())).unwrap();
    assert_eq!(outcome.status, Status::OutOfGas);
    assert!(outcome.error.unwrap().contains("with 17 functions and 65536 locals costs"));
    assert_eq!(vm.cache_stats().misses, 0, "nothing was even looked up for compiling");
    assert_eq!(vm.backend().scan_prefix(&[]).unwrap().len(), 0, "nothing was stored");
}

#[test]
fn a_deployment_pays_for_new_bytes_and_a_fixed_price_for_stored_code() {
    let vm = vm(Strategy::Cranelift);
    let schedule = vm.config().gas.clone();
    let wasm = bombs::tables(1, 10);
    let fresh = xwasm_fuzzing::deployment_price(&vm, &wasm);
    let per_byte = schedule.deploy_per_byte_stored + schedule.deploy_per_byte_compiled;
    // One function (`run`), no locals.
    assert_eq!(fresh, schedule.deploy_base + per_byte * wasm.len() as u64 + schedule.deploy_per_function);
    // Without `init`, the price is all a deployment costs; exactly enough
    // gas is enough.
    let first = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, fresh, Vec::new())).unwrap();
    assert_eq!((first.status, first.gas_used), (Status::Ok, fresh));
    let again = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, fresh, Vec::new())).unwrap();
    assert_eq!((again.status, again.gas_used), (Status::Ok, schedule.deploy_stored_code));
    assert_ne!(first.address, again.address);

    // With `init`: it runs on what the price leaves, and the outcome counts
    // both. The same init on stored code differs by the prices only.
    let counter = wat::parse_str(COUNTER).unwrap();
    let tx = |gas| Transaction::new(SENDER, gas, 7u64.to_le_bytes().to_vec());
    let new_code = vm.deploy(&counter, &CHAIN, &tx(100_000_000)).unwrap();
    let stored_code = vm.deploy(&counter, &CHAIN, &tx(100_000_000)).unwrap();
    assert_eq!((new_code.status, stored_code.status), (Status::Ok, Status::Ok));
    let init_gas = stored_code.gas_used - schedule.deploy_stored_code;
    assert!(init_gas > 0, "init charges gas of its own");
    assert_eq!(new_code.gas_used, xwasm_fuzzing::deployment_price(&vm, &counter) + init_gas);
    // An init that cannot finish on what the price leaves runs out of gas,
    // and the deployment leaves nothing behind.
    let short = vm.deploy(&counter, &CHAIN, &tx(schedule.deploy_stored_code + init_gas - 1)).unwrap();
    assert_eq!((short.status, short.address), (Status::OutOfGas, None));
}

#[test]
fn the_price_never_depends_on_what_this_nodes_caches_hold() {
    let wasm = wat::parse_str(COUNTER).unwrap();
    let tx = Transaction::new(SENDER, 100_000_000, 7u64.to_le_bytes().to_vec());
    // One node has compiled the code already (an `xwasm run` of it, say),
    // the other has never seen it: neither has it stored on chain.
    let warm = vm(Strategy::Cranelift);
    warm.run_function(&wasm, "get", &[], 1_000_000).unwrap();
    assert_eq!(warm.cache_stats().inserts, 1);
    let cold = vm(Strategy::Cranelift);
    let a = warm.deploy(&wasm, &CHAIN, &tx).unwrap();
    let b = cold.deploy(&wasm, &CHAIN, &tx).unwrap();
    assert_eq!((a.status, a.gas_used), (b.status, b.gas_used));
}

/// A wasm-smith contract whose counts reach up to the default policy's
/// limits where generating them stays fast: tables and their elements,
/// memory pages, globals, functions, data segments.
fn module_near_the_limits(data: &[u8]) -> Option<Vec<u8>> {
    let limits = ModuleLimits::default();
    let mut u = Unstructured::new(data);
    let pages = u.int_in_range(1..=limits.max_initial_memory_pages + 2).ok()?;
    let exports = format!(r#"(module (memory (export "memory") {pages}) (func (export "run")))"#);
    let mut config = wasm_smith::Config::arbitrary(&mut u).ok()?;
    config.exports = Some(wat::parse_str(exports).unwrap());
    config.max_imports = 0;
    config.max_memories = 0;
    // Several tables need reference types, with which wasm-smith also
    // generates `externref` (refused: no GC types): half of each.
    config.reference_types_enabled = u.arbitrary().ok()?;
    let most_tables = if config.reference_types_enabled { limits.max_tables as u32 + 1 } else { 1 };
    config.min_tables = u.int_in_range(0..=most_tables).ok()?;
    config.max_tables = (limits.max_tables as usize + 1).max(config.min_tables as usize);
    config.max_table_elements = limits.max_table_elements + 100;
    config.max_globals = limits.max_globals as usize;
    config.max_funcs = 300;
    config.max_data_segments = 64;
    config.max_nesting_depth = 64;
    config.max_instructions = 2_000;
    xwasm_fuzzing::within_the_policy(&mut config);
    wasm_smith::Module::new(config, &mut u).ok().map(|m| m.to_bytes())
}

#[test]
fn what_the_policy_accepts_compiles_and_instantiates_under_both_strategies() {
    let vms = [vm(Strategy::Cranelift), vm(Strategy::Winch)];
    let (mut accepted, mut refused) = (0, 0);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..120 {
        let data: Vec<u8> = (0..4_096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let Some(wasm) = module_near_the_limits(&data) else { continue };
        if vms[0].policy().check(&wasm).is_err() {
            refused += 1;
            continue;
        }
        accepted += 1;
        for vm in &vms {
            // Compiles, links and instantiates (a data or element segment out
            // of bounds may trap while instantiating, as the specification
            // says: that is a status, not a failure of the engine).
            let run = vm.run_function(&wasm, "run", &[], 1_000_000);
            assert!(run.is_ok(), "accepted but not run: {}", run.unwrap_err());
        }
    }
    assert!(accepted >= 30 && refused >= 5, "accepted {accepted}, refused {refused}: the generator drifted");
}

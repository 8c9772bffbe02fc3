//! Oracle 5: xwasm (the load-time rewrite, then Cranelift) against wasmi
//! running the original, un-rewritten module. The rewrite changes every
//! function (gas, stack accounting, bulk-memory charges); Cranelift and
//! Winch agree after the same rewrite, so a rewrite bug would hide behind
//! their agreement. An interpreter on the original bytes cannot share it.
//!
//! Compared: return values bit for bit, trap kinds, and the memory and
//! exported globals the call left. Where the two disagree, plain wasmtime
//! (with fuel and xwasm's NaN canonicalization, no rewrite) on the
//! original bytes decides: if xwasm agrees with it, the rewrite is not the
//! cause and the disagreement is the interpreter's (wasmi 2.0.0 reports a
//! division by zero that wasm-smith's guards rule out, for example, and
//! keeps the NaN bits of float results that wasm-smith does not
//! canonicalize, which xwasm's engine does); it is counted, not failed.
//! xwasm disagreeing with both fails.

use arbitrary::{Arbitrary, Unstructured};
use std::sync::OnceLock;
use xwasm::security::Profile;
use xwasm::{Status, Val, Vm};

/// Fuel for wasmi, and xwasm's gas: far more, so that a call xwasm stops
/// for gas has also been stopped by wasmi (its fuel costs at least one per
/// instruction, about what xwasm's gas costs).
const FUEL: u64 = 1_000_000;
const GAS: u64 = 100 * FUEL;
/// xwasm's gas for a second run when it stopped for gas where wasmi ended
/// the call: a bulk instruction pays for the elements it asks for (up to
/// 2^32) before its bounds are checked, where wasmi traps out of bounds
/// at once. Enough for any one such count; a rewrite that loops where the
/// original ends still runs out.
const BULK_GAS: u64 = 1 << 33;

fn vm() -> &'static Vm {
    static VM: OnceLock<Vm> = OnceLock::new();
    VM.get_or_init(|| {
        Vm::builder().profile(Profile::Permissive).monitoring(None).build().expect("the default VM builds")
    })
}

fn plain_engine() -> &'static wasmtime::Engine {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        // NaNs canonicalized as xwasm's engine does: wasm-smith's own
        // canonicalization leaves some float results alone, whose NaN bits
        // wasmi (no canonicalization) and xwasm then differ on.
        config.consume_fuel(true).cranelift_nan_canonicalization(true);
        wasmtime::Engine::new(&config).expect("a plain engine")
    })
}

fn engine() -> &'static wasmi::Engine {
    static ENGINE: OnceLock<wasmi::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        wasmi::Engine::new(&config)
    })
}

/// A small wasm-smith module with no imports, every item exported, memory
/// and tables bounded by their own declared maxima (so that growth stops
/// at the same point in both), and NaNs canonicalized by the generator (so
/// that float bits agree).
pub fn interpreter_module(data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut config = wasm_smith::Config::arbitrary(&mut u).ok()?;
    config.max_imports = 0;
    config.export_everything = true;
    config.min_funcs = 1;
    config.max_funcs = 12;
    config.max_instructions = 200;
    config.max_memories = 1;
    config.max_memory32_bytes = 4 * 65_536;
    config.memory_max_size_required = true;
    config.max_tables = 1;
    config.max_table_elements = 100;
    config.table_max_size_required = true;
    crate::within_the_policy(&mut config);
    config.simd_enabled = false;
    config.reference_types_enabled = false;
    wasm_smith::Module::new(config, &mut u).ok().map(|m| m.to_bytes())
}

/// How a call ended, comparably across the two engines.
#[derive(Debug, Clone, PartialEq)]
enum End {
    Returned(Vec<u64>),
    Trapped(&'static str),
    /// Stopped for fuel or gas: not compared.
    Stopped,
    /// Stopped by the call-stack limit (the engines' depths differ): not
    /// compared.
    TooDeep,
}

/// A trap's kind, from either engine's message.
fn trap_kind(message: &str) -> &'static str {
    for (needle, kind) in [
        ("call stack exhausted", "stack"),
        ("unreachable", "unreachable"),
        ("out of bounds memory", "memory out of bounds"),
        ("out of bounds table", "table out of bounds"),
        ("uninitialized element", "null element"),
        ("indirect call type mismatch", "signature mismatch"),
        ("integer divide by zero", "division by zero"),
        ("integer overflow", "integer overflow"),
        ("invalid conversion to integer", "bad conversion"),
    ] {
        if message.contains(needle) {
            return kind;
        }
    }
    "other"
}

fn bits_of_wasmi(value: &wasmi::Val) -> u64 {
    match value {
        wasmi::Val::I32(v) => *v as u32 as u64,
        wasmi::Val::I64(v) => *v as u64,
        wasmi::Val::F32(v) => v.to_bits() as u64,
        wasmi::Val::F64(v) => v.to_bits(),
        _ => u64::MAX,
    }
}

fn bits_of_xwasm(value: &Val) -> u64 {
    match value {
        Val::I32(v) => *v as u32 as u64,
        Val::I64(v) => *v as u64,
        Val::F32(v) => *v as u64,
        Val::F64(v) => *v,
        _ => u64::MAX,
    }
}

/// What a call left in its instance: the memory and the exported globals
/// (name and bits, sorted by name: wasmi does not list exports in the
/// module's order), trapped or not.
#[derive(Debug, PartialEq)]
struct Left {
    memory: Option<Vec<u8>>,
    globals: Vec<(String, u64)>,
}

/// `function` of `module`, with zeros for arguments, in a fresh wasmi
/// instance.
fn in_wasmi(module: &wasmi::Module, function: &str, ty: &wasmi::FuncType) -> (End, Left) {
    let mut store = wasmi::Store::new(engine(), ());
    store.set_fuel(FUEL).expect("fuel is on");
    let ended = |error: wasmi::Error| match error.as_trap_code() {
        Some(wasmi::TrapCode::OutOfFuel) => End::Stopped,
        Some(wasmi::TrapCode::StackOverflow) => End::TooDeep,
        Some(code) => End::Trapped(trap_kind(code.trap_message())),
        None => End::Trapped(trap_kind(&error.to_string())),
    };
    let instance = match wasmi::Linker::<()>::new(engine()).instantiate_and_start(&mut store, module) {
        Ok(instance) => instance,
        Err(error) => return (ended(error), Left { memory: None, globals: Vec::new() }),
    };
    let func = instance.get_func(&store, function).expect("an exported function");
    let params: Vec<wasmi::Val> = ty.params().iter().map(|t| wasmi::Val::default_for_ty(*t)).collect();
    let mut results: Vec<wasmi::Val> = ty.results().iter().map(|t| wasmi::Val::default_for_ty(*t)).collect();
    let end = match func.call(&mut store, &params, &mut results) {
        Ok(()) => End::Returned(results.iter().map(bits_of_wasmi).collect()),
        Err(error) => ended(error),
    };
    let memory = instance.exports(&store).find_map(|e| e.into_memory()).map(|m| m.data(&store).to_vec());
    let mut globals = instance
        .exports(&store)
        .filter_map(|e| {
            let name = e.name().to_owned();
            e.into_global().map(|g| (name, bits_of_wasmi(&g.get(&store))))
        })
        .collect::<Vec<_>>();
    globals.sort();
    (end, Left { memory, globals })
}

/// The same call in plain wasmtime, on the original module (fuel stops
/// loops; it does not change results).
fn in_plain_wasmtime(wasm: &[u8], function: &str, params: &[Val]) -> (End, Left) {
    let module = wasmtime::Module::new(plain_engine(), wasm).expect("the module the interpreter took");
    let mut store = wasmtime::Store::new(plain_engine(), ());
    store.set_fuel(GAS).expect("fuel is on");
    let ended = |error: wasmtime::Error| match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => End::Stopped,
        Some(wasmtime::Trap::StackOverflow) => End::TooDeep,
        Some(trap) => End::Trapped(trap_kind(&trap.to_string())),
        None => End::Trapped(trap_kind(&format!("{error:#}"))),
    };
    let instance = match wasmtime::Instance::new(&mut store, &module, &[]) {
        Ok(instance) => instance,
        Err(error) => return (ended(error), Left { memory: None, globals: Vec::new() }),
    };
    let func = instance.get_func(&mut store, function).expect("an exported function");
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    let end = match func.call(&mut store, params, &mut results) {
        Ok(()) => End::Returned(results.iter().map(bits_of_xwasm).collect()),
        Err(error) => ended(error),
    };
    let exports: Vec<(String, wasmtime::Extern)> =
        instance.exports(&mut store).map(|e| (e.name().to_owned(), e.into_extern())).collect();
    let memory = exports.iter().find_map(|(_, e)| e.clone().into_memory()).map(|m| m.data(&store).to_vec());
    let mut globals: Vec<(String, u64)> = exports
        .into_iter()
        .filter_map(|(name, e)| Some((name, bits_of_xwasm(&e.into_global()?.get(&mut store)))))
        .collect();
    globals.sort();
    (end, Left { memory, globals })
}

fn zero_params(ty: &wasmi::FuncType) -> Option<Vec<Val>> {
    ty.params()
        .iter()
        .map(|t| match t {
            wasmi::ValType::I32 => Some(Val::I32(0)),
            wasmi::ValType::I64 => Some(Val::I64(0)),
            wasmi::ValType::F32 => Some(Val::F32(0)),
            wasmi::ValType::F64 => Some(Val::F64(0)),
            _ => None,
        })
        .collect()
}

/// The same call in xwasm (the rewritten module, compiled by Cranelift).
fn in_xwasm(wasm: &[u8], function: &str, params: &[Val], gas: u64) -> (End, Left) {
    let (run, observed) =
        vm().run_function_observed(wasm, function, params, gas).expect("a module the policy accepted runs");
    let end = match run.outcome.status {
        Status::Ok => End::Returned(run.results.iter().map(bits_of_xwasm).collect()),
        Status::OutOfGas => End::Stopped,
        _ => match trap_kind(run.outcome.error.as_deref().unwrap_or_default()) {
            "stack" => End::TooDeep,
            kind => End::Trapped(kind),
        },
    };
    let mut globals: Vec<_> =
        observed.globals.iter().map(|(name, value)| (name.clone(), bits_of_xwasm(value))).collect();
    globals.sort();
    (end, Left { memory: observed.memory, globals })
}

/// What [`check_rewrite_against_wasmi`] compared.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compared {
    /// Calls whose ends were compared (neither stopped for gas or stack).
    pub calls: usize,
    /// Of those, calls whose final memories were compared too.
    pub memories: usize,
    /// Of those, calls that left exported globals, compared too.
    pub globals: usize,
    /// Of those, calls where wasmi disagreed with both xwasm and plain
    /// wasmtime on the original module (the interpreter's disagreement).
    pub interpreter_disagreements: usize,
}

/// Oracle 5: every exported function of an interpreter-friendly wasm-smith
/// module returns the same values (bit for bit) or traps the same way in
/// xwasm as in wasmi on the original module, leaving the same memory and
/// exported globals (or,
/// where wasmi disagrees, ends as in plain wasmtime on the original
/// module). A call xwasm stops for gas must also have been stopped by the
/// others.
///
/// It runs on a thread with a large stack: wasmi 2.0.0's translator
/// recurses with the nesting of blocks and overflowed a 2 MiB test thread
/// on a generated module.
pub fn check_rewrite_against_wasmi(data: &[u8]) -> Compared {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || compare(data))
            .expect("a thread for the oracle")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn compare(data: &[u8]) -> Compared {
    let mut compared = Compared::default();
    let Some(wasm) = interpreter_module(data) else { return compared };
    if vm().policy().check(&wasm).is_err() {
        return compared;
    }
    let Ok(module) = wasmi::Module::new(engine(), &wasm) else { return compared };
    let functions: Vec<(String, wasmi::FuncType)> =
        module.exports().filter_map(|e| Some((e.name().to_owned(), e.ty().func()?.clone()))).collect();
    for (name, ty) in functions {
        let Some(params) = zero_params(&ty) else { continue };
        let (mut ours, mut our_left) = in_xwasm(&wasm, &name, &params, GAS);
        let (theirs, their_left) = in_wasmi(&module, &name, &ty);
        if ours == End::Stopped && !matches!(theirs, End::Stopped | End::TooDeep) {
            (ours, our_left) = in_xwasm(&wasm, &name, &params, BULK_GAS);
        }
        match (&ours, &theirs) {
            (_, End::Stopped | End::TooDeep) | (End::TooDeep, _) => continue,
            (End::Stopped, _) => panic!("xwasm ran out of gas in `{name}`, wasmi ended it: {theirs:?}"),
            _ => {}
        }
        compared.calls += 1;
        compared.memories += our_left.memory.is_some() as usize;
        compared.globals += !our_left.globals.is_empty() as usize;
        // The memory and globals as the call left them, trapped or not,
        // are compared too.
        if ours == theirs && our_left == their_left {
            continue;
        }
        let (plain, plain_left) = in_plain_wasmtime(&wasm, &name, &params);
        assert_eq!(ours, plain, "`{name}`: xwasm (rewritten) vs wasmtime (original); wasmi said {theirs:?}");
        assert!(
            our_left.memory == plain_left.memory,
            "`{name}`: the final memory differs from wasmtime's on the original ({ours:?})"
        );
        assert_eq!(
            our_left.globals, plain_left.globals,
            "`{name}`: the final globals differ from wasmtime's on the original ({ours:?}); wasmi left {:?}",
            their_left.globals
        );
        compared.interpreter_disagreements += 1;
    }
    compared
}

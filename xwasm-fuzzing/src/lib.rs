//! Generators and oracles for fuzzing xwasm, shared by the cargo-fuzz
//! targets in `fuzz/` and by this crate's smoke tests, which `cargo test`
//! runs on every CI build.
//!
//! Each `check_*` function takes arbitrary bytes and panics if a property
//! of xwasm does not hold for them:
//!
//! 1. [`check_bytes_pipeline`]: any bytes through policy, compile and
//!    deploy never panic.
//! 2. [`check_abi_module`]: a wasm-smith module that satisfies the contract
//!    ABI, deployed and called with a gas limit, never panics and gives the
//!    same outcome and gas twice.
//! 3. [`check_differential`]: the same module under Cranelift and Winch
//!    gives the same outcome, return bytes and gas.
//! 4. [`check_artifact_mutation`]: a mutated artifact is always refused by
//!    the verified disk tier, never deserialized.
//! 5. [`check_rewrite_against_wasmi`]: xwasm's results on the rewritten
//!    module equal wasmi's on the original (values, trap kinds).
//!
//! # Example
//!
//! ```
//! xwasm_fuzzing::check_bytes_pipeline(b"\0asm\x01\0\0\0garbage");
//! ```

pub mod bombs;
mod interpreter;

pub use interpreter::{Compared, check_rewrite_against_wasmi, interpreter_module};

use arbitrary::{Arbitrary, Unstructured};
use std::sync::OnceLock;
use xwasm::cache::{ArtifactCache, ArtifactNamespace, ArtifactStore};
use xwasm::engine::{EngineConfig, Strategy};
use xwasm::{Address, ChainContext, Outcome, Transaction, Vm};

const GAS: u64 = 200_000;
const SENDER: Address = Address([0x5e; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 7, block_time_ms: 7 };

/// The host functions a generated contract may import (ABI.md).
const ABI_IMPORTS: &str = r#"(module
  (import "xwasm" "input_len" (func (result i32)))
  (import "xwasm" "input_read" (func (param i32)))
  (import "xwasm" "return_data" (func (param i32 i32)))
  (import "xwasm" "abort" (func (param i32 i32)))
  (import "xwasm" "log" (func (param i32 i32)))
  (import "xwasm" "storage_read" (func (param i32 i32 i32 i32) (result i64)))
  (import "xwasm" "storage_write" (func (param i32 i32 i32 i32)))
  (import "xwasm" "storage_remove" (func (param i32 i32) (result i32)))
  (import "xwasm" "caller" (func (param i32)))
  (import "xwasm" "self_address" (func (param i32)))
  (import "xwasm" "owner" (func (param i32)))
  (import "xwasm" "block_height" (func (result i64)))
  (import "xwasm" "block_time" (func (result i64)))
  (import "xwasm" "gas_left" (func (result i64)))
  (import "xwasm" "emit_event" (func (param i32 i32 i32 i32)))
  (import "xwasm" "sha256" (func (param i32 i32 i32)))
  (import "xwasm" "keccak256" (func (param i32 i32 i32)))
  (import "xwasm" "call" (func (param i32 i32 i32 i32 i32 i64) (result i32)))
  (import "xwasm" "result_len" (func (result i32)))
  (import "xwasm" "result_read" (func (param i32))))"#;

/// The exports every generated contract has: a memory and two methods.
const ABI_EXPORTS: &str = r#"(module
  (memory (export "memory") 1 16)
  (func (export "run"))
  (func (export "again")))"#;

fn vm(strategy: Strategy) -> Vm {
    Vm::builder()
        .engine(EngineConfig { strategy, ..Default::default() })
        .monitoring(None)
        .build()
        .expect("the default VM builds")
}

fn cranelift() -> &'static Vm {
    static VM: OnceLock<Vm> = OnceLock::new();
    VM.get_or_init(|| vm(Strategy::Cranelift))
}

fn winch() -> &'static Vm {
    static VM: OnceLock<Vm> = OnceLock::new();
    VM.get_or_init(|| vm(Strategy::Winch))
}

/// Turns off what the `xwasm` policy and the engine refuse or do not run
/// deterministically (threads, memory64, relaxed SIMD, GC, exceptions,
/// tail calls, custom page sizes, wide arithmetic), canonicalizes NaNs
/// and forbids a start export.
pub fn within_the_policy(config: &mut wasm_smith::Config) {
    config.memory64_enabled = false;
    config.threads_enabled = false;
    config.shared_everything_threads_enabled = false;
    config.relaxed_simd_enabled = false;
    config.gc_enabled = false;
    config.exceptions_enabled = false;
    config.tail_call_enabled = false;
    config.custom_page_sizes_enabled = false;
    config.wide_arithmetic_enabled = false;
    config.canonicalize_nans = true;
    config.allow_start_export = false;
}

/// A wasm-smith module shaped as an xwasm contract, from `data`.
pub fn abi_module(data: &[u8]) -> Option<Vec<u8>> {
    static IMPORTS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (imports, exports) =
        IMPORTS.get_or_init(|| (wat::parse_str(ABI_IMPORTS).unwrap(), wat::parse_str(ABI_EXPORTS).unwrap()));
    let mut u = Unstructured::new(data);
    let mut config = wasm_smith::Config::arbitrary(&mut u).ok()?;
    config.available_imports = Some(imports.clone());
    config.exports = Some(exports.clone());
    config.max_imports = 20;
    // The exported memory is the only one (it is generated for the exports).
    config.max_memories = 0;
    config.max_tables = 1;
    config.max_table_elements = 1_000;
    config.max_memory32_bytes = 16 * 65_536;
    config.max_data_segments = 16;
    within_the_policy(&mut config);
    config.reference_types_enabled = false;
    wasm_smith::Module::new(config, &mut u).ok().map(|m| m.to_bytes())
}

/// Why [`abi_module`]'s module for `data` does not deploy, if it does not
/// (for the smoke tests' statistics).
pub fn deploy_error(data: &[u8]) -> Option<String> {
    let wasm = abi_module(data)?;
    let vm = cranelift();
    vm.deploy(&wasm, &CHAIN, &deployment(vm, &wasm)).err().map(|e| e.to_string())
}

/// The transaction that deploys `wasm` on `vm`: its price, and `GAS` for
/// `init`.
fn deployment(vm: &Vm, wasm: &[u8]) -> Transaction {
    Transaction::new(SENDER, deployment_price(vm, wasm) + GAS, b"input".to_vec())
}

/// What deploying `wasm` as new code costs on `vm` before `init` runs: its
/// bytes, and its functions and locals when the policy can count them.
pub fn deployment_price(vm: &Vm, wasm: &[u8]) -> u64 {
    let schedule = &vm.config().gas;
    let items = vm
        .policy()
        .check(wasm)
        .map_or(0, |info| schedule.deployment_items(info.function_count.into(), info.locals));
    schedule.deployment(wasm.len(), false) + items
}

/// Deploys `wasm` and calls `run` then `again`; `None` if it does not
/// deploy (a refusal is fine; a panic is not).
///
/// The VMs are shared across inputs, so the code may already be stored on
/// one and not on another; a first deployment stores it, so that the one
/// measured always pays the price of stored code, whatever ran before.
fn deploy_and_call(vm: &Vm, wasm: &[u8]) -> Option<Vec<Outcome>> {
    vm.deploy(wasm, &CHAIN, &deployment(vm, wasm)).ok()?;
    let deployed = vm.deploy(wasm, &CHAIN, &deployment(vm, wasm)).ok()?;
    let address = deployed.address?;
    let mut outcomes = vec![deployed];
    for method in ["run", "again"] {
        let outcome = vm.call(&address, method, &CHAIN, &Transaction::new(SENDER, GAS, b"input".to_vec()));
        outcomes.push(outcome.expect("a deployed contract's method runs"));
    }
    Some(outcomes)
}

/// The parts of an outcome that must agree everywhere (the error text
/// names engine-specific traps, the backtrace engine-specific frames).
fn essence(outcomes: &[Outcome]) -> Vec<(xwasm::Status, u64, Vec<u8>, usize)> {
    outcomes.iter().map(|o| (o.status, o.gas_used, o.return_data.clone(), o.events.len())).collect()
}

/// Oracle 1: arbitrary bytes never panic the pipeline.
pub fn check_bytes_pipeline(data: &[u8]) {
    let vm = cranelift();
    let _ = vm.inspect(data);
    let _ = deploy_and_call(vm, data);
}

/// Oracle 2: an ABI-shaped module runs the same twice, on fresh state.
pub fn check_abi_module(data: &[u8]) {
    let Some(wasm) = abi_module(data) else { return };
    // Each deployment gets a fresh address and storage, so two deployments
    // on the shared VM run independently; compare what does not depend on
    // the address.
    let first = deploy_and_call(cranelift(), &wasm).map(|o| essence(&o));
    let second = deploy_and_call(cranelift(), &wasm).map(|o| essence(&o));
    assert_eq!(first, second, "two runs of the same module differ");
}

/// Oracle 3: Cranelift and Winch agree on outcome, return bytes and gas.
pub fn check_differential(data: &[u8]) {
    let Some(wasm) = abi_module(data) else { return };
    let a = deploy_and_call(cranelift(), &wasm).map(|o| essence(&o));
    let b = deploy_and_call(winch(), &wasm).map(|o| essence(&o));
    assert_eq!(a, b, "Cranelift and Winch differ");
}

/// Oracle 4: any mutation of a stored artifact is detected by the disk
/// tier and never deserialized. `data` picks the artifact's code and the
/// mutation (positions and bytes).
pub fn check_artifact_mutation(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let namespace = ArtifactNamespace { compiler_version: "fuzz".into(), engine_fingerprint: [1; 32] };
    let store = ArtifactStore::open(dir.path(), namespace, 1 << 24).expect("an artifact store");
    let payload: Vec<u8> = data.iter().copied().cycle().take(64 + data.len() * 4).collect();
    let hash = [data[0]; 32];
    store.insert(&hash, &payload);
    let file = std::fs::read_dir(store.dir()).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&file).unwrap();
    let original = bytes.clone();
    for pair in data[1..].chunks(2) {
        let position = pair[0] as usize * 7919 % bytes.len();
        bytes[position] ^= pair.get(1).copied().unwrap_or(1) | 1;
    }
    if data.len().is_multiple_of(5) {
        bytes.truncate(bytes.len() - 1 - data[1] as usize % 8);
    }
    std::fs::write(&file, &bytes).unwrap();
    let got = store.get(&hash);
    if bytes == original {
        assert_eq!(got.as_deref(), Some(payload.as_slice()), "an intact artifact was refused");
    } else {
        assert_eq!(got, None, "a mutated artifact was handed out");
        assert_eq!(store.stats().corrupt, 1, "the corruption was not counted");
        assert!(!file.exists(), "the corrupt artifact was not deleted");
    }
}

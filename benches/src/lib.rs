//! Fixtures shared by xwasm's benchmarks: the contracts they run and the
//! hand-written minimal wasmtime embedding that xwasm is measured against.
//!
//! The baseline uses the very engine configuration xwasm uses (pooling
//! allocator, no fuel, no epoch checks), an `InstancePre`, and a fresh
//! store per call, so a ratio against it is the framework's own overhead,
//! metering included (xwasm's gas is charged by its rewritten code).
//!
//! # Example
//!
//! ```
//! let baseline = xwasm_benches::MinimalEmbedding::new(xwasm_benches::EMPTY_CONTRACT);
//! baseline.call("noop");
//! ```

use std::sync::Arc;
use xwasm::{Address, BlockTransaction, ChainContext, CosmwasmMessage, Transaction, Vm};

/// A contract with one empty method, `noop`.
pub const EMPTY_CONTRACT: &str = r#"(module (memory (export "memory") 1) (func (export "noop")))"#;
/// The example token of `examples/contracts/`.
pub const TOKEN: &str = include_str!("../../examples/contracts/token.wat");

/// A pure function of an argument, with no imports: fib, recursively.
pub const FIB: &str = r#"(module (memory (export "memory") 1)
  (func $fib (export "fib") (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

/// A loop-heavy kernel with no imports: `rounds` rounds of an integer hash
/// over a 64-word table in memory.
pub const MIX: &str = r#"(module (memory (export "memory") 1)
  (func (export "mix") (param $rounds i32) (result i64) (local $r i32) (local $i i32) (local $x i64) (local $sum i64)
    (loop $round
      (local.set $i (i32.const 0))
      (loop $each
        (local.set $x (i64.load offset=1024 (i32.shl (local.get $i) (i32.const 3))))
        (local.set $x (i64.xor (local.get $x) (i64.extend_i32_u (local.get $r))))
        (local.set $x (i64.mul (local.get $x) (i64.const 0x100000001b3)))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 29))))
        (i64.store offset=1024 (i32.shl (local.get $i) (i32.const 3)) (local.get $x))
        (local.set $sum (i64.add (local.get $sum) (local.get $x)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $i) (i32.const 64))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (local.get $rounds))))
    (local.get $sum)))"#;

pub const SENDER: Address = Address([0xa1; 32]);
pub const RECIPIENT: Address = Address([0xb0; 32]);
pub const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };

/// The minimal embedding of ABI.md's call path: no policy, no journal, no
/// host functions, no outcome.
pub struct MinimalEmbedding {
    engine: wasmtime::Engine,
    pre: wasmtime::InstancePre<()>,
}

impl MinimalEmbedding {
    pub fn new(wat: &str) -> Self {
        Self::on(&Default::default(), wat)
    }

    /// The embedding on an engine built from `config`.
    pub fn on(config: &xwasm::engine::EngineConfig, wat: &str) -> Self {
        let engine = xwasm::engine::build_engine(config).expect("valid engine configuration");
        let module = wasmtime::Module::new(&engine, wat).expect("valid module");
        let pre = wasmtime::Linker::new(&engine).instantiate_pre(&module).expect("no imports");
        Self { engine, pre }
    }

    /// Calls `method` in a fresh store.
    pub fn call(&self, method: &str) {
        let mut store = wasmtime::Store::new(&self.engine, ());
        let instance = self.pre.instantiate(&mut store).expect("instantiates");
        let func = instance.get_typed_func::<(), ()>(&mut store, method).expect("method");
        func.call(&mut store, ()).expect("runs");
    }
}

/// A VM on in-memory state with `wat` deployed by [`SENDER`]; returns the
/// contract's address.
pub fn deployed(wat: &str, input: &[u8]) -> (Vm, Address) {
    deployed_on(Vm::builder(), wat, input)
}

/// [`deployed`] on a VM built by `builder`.
pub fn deployed_on(builder: xwasm::VmBuilder, wat: &str, input: &[u8]) -> (Vm, Address) {
    let vm = builder.backend(Arc::new(xwasm::store::MemoryBackend::new())).build().expect("vm");
    let wasm = wat::parse_str(wat).expect("valid WAT");
    let outcome = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, 100_000_000, input)).expect("deploys");
    (vm, outcome.address.expect("deployed"))
}

/// The input of a token transfer of `amount` to `to`.
pub fn transfer_input(to: &Address, amount: u64) -> Vec<u8> {
    [to.0.as_slice(), &amount.to_le_bytes()].concat()
}

/// A token as a CosmWasm contract (hand-written, cw20's transfers).
pub const CW_TOKEN: &str = include_str!("../../examples/contracts/cosmwasm/token.wat");

/// Account number `i`.
pub fn account(i: u64) -> Address {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
    Address(bytes)
}

/// The CosmWasm token on a VM built by `builder` (in-memory state),
/// instantiated by [`SENDER`], accounts `0..senders` funded with `each`;
/// and the block of transfers of 1 between `pairs` of account numbers.
pub fn cosmwasm_transfers(
    builder: xwasm::VmBuilder,
    senders: u64,
    each: u64,
    pairs: &[(u64, u64)],
) -> (Vm, Vec<BlockTransaction>) {
    let wasm = wat::parse_str(CW_TOKEN).expect("valid WAT");
    let init = |supply: u64, _: &str| format!(r#"{{"amount":"{supply}"}}"#);
    token_transfers(builder, &wasm, &init, senders, each, pairs)
}

/// cw20-base's instantiate message: `supply` held by `owner`.
pub fn cw20_init(supply: u64, owner: &str) -> String {
    format!(
        r#"{{"name":"Token","symbol":"TOK","decimals":6,"initial_balances":[{{"address":"{owner}","amount":"{supply}"}}],"mint":null,"marketing":null}}"#
    )
}

/// As [`cosmwasm_transfers`], for any token contract that takes cw20's
/// `transfer` message: `wasm`, instantiated with `init(supply, owner)`.
pub fn token_transfers(
    builder: xwasm::VmBuilder,
    wasm: &[u8],
    init: &dyn Fn(u64, &str) -> String,
    senders: u64,
    each: u64,
    pairs: &[(u64, u64)],
) -> (Vm, Vec<BlockTransaction>) {
    let vm = builder.backend(Arc::new(xwasm::store::MemoryBackend::new())).build().expect("vm");
    let message = |from: &Address, msg: String| {
        CosmwasmMessage::new(vm.cosmwasm_address(from), msg.into_bytes(), 2_000_000_000)
    };
    let transfer = |to: &Address, amount: u64| {
        format!(r#"{{"transfer":{{"recipient":"{}","amount":"{amount}"}}}}"#, vm.cosmwasm_address(to))
    };
    let supply = init(senders * each, &vm.cosmwasm_address(&SENDER));
    let mut deploy = message(&SENDER, supply);
    // Storing and compiling real code costs more than a call.
    deploy.gas_limit = 1_000_000_000_000;
    let done = vm.cosmwasm_instantiate(wasm, &deploy, None).expect("instantiates");
    let token = done.outcome.address.expect("instantiated");
    for i in 0..senders {
        let funded =
            vm.cosmwasm_call_export(&token, "execute", &message(&SENDER, transfer(&account(i), each)));
        assert!(funded.expect("runs").outcome.is_ok());
    }
    let block = pairs
        .iter()
        .map(|&(from, to)| BlockTransaction::CosmwasmCall {
            contract: token,
            entry: "execute".into(),
            message: message(&account(from), transfer(&account(to), 1)),
        })
        .collect();
    (vm, block)
}

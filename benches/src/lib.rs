//! Fixtures shared by xwasm's benchmarks: the contracts they run and the
//! hand-written minimal wasmtime embedding that xwasm is measured against.
//!
//! The baseline uses the very engine configuration xwasm uses (pooling
//! allocator, fuel, epoch interruption), an `InstancePre`, and a fresh store
//! per call, so a ratio against it is the framework's own overhead.
//!
//! # Example
//!
//! ```
//! let baseline = xwasm_benches::MinimalEmbedding::new(xwasm_benches::EMPTY_CONTRACT);
//! assert!(baseline.call("noop", 1_000) > 0);
//! ```

use std::sync::Arc;
use xwasm::{Address, ChainContext, Transaction, Vm};

/// A contract with one empty method, `noop`.
pub const EMPTY_CONTRACT: &str = r#"(module (memory (export "memory") 1) (func (export "noop")))"#;
/// The example token of `examples/contracts/`.
pub const TOKEN: &str = include_str!("../../examples/contracts/token.wat");

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
        let engine = xwasm::engine::build_engine(&Default::default()).expect("default engine");
        let module = wasmtime::Module::new(&engine, wat).expect("valid module");
        let pre = wasmtime::Linker::new(&engine).instantiate_pre(&module).expect("no imports");
        Self { engine, pre }
    }

    /// Calls `method` in a fresh store; returns the fuel left.
    pub fn call(&self, method: &str, gas: u64) -> u64 {
        let mut store = wasmtime::Store::new(&self.engine, ());
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = self.pre.instantiate(&mut store).expect("instantiates");
        store.set_fuel(gas).expect("fuel is on");
        let func = instance.get_typed_func::<(), ()>(&mut store, method).expect("method");
        func.call(&mut store, ()).expect("runs");
        store.get_fuel().expect("fuel is on")
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
    let outcome = vm.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, 10_000_000, input)).expect("deploys");
    (vm, outcome.address.expect("deployed"))
}

/// The input of a token transfer of `amount` to `to`.
pub fn transfer_input(to: &Address, amount: u64) -> Vec<u8> {
    [to.0.as_slice(), &amount.to_le_bytes()].concat()
}

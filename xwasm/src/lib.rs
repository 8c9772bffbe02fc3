//! xwasm: a WebAssembly smart-contract VM on wasmtime.
//!
//! This facade re-exports every layer and wires the default pipeline
//! behind [`Vm`] and [`VmBuilder`]: code is checked by the policy
//! (`xwasm-security`), compiled (`xwasm-aot`) and cached per code hash with
//! its `InstancePre` (`xwasm-cache`); calls run in a fresh store
//! (`xwasm-exec`) with the host functions of ABI.md (`xwasm-host`, linked by
//! `xwasm-linker`) over a journal on a state backend (`xwasm-store`), and
//! are reported to observers (`xwasm-monitor`). Any layer can be swapped
//! through the builder: a state backend, observers, extra host functions,
//! the engine, gas schedule and limits.
//!
//! The facade holds no logic a layer needs: it decides only the order in
//! which layers are called.
//!
//! # Example
//!
//! ```
//! use xwasm::{Address, ChainContext, Status, Transaction, Vm};
//!
//! let vm = Vm::builder().build().unwrap();
//! let counter = wat::parse_str(r#"(module
//!   (import "xwasm" "storage_write" (func $write (param i32 i32 i32 i32)))
//!   (memory (export "memory") 1)
//!   (data (i32.const 0) "k")
//!   (func (export "bump") (call $write (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1))))"#).unwrap();
//! let sender = Address([1; 32]);
//! let chain = ChainContext::default();
//! let deployed = vm.deploy(&counter, &chain, &Transaction::new(sender, 10_000_000, vec![])).unwrap();
//! let address = deployed.address.unwrap();
//! let outcome = vm.call(&address, "bump", &chain, &Transaction::new(sender, 10_000_000, vec![])).unwrap();
//! assert_eq!(outcome.status, Status::Ok);
//! assert_eq!(vm.storage(&address).unwrap(), vec![(b"k".to_vec(), b"k".to_vec())]);
//! ```

mod block;
mod calls;
mod code;
mod cosmwasm_calls;
mod error;
mod machine;
mod profile;
mod trace;
mod vm;

pub use block::{BlockOutcome, BlockTransaction};
pub use calls::{CallOptions, FunctionRun, Observed};
pub use code::{CodeSource, LoadedCode};
pub use cosmwasm_calls::{CosmwasmMessage, CosmwasmOutcome, GasReport};
pub use error::VmError;
pub use machine::{DEFAULT_FUNCTION_GAS, InstanceHandle, ModuleHandle, VirtualMachine};
pub use profile::ProfileReport;
pub use vm::{Vm, VmBuilder, VmConfig, artifact_namespace, engine_fit};

pub use xwasm_aot as aot;
pub use xwasm_cache as cache;
pub use xwasm_cosmwasm as cosmwasm;
pub use xwasm_engine as engine;
pub use xwasm_exec as exec;
pub use xwasm_host as host;
pub use xwasm_linker as linker;
pub use xwasm_monitor as monitor;
pub use xwasm_security as security;
pub use xwasm_store as store;

pub use wasmtime::Val;
pub use xwasm_exec::{Outcome, Status};
pub use xwasm_store::{Address, ChainContext, ContractRecord, Event, InterruptHandle, Transaction};

#[cfg(test)]
mod tests {
    /// The rewrite (xwasm-security) and the executor and host functions
    /// (through xwasm-store) name the same globals and values without
    /// depending on each other: they must agree.
    #[test]
    fn the_rewrite_and_the_runtime_agree_on_their_shared_names() {
        use xwasm_security::preprocess as rewrite;
        assert_eq!(rewrite::STACK_EXPORT, xwasm_store::STACK_EXPORT);
        assert_eq!(rewrite::RESERVED_NAMES, xwasm_store::RESERVED_EXPORTS);
        assert_eq!(rewrite::STACK_EXHAUSTED_MARK, xwasm_store::STACK_EXHAUSTED_MARK);
        assert_eq!(rewrite::GAS_GLOBAL, xwasm_store::GAS_GLOBAL_EXPORT);
        assert_eq!(rewrite::GAS_AT_INSTANTIATION, xwasm_store::GAS_AT_INSTANTIATION);
    }
}

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
mod deploy;
mod entry;
mod error;
mod machine;
mod observe;
mod profile;
mod run;
mod vm;

pub use block::{BlockOutcome, BlockTransaction};
pub use error::VmError;
pub use machine::{DEFAULT_FUNCTION_GAS, InstanceHandle, ModuleHandle, VirtualMachine};
pub use run::CallOptions;
pub use vm::{Vm, VmBuilder, VmConfig};
pub use xwasm_cosmwasm::{CosmwasmMessage, CosmwasmOutcome, GasReport};
pub use xwasm_exec::{FunctionRun, Observed, Outcome, ProfileReport, Status};
pub use xwasm_loader::{CodeSource, LoadedCode, artifact_namespace, engine_fit};

pub use xwasm_aot as aot;
pub use xwasm_cache as cache;
pub use xwasm_chain as chain;
pub use xwasm_cosmwasm as cosmwasm;
pub use xwasm_engine as engine;
pub use xwasm_exec as exec;
pub use xwasm_host as host;
pub use xwasm_linker as linker;
pub use xwasm_loader as loader;
pub use xwasm_monitor as monitor;
pub use xwasm_security as security;
pub use xwasm_store as store;

pub use wasmtime::Val;
pub use xwasm_store::{Address, ChainContext, ContractRecord, Event, InterruptHandle, Transaction};

//! Loading contract code: bytes to linked, ready-to-instantiate code
//! ([`LoadedCode`]), through the memory tier, the verified disk tier or a
//! check, rewrite and compile, once per code hash.
//!
//! A [`Loader`] holds what that takes: the engine, each profile's policy
//! and linkers ([`ProfileCode`]), the memory tier (single-flight: two
//! threads asking for the same new code compile it once) and the disk tier.
//! In a tiered loader, new code first runs on the baseline compiler
//! (Winch) while a background thread compiles it with the optimizing one
//! and swaps it into the memory tier.
//!
//! It does not know what a call is, nor where code is stored on chain: the
//! caller hands it the bytes (lazily, read only on a miss) and says how
//! much checking they still need ([`Check`]).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_loader::{Check, CodeSource, Loader, ProfileCode};
//! use xwasm_security::{ModulePolicy, Profile};
//!
//! let engine = xwasm_engine::build_engine(&Default::default()).unwrap();
//! let linker = || wasmtime::Linker::new(&engine);
//! let native = ProfileCode::new(ModulePolicy::new(Profile::Permissive, Vec::new()), linker(), linker());
//! let cosmwasm = ProfileCode::new(ModulePolicy::new(Profile::Cosmwasm, Vec::new()), linker(), linker());
//! let loader = Arc::new(Loader::new(engine.clone(), native, cosmwasm, Default::default()));
//! let wasm: Arc<[u8]> = wat::parse_str("(module (func (export \"f\")))").unwrap().into();
//! let hash = xwasm_security::code_hash(&wasm);
//! let load = || loader.load(hash, || Ok::<_, xwasm_loader::LoadError>(wasm.clone()), Check::Full);
//! assert!(matches!(load().unwrap().1, CodeSource::Compiled(_)));
//! assert_eq!(load().unwrap().1, CodeSource::Memory);
//! ```

mod code;
mod fit;
mod loader;

pub use code::{CodeSource, HexHash, LoadedCode};
pub use fit::{artifact_namespace, check_stack_limit, engine_fit, import_specs};
pub use loader::{Check, Checked, Loader, ProfileCode};

/// Why code could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    #[error("module refused: {0}")]
    Policy(#[from] xwasm_security::PolicyViolation),
    /// A CosmWasm contract cosmwasm-vm's upload checks refuse.
    #[error("{0}")]
    Cosmwasm(#[from] xwasm_cosmwasm::CheckError),
    #[error(transparent)]
    Compile(#[from] xwasm_aot::AotError),
    #[error("cannot link the module: {reason}")]
    Link { reason: String },
    /// A host function could not be linked.
    #[error(transparent)]
    Linker(#[from] xwasm_linker::LinkerError),
    /// The disk tier could not be opened.
    #[error(transparent)]
    Cache(#[from] xwasm_cache::CacheError),
    /// The policy's limits cannot be honoured by the engine.
    #[error(transparent)]
    Engine(#[from] xwasm_engine::EngineError),
    /// A size pass of `xwasm optimize` failed.
    #[error("{0}")]
    Optimize(String),
}

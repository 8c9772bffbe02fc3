//! Static policy over a module's raw bytes, before anything is compiled.
//!
//! [`ModulePolicy::check`] validates a module with wasmparser against the
//! allowed feature set, enforces structural [`ModuleLimits`], applies a
//! [`Profile`] (`xwasm`: the contract shape of ABI.md; `permissive`:
//! validation and limits only) and describes the module as a
//! [`ModuleInfo`] (code hash, imports, exports, memory, functions, custom
//! sections, float use).
//!
//! This crate never links wasmtime and knows nothing of execution.
//!
//! It also holds the audit log ([`AuditSink`], [`JsonLinesAudit`]): every
//! deployment and call with its outcome, and every refusal.
//!
//! [`preprocess`] rewrites an accepted module before it is compiled: a
//! deterministic call-stack limit and bulk-memory metering that are the
//! same under every compilation strategy.
//!
//! # Example
//!
//! ```
//! use xwasm_security::{ModulePolicy, Profile, PolicyViolation};
//!
//! let policy = ModulePolicy::new(Profile::Xwasm, Vec::new());
//! let wasm = wat::parse_str(r#"(module (import "env" "abort" (func))
//!     (memory (export "memory") 1))"#).unwrap();
//! let err = policy.check(&wasm).unwrap_err();
//! assert!(matches!(err, PolicyViolation::ForbiddenImport { .. }));
//! assert!(err.to_string().contains("env::abort"));
//! ```

mod audit;
mod frames;
mod info;
pub mod optimize;
mod policy;
pub mod preprocess;

pub use audit::{AuditEntry, AuditKind, AuditSink, JsonLinesAudit, MemoryAudit};
pub use info::{Export, FuncSig, Import, ItemType, MemoryLimits, ModuleInfo, ValType, Verdict, code_hash};
pub use policy::{ImportSpec, ModuleLimits, ModulePolicy, PolicyViolation, Profile};

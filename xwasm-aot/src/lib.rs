//! Compilation: from WebAssembly bytes to a `wasmtime::Module`, now or
//! ahead of time.
//!
//! - [`compile`]: bytes to a module, on the given engine.
//! - [`precompile`]: bytes to artifact bytes (`Engine::precompile_module`).
//! - [`load_precompiled`]: artifact bytes back to a module, after checking
//!   that they are a module artifact this engine can run.
//! - [`engine_fingerprint`]: a stable hash of everything that makes an
//!   artifact runnable on an engine (wasmtime version, target, settings);
//!   artifacts are stored under it.
//!
//! This crate does not know where artifacts are stored.
//!
//! - [`precompile_batch`]: many modules on many threads, one result each.
//!
//! Cross-target precompilation: build the engine with
//! `EngineConfig::target`; its artifacts carry the target in their header
//! and this host's engine refuses them with a clear error.
//!
//! # Limitations
//!
//! Only the x86-64 Cranelift backend is compiled in (wasmtime's `all-arch`
//! feature is off to keep builds short), so other architectures are
//! refused as targets; other operating systems on x86-64 work.
//!
//! # Example
//!
//! ```
//! let engine = xwasm_engine::build_engine(&Default::default()).unwrap();
//! let wasm = wat::parse_str("(module (func (export \"f\")))").unwrap();
//! let artifact = xwasm_aot::precompile(&engine, &wasm).unwrap();
//! // SAFETY: the artifact was produced by `precompile` just above.
//! let module = unsafe { xwasm_aot::load_precompiled(&engine, &artifact) }.unwrap();
//! assert!(module.get_export("f").is_some());
//! ```

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};

/// The compiler that produces artifacts: wasmtime, pinned exactly in the
/// workspace (`=48.0.8`). [`engine_fingerprint`] covers the version too.
pub const COMPILER_VERSION: &str = "wasmtime-48.0.8";

/// Why code could not be compiled or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AotError {
    #[error("compilation failed: {reason}")]
    Compile { reason: String },
    #[error("not a precompiled module artifact")]
    NotAnArtifact,
    #[error("the artifact cannot run on this engine: {reason}")]
    Incompatible { reason: String },
}

/// Serializes a compiled module into artifact bytes.
pub fn serialize(module: &wasmtime::Module) -> Result<Vec<u8>, AotError> {
    module.serialize().map_err(|e| AotError::Compile { reason: format!("{e:#}") })
}

/// Compiles `wasm` on `engine`.
pub fn compile(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<wasmtime::Module, AotError> {
    wasmtime::Module::from_binary(engine, wasm).map_err(|e| AotError::Compile { reason: format!("{e:#}") })
}

/// Compiles `wasm` for `engine`'s target and settings into artifact bytes.
pub fn precompile(engine: &wasmtime::Engine, wasm: &[u8]) -> Result<Vec<u8>, AotError> {
    engine.precompile_module(wasm).map_err(|e| AotError::Compile { reason: format!("{e:#}") })
}

/// Loads artifact bytes made by [`precompile`].
///
/// wasmtime refuses artifacts of another version or with other settings;
/// this function also refuses anything that is not a module artifact.
///
/// # Safety
///
/// `artifact` must be bytes that [`precompile`] (or
/// `wasmtime::Module::serialize`) produced, unaltered: wasmtime runs the
/// machine code in them as it is. Bytes read back from storage must have
/// been verified (for example by a checksum) before they reach here.
pub unsafe fn load_precompiled(
    engine: &wasmtime::Engine,
    artifact: &[u8],
) -> Result<wasmtime::Module, AotError> {
    match wasmtime::Engine::detect_precompiled(artifact) {
        Some(wasmtime::Precompiled::Module) => {}
        _ => return Err(AotError::NotAnArtifact),
    }
    // SAFETY: the caller guarantees the bytes are an unaltered artifact.
    unsafe { wasmtime::Module::deserialize(engine, artifact) }
        .map_err(|e| AotError::Incompatible { reason: format!("{e:#}") })
}

/// [`load_precompiled`] of an artifact file, mapped rather than read.
///
/// # Safety
///
/// As [`load_precompiled`], and the file must stay unchanged for the
/// module's life (replace it by rename, never in place).
pub unsafe fn load_precompiled_file(
    engine: &wasmtime::Engine,
    path: &std::path::Path,
) -> Result<wasmtime::Module, AotError> {
    match wasmtime::Engine::detect_precompiled_file(path) {
        Ok(Some(wasmtime::Precompiled::Module)) => {}
        _ => return Err(AotError::NotAnArtifact),
    }
    // SAFETY: the caller guarantees the file is an unaltered artifact.
    unsafe { wasmtime::Module::deserialize_file(engine, path) }
        .map_err(|e| AotError::Incompatible { reason: format!("{e:#}") })
}

/// The artifact of one module of a batch, or why it failed.
pub type BatchResult = Result<Vec<u8>, AotError>;

/// Precompiles many modules on `threads` threads (at least one). Each
/// module gets its own result, in input order: a module that fails does not
/// stop the batch. `on_done(index, &result)` is called as each finishes
/// (for progress bars), from the worker threads.
///
/// For the batch to scale with threads, build `engine` with parallel
/// compilation off, so that each module compiles on one thread.
pub fn precompile_batch(
    engine: &wasmtime::Engine,
    modules: &[&[u8]],
    threads: usize,
    on_done: &(dyn Fn(usize, &BatchResult) + Sync),
) -> Vec<BatchResult> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<BatchResult>>> = Mutex::new((0..modules.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, modules.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(wasm) = modules.get(index) else { break };
                    let result = precompile(engine, wasm);
                    on_done(index, &result);
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every index is claimed by exactly one worker"))
        .collect()
}

/// A stable SHA-256 of `engine`'s precompilation compatibility: two
/// engines with the same fingerprint run each other's artifacts.
pub fn engine_fingerprint(engine: &wasmtime::Engine) -> [u8; 32] {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            unreachable!("only `finalize` is used")
        }
    }
    let mut hasher = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xwasm_engine::{EngineConfig, Strategy, build_engine};

    #[test]
    fn a_batch_keeps_going_past_a_bad_module() {
        let engine =
            build_engine(&EngineConfig { parallel_compilation: false, ..Default::default() }).unwrap();
        let good = wat::parse_str("(module (func (export \"f\")))").unwrap();
        let modules: Vec<&[u8]> = vec![&good, b"\0asm\x01\0\0\0\x99", &good];
        let done = std::sync::atomic::AtomicUsize::new(0);
        let results = precompile_batch(&engine, &modules, 2, &|_, _| {
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(done.into_inner(), 3);
        assert!(results[0].is_ok() && results[2].is_ok());
        assert!(matches!(results[1], Err(AotError::Compile { .. })));
    }

    #[test]
    fn a_cross_target_artifact_is_refused_by_this_host() {
        let host = build_engine(&EngineConfig::default()).unwrap();
        let other = EngineConfig { target: Some(CROSS_TARGET.into()), ..Default::default() };
        let cross = build_engine(&other).unwrap();
        let wasm = wat::parse_str("(module (func (export \"f\")))").unwrap();
        let artifact = precompile(&cross, &wasm).unwrap();
        assert_ne!(engine_fingerprint(&host), engine_fingerprint(&cross));
        // SAFETY: the artifact is an unaltered output of `precompile`.
        let err = unsafe { load_precompiled(&host, &artifact) }.unwrap_err();
        assert!(matches!(err, AotError::Incompatible { .. }), "{err}");
        eprintln!("{err}");
    }

    /// A target this build's Cranelift supports that is not the host.
    const CROSS_TARGET: &str = "x86_64-apple-darwin";

    #[test]
    fn random_bytes_are_not_an_artifact() {
        let engine = build_engine(&EngineConfig::default()).unwrap();
        // SAFETY: rejected by the header check before any deserialization.
        let result = unsafe { load_precompiled(&engine, b"definitely not an artifact") };
        assert!(matches!(result, Err(AotError::NotAnArtifact)));
    }

    #[test]
    fn fingerprint_tells_engines_apart() {
        let cranelift = build_engine(&EngineConfig::default()).unwrap();
        let winch = build_engine(&EngineConfig { strategy: Strategy::Winch, ..Default::default() }).unwrap();
        assert_eq!(engine_fingerprint(&cranelift), engine_fingerprint(&cranelift.clone()));
        assert_ne!(engine_fingerprint(&cranelift), engine_fingerprint(&winch));
        // Epoch checks are compiled into the code: an interruptible engine
        // keeps its artifacts apart from a plain one's.
        let interruptible =
            build_engine(&EngineConfig { interruptible: true, ..Default::default() }).unwrap();
        assert_ne!(engine_fingerprint(&cranelift), engine_fingerprint(&interruptible));
    }

    #[test]
    fn artifact_of_another_engine_is_refused() {
        let cranelift = build_engine(&EngineConfig::default()).unwrap();
        let winch = build_engine(&EngineConfig { strategy: Strategy::Winch, ..Default::default() }).unwrap();
        let wasm = wat::parse_str("(module (func (export \"f\")))").unwrap();
        let artifact = precompile(&cranelift, &wasm).unwrap();
        // SAFETY: the artifact is an unaltered output of `precompile`.
        let result = unsafe { load_precompiled(&winch, &artifact) };
        assert!(matches!(result, Err(AotError::Incompatible { .. })));
    }
}

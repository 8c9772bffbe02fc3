//! The loader's configuration made consistent: the policy's limits as the
//! engine can honour them, the allowed imports as the policy reads them,
//! and the namespace of the disk tier's artifacts.

use crate::LoadError;
use xwasm_cache::ArtifactNamespace;
use xwasm_engine::{EngineConfig, EngineError};
use xwasm_linker::{HostFnDescriptor, HostRegistry, WasmType};
use xwasm_security::preprocess::StackLimit;
use xwasm_security::{FuncSig, ImportSpec, ModuleLimits, ModulePolicy, ValType};

/// The policy's limits as the engine can honour them: the one source of
/// both. The engine's pool is sized from the tables and table elements;
/// the initial memory is capped at the engine's memory cap; what the
/// compiler cannot take at all (a `br_table` of more targets than
/// Cranelift's maximum) is a configuration error, so that a module the
/// policy accepts always compiles and instantiates.
pub fn engine_fit(limits: &ModuleLimits, engine: &EngineConfig) -> Result<ModuleLimits, LoadError> {
    let invalid = |reason: String| LoadError::Engine(EngineError::InvalidConfig { reason });
    if limits.max_br_table_targets > xwasm_engine::MAX_BR_TABLE_TARGETS {
        return Err(invalid(format!(
            "module_limits.max_br_table_targets {} exceeds what the compiler takes ({})",
            limits.max_br_table_targets,
            xwasm_engine::MAX_BR_TABLE_TARGETS
        )));
    }
    if limits.max_tables > u64::from(u32::MAX) || limits.max_table_elements > u64::from(u32::MAX) {
        return Err(invalid("module_limits: tables and table elements must fit in 32 bits".into()));
    }
    let mut fitted = limits.clone();
    fitted.max_initial_memory_pages = fitted.max_initial_memory_pages.min(engine.max_memory_bytes >> 16);
    Ok(fitted)
}

/// Whether the rewrite supports `limit`: the count and a claim must fit in
/// 31 bits.
pub fn check_stack_limit(limit: StackLimit) -> Result<(), LoadError> {
    if limit.max_units > StackLimit::MAX_UNITS {
        let reason = format!(
            "stack_limit.max_units {} exceeds {} (the count and a claim must fit in 31 bits)",
            limit.max_units,
            StackLimit::MAX_UNITS
        );
        return Err(LoadError::Engine(EngineError::InvalidConfig { reason }));
    }
    Ok(())
}

/// The namespace of this engine's artifacts in a disk tier: the compiler
/// version, the preprocessing (its version and stack limit) and the
/// engine's compatibility fingerprint.
pub fn artifact_namespace(engine: &wasmtime::Engine, policy: &ModulePolicy) -> ArtifactNamespace {
    ArtifactNamespace {
        compiler_version: format!(
            "{}+pre{}.{}{}",
            xwasm_aot::COMPILER_VERSION,
            xwasm_security::preprocess::PREPROCESS_VERSION,
            policy.stack_limit.max_units,
            if policy.rewrite.strip_custom_sections { ".strip" } else { "" }
        ),
        engine_fingerprint: xwasm_aot::engine_fingerprint(engine),
    }
}

/// The imports a policy allows: the functions of `registry` that `allow`
/// accepts, with their exact signatures.
pub fn import_specs(registry: &HostRegistry, allow: impl Fn(&HostFnDescriptor) -> bool) -> Vec<ImportSpec> {
    registry
        .descriptors()
        .filter(|d| allow(d))
        .map(|d| ImportSpec {
            module: d.namespace.to_owned(),
            name: d.name.to_owned(),
            signature: FuncSig::new(&val_types(d.params), &val_types(d.results)),
        })
        .collect()
}

fn val_types(types: &[WasmType]) -> Vec<ValType> {
    types
        .iter()
        .map(|t| match t {
            WasmType::I32 => ValType::I32,
            WasmType::I64 => ValType::I64,
            WasmType::F32 => ValType::F32,
            WasmType::F64 => ValType::F64,
        })
        .collect()
}

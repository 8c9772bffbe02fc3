//! Turns an [`EngineConfig`] into a [`wasmtime::Engine`].
//!
//! This is the only crate in xwasm that builds a [`wasmtime::Config`]. It
//! knows the compilation strategy, the optimization level, the pooling
//! allocator's sizes and the determinism profile; it knows nothing of
//! modules, state or host functions.
//!
//! Its engines do not meter: gas lives in the module itself, charged per
//! basic block from a global by the load-time rewrite
//! (`xwasm_security::preprocess`), identically under Cranelift and Winch
//! and 1.2-1.7x cheaper than wasmtime's fuel (`benches/examples/meter_probe.rs`).
//! Fuel is off, so nothing counts twice. Wall-clock checks (epoch
//! interruption: timeouts, interrupt handles, the sampling profiler) are
//! compiled in only when [`EngineConfig::interruptible`] asks for them:
//! gas already bounds every call deterministically, and the checks cost
//! about 1.3x on a tight loop (`benches/examples/meter_probe.rs`).
//!
//! # Example
//!
//! ```
//! use xwasm_engine::{EngineConfig, build_engine};
//!
//! let engine = build_engine(&EngineConfig::default()).unwrap();
//! let module = wasmtime::Module::new(&engine, "(module)").unwrap();
//! assert_eq!(module.exports().count(), 0);
//! ```

use serde::{Deserialize, Serialize};

/// How WebAssembly is compiled to machine code.
///
/// Consensus note: both strategies meter with the same fuel schedule on
/// plain code; see the crate-level limitations for bulk memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The optimizing compiler: slower to compile, faster to run.
    #[default]
    Cranelift,
    /// The baseline compiler: fast to compile, slower to run.
    Winch,
}

/// Cranelift's optimization level (ignored by Winch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptLevel {
    None,
    #[default]
    Speed,
    SpeedAndSize,
}

/// Sizes of the pooling instance allocator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolingConfig {
    /// Instances that may be alive at once, across all threads and nesting
    /// (a call holds one instance per level of nesting, at most
    /// `max_call_depth` of them; see [`EngineConfig::parallel_calls`]).
    pub total_instances: u32,
    /// Bytes of each linear memory (and table) reset in place when a slot
    /// is reused, where the kernel cannot tell which pages a call wrote:
    /// the first this many bytes are set back with `memset`, the rest
    /// handed back with `madvise` (a system call, a TLB shootdown on every
    /// other core running the process, and page faults on the next use).
    pub keep_resident_bytes: u64,
    /// The same where Linux tells which pages a call wrote (`PAGEMAP_SCAN`,
    /// Linux 6.7 and later): only those pages are set back, up to this
    /// many bytes of them, and a call that wrote no more than that makes
    /// no `madvise` and leaves no page to fault in. CosmWasm calls write
    /// a few dozen pages of their megabyte of stack and heap: hackatom's
    /// instantiate runs about twice as fast as with `madvise`, and a block
    /// on two threads no longer stops the other core for each call. The
    /// price is resident memory: up to this much per slot a call has used
    /// (256 MiB for the default 256 slots, all of them used).
    pub scanned_resident_bytes: u64,
    /// Address space each slot reserves for its linear memory (never less
    /// than [`EngineConfig::max_memory_bytes`], which still caps what a
    /// memory may grow to). 4 GiB, the default, covers every 32-bit
    /// address, so the compiler drops the bounds check of every load and
    /// store: an access past the memory lands in unmapped space and traps
    /// the same way. argon2 in cyberpunk runs 1.6x faster than with the
    /// 64 MiB cap reserved. It is address space, not memory: 256 slots
    /// reserve 1 TiB of the 128 TiB a Linux process has. The memory cap
    /// (`max_memory_bytes`) keeps the checks in the code and reserves 64
    /// times less, for valgrind or a small address space.
    pub memory_reservation_bytes: u64,
}

/// The default [`PoolingConfig::memory_reservation_bytes`]: every 32-bit
/// address.
pub const GUARDED_RESERVATION_BYTES: u64 = 1 << 32;

impl Default for PoolingConfig {
    fn default() -> Self {
        Self {
            total_instances: 256,
            keep_resident_bytes: 8 << 10,
            scanned_resident_bytes: 1 << 20,
            memory_reservation_bytes: GUARDED_RESERVATION_BYTES,
        }
    }
}

impl PoolingConfig {
    /// What a slot keeps resident on this machine:
    /// [`PoolingConfig::scanned_resident_bytes`] where the kernel reports
    /// written pages, else [`PoolingConfig::keep_resident_bytes`].
    pub fn resident_bytes(&self) -> u64 {
        static SCAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *SCAN.get_or_init(wasmtime::PoolingAllocationConfig::is_pagemap_scan_available) {
            self.scanned_resident_bytes
        } else {
            self.keep_resident_bytes
        }
    }
}

/// The most targets one `br_table` may have for Cranelift to compile it
/// (wasmtime 48 refuses more with "br_table ... too many targets"); the
/// policy's limit must not exceed it.
pub const MAX_BR_TABLE_TARGETS: u64 = 65_520;

/// What one module may declare that the pooling allocator must make room
/// for. The policy's limits size it (the facade passes them), so that
/// every module the policy accepts fits a pool slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModuleCapacity {
    /// Tables of one module.
    pub tables: u32,
    /// Elements of one table.
    pub table_elements: u64,
}

impl Default for ModuleCapacity {
    /// The default policy's limits (`xwasm_security::ModuleLimits`).
    fn default() -> Self {
        Self { tables: 4, table_elements: 20_000 }
    }
}

/// The memory cap of an instance unless configured otherwise: 64 MiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 64 << 20;

/// Which WebAssembly features may run, chosen for reproducible results.
///
/// Consensus-relevant: two nodes must use the same profile.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct DeterminismProfile {
    /// Canonicalize NaN results of float operations (the only float
    /// non-determinism left once threads and relaxed SIMD are off).
    pub nan_canonicalization: bool,
    /// Fixed-width SIMD (deterministic, with NaN canonicalization).
    pub simd: bool,
}

impl Default for DeterminismProfile {
    fn default() -> Self {
        Self { nan_canonicalization: true, simd: true }
    }
}

/// Everything needed to build an engine. Serde-friendly so that a node can
/// keep it in a TOML file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    pub strategy: Strategy,
    pub opt_level: OptLevel,
    /// Compile a module's functions on several threads.
    pub parallel_compilation: bool,
    /// `None` uses wasmtime's on-demand allocator.
    pub pooling: Option<PoolingConfig>,
    /// Native stack available to WebAssembly, in bytes.
    pub max_wasm_stack: usize,
    /// The largest linear memory an instance may grow to, in bytes
    /// (`memory.grow` past it returns -1). Consensus-relevant.
    pub max_memory_bytes: u64,
    pub determinism: DeterminismProfile,
    /// Compile for another target triple (precompilation only: such an
    /// engine's artifacts do not run on this host). `None` is the host.
    pub target: Option<String>,
    /// Compile epoch checks into the code so that a call can be stopped
    /// from outside (timeouts, interrupt handles, sampling profiles). Off
    /// by default: a metered loop kernel ran about 1.3x slower with them
    /// (`benches/examples/meter_probe.rs`).
    pub interruptible: bool,
    /// Check the bounds of every memory access in the code instead of
    /// relying on guard pages and signals. Then an instance never changes
    /// memory protections: with guard pages, the pool makes a reused slot's
    /// grown memory inaccessible again (an `mprotect` whose TLB shootdown
    /// stops every other thread of the process), so parallel blocks of
    /// contracts that grow their memory (cw20-base does, on every call) do
    /// not scale (single calls of them pay for the `mprotect` too: with
    /// this on, cw20-base transfers ran about 15% faster). Costs a
    /// Cranelift compile 1.7x the time and an artifact 1.8x the size
    /// (hackatom), and compute-bound code about 18% (argon2). Winch
    /// cannot check bounds this way: a Winch engine with it is refused,
    /// and a tiered VM's baseline keeps guard pages. Off by default.
    pub explicit_bounds_checks: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            strategy: Strategy::Cranelift,
            opt_level: OptLevel::Speed,
            parallel_compilation: true,
            pooling: Some(PoolingConfig::default()),
            max_wasm_stack: 1 << 20,
            max_memory_bytes: DEFAULT_MAX_MEMORY_BYTES,
            determinism: DeterminismProfile::default(),
            target: None,
            interruptible: false,
            explicit_bounds_checks: false,
        }
    }
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("invalid engine configuration: {reason}")]
    InvalidConfig { reason: String },
}

impl EngineConfig {
    /// How many calls nesting up to `max_call_depth` deep the pool holds at
    /// once (at least one): a block runs no more workers than that, since
    /// an instance the pool could not give would fail a transaction on one
    /// node and not on another with fewer cores.
    pub fn parallel_calls(&self, max_call_depth: u32) -> usize {
        self.pooling.as_ref().map_or(usize::MAX, |pool| {
            (pool.total_instances / max_call_depth.saturating_add(1)).max(1) as usize
        })
    }

    /// The configuration of a tiered VM's baseline engine: this one with
    /// Winch. Cranelift still compiles the trampolines between the host
    /// and Winch's code; unoptimized, a cold compile of hackatom takes
    /// about 8% less time, and the baseline code lives only until the
    /// optimizing tier replaces it. Winch needs guard pages, so the
    /// baseline keeps them even where this engine checks bounds
    /// explicitly: a separate engine, with its own pool. None where this
    /// one is Winch already.
    pub fn baseline(&self) -> Option<EngineConfig> {
        (self.strategy != Strategy::Winch).then(|| EngineConfig {
            strategy: Strategy::Winch,
            opt_level: OptLevel::None,
            explicit_bounds_checks: false,
            ..self.clone()
        })
    }

    /// The wasmtime configuration this xwasm configuration stands for,
    /// for modules of the default capacity.
    pub fn to_wasmtime(&self) -> wasmtime::Config {
        self.to_wasmtime_for(ModuleCapacity::default())
    }

    /// The wasmtime configuration, its pool sized for modules of `capacity`.
    pub fn to_wasmtime_for(&self, capacity: ModuleCapacity) -> wasmtime::Config {
        let mut config = wasmtime::Config::new();
        config
            .consume_fuel(false)
            .epoch_interruption(self.interruptible)
            .max_wasm_stack(self.max_wasm_stack)
            .parallel_compilation(self.parallel_compilation)
            .strategy(match self.strategy {
                Strategy::Cranelift => wasmtime::Strategy::Cranelift,
                Strategy::Winch => wasmtime::Strategy::Winch,
            })
            .cranelift_opt_level(match self.opt_level {
                OptLevel::None => wasmtime::OptLevel::None,
                OptLevel::Speed => wasmtime::OptLevel::Speed,
                OptLevel::SpeedAndSize => wasmtime::OptLevel::SpeedAndSize,
            })
            .cranelift_nan_canonicalization(self.determinism.nan_canonicalization)
            // Traps and profiles name functions, never code offsets, and
            // only the system's unwinder (perf, gdb) reads native unwind
            // information: without either, a Winch compile of hackatom
            // takes 2-4% less time and its artifact 13% less space.
            .generate_address_map(false)
            // (Windows requires it.)
            .native_unwind_info(cfg!(windows))
            // What rustc and clang emit for wasm32 today (reference types,
            // which newer rustc needs for its table encoding, are on by default).
            .wasm_bulk_memory(true)
            .wasm_multi_value(true)
            .wasm_simd(self.determinism.simd)
            .wasm_extended_const(true);
        // Off in the determinism profile: non-deterministic or unneeded.
        let off = wasmtime::WasmFeatures::RELAXED_SIMD
            | wasmtime::WasmFeatures::THREADS
            | wasmtime::WasmFeatures::SHARED_EVERYTHING_THREADS
            | wasmtime::WasmFeatures::MULTI_MEMORY
            | wasmtime::WasmFeatures::MEMORY64
            | wasmtime::WasmFeatures::GC
            | wasmtime::WasmFeatures::FUNCTION_REFERENCES
            | wasmtime::WasmFeatures::TAIL_CALL
            | wasmtime::WasmFeatures::EXCEPTIONS
            | wasmtime::WasmFeatures::STACK_SWITCHING
            | wasmtime::WasmFeatures::WIDE_ARITHMETIC
            | wasmtime::WasmFeatures::CUSTOM_PAGE_SIZES
            | wasmtime::WasmFeatures::COMPONENT_MODEL;
        config.wasm_features(off, false);
        if let Some(pool) = &self.pooling {
            let mut pooling = wasmtime::PoolingAllocationConfig::new();
            pooling
                .total_core_instances(pool.total_instances)
                .total_memories(pool.total_instances)
                .total_tables(pool.total_instances.saturating_mul(capacity.tables.max(1)))
                .max_tables_per_module(capacity.tables)
                .table_elements(capacity.table_elements as usize)
                .max_memories_per_module(1)
                .max_memory_size(self.max_memory_bytes as usize)
                .linear_memory_keep_resident(pool.resident_bytes() as usize)
                .table_keep_resident(pool.resident_bytes() as usize)
                .pagemap_scan(wasmtime::Enabled::Auto);
            config
                .allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling))
                .memory_reservation(pool.memory_reservation_bytes)
                .memory_reservation_for_growth(0);
        }
        if self.explicit_bounds_checks {
            config.signals_based_traps(false).memory_guard_size(0);
        }
        config
    }
}

/// Builds the engine for `config`, for modules of the default capacity.
pub fn build_engine(config: &EngineConfig) -> Result<wasmtime::Engine, EngineError> {
    build_engine_for(config, ModuleCapacity::default())
}

/// Builds the engine for `config`, its pool sized for modules of `capacity`.
pub fn build_engine_for(
    config: &EngineConfig,
    capacity: ModuleCapacity,
) -> Result<wasmtime::Engine, EngineError> {
    if config.pooling.as_ref().is_some_and(|pool| pool.total_instances == 0) {
        return Err(EngineError::InvalidConfig {
            reason: "pooling.total_instances must be at least 1".into(),
        });
    }
    if let Some(pool) =
        config.pooling.as_ref().filter(|p| p.memory_reservation_bytes < config.max_memory_bytes)
    {
        return Err(EngineError::InvalidConfig {
            reason: format!(
                "pooling.memory_reservation_bytes ({}) is below max_memory_bytes ({})",
                pool.memory_reservation_bytes, config.max_memory_bytes
            ),
        });
    }
    if config.explicit_bounds_checks && config.strategy == Strategy::Winch {
        return Err(EngineError::InvalidConfig {
            reason: "explicit_bounds_checks needs the cranelift strategy (Winch relies on guard pages and signals)"
                .into(),
        });
    }
    if config.max_memory_bytes < 65_536 {
        return Err(EngineError::InvalidConfig {
            reason: "max_memory_bytes must hold at least one 64 KiB page".into(),
        });
    }
    match engine(config, capacity) {
        // The pool's reservation can fail where address space is short (a
        // 39-bit address space, an `RLIMIT_AS`, many VMs in one process):
        // then the memory cap alone, with bounds checks in the code.
        Err(_)
            if config
                .pooling
                .as_ref()
                .is_some_and(|p| p.memory_reservation_bytes > config.max_memory_bytes) =>
        {
            let mut capped = config.clone();
            if let Some(pool) = capped.pooling.as_mut() {
                pool.memory_reservation_bytes = config.max_memory_bytes;
            }
            engine(&capped, capacity)
        }
        built => built,
    }
}

fn engine(config: &EngineConfig, capacity: ModuleCapacity) -> Result<wasmtime::Engine, EngineError> {
    let mut wasmtime_config = config.to_wasmtime_for(capacity);
    if let Some(target) = &config.target {
        wasmtime_config
            .target(target)
            .map_err(|e| EngineError::InvalidConfig { reason: format!("target {target}: {e:#}") })?;
    }
    wasmtime::Engine::new(&wasmtime_config).map_err(|e| EngineError::InvalidConfig {
        reason: match &config.target {
            Some(target) => format!("target {target}: {e:#}"),
            None => format!("{e:#}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_is_the_modules_own_and_epochs_are_opt_in() {
        let plain = build_engine(&EngineConfig::default()).unwrap();
        assert!(!plain.get_consume_fuel(), "the load-time rewrite meters; fuel would count twice");
        assert!(!plain.get_epoch_interruption());
        let interruptible =
            build_engine(&EngineConfig { interruptible: true, ..Default::default() }).unwrap();
        assert!(interruptible.get_epoch_interruption());
    }

    #[test]
    fn a_reservation_below_the_memory_cap_is_refused() {
        let config = EngineConfig {
            pooling: Some(PoolingConfig { memory_reservation_bytes: 1 << 20, ..Default::default() }),
            ..Default::default()
        };
        assert!(matches!(build_engine(&config), Err(EngineError::InvalidConfig { .. })));
    }

    /// With the guard (no bounds checks in the code), with the memory cap
    /// reserved (bounds checks) or with explicit bounds checks and no
    /// guard, an access past the memory traps the same way, and one inside
    /// it reads the same.
    #[test]
    fn out_of_bounds_traps_alike_with_or_without_bounds_checks() {
        let wasm = br#"(module (memory 1) (data (i32.const 8) "\2a")
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "load_far") (param i32) (result i32) (i32.load8_u offset=65536 (local.get 0)))
            (func (export "load_word") (param i32) (result i32) (i32.load (local.get 0))))"#;
        let strategies = [Strategy::Cranelift, Strategy::Winch];
        let reservations = [GUARDED_RESERVATION_BYTES, DEFAULT_MAX_MEMORY_BYTES];
        let configurations = strategies.into_iter().flat_map(|s| reservations.map(|r| (s, r, false)));
        let explicit = reservations.map(|r| (Strategy::Cranelift, r, true));
        for (strategy, reservation, explicit_bounds_checks) in configurations.chain(explicit) {
            let pooling = PoolingConfig {
                total_instances: 2,
                memory_reservation_bytes: reservation,
                ..Default::default()
            };
            let config = EngineConfig {
                strategy,
                pooling: Some(pooling),
                explicit_bounds_checks,
                ..Default::default()
            };
            let engine = build_engine(&config).unwrap();
            let module = wasmtime::Module::new(&engine, wasm).unwrap();
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
            let func = |name: &str, store: &mut wasmtime::Store<()>| {
                instance.get_typed_func::<u32, u32>(store, name).unwrap()
            };
            let (load, far, word) =
                (func("load", &mut store), func("load_far", &mut store), func("load_word", &mut store));
            assert_eq!(load.call(&mut store, 8).unwrap(), 42);
            assert_eq!(word.call(&mut store, 65_532).unwrap(), 0);
            let traps = [
                (&load, 65_536),
                (&load, 1 << 31),
                (&load, u32::MAX),
                (&far, 0),
                (&far, u32::MAX),
                (&word, 65_534),
            ];
            for (f, address) in traps {
                let trap = f.call(&mut store, address).unwrap_err();
                let trap = trap.downcast_ref::<wasmtime::Trap>();
                assert_eq!(
                    trap,
                    Some(&wasmtime::Trap::MemoryOutOfBounds),
                    "{strategy:?}, {reservation}, {address}"
                );
            }
        }
    }

    /// A slot used again starts from the module's image, whatever the
    /// call before wrote: within the pages kept resident (set back in
    /// place), past them (handed back to the kernel), in the data segment
    /// and in the table, with resident budgets from none to all of it.
    #[test]
    fn a_reused_slot_starts_from_the_image() {
        let wasm = br#"(module (memory 4) (table 2 funcref) (data (i32.const 100) "\2a")
            (func $f) (elem (i32.const 0) $f)
            (func (export "dirty")
                (i32.store8 (i32.const 100) (i32.const 7))
                (i32.store (i32.const 70000) (i32.const -1))
                (i32.store (i32.const 262140) (i32.const -1))
                (table.set (i32.const 0) (ref.null func))
                (table.set (i32.const 1) (ref.func $f)))
            (func (export "sum") (result i32) (local $a i32) (local $s i32)
                (loop $l
                    (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $a))))
                    (local.set $a (i32.add (local.get $a) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $a) (i32.const 262144))))
                (i32.add (local.get $s)
                    (i32.add (i32.mul (i32.const 1000) (ref.is_null (table.get (i32.const 0))))
                        (i32.mul (i32.const 10000) (ref.is_null (table.get (i32.const 1))))))))"#;
        for (keep, scanned) in [(0, 0), (8 << 10, 8 << 10), (8 << 10, 1 << 20), (1 << 20, 1 << 20)] {
            let pooling = PoolingConfig {
                total_instances: 1,
                keep_resident_bytes: keep,
                scanned_resident_bytes: scanned,
                ..Default::default()
            };
            let engine =
                build_engine(&EngineConfig { pooling: Some(pooling), ..Default::default() }).unwrap();
            let module = wasmtime::Module::new(&engine, wasm).unwrap();
            for round in 0..3 {
                // One slot: every round's instance reuses the last one's.
                let mut store = wasmtime::Store::new(&engine, ());
                let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
                let sum = instance.get_typed_func::<(), i32>(&mut store, "sum").unwrap();
                assert_eq!(sum.call(&mut store, ()).unwrap(), 42 + 10000, "{keep}/{scanned}, round {round}");
                let dirty = instance.get_typed_func::<(), ()>(&mut store, "dirty").unwrap();
                dirty.call(&mut store, ()).unwrap();
                assert_ne!(sum.call(&mut store, ()).unwrap(), 42 + 10000);
            }
        }
    }

    /// With explicit bounds checks the pool never takes back a grown
    /// memory's pages: a later instance in the slot still starts at the
    /// module's size, traps past it, and finds grown pages zeroed. Winch
    /// cannot run such code: the configuration is refused, and the
    /// baseline tier keeps guard pages.
    #[test]
    fn explicit_bounds_checks_keep_each_instance_to_its_own_memory() {
        let wasm = br#"(module (memory 1)
            (func (export "grow") (result i32) (drop (memory.grow (i32.const 2))) (memory.size))
            (func (export "write") (i32.store (i32.const 131072) (i32.const -1)))
            (func (export "read") (param i32) (result i32) (i32.load (local.get 0))))"#;
        let pooling = PoolingConfig { total_instances: 1, ..Default::default() };
        let config =
            EngineConfig { pooling: Some(pooling), explicit_bounds_checks: true, ..Default::default() };
        let engine = build_engine(&config).unwrap();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        for round in 0..3 {
            let mut store = wasmtime::Store::new(&engine, ());
            let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
            let read = instance.get_typed_func::<u32, i32>(&mut store, "read").unwrap();
            for address in [65_536, 131_072] {
                let trap = read.call(&mut store, address).unwrap_err();
                let trap = trap.downcast_ref::<wasmtime::Trap>();
                assert_eq!(trap, Some(&wasmtime::Trap::MemoryOutOfBounds), "round {round}, {address}");
            }
            let grow = instance.get_typed_func::<(), i32>(&mut store, "grow").unwrap();
            assert_eq!(grow.call(&mut store, ()).unwrap(), 3, "round {round}: from the module's one page");
            assert_eq!(read.call(&mut store, 131_072).unwrap(), 0, "round {round}: grown pages start zeroed");
            let write = instance.get_typed_func::<(), ()>(&mut store, "write").unwrap();
            write.call(&mut store, ()).unwrap();
            assert_eq!(read.call(&mut store, 131_072).unwrap(), -1);
        }
        let winch = EngineConfig { strategy: Strategy::Winch, ..config.clone() };
        assert!(matches!(build_engine(&winch), Err(EngineError::InvalidConfig { .. })));
        let baseline = config.baseline().unwrap();
        assert_eq!((baseline.strategy, baseline.explicit_bounds_checks), (Strategy::Winch, false));
        build_engine(&baseline).unwrap();
        assert_eq!(baseline.baseline(), None);
    }

    #[test]
    fn zero_pool_is_refused() {
        let config = EngineConfig {
            pooling: Some(PoolingConfig { total_instances: 0, ..Default::default() }),
            ..Default::default()
        };
        assert!(matches!(build_engine(&config), Err(EngineError::InvalidConfig { .. })));
    }
}

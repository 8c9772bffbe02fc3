//! Caching of compiled code.
//!
//! Today this crate holds the memory tier: [`MemoryTier`], a thread-safe
//! LRU bounded by entry count and by bytes, with statistics, the seed's
//! cleanup policies, and single-flight loading (threads asking for the
//! same missing key wait for one load). It does not know how values are
//! produced: the caller hands it a loader.
//!
//! # Limitations
//!
//! The persistent, verified disk tier of the design is not built yet: a
//! new process compiles every contract once.
//!
//! # Example
//!
//! ```
//! use xwasm_cache::{MemoryTier, MemoryTierConfig};
//!
//! let tier = MemoryTier::new(MemoryTierConfig { max_entries: 2, max_bytes: 1 << 20 });
//! let compiled = tier.get_or_try_insert_with(&[0u8; 32], || Ok::<_, ()>(("module", 100))).unwrap();
//! assert_eq!(compiled, "module");
//! assert_eq!(tier.stats().misses, 1);
//! ```

mod memory;

pub use memory::{CleanupPolicy, EntryMeta, MemoryTier, MemoryTierConfig};

/// Counters of a cache. Not consensus-relevant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub memory_hits: u64,
    pub disk_hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub evictions: u64,
    pub corrupt_artifacts: u64,
}

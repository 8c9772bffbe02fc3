//! Caching of compiled code, in two tiers.
//!
//! - [`MemoryTier`]: a thread-safe LRU bounded by entry count and by bytes,
//!   with statistics, the seed's cleanup policies, and single-flight
//!   loading (threads asking for the same missing key wait for one load).
//! - [`ArtifactStore`] (behind the [`ArtifactCache`] trait): the persistent
//!   disk tier, content-addressed, namespaced by compiler version and
//!   engine fingerprint, verifying a header and a SHA-256 checksum before
//!   any artifact is handed out; corrupt files are counted, deleted and
//!   reported as misses; writes are atomic; the size is bounded.
//!
//! It does not know how values or artifacts are produced: the caller hands
//! it a loader and opaque bytes.
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

mod disk;
mod memory;

pub use disk::{
    ARTIFACT_FORMAT, Artifact, ArtifactCache, ArtifactEntry, ArtifactNamespace, ArtifactStore, DiskStats,
    Verified, VerifyReport,
};
pub use memory::{CleanupPolicy, EntryMeta, MemoryTier, MemoryTierConfig, SingleFlight};

use std::path::PathBuf;

/// Why a cache could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    #[error("cache folder {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Counters of a cache. Not consensus-relevant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Loads the memory tier answered.
    pub memory_hits: u64,
    /// Artifacts the disk tier handed out verified (its own counter).
    pub disk_hits: u64,
    /// Loads the memory tier did not answer.
    pub misses: u64,
    /// Code put into the memory tier.
    pub inserts: u64,
    /// Code the memory tier dropped for its budget.
    pub evictions: u64,
    /// Artifacts the disk tier found damaged, or that verified and could
    /// not be loaded, and deleted (its own counter).
    pub corrupt_artifacts: u64,
}

//! The disk tier: a persistent, content-addressed store of compiled
//! artifacts that verifies every artifact before handing it out.
//!
//! Layout: `ROOT/<namespace>/<code hash hex>.art`, where the namespace
//! names the artifact format version, the wasmtime version and the engine's
//! compatibility fingerprint, so an upgrade or a different engine setting
//! never even looks at old artifacts. Each file is
//!
//! ```text
//! magic "XWASMART" | format u32 LE | version length u16 LE | version
//! | engine fingerprint [32] | code hash [32] | payload length u64 LE
//! | payload SHA-256 [32] | payload
//! ```
//!
//! and [`ArtifactStore::get`] checks every field and the checksum before it
//! returns the payload. A file that fails is counted, deleted and reported
//! as a miss. Writes go to a temporary file that is renamed into place, so
//! a crash never leaves a half-written artifact under its final name.

use crate::CacheError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"XWASMART";
/// Bumped when the file layout above changes.
pub const ARTIFACT_FORMAT: u32 = 1;

/// What an artifact must have been made by to be used: the store only
/// hands out artifacts whose header matches exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactNamespace {
    /// The compiler's version (for example wasmtime's).
    pub compiler_version: String,
    /// A hash of every engine setting that affects compiled code.
    pub engine_fingerprint: [u8; 32],
}

impl ArtifactNamespace {
    fn folder_name(&self) -> String {
        let version: String = self
            .compiler_version
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
            .collect();
        format!("v{ARTIFACT_FORMAT}-{version}-{}", hex::encode(&self.engine_fingerprint[..8]))
    }
}

/// A replaceable persistent tier: `get` returns only verified artifacts.
pub trait ArtifactCache: Send + Sync {
    /// The verified artifact of `code_hash`, or `None` (a miss, including a
    /// corrupt artifact, which is removed).
    fn get(&self, code_hash: &[u8; 32]) -> Option<Vec<u8>>;
    /// Stores an artifact; a failure is counted, never fatal.
    fn insert(&self, code_hash: &[u8; 32], artifact: &[u8]);
    /// Drops an artifact that verified but could not be loaded, counting it
    /// as corrupt.
    fn reject(&self, code_hash: &[u8; 32]);
    /// Drops `code_hash`'s artifact, if there is one (its code was
    /// removed). A tier that cannot forget keeps it.
    fn remove(&self, _code_hash: &[u8; 32]) {}
}

/// Counters of the disk tier. Not consensus-relevant.
#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    corrupt: AtomicU64,
    write_errors: AtomicU64,
}

/// A snapshot of the disk tier's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiskStats {
    pub hits: u64,
    pub misses: u64,
    pub inserts: u64,
    pub evictions: u64,
    pub corrupt: u64,
    pub write_errors: u64,
}

/// The result of [`ArtifactStore::verify_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub verified: u64,
    /// Artifacts that failed verification and were deleted.
    pub deleted: Vec<String>,
    /// Stray files (not artifacts) that were deleted.
    pub strays: Vec<String>,
}

/// The on-disk artifact store.
#[derive(Debug)]
pub struct ArtifactStore {
    dir: PathBuf,
    namespace: ArtifactNamespace,
    max_bytes: u64,
    counters: Counters,
}

/// An artifact on disk, for listings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArtifactEntry {
    pub code_hash: String,
    pub bytes: u64,
}

impl ArtifactStore {
    /// Opens (creating) the store for `namespace` under `root`, bounded to
    /// `max_bytes` on disk.
    pub fn open(root: &Path, namespace: ArtifactNamespace, max_bytes: u64) -> Result<Self, CacheError> {
        let dir = root.join(namespace.folder_name());
        std::fs::create_dir_all(&dir).map_err(|source| CacheError::Io { path: dir.clone(), source })?;
        Ok(Self { dir, namespace, max_bytes, counters: Counters::default() })
    }

    /// The folder holding this namespace's artifacts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, code_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.art", hex::encode(code_hash)))
    }

    fn header(&self, code_hash: &[u8; 32], payload: &[u8]) -> Vec<u8> {
        let version = self.namespace.compiler_version.as_bytes();
        let mut header = Vec::with_capacity(8 + 4 + 2 + version.len() + 32 + 32 + 8 + 32);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&ARTIFACT_FORMAT.to_le_bytes());
        header.extend_from_slice(&(version.len() as u16).to_le_bytes());
        header.extend_from_slice(version);
        header.extend_from_slice(&self.namespace.engine_fingerprint);
        header.extend_from_slice(code_hash);
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(&Sha256::digest(payload));
        header
    }

    /// The payload of `file` if it is a sound artifact of `code_hash` in
    /// this namespace; otherwise what is wrong with it.
    fn verify<'a>(&self, code_hash: &[u8; 32], file: &'a [u8]) -> Result<&'a [u8], &'static str> {
        let version = self.namespace.compiler_version.as_bytes();
        let header_len = 8 + 4 + 2 + version.len() + 32 + 32 + 8 + 32;
        if file.len() < header_len {
            return Err("truncated header");
        }
        let (header, payload) = file.split_at(header_len);
        let expected = self.header(code_hash, payload);
        // Compare field by field for a precise reason.
        let checks: [(std::ops::Range<usize>, &'static str); 6] = [
            (0..8, "bad magic"),
            (8..12, "other artifact format"),
            (12..14 + version.len(), "other compiler version"),
            (14 + version.len()..46 + version.len(), "other engine settings"),
            (46 + version.len()..78 + version.len(), "artifact of other code"),
            (78 + version.len()..86 + version.len(), "payload length mismatch (truncated?)"),
        ];
        for (range, reason) in checks {
            if header[range.clone()] != expected[range] {
                return Err(reason);
            }
        }
        if header[86 + version.len()..] != expected[86 + version.len()..] {
            return Err("checksum mismatch");
        }
        Ok(payload)
    }

    fn discard(&self, path: &Path) {
        self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
        let _ = std::fs::remove_file(path);
    }

    /// Writes `artifact` atomically; returns whether it was stored.
    fn write(&self, code_hash: &[u8; 32], artifact: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(&self.header(code_hash, artifact))?;
        file.write_all(artifact)?;
        file.as_file().sync_all()?;
        file.persist(self.path_of(code_hash)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Every artifact file with its size and modification time.
    fn files(&self) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        dir.filter_map(Result::ok)
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                meta.is_file()
                    .then(|| (entry.path(), meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH)))
            })
            .collect()
    }

    /// Deletes the least recently used artifacts until the store fits its
    /// size bound.
    fn evict(&self) {
        let mut files = self.files();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        if total <= self.max_bytes {
            return;
        }
        files.sort_by_key(|(_, _, modified)| *modified);
        for (path, len, _) in files {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The artifacts stored, by code hash.
    pub fn entries(&self) -> Vec<ArtifactEntry> {
        let mut entries: Vec<_> = self
            .files()
            .into_iter()
            .filter_map(|(path, bytes, _)| {
                let name = path.file_name()?.to_str()?;
                let hash = name.strip_suffix(".art")?;
                (hash.len() == 64).then(|| ArtifactEntry { code_hash: hash.to_owned(), bytes })
            })
            .collect();
        entries.sort_by(|a, b| a.code_hash.cmp(&b.code_hash));
        entries
    }

    /// Verifies every file; deletes corrupt artifacts and stray files.
    pub fn verify_all(&self) -> VerifyReport {
        let mut report = VerifyReport::default();
        for (path, _, _) in self.files() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let hash =
                name.strip_suffix(".art").and_then(|h| <[u8; 32]>::try_from(hex::decode(h).ok()?).ok());
            let Some(hash) = hash else {
                let _ = std::fs::remove_file(&path);
                report.strays.push(name);
                continue;
            };
            match std::fs::read(&path).map(|bytes| self.verify(&hash, &bytes).is_ok()) {
                Ok(true) => report.verified += 1,
                _ => {
                    self.discard(&path);
                    report.deleted.push(name);
                }
            }
        }
        report
    }

    /// Deletes every artifact of this namespace; returns how many.
    pub fn clear(&self) -> usize {
        self.files().into_iter().filter(|(path, _, _)| std::fs::remove_file(path).is_ok()).count()
    }

    pub fn stats(&self) -> DiskStats {
        let c = &self.counters;
        DiskStats {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            inserts: c.inserts.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            corrupt: c.corrupt.load(Ordering::Relaxed),
            write_errors: c.write_errors.load(Ordering::Relaxed),
        }
    }
}

impl ArtifactCache for ArtifactStore {
    fn get(&self, code_hash: &[u8; 32]) -> Option<Vec<u8>> {
        let path = self.path_of(code_hash);
        let Ok(mut file) = std::fs::read(&path) else {
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        match self.verify(code_hash, &file) {
            Ok(payload) => {
                let start = file.len() - payload.len();
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                // Recency for eviction.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                file.drain(..start);
                Some(file)
            }
            Err(_) => {
                self.discard(&path);
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn insert(&self, code_hash: &[u8; 32], artifact: &[u8]) {
        match self.write(code_hash, artifact) {
            Ok(()) => {
                self.counters.inserts.fetch_add(1, Ordering::Relaxed);
                self.evict();
            }
            Err(_) => {
                self.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn reject(&self, code_hash: &[u8; 32]) {
        self.discard(&self.path_of(code_hash));
    }

    fn remove(&self, code_hash: &[u8; 32]) {
        let _ = std::fs::remove_file(self.path_of(code_hash));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path, fingerprint: u8) -> ArtifactStore {
        let namespace =
            ArtifactNamespace { compiler_version: "test-1.0".into(), engine_fingerprint: [fingerprint; 32] };
        ArtifactStore::open(dir, namespace, 1 << 20).unwrap()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 1);
        s.insert(&[7; 32], b"compiled code");
        assert_eq!(s.get(&[7; 32]).as_deref(), Some(&b"compiled code"[..]));
        assert_eq!(s.get(&[8; 32]), None);
        let stats = s.stats();
        assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 1, 1));
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 1);
        s.insert(&[7; 32], b"payload bytes");
        let path = s.path_of(&[7; 32]);
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(s.get(&[7; 32]), None, "flip at byte {i} went unnoticed");
            assert!(!path.exists(), "a corrupt artifact is deleted");
        }
        assert_eq!(s.stats().corrupt, good.len() as u64);
    }

    #[test]
    fn truncation_and_foreign_artifacts_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(dir.path(), 1), store(dir.path(), 2));
        assert_ne!(a.dir(), b.dir(), "engines with other settings use other folders");
        a.insert(&[1; 32], b"from engine a");
        let file = std::fs::read(a.path_of(&[1; 32])).unwrap();
        std::fs::write(b.path_of(&[1; 32]), &file).unwrap();
        assert_eq!(b.get(&[1; 32]), None, "an artifact copied from another engine's folder");
        std::fs::write(a.path_of(&[1; 32]), &file[..file.len() - 1]).unwrap();
        assert_eq!(a.get(&[1; 32]), None, "truncated");
        std::fs::write(a.path_of(&[2; 32]), &file).unwrap();
        assert_eq!(a.get(&[2; 32]), None, "renamed to another code hash");
    }

    #[test]
    fn eviction_keeps_the_store_under_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let namespace = ArtifactNamespace { compiler_version: "v".into(), engine_fingerprint: [0; 32] };
        let s = ArtifactStore::open(dir.path(), namespace, 3_000).unwrap();
        for i in 0..10u8 {
            s.insert(&[i; 32], &[i; 1_000]);
        }
        let total: u64 = s.entries().iter().map(|e| e.bytes).sum();
        assert!(total <= 3_000, "{total}");
        assert!(s.stats().evictions >= 7);
        assert!(s.get(&[9; 32]).is_some(), "the newest survives");
    }

    #[test]
    fn verify_all_removes_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 1);
        s.insert(&[1; 32], b"good");
        std::fs::write(s.dir().join(format!("{}.art", hex::encode([2u8; 32]))), b"garbage").unwrap();
        std::fs::write(s.dir().join("notes.txt"), b"stray").unwrap();
        let report = s.verify_all();
        assert_eq!(report.verified, 1);
        assert_eq!(report.deleted.len(), 1);
        assert_eq!(report.strays, vec!["notes.txt".to_owned()]);
        assert_eq!(s.entries().len(), 1);
    }
}

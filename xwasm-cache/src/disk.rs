//! The disk tier: a persistent, content-addressed store of compiled
//! artifacts that verifies every artifact before handing it out.
//!
//! Layout: `ROOT/<namespace>/<code hash hex>.art` and `.meta` beside it,
//! where the namespace names the artifact format version, the wasmtime
//! version and the engine's compatibility fingerprint, so an upgrade or a
//! different engine setting never even looks at old artifacts. The `.art`
//! file is the compiled artifact alone, so the engine can map it instead
//! of reading it; the `.meta` file is
//!
//! ```text
//! magic "XWASMETA" | format u32 LE | version length u16 LE | version
//! | engine fingerprint [32] | code hash [32] | artifact length u64 LE
//! | artifact XXH3-128 [16] | sidecar length u32 LE | sidecar
//! | XXH3-128 of everything before [16]
//! ```
//!
//! where the sidecar is what the loader keeps beside the artifact (the
//! module's description), so that a hit reads no operators. Every field
//! and both checksums are checked before an artifact is handed out; a pair
//! that fails is counted, deleted and reported as a miss. Each file is
//! written to a temporary file and renamed into place, the `.meta` last,
//! so a crash never leaves a half-written artifact that verifies.
//!
//! The checksum is XXH3-128, not a cryptographic hash: it detects
//! corruption (bit rot, truncation, a torn write, a file of other code)
//! at about 30 GB/s where SHA-256 took a millisecond per artifact, and a
//! cryptographic hash would protect nothing against a local attacker, who
//! could rewrite the checksum beside the artifact just as well.

use crate::CacheError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use twox_hash::XxHash3_128;

const MAGIC: &[u8; 8] = b"XWASMETA";
/// Bumped when the file layout above changes.
pub const ARTIFACT_FORMAT: u32 = 2;

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
    /// The verified artifact of `code_hash` as a file the engine may map
    /// where the tier has one, and the sidecar stored with it.
    fn get_verified(&self, code_hash: &[u8; 32]) -> Option<Verified> {
        self.get(code_hash).map(|bytes| Verified { artifact: Artifact::Bytes(bytes), sidecar: None })
    }
    /// Stores an artifact and its sidecar (what the loader keeps beside
    /// it); a tier without sidecars stores the artifact alone.
    fn insert_with_sidecar(&self, code_hash: &[u8; 32], artifact: &[u8], _sidecar: &[u8]) {
        self.insert(code_hash, artifact);
    }
    /// The tier's counters; a tier that keeps none says zero.
    fn stats(&self) -> DiskStats {
        DiskStats::default()
    }
}

/// An artifact's files together: their bytes and latest modification.
type OnDisk = (u64, std::time::SystemTime);

/// A verified artifact: its bytes, or a file holding exactly them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    Bytes(Vec<u8>),
    /// A file verified just now; written once under its name and never
    /// changed in place (replaced by rename, removed by unlink), so a
    /// mapping of it stays valid.
    File(PathBuf),
}

/// What [`ArtifactCache::get_verified`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub artifact: Artifact,
    pub sidecar: Option<Vec<u8>>,
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

    fn meta_of(&self, code_hash: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.meta", hex::encode(code_hash)))
    }

    /// The `.meta` file of `artifact` and `sidecar`.
    fn meta(&self, code_hash: &[u8; 32], artifact: &[u8], sidecar: &[u8]) -> Vec<u8> {
        let version = self.namespace.compiler_version.as_bytes();
        let mut meta =
            Vec::with_capacity(8 + 4 + 2 + version.len() + 32 + 32 + 8 + 16 + 4 + sidecar.len() + 16);
        meta.extend_from_slice(MAGIC);
        meta.extend_from_slice(&ARTIFACT_FORMAT.to_le_bytes());
        meta.extend_from_slice(&(version.len() as u16).to_le_bytes());
        meta.extend_from_slice(version);
        meta.extend_from_slice(&self.namespace.engine_fingerprint);
        meta.extend_from_slice(code_hash);
        meta.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
        meta.extend_from_slice(&XxHash3_128::oneshot(artifact).to_le_bytes());
        meta.extend_from_slice(&(sidecar.len() as u32).to_le_bytes());
        meta.extend_from_slice(sidecar);
        let sum = XxHash3_128::oneshot(&meta);
        meta.extend_from_slice(&sum.to_le_bytes());
        meta
    }

    /// The sidecar of `meta` if it is the sound `.meta` of `artifact` for
    /// `code_hash` in this namespace; otherwise what is wrong.
    fn verify(&self, code_hash: &[u8; 32], meta: &[u8], artifact: &[u8]) -> Result<Vec<u8>, &'static str> {
        let version = self.namespace.compiler_version.as_bytes();
        let fixed = 8 + 4 + 2 + version.len() + 32 + 32 + 8 + 16;
        if meta.len() < fixed + 4 + 16 {
            return Err("truncated metadata");
        }
        let (body, sum) = meta.split_at(meta.len() - 16);
        if XxHash3_128::oneshot(body).to_le_bytes() != sum {
            return Err("metadata checksum mismatch");
        }
        let sidecar_len = u32::from_le_bytes(body[fixed..fixed + 4].try_into().expect("4 bytes")) as usize;
        if body.len() != fixed + 4 + sidecar_len {
            return Err("metadata length mismatch");
        }
        let sidecar = &body[fixed + 4..];
        let expected = self.meta(code_hash, artifact, sidecar);
        // Compare field by field for a precise reason.
        let checks: [(std::ops::Range<usize>, &'static str); 7] = [
            (0..8, "bad magic"),
            (8..12, "other artifact format"),
            (12..14 + version.len(), "other compiler version"),
            (14 + version.len()..46 + version.len(), "other engine settings"),
            (46 + version.len()..78 + version.len(), "artifact of other code"),
            (78 + version.len()..86 + version.len(), "artifact length mismatch (truncated?)"),
            (86 + version.len()..fixed, "artifact checksum mismatch"),
        ];
        for (range, reason) in checks {
            if meta[range.clone()] != expected[range] {
                return Err(reason);
            }
        }
        Ok(sidecar.to_vec())
    }

    /// The artifact's bytes and sidecar if both files verify; a pair that
    /// fails is discarded.
    fn read_verified(&self, code_hash: &[u8; 32]) -> Option<(Vec<u8>, Vec<u8>)> {
        let (art, meta) = (self.path_of(code_hash), self.meta_of(code_hash));
        let (Ok(artifact), Ok(meta_bytes)) = (std::fs::read(&art), std::fs::read(&meta)) else {
            if art.exists() || meta.exists() {
                // Half a pair: a crash between the two renames, or damage.
                self.discard(code_hash);
            }
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        match self.verify(code_hash, &meta_bytes, &artifact) {
            Ok(sidecar) => {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                // Recency for eviction.
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&meta)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                Some((artifact, sidecar))
            }
            Err(_) => {
                self.discard(code_hash);
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Deletes both files of an artifact that failed, counting it.
    fn discard(&self, code_hash: &[u8; 32]) {
        self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
        self.delete(code_hash);
    }

    fn delete(&self, code_hash: &[u8; 32]) {
        let _ = std::fs::remove_file(self.meta_of(code_hash));
        let _ = std::fs::remove_file(self.path_of(code_hash));
    }

    /// Writes the artifact, then its `.meta` (the commit point), each
    /// through a temporary file renamed into place.
    fn write(&self, code_hash: &[u8; 32], artifact: &[u8], sidecar: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let place = |bytes: &[u8], path: PathBuf| {
            let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
            file.write_all(bytes)?;
            file.as_file().sync_all()?;
            file.persist(path).map_err(|e| e.error)?;
            Ok::<_, std::io::Error>(())
        };
        place(artifact, self.path_of(code_hash))?;
        place(&self.meta(code_hash, artifact, sidecar), self.meta_of(code_hash))
    }

    /// Every file with its size and modification time.
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

    /// The artifacts on disk by code hash: their files' bytes together and
    /// the latest modification (recency); the names of stray files apart.
    fn artifacts(&self) -> (BTreeMap<[u8; 32], OnDisk>, Vec<String>) {
        let (mut artifacts, mut strays) = (BTreeMap::new(), Vec::new());
        for (path, bytes, modified) in self.files() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let hash = name
                .strip_suffix(".art")
                .or_else(|| name.strip_suffix(".meta"))
                .and_then(|h| <[u8; 32]>::try_from(hex::decode(h).ok()?).ok());
            match hash {
                Some(hash) => {
                    let entry = artifacts.entry(hash).or_insert((0, std::time::UNIX_EPOCH));
                    entry.0 += bytes;
                    entry.1 = entry.1.max(modified);
                }
                None => strays.push(name),
            }
        }
        (artifacts, strays)
    }

    /// Deletes the least recently used artifacts until the store fits its
    /// size bound.
    fn evict(&self) {
        let (artifacts, _) = self.artifacts();
        let mut total: u64 = artifacts.values().map(|(bytes, _)| bytes).sum();
        if total <= self.max_bytes {
            return;
        }
        let mut by_age: Vec<_> = artifacts.into_iter().collect();
        by_age.sort_by_key(|(_, (_, modified))| *modified);
        for (hash, (bytes, _)) in by_age {
            if total <= self.max_bytes {
                break;
            }
            self.delete(&hash);
            total -= bytes;
            self.counters.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The artifacts stored, by code hash.
    pub fn entries(&self) -> Vec<ArtifactEntry> {
        let (artifacts, _) = self.artifacts();
        artifacts
            .into_iter()
            .map(|(hash, (bytes, _))| ArtifactEntry { code_hash: hex::encode(hash), bytes })
            .collect()
    }

    /// Verifies every artifact; deletes corrupt ones and stray files.
    pub fn verify_all(&self) -> VerifyReport {
        let mut report = VerifyReport::default();
        let (artifacts, strays) = self.artifacts();
        for name in strays {
            let _ = std::fs::remove_file(self.dir.join(&name));
            report.strays.push(name);
        }
        for hash in artifacts.keys() {
            let sound = match (std::fs::read(self.path_of(hash)), std::fs::read(self.meta_of(hash))) {
                (Ok(artifact), Ok(meta)) => self.verify(hash, &meta, &artifact).is_ok(),
                _ => false,
            };
            if sound {
                report.verified += 1;
            } else {
                self.discard(hash);
                report.deleted.push(format!("{}.art", hex::encode(hash)));
            }
        }
        report
    }

    /// Deletes every artifact of this namespace; returns how many.
    pub fn clear(&self) -> usize {
        let (artifacts, _) = self.artifacts();
        artifacts.keys().for_each(|hash| self.delete(hash));
        artifacts.len()
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
        self.read_verified(code_hash).map(|(artifact, _)| artifact)
    }

    fn get_verified(&self, code_hash: &[u8; 32]) -> Option<Verified> {
        let (_, sidecar) = self.read_verified(code_hash)?;
        Some(Verified { artifact: Artifact::File(self.path_of(code_hash)), sidecar: Some(sidecar) })
    }

    fn insert(&self, code_hash: &[u8; 32], artifact: &[u8]) {
        self.insert_with_sidecar(code_hash, artifact, &[]);
    }

    fn insert_with_sidecar(&self, code_hash: &[u8; 32], artifact: &[u8], sidecar: &[u8]) {
        match self.write(code_hash, artifact, sidecar) {
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
        self.discard(code_hash);
    }

    fn remove(&self, code_hash: &[u8; 32]) {
        self.delete(code_hash);
    }

    fn stats(&self) -> DiskStats {
        ArtifactStore::stats(self)
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
        let mut flips = 0;
        for file in 0..2 {
            s.insert_with_sidecar(&[7; 32], b"payload bytes", b"the description");
            let path = if file == 0 { s.path_of(&[7; 32]) } else { s.meta_of(&[7; 32]) };
            let good = std::fs::read(&path).unwrap();
            for i in 0..good.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x01;
                std::fs::write(&path, &bad).unwrap();
                assert_eq!(s.get_verified(&[7; 32]), None, "flip at byte {i} of file {file} went unnoticed");
                assert!(!s.path_of(&[7; 32]).exists() && !s.meta_of(&[7; 32]).exists(), "both files go");
                // The pair again, for the next flip.
                std::fs::write(s.path_of(&[7; 32]), b"payload bytes").unwrap();
                std::fs::write(s.meta_of(&[7; 32]), s.meta(&[7; 32], b"payload bytes", b"the description"))
                    .unwrap();
                flips += 1;
            }
        }
        assert_eq!(s.stats().corrupt, flips);
        let verified = s.get_verified(&[7; 32]).expect("the restored pair verifies");
        assert_eq!(verified.sidecar.as_deref(), Some(&b"the description"[..]));
        assert_eq!(verified.artifact, Artifact::File(s.path_of(&[7; 32])));
    }

    #[test]
    fn truncation_and_foreign_artifacts_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(dir.path(), 1), store(dir.path(), 2));
        assert_ne!(a.dir(), b.dir(), "engines with other settings use other folders");
        a.insert(&[1; 32], b"from engine a");
        let (art, meta) =
            (std::fs::read(a.path_of(&[1; 32])).unwrap(), std::fs::read(a.meta_of(&[1; 32])).unwrap());
        std::fs::write(b.path_of(&[1; 32]), &art).unwrap();
        std::fs::write(b.meta_of(&[1; 32]), &meta).unwrap();
        assert_eq!(b.get(&[1; 32]), None, "an artifact copied from another engine's folder");
        std::fs::write(a.path_of(&[1; 32]), &art[..art.len() - 1]).unwrap();
        assert_eq!(a.get(&[1; 32]), None, "truncated");
        std::fs::write(a.path_of(&[2; 32]), &art).unwrap();
        std::fs::write(a.meta_of(&[2; 32]), &meta).unwrap();
        assert_eq!(a.get(&[2; 32]), None, "renamed to another code hash");
        std::fs::write(a.path_of(&[3; 32]), &art).unwrap();
        assert_eq!(a.get(&[3; 32]), None, "an artifact without its metadata");
        assert!(!a.path_of(&[3; 32]).exists(), "half a pair is deleted");
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
        std::fs::write(s.dir().join(format!("{}.meta", hex::encode([2u8; 32]))), b"garbage").unwrap();
        std::fs::write(s.dir().join("notes.txt"), b"stray").unwrap();
        let report = s.verify_all();
        assert_eq!(report.verified, 1);
        assert_eq!(report.deleted.len(), 1);
        assert_eq!(report.strays, vec!["notes.txt".to_owned()]);
        assert_eq!(s.entries().len(), 1);
    }
}

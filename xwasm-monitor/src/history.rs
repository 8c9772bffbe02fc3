//! The history on disk: one JSON line per call, so that a report can cover
//! many processes' calls.

use crate::record::{CallRecord, Observer};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Appends every call to a JSON-lines file. When the file holds more than
/// `4 × capacity` lines it is rewritten (atomically) with the newest
/// `capacity`, so it stays bounded.
#[derive(Debug)]
pub struct HistoryFile {
    path: PathBuf,
    capacity: usize,
    file: Mutex<std::fs::File>,
}

impl HistoryFile {
    pub fn open(path: impl AsRef<Path>, capacity: usize) -> std::io::Result<Self> {
        let path = path.as_ref().to_owned();
        if count_lines(&path) > capacity.saturating_mul(4) {
            compact(&path, capacity)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self { path, capacity, file: Mutex::new(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Observer for HistoryFile {
    fn record(&self, call: &Arc<CallRecord>) {
        let mut line = serde_json::to_vec(&**call).expect("plain data serializes");
        line.push(b'\n');
        // One write per line: concurrent processes do not interleave.
        let _ = self.file.lock().unwrap_or_else(|e| e.into_inner()).write_all(&line);
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::File::open(path).map(|f| std::io::BufReader::new(f).lines().count()).unwrap_or(0)
}

fn compact(path: &Path, capacity: usize) -> std::io::Result<()> {
    let records = load(path, capacity)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    for record in &records {
        serde_json::to_writer(&mut temp, record).map_err(std::io::Error::other)?;
        temp.write_all(b"\n")?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The newest `capacity` calls of a history file, oldest first. Lines that
/// do not parse (a line torn by a crash) are skipped.
pub fn load(path: &Path, capacity: usize) -> std::io::Result<Vec<CallRecord>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut records = std::collections::VecDeque::with_capacity(capacity.min(1 << 16));
    for line in std::io::BufReader::new(file).lines() {
        let Ok(record) = serde_json::from_str::<CallRecord>(&line?) else { continue };
        if records.len() >= capacity {
            records.pop_front();
        }
        records.push_back(record);
    }
    Ok(records.into())
}

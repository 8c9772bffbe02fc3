//! The audit log: every deployment, call and query with its outcome, and
//! every refusal (a module the policy refused, a host function denied to a
//! read-only call), written to an [`AuditSink`].

use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    Deploy,
    Call,
    Query,
    /// A module the policy refused.
    PolicyRefusal,
    /// A host function denied to a call (the detail names it).
    HostFunctionDenied,
}

/// One line of the audit log. Not consensus-relevant: `unix_ms` is the
/// node's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub unix_ms: u64,
    pub kind: AuditKind,
    /// The contract's address, hex (empty for a refused deployment).
    pub contract: String,
    pub method: String,
    /// The sender of the transaction, hex.
    pub sender: String,
    /// The outcome status (`ok`, `abort`, ...) or `refused`.
    pub status: String,
    pub gas_used: u64,
    pub detail: Option<String>,
}

impl AuditEntry {
    /// The current time in milliseconds since the Unix epoch.
    pub fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Where audit entries go.
pub trait AuditSink: Send + Sync {
    fn record(&self, entry: &AuditEntry);
}

/// Appends one JSON object per line to a file, one `write` per entry. A
/// write that fails is ignored: auditing never changes a call's outcome.
#[derive(Debug)]
pub struct JsonLinesAudit {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl JsonLinesAudit {
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_owned();
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self { path, file: Mutex::new(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuditSink for JsonLinesAudit {
    fn record(&self, entry: &AuditEntry) {
        let mut line = serde_json::to_vec(entry).expect("plain data serializes");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // One write call per line, so concurrent processes appending to the
        // same file do not interleave within a line.
        let _ = file.write_all(&line);
    }
}

/// Keeps entries in memory (for tests and embedders that ship them
/// elsewhere).
#[derive(Debug, Default)]
pub struct MemoryAudit {
    entries: Mutex<Vec<AuditEntry>>,
}

impl MemoryAudit {
    pub fn entries(&self) -> Vec<AuditEntry> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, entry: &AuditEntry) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).push(entry.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_append_one_object_per_entry() {
        let dir = tempfile::tempdir().unwrap();
        let audit = JsonLinesAudit::open(dir.path().join("audit.jsonl")).unwrap();
        for status in ["ok", "abort"] {
            audit.record(&AuditEntry {
                unix_ms: 1,
                kind: AuditKind::Call,
                contract: "ab".into(),
                method: "m".into(),
                sender: "cd".into(),
                status: status.into(),
                gas_used: 7,
                detail: None,
            });
        }
        let text = std::fs::read_to_string(audit.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["status"], "abort");
        assert_eq!(lines[0]["kind"], "call");
    }
}

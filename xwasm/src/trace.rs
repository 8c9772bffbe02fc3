//! What the monitor learns of one call, gathered as the call runs, and how
//! it becomes a `CallRecord`.

use crate::Vm;
use crate::code::{CodeSource, LoadedCode};
use std::time::{Duration, Instant};
use xwasm_exec::{Execution, Outcome, Timing};
use xwasm_monitor::Observer;
use xwasm_monitor::{CallCounts, CallRecord, HostCallRecord};
use xwasm_security::{AuditEntry, AuditKind};
use xwasm_store::Address;
use xwasm_store::Transaction;

pub(crate) struct Trace {
    kind: &'static str,
    /// Observed in detail: timed and turned into a `CallRecord`. Otherwise
    /// only counted, and no clock is read.
    detailed: bool,
    started: Instant,
    source: CodeSource,
    /// The code's hash (hex) and artifact size, when detailed.
    code: Option<(String, u64)>,
    timing: Timing,
    /// When the commit started (its end is the call's end).
    commit_started: Option<Instant>,
    host_calls: Vec<HostCallRecord>,
}

impl Trace {
    pub(crate) fn start(kind: &'static str, detailed: bool) -> Self {
        Self {
            kind,
            detailed,
            // A placeholder when not detailed: never read then.
            started: if detailed { Instant::now() } else { epoch() },
            source: CodeSource::Memory,
            code: None,
            timing: Timing::default(),
            commit_started: None,
            host_calls: Vec::new(),
        }
    }

    /// The code was found (or compiled): `source` says where. A call whose
    /// code missed the memory tier is always observed in detail, so that
    /// every compilation and disk load is on record.
    pub(crate) fn loaded(&mut self, source: CodeSource, code: &LoadedCode) {
        self.source = source;
        if !self.detailed && source != CodeSource::Memory {
            self.detailed = true;
            let now = Instant::now();
            self.started = now.checked_sub(source.load_time()).unwrap_or(now);
        }
        if self.detailed {
            self.code = Some((hex::encode(code.code_hash), code.artifact_bytes as u64));
        }
    }

    pub(crate) fn detailed(&self) -> bool {
        self.detailed
    }

    /// What every call is counted as.
    pub(crate) fn counts(&self, outcome: &Outcome) -> CallCounts {
        CallCounts {
            kind: self.kind,
            status: outcome.status.as_str(),
            cache_tier: self.source.as_str(),
            gas_used: outcome.gas_used,
            host_gas: outcome.host_gas,
        }
    }

    /// The execution finished; its journal is not settled yet.
    pub(crate) fn ran(&mut self, execution: &Execution) {
        self.timing = execution.timing;
        if self.detailed {
            self.host_calls = execution
                .context()
                .host_calls
                .iter()
                .map(|h| HostCallRecord { name: h.name.into(), calls: h.calls, gas: h.gas, nanos: h.nanos })
                .collect();
        }
    }

    /// Runs `commit`, the call's last step, noting when it started.
    pub(crate) fn commit<T>(&mut self, commit: impl FnOnce() -> T) -> T {
        if self.detailed {
            self.commit_started = Some(Instant::now());
        }
        commit()
    }

    pub(crate) fn record(self, address: &Address, method: &str, outcome: &Outcome) -> CallRecord {
        let now = Instant::now();
        let (code_hash, artifact_bytes) = self.code.unwrap_or_default();
        let commit = self.commit_started.map_or(Duration::ZERO, |started| now - started);
        CallRecord {
            unix_ms: xwasm_security::AuditEntry::now_ms(),
            kind: self.kind.into(),
            contract: address.to_hex(),
            method: method.to_owned(),
            status: outcome.status.as_str().into(),
            gas_used: outcome.gas_used,
            gas_limit: outcome.gas_limit,
            host_gas: outcome.host_gas,
            instantiate_ns: self.timing.instantiate.as_nanos() as u64,
            execute_ns: self.timing.execute.as_nanos() as u64,
            commit_ns: commit.as_nanos() as u64,
            total_ns: (now - self.started).as_nanos() as u64,
            peak_memory_pages: self.timing.peak_memory_pages,
            cache_tier: self.source.as_str().into(),
            compile_ns: matches!(self.source, CodeSource::Compiled(_))
                .then_some(self.source.load_time().as_nanos() as u64),
            load_ns: self.source.load_time().as_nanos() as u64,
            code_hash,
            artifact_bytes,
            host_calls: self.host_calls,
        }
    }
}

/// A fixed instant, read once per process.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Vm {
    /// Whether the next call is observed in detail: always when an
    /// observer of the embedder's watches, else as often as the monitor
    /// asks.
    pub(crate) fn detailed(&self) -> bool {
        if !self.inner.observers.is_empty() {
            return true;
        }
        match &self.inner.monitor {
            Some(monitor) => {
                monitor.wants_detail(self.inner.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            }
            None => false,
        }
    }

    pub(crate) fn observe(&self, trace: Trace, address: &Address, method: &str, outcome: &Outcome) {
        if trace.detailed() {
            let record = std::sync::Arc::new(trace.record(address, method, outcome));
            if let Some(monitor) = &self.inner.monitor {
                monitor.record(&record);
            }
            for observer in &self.inner.observers {
                observer.record(&record);
            }
        } else if let Some(monitor) = &self.inner.monitor {
            monitor.count(&trace.counts(outcome));
        }
    }

    pub(crate) fn report(
        &self,
        trace: Trace,
        kind: AuditKind,
        address: &Address,
        method: &str,
        tx: &Transaction,
        outcome: &Outcome,
    ) {
        self.observe(trace, address, method, outcome);
        self.audit(
            kind,
            Some(address),
            method,
            tx,
            outcome.status.as_str(),
            outcome.gas_used,
            outcome.error.clone(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn audit(
        &self,
        kind: AuditKind,
        address: Option<&Address>,
        method: &str,
        tx: &Transaction,
        status: &str,
        gas_used: u64,
        detail: Option<String>,
    ) {
        if let Some(sink) = &self.inner.audit {
            sink.record(&AuditEntry {
                unix_ms: AuditEntry::now_ms(),
                kind,
                contract: address.map(Address::to_hex).unwrap_or_default(),
                method: method.to_owned(),
                sender: tx.sender.to_hex(),
                status: status.to_owned(),
                gas_used,
                detail,
            });
        }
    }
}

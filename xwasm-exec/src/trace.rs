//! What the monitor learns of one call, gathered as the call runs
//! ([`Trace`]), and how it becomes an `xwasm_monitor::CallRecord`.

use crate::{Execution, Outcome, Timing};
use std::time::{Duration, Instant};
use xwasm_monitor::{CallCounts, CallRecord, HostCallRecord};
use xwasm_store::Address;

/// Which tier served a call's code, and how long loading it took on a
/// miss of the memory tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    Memory,
    /// A verified artifact of the disk tier, checked, deserialized and
    /// linked in this long.
    Disk(Duration),
    /// Checked, rewritten, compiled and linked in this long.
    Compiled(Duration),
}

impl CodeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSource::Memory => "memory",
            CodeSource::Disk(_) => "disk",
            CodeSource::Compiled(_) => "compiled",
        }
    }

    /// The time spent loading: zero for a memory-tier hit.
    pub fn load_time(self) -> Duration {
        match self {
            CodeSource::Memory => Duration::ZERO,
            CodeSource::Disk(took) | CodeSource::Compiled(took) => took,
        }
    }
}

/// One call as the monitor will see it, gathered step by step. Not
/// consensus-relevant: timings only.
pub struct Trace {
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
    /// The call's tracing span, entered until the trace is observed.
    span: Option<tracing::span::EnteredSpan>,
}

impl Trace {
    pub fn start(kind: &'static str, detailed: bool) -> Self {
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
            span: None,
        }
    }

    /// Runs the rest of the call in `span`, on which the code's tier and
    /// the call's status and gas are recorded (fields `tier`, `status`,
    /// `gas`, where the span has them). A disabled span (no subscriber
    /// wants it) costs nothing: nothing is recorded on it.
    pub fn in_span(mut self, span: tracing::Span) -> Self {
        self.span = Some(span.entered());
        self
    }

    /// Records `value` as `field` of the call's span, if it has one that
    /// a subscriber wants.
    pub fn record<V: tracing::Value>(&self, field: &str, value: V) {
        if let Some(span) = self.span.as_ref().filter(|span| !span.is_disabled()) {
            span.record(field, value);
        }
    }

    /// The code (`code_hash`, compiled to `artifact_bytes`) was found or
    /// compiled: `source` says where. A call whose code missed the memory
    /// tier is always observed in detail, so that every compilation and
    /// disk load is on record.
    pub fn loaded(&mut self, source: CodeSource, code_hash: &[u8; 32], artifact_bytes: usize) {
        self.source = source;
        self.record("tier", source.as_str());
        if !self.detailed && source != CodeSource::Memory {
            self.detailed = true;
            let now = Instant::now();
            self.started = now.checked_sub(source.load_time()).unwrap_or(now);
        }
        if self.detailed {
            self.code = Some((hex::encode(code_hash), artifact_bytes as u64));
        }
    }

    pub fn detailed(&self) -> bool {
        self.detailed
    }

    /// What every call is counted as.
    pub fn counts(&self, outcome: &Outcome) -> CallCounts {
        CallCounts {
            kind: self.kind,
            status: outcome.status.as_str(),
            cache_tier: self.source.as_str(),
            gas_used: outcome.gas_used,
            host_gas: outcome.host_gas,
        }
    }

    /// The execution finished; its journal is not settled yet.
    pub fn ran(&mut self, execution: &Execution) {
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
    pub fn commit<T>(&mut self, commit: impl FnOnce() -> T) -> T {
        if self.detailed {
            self.commit_started = Some(Instant::now());
        }
        commit()
    }

    pub fn call_record(self, address: &Address, method: &str, outcome: &Outcome) -> CallRecord {
        let now = Instant::now();
        let (code_hash, artifact_bytes) = self.code.unwrap_or_default();
        let commit = self.commit_started.map_or(Duration::ZERO, |started| now - started);
        CallRecord {
            unix_ms: unix_ms(),
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

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Where finished calls go: the built-in monitor and the embedder's
/// observers.
pub struct Observers {
    monitor: Option<std::sync::Arc<xwasm_monitor::Monitor>>,
    observers: Vec<std::sync::Arc<dyn xwasm_monitor::Observer>>,
    /// Calls started, for the monitor's sampling of detail.
    calls: std::sync::atomic::AtomicU64,
}

impl Observers {
    pub fn new(
        monitor: Option<std::sync::Arc<xwasm_monitor::Monitor>>,
        observers: Vec<std::sync::Arc<dyn xwasm_monitor::Observer>>,
    ) -> Self {
        Self { monitor, observers, calls: Default::default() }
    }

    /// The built-in monitor, if it is on.
    pub fn monitor(&self) -> Option<&std::sync::Arc<xwasm_monitor::Monitor>> {
        self.monitor.as_ref()
    }

    /// The trace of a call of `kind` starting now: observed in detail
    /// always when an observer of the embedder's watches, else as often as
    /// the monitor asks.
    pub fn start(&self, kind: &'static str) -> Trace {
        let detailed = !self.observers.is_empty()
            || self.monitor.as_ref().is_some_and(|monitor| {
                monitor.wants_detail(self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            });
        Trace::start(kind, detailed)
    }

    /// Hands the finished call to the monitor and the observers: as a
    /// `CallRecord` if it was traced in detail, else as counts.
    pub fn observe(&self, trace: Trace, address: &Address, method: &str, outcome: &Outcome) {
        use xwasm_monitor::Observer;
        trace.record("status", outcome.status.as_str());
        trace.record("gas", outcome.gas_used);
        if trace.detailed() {
            let record = std::sync::Arc::new(trace.call_record(address, method, outcome));
            if let Some(monitor) = &self.monitor {
                monitor.record(&record);
            }
            for observer in &self.observers {
                observer.record(&record);
            }
        } else if let Some(monitor) = &self.monitor {
            monitor.count(&trace.counts(outcome));
        }
    }
}

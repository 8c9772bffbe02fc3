//! Observing what the VM runs.
//!
//! The VM reports each finished call as a plain [`CallRecord`] (wall time
//! split into instantiate / execute / commit, gas split into WebAssembly
//! and host functions, calls and gas per host function, peak memory, the
//! cache tier that served the code, the module's compile or load time and
//! artifact size) to an [`Observer`]. This crate depends
//! on no execution crate, so anything that can fill a record can feed it.
//!
//! - [`Monitor`]: the built-in observer. Totals, percentiles from
//!   fixed-size [`LogHistogram`]s, a bounded history with time-range
//!   queries, per-method and per-module figures, and anomaly [`Alert`]s on configurable
//!   [`Thresholds`] sent to an [`AlertSink`] (by default a `tracing`
//!   warning). Its memory is bounded whatever the number of calls.
//! - [`HistoryFile`]: an observer appending calls to a JSON-lines file, so
//!   a report can cover many processes.
//! - Reports: [`Report`] (JSON), [`prometheus`] (text exposition format)
//!   and [`dashboard`] (one self-contained HTML page with SVG charts).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_monitor::{CallRecord, Monitor, Observer, Report};
//!
//! let monitor = Monitor::default();
//! monitor.record(&Arc::new(CallRecord {
//!     unix_ms: 1, kind: "call".into(), contract: "ab".repeat(32), method: "transfer".into(),
//!     status: "ok".into(), gas_used: 5_000, gas_limit: 10_000, host_gas: 4_000,
//!     instantiate_ns: 2_000, execute_ns: 5_000, commit_ns: 1_000, total_ns: 9_000,
//!     peak_memory_pages: 1, cache_tier: "memory".into(), compile_ns: None, load_ns: 0,
//!     code_hash: "cd".repeat(32), artifact_bytes: 4_096, host_calls: vec![],
//! }));
//! let report = Report::new(&monitor.snapshot());
//! assert_eq!((report.calls, report.gas_used, report.wasm_gas), (1, 5_000, 1_000));
//! assert!(xwasm_monitor::prometheus(&monitor.snapshot()).contains("xwasm_calls_total{status=\"ok\"} 1"));
//! ```

mod histogram;
mod history;
mod html;
mod metrics;
mod monitor;
mod record;
mod report;

pub use histogram::LogHistogram;
pub use history::{HistoryFile, load as load_history};
pub use html::dashboard;
pub use metrics::MetricsCollector;
pub use monitor::{
    Alert, AlertSink, CallCounts, MethodStats, ModuleStats, Monitor, MonitorConfig, Snapshot, Thresholds,
    TracingAlerts,
};
pub use record::{CallRecord, HostCallRecord, Label, Observer};
pub use report::{HostRow, MethodRow, ModuleRow, Percentiles, Report, prometheus};

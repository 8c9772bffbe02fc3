//! Observing what the VM runs.
//!
//! The VM reports each finished call as a plain [`CallRecord`] to an
//! [`Observer`]; this crate depends on no execution crate, so anything that
//! can fill a record can feed it. [`Metrics`] is the built-in observer: it
//! keeps running totals (calls by status, gas, wall time) in constant
//! memory and renders them as JSON.
//!
//! # Limitations
//!
//! History, percentiles, anomaly alerts, Prometheus and HTML reports and
//! guest profiling are not built yet.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use xwasm_monitor::{CallRecord, Metrics, Observer};
//!
//! let metrics = Metrics::default();
//! metrics.record(&CallRecord {
//!     contract: "ab".repeat(32), method: "transfer".into(), status: "ok".into(),
//!     gas_used: 5_000, host_gas: 4_000, wall_time: Duration::from_micros(12),
//!     cache_tier: "memory".into(),
//! });
//! let snapshot = metrics.snapshot();
//! assert_eq!((snapshot.calls, snapshot.gas_used), (1, 5_000));
//! ```

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One finished call, as the monitor sees it. Not consensus-relevant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// The contract's address, hex.
    pub contract: String,
    pub method: String,
    /// The outcome status (`ok`, `abort`, `limit`, `trap`, `out_of_gas`,
    /// `timeout`).
    pub status: String,
    pub gas_used: u64,
    /// Of `gas_used`, what host functions charged.
    pub host_gas: u64,
    pub wall_time: Duration,
    /// Which cache tier served the code: `memory`, or `compiled` on a miss.
    pub cache_tier: String,
}

/// Receives every finished call. Implementations must be cheap: they run on
/// the call path.
pub trait Observer: Send + Sync {
    fn record(&self, call: &CallRecord);
}

/// Running totals since the VM started, in constant memory.
#[derive(Debug, Default)]
pub struct Metrics {
    totals: Mutex<MetricsSnapshot>,
}

/// A copy of the totals at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    pub calls: u64,
    pub by_status: BTreeMap<String, u64>,
    pub gas_used: u64,
    pub host_gas: u64,
    pub wall_time_ns: u128,
    pub max_wall_time_ns: u128,
    pub by_cache_tier: BTreeMap<String, u64>,
}

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.totals.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The snapshot as a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.snapshot()).expect("plain data serializes")
    }
}

impl Observer for Metrics {
    fn record(&self, call: &CallRecord) {
        let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        t.calls += 1;
        *t.by_status.entry(call.status.clone()).or_default() += 1;
        *t.by_cache_tier.entry(call.cache_tier.clone()).or_default() += 1;
        t.gas_used += call.gas_used;
        t.host_gas += call.host_gas;
        let nanos = call.wall_time.as_nanos();
        t.wall_time_ns += nanos;
        t.max_wall_time_ns = t.max_wall_time_ns.max(nanos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: &str, gas: u64, micros: u64) -> CallRecord {
        CallRecord {
            contract: "00".repeat(32),
            method: "m".into(),
            status: status.into(),
            gas_used: gas,
            host_gas: gas / 2,
            wall_time: Duration::from_micros(micros),
            cache_tier: "memory".into(),
        }
    }

    #[test]
    fn totals_add_up() {
        let metrics = Metrics::default();
        metrics.record(&call("ok", 100, 5));
        metrics.record(&call("trap", 1_000, 9));
        metrics.record(&call("ok", 50, 1));
        let s = metrics.snapshot();
        assert_eq!(s.calls, 3);
        assert_eq!(s.by_status["ok"], 2);
        assert_eq!(s.by_status["trap"], 1);
        assert_eq!((s.gas_used, s.host_gas), (1_150, 575));
        assert_eq!((s.wall_time_ns, s.max_wall_time_ns), (15_000, 9_000));
        assert!(metrics.to_json().contains("\"calls\": 3"));
    }
}

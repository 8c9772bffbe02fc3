//! Anomaly alerts: the [`Thresholds`] a call may cross, the [`Alert`] it
//! raises, and the [`AlertSink`] it goes to.

use super::Monitor;
use crate::record::CallRecord;
use serde::{Deserialize, Serialize};

/// Thresholds past which a call raises an alert; `None` turns one off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    pub max_wall_time_ms: Option<f64>,
    pub max_gas: Option<u64>,
    pub max_memory_pages: Option<u64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { max_wall_time_ms: Some(250.0), max_gas: Some(100_000_000), max_memory_pages: Some(512) }
    }
}

/// A call that crossed a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub unix_ms: u64,
    pub contract: String,
    pub method: String,
    /// `slow`, `gas` or `memory`.
    pub kind: String,
    pub value: f64,
    pub threshold: f64,
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} alert: {}::{} at {} (threshold {})",
            self.kind, self.contract, self.method, self.value, self.threshold
        )
    }
}

/// Where alerts go.
pub trait AlertSink: Send + Sync {
    fn alert(&self, alert: &Alert);
}

/// The default sink: a `tracing` warning per alert.
#[derive(Debug, Default)]
pub struct TracingAlerts;

impl AlertSink for TracingAlerts {
    fn alert(&self, alert: &Alert) {
        tracing::warn!(kind = %alert.kind, contract = %alert.contract, method = %alert.method,
            value = alert.value, threshold = alert.threshold, "xwasm anomaly");
    }
}

impl Monitor {
    pub(super) fn anomalies(&self, call: &CallRecord) -> Vec<Alert> {
        let t = &self.config.thresholds;
        let wall_ms = call.total_ns as f64 / 1e6;
        let checks = [
            ("slow", t.max_wall_time_ms.filter(|max| wall_ms > *max).map(|max| (wall_ms, max))),
            (
                "gas",
                t.max_gas.filter(|max| call.gas_used > *max).map(|max| (call.gas_used as f64, max as f64)),
            ),
            (
                "memory",
                t.max_memory_pages
                    .filter(|max| call.peak_memory_pages > *max)
                    .map(|max| (call.peak_memory_pages as f64, max as f64)),
            ),
        ];
        checks
            .into_iter()
            .filter_map(|(kind, hit)| {
                hit.map(|(value, threshold)| Alert {
                    unix_ms: call.unix_ms,
                    contract: call.contract.clone(),
                    method: call.method.clone(),
                    kind: kind.to_owned(),
                    value,
                    threshold,
                })
            })
            .collect()
    }
}

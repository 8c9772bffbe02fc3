//! The figures the monitor holds: a [`Snapshot`] of everything, and the
//! per-method and per-module figures within it.

use super::Alert;
use crate::histogram::LogHistogram;
use crate::record::{CallRecord, Label};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Figures of one contract method.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodStats {
    pub calls: u64,
    pub failures: u64,
    pub gas_used: u64,
    pub total_ns: u64,
}

/// Figures of one module (one code hash), from the calls observed in
/// detail: every call whose code missed the memory tier is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleStats {
    pub calls: u64,
    /// Code lookups by the tier that served them.
    pub memory_hits: u64,
    pub disk_loads: u64,
    pub compiles: u64,
    pub compile_ns: u64,
    pub disk_load_ns: u64,
    /// Size of the compiled artifact (the latest seen).
    pub artifact_bytes: u64,
}

/// What the monitor counts of every call, detailed or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallCounts {
    pub kind: &'static str,
    pub status: &'static str,
    pub cache_tier: &'static str,
    pub gas_used: u64,
    pub host_gas: u64,
}

/// Everything the monitor holds at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub calls: u64,
    /// Calls observed in detail (the percentiles and the history cover
    /// these).
    pub detailed_calls: u64,
    pub by_status: BTreeMap<Label, u64>,
    pub by_kind: BTreeMap<Label, u64>,
    pub by_cache_tier: BTreeMap<Label, u64>,
    pub gas_used: u64,
    pub host_gas: u64,
    /// Sum of the calls' wall times.
    pub total_ns: u64,
    pub compile_ns: u64,
    pub compiles: u64,
    pub max_memory_pages: u64,
    pub latency_ns: LogHistogram,
    pub gas: LogHistogram,
    pub instantiate_ns: LogHistogram,
    pub execute_ns: LogHistogram,
    /// Per host function: calls, gas and nanoseconds.
    pub host_functions: BTreeMap<Label, (u64, u64, u64)>,
    /// Per `contract::method`.
    pub methods: BTreeMap<String, MethodStats>,
    /// Per code hash (hex).
    pub modules: BTreeMap<String, ModuleStats>,
    pub first_unix_ms: u64,
    pub last_unix_ms: u64,
    pub alerts: Vec<Alert>,
    /// The history, oldest first.
    pub history: Vec<Arc<CallRecord>>,
}

impl Snapshot {
    /// Calls per second over the time the calls span.
    pub fn calls_per_second(&self) -> f64 {
        let span = self.last_unix_ms.saturating_sub(self.first_unix_ms) as f64 / 1_000.0;
        if span > 0.0 { self.calls as f64 / span } else { 0.0 }
    }

    /// Share of code lookups served by `tier`.
    pub fn hit_rate(&self, tier: &str) -> f64 {
        let total: u64 = self.by_cache_tier.values().sum();
        if total == 0 { 0.0 } else { *self.by_cache_tier.get(tier).unwrap_or(&0) as f64 / total as f64 }
    }
}

impl ModuleStats {
    pub(super) fn add(&mut self, call: &CallRecord) {
        self.calls += 1;
        match &*call.cache_tier {
            "memory" => self.memory_hits += 1,
            "disk" => {
                self.disk_loads += 1;
                self.disk_load_ns += call.load_ns;
            }
            _ => {}
        }
        if let Some(ns) = call.compile_ns {
            self.compiles += 1;
            self.compile_ns += ns;
        }
        if call.artifact_bytes > 0 {
            self.artifact_bytes = call.artifact_bytes;
        }
    }
}

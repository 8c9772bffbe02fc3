//! [`Monitor`]: the built-in observer. Real-time totals, percentiles, a
//! bounded history, per-contract figures and anomaly alerts, all in
//! bounded memory.

mod alert;
mod counters;
mod snapshot;

pub use alert::{Alert, AlertSink, Thresholds, TracingAlerts};
pub use snapshot::{CallCounts, MethodStats, ModuleStats, Snapshot};

use crate::record::{CallRecord, Observer};
use counters::{Counters, count};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What the monitor keeps, and for how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorConfig {
    /// Calls kept in the history (older ones drop out).
    pub history_capacity: usize,
    /// Contract/method pairs tracked individually (the least called drop
    /// out first).
    pub max_methods: usize,
    /// Modules (code hashes) tracked individually (the least called drop
    /// out first).
    pub max_modules: usize,
    /// Alerts kept.
    pub alert_capacity: usize,
    pub thresholds: Thresholds,
    /// One call in this many is observed in detail (timing percentiles,
    /// history, per-method and per-host-function figures, alerts); every
    /// call is counted (calls, statuses, kinds, cache tiers, gas). 1 details
    /// every call, at a cost of roughly a third of a token transfer; the
    /// default, 64, keeps the cost under 5%.
    pub detail_every: u32,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            history_capacity: 10_000,
            max_methods: 1_000,
            max_modules: 1_000,
            alert_capacity: 100,
            thresholds: Thresholds::default(),
            detail_every: 64,
        }
    }
}

struct State {
    snapshot: Snapshot,
    history: VecDeque<Arc<CallRecord>>,
    alerts: VecDeque<Alert>,
    /// Per contract, per method.
    methods: HashMap<String, HashMap<String, MethodStats>>,
    method_count: usize,
    modules: HashMap<String, ModuleStats>,
}

/// The built-in observer.
pub struct Monitor {
    config: MonitorConfig,
    state: Mutex<State>,
    counters: Counters,
    sink: Arc<dyn AlertSink>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Default for Monitor {
    fn default() -> Self {
        Self::new(MonitorConfig::default(), Arc::new(TracingAlerts))
    }
}

impl Monitor {
    pub fn new(config: MonitorConfig, sink: Arc<dyn AlertSink>) -> Self {
        let state = State {
            snapshot: Snapshot::default(),
            history: VecDeque::with_capacity(config.history_capacity.min(1 << 16)),
            alerts: VecDeque::new(),
            methods: HashMap::new(),
            method_count: 0,
            modules: HashMap::new(),
        };
        Self { config, state: Mutex::new(state), counters: Counters::default(), sink }
    }

    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// A copy of everything held now.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state.lock();
        let mut snapshot = state.snapshot.clone();
        self.counters.add_into(&mut snapshot);
        snapshot.history = state.history.iter().cloned().collect();
        snapshot.alerts = state.alerts.iter().cloned().collect();
        snapshot.methods = state
            .methods
            .iter()
            .flat_map(|(contract, methods)| {
                methods.iter().map(move |(m, v)| (format!("{contract}::{m}"), v.clone()))
            })
            .collect();
        snapshot.modules = state.modules.iter().map(|(hash, m)| (hash.clone(), m.clone())).collect();
        snapshot
    }

    /// The calls of the history that finished in `[from_ms, to_ms]`.
    pub fn history_between(&self, from_ms: u64, to_ms: u64) -> Vec<Arc<CallRecord>> {
        let state = self.state.lock();
        state.history.iter().filter(|r| (from_ms..=to_ms).contains(&r.unix_ms)).cloned().collect()
    }
}

impl State {
    /// The figures of module `code_hash`, making room for it (at most
    /// `max` modules are held) when it is new.
    fn module(&mut self, code_hash: &str, max: usize) -> &mut ModuleStats {
        if !self.modules.contains_key(code_hash) && self.modules.len() >= max.max(1) {
            let coldest =
                self.modules.iter().min_by_key(|(hash, m)| (m.calls, *hash)).map(|(h, _)| h.clone());
            if let Some(coldest) = coldest {
                self.modules.remove(&coldest);
            }
        }
        self.modules.entry(code_hash.to_owned()).or_default()
    }

    fn evict_coldest_method(&mut self) {
        let coldest = self
            .methods
            .iter()
            .flat_map(|(c, methods)| methods.iter().map(move |(m, stats)| (stats.calls, c, m)))
            .min()
            .map(|(_, c, m)| (c.clone(), m.clone()));
        if let Some((contract, method)) = coldest {
            let methods = self.methods.get_mut(&contract).expect("found above");
            methods.remove(&method);
            if methods.is_empty() {
                self.methods.remove(&contract);
            }
            self.method_count -= 1;
        }
    }
}

impl Observer for Monitor {
    /// Counts a call and observes it in detail.
    fn record(&self, call: &Arc<CallRecord>) {
        let alerts = self.anomalies(call);
        {
            let mut state = self.state.lock();
            let s = &mut state.snapshot;
            count(s, &call.kind, &call.status, &call.cache_tier, call.gas_used, call.host_gas);
            s.detailed_calls += 1;
            s.total_ns = s.total_ns.saturating_add(call.total_ns);
            if let Some(ns) = call.compile_ns {
                s.compile_ns += ns;
                s.compiles += 1;
            }
            s.max_memory_pages = s.max_memory_pages.max(call.peak_memory_pages);
            s.latency_ns.add(call.total_ns);
            s.gas.add(call.gas_used);
            s.instantiate_ns.add(call.instantiate_ns);
            s.execute_ns.add(call.execute_ns);
            for host in &call.host_calls {
                let entry = s.host_functions.entry(host.name.clone()).or_default();
                entry.2 += host.nanos;
                entry.0 += host.calls as u64;
                entry.1 += host.gas;
            }
            if s.first_unix_ms == 0 || call.unix_ms < s.first_unix_ms {
                s.first_unix_ms = call.unix_ms;
            }
            s.last_unix_ms = s.last_unix_ms.max(call.unix_ms);

            let known = state.methods.get(&*call.contract).is_some_and(|m| m.contains_key(&*call.method));
            if !known {
                if state.method_count >= self.config.max_methods {
                    state.evict_coldest_method();
                }
                state.method_count += 1;
            }
            let method = state
                .methods
                .entry(call.contract.clone())
                .or_default()
                .entry(call.method.clone())
                .or_default();
            method.calls += 1;
            method.failures += (call.status != "ok") as u64;
            method.gas_used += call.gas_used;
            method.total_ns += call.total_ns;

            if !call.code_hash.is_empty() {
                state.module(&call.code_hash, self.config.max_modules).add(call);
            }

            if self.config.history_capacity > 0 {
                if state.history.len() >= self.config.history_capacity {
                    state.history.pop_front();
                }
                state.history.push_back(call.clone());
            }
            for alert in &alerts {
                if state.alerts.len() >= self.config.alert_capacity.max(1) {
                    state.alerts.pop_front();
                }
                state.alerts.push_back(alert.clone());
            }
        }
        for alert in &alerts {
            self.sink.alert(alert);
        }
    }
}

//! [`Monitor`]: the built-in observer. Real-time totals, percentiles, a
//! bounded history, per-contract figures and anomaly alerts, all in
//! bounded memory.

use crate::histogram::LogHistogram;
use crate::record::{CallRecord, Label, Observer};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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

struct State {
    snapshot: Snapshot,
    history: VecDeque<Arc<CallRecord>>,
    alerts: VecDeque<Alert>,
    /// Per contract, per method.
    methods: HashMap<String, HashMap<String, MethodStats>>,
    method_count: usize,
    modules: HashMap<String, ModuleStats>,
}

/// Labels the counters of undetailed calls know, each with its slot.
const STATUSES: [&str; 6] = ["ok", "abort", "limit", "trap", "out_of_gas", "timeout"];
const KINDS: [&str; 4] = ["deploy", "call", "query", "nested"];
const TIERS: [&str; 3] = ["memory", "disk", "compiled"];

/// Lock-free counters of the calls observed without detail: one counter
/// per (status, kind, tier) combination, so a call costs three atomic
/// additions (its combination, its gas, its host gas); the totals per
/// label are summed when a snapshot is taken.
struct Counters {
    by_labels: [AtomicU64; LABEL_SLOTS],
    gas_used: AtomicU64,
    host_gas: AtomicU64,
}

const LABEL_SLOTS: usize = STATUSES.len() * KINDS.len() * TIERS.len();

impl Default for Counters {
    fn default() -> Self {
        Self {
            by_labels: std::array::from_fn(|_| AtomicU64::new(0)),
            gas_used: AtomicU64::new(0),
            host_gas: AtomicU64::new(0),
        }
    }
}

impl Counters {
    fn slot(status: usize, kind: usize, tier: usize) -> usize {
        (status * KINDS.len() + kind) * TIERS.len() + tier
    }

    fn add_into(&self, s: &mut Snapshot) {
        for (status, status_label) in STATUSES.iter().enumerate() {
            for (kind, kind_label) in KINDS.iter().enumerate() {
                for (tier, tier_label) in TIERS.iter().enumerate() {
                    let n = self.by_labels[Self::slot(status, kind, tier)].load(Ordering::Relaxed);
                    if n > 0 {
                        s.calls += n;
                        *s.by_status.entry(Label::Borrowed(status_label)).or_default() += n;
                        *s.by_kind.entry(Label::Borrowed(kind_label)).or_default() += n;
                        *s.by_cache_tier.entry(Label::Borrowed(tier_label)).or_default() += n;
                    }
                }
            }
        }
        s.gas_used += self.gas_used.load(Ordering::Relaxed);
        s.host_gas += self.host_gas.load(Ordering::Relaxed);
    }
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

    fn anomalies(&self, call: &CallRecord) -> Vec<Alert> {
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

impl ModuleStats {
    fn add(&mut self, call: &CallRecord) {
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

/// Adds one call to the counters every call gets.
fn count(s: &mut Snapshot, kind: &Label, status: &Label, tier: &Label, gas_used: u64, host_gas: u64) {
    fn bump(map: &mut BTreeMap<Label, u64>, key: &Label) {
        match map.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                map.insert(key.clone(), 1);
            }
        }
    }
    s.calls += 1;
    bump(&mut s.by_status, status);
    bump(&mut s.by_kind, kind);
    bump(&mut s.by_cache_tier, tier);
    s.gas_used += gas_used;
    s.host_gas += host_gas;
}

impl Monitor {
    /// Whether the `n`-th call (from 0) is to be observed in detail.
    pub fn wants_detail(&self, n: u64) -> bool {
        n.is_multiple_of(self.config.detail_every.max(1) as u64)
    }

    /// Counts a call observed without detail: three atomic additions.
    pub fn count(&self, call: &CallCounts) {
        let slots = (
            STATUSES.iter().position(|s| *s == call.status),
            KINDS.iter().position(|k| *k == call.kind),
            TIERS.iter().position(|t| *t == call.cache_tier),
        );
        let (Some(status), Some(kind), Some(tier)) = slots else {
            // A label this monitor has no slot for: count it under the lock.
            let mut state = self.state.lock();
            let labels =
                (Label::Borrowed(call.kind), Label::Borrowed(call.status), Label::Borrowed(call.cache_tier));
            count(&mut state.snapshot, &labels.0, &labels.1, &labels.2, call.gas_used, call.host_gas);
            return;
        };
        let c = &self.counters;
        c.by_labels[Counters::slot(status, kind, tier)].fetch_add(1, Ordering::Relaxed);
        c.gas_used.fetch_add(call.gas_used, Ordering::Relaxed);
        c.host_gas.fetch_add(call.host_gas, Ordering::Relaxed);
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

//! Reports: a JSON summary and the Prometheus text exposition format.

use crate::monitor::{Alert, Snapshot};
use serde::Serialize;
use std::fmt::Write;

/// Percentiles of one distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// One contract method among the busiest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodRow {
    pub contract: String,
    pub method: String,
    pub calls: u64,
    pub failures: u64,
    pub gas_used: u64,
    pub mean_us: f64,
}

/// One host function's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostRow {
    pub function: String,
    pub calls: u64,
    pub gas: u64,
    /// Mean wall time of one call, in microseconds.
    pub mean_us: f64,
}

/// One module's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleRow {
    /// The code hash, hex.
    pub code_hash: String,
    pub calls: u64,
    pub memory_hits: u64,
    pub disk_loads: u64,
    pub compiles: u64,
    pub mean_compile_ms: f64,
    pub mean_disk_load_ms: f64,
    pub artifact_bytes: u64,
}

/// The JSON summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub calls: u64,
    /// Calls observed in detail: the percentiles, busiest methods and host
    /// figures cover these (see `MonitorConfig::detail_every`).
    pub detailed_calls: u64,
    pub by_status: std::collections::BTreeMap<crate::Label, u64>,
    pub by_kind: std::collections::BTreeMap<crate::Label, u64>,
    pub gas_used: u64,
    pub wasm_gas: u64,
    pub host_gas: u64,
    pub latency_us: Percentiles,
    pub instantiate_us: Percentiles,
    pub execute_us: Percentiles,
    pub gas_per_call: Percentiles,
    pub calls_per_second: f64,
    pub cache: std::collections::BTreeMap<crate::Label, u64>,
    pub memory_hit_rate: f64,
    pub disk_hit_rate: f64,
    pub compiles: u64,
    pub mean_compile_ms: f64,
    pub max_memory_pages: u64,
    pub busiest: Vec<MethodRow>,
    /// Every module held, the most called first.
    pub modules: Vec<ModuleRow>,
    pub host_functions: Vec<HostRow>,
    pub alerts: Vec<Alert>,
    pub first_unix_ms: u64,
    pub last_unix_ms: u64,
}

/// `total_ns / count` in milliseconds (0 for no events).
fn mean_ms(total_ns: u64, count: u64) -> f64 {
    if count == 0 { 0.0 } else { total_ns as f64 / count as f64 / 1e6 }
}

fn percentiles(h: &crate::LogHistogram, scale: f64) -> Percentiles {
    Percentiles {
        p50: h.quantile(0.50) / scale,
        p95: h.quantile(0.95) / scale,
        p99: h.quantile(0.99) / scale,
        max: h.max() as f64 / scale,
    }
}

impl Report {
    pub fn new(s: &Snapshot) -> Self {
        let mut busiest: Vec<MethodRow> = s
            .methods
            .iter()
            .map(|(key, m)| {
                let (contract, method) = key.split_once("::").unwrap_or((key, ""));
                MethodRow {
                    contract: contract.to_owned(),
                    method: method.to_owned(),
                    calls: m.calls,
                    failures: m.failures,
                    gas_used: m.gas_used,
                    mean_us: m.total_ns as f64 / m.calls.max(1) as f64 / 1e3,
                }
            })
            .collect();
        busiest.sort_by(|a, b| {
            b.calls.cmp(&a.calls).then(a.contract.cmp(&b.contract)).then(a.method.cmp(&b.method))
        });
        busiest.truncate(10);
        let mut host_functions: Vec<HostRow> = s
            .host_functions
            .iter()
            .map(|(name, (calls, gas, nanos))| HostRow {
                function: name.to_string(),
                calls: *calls,
                gas: *gas,
                mean_us: *nanos as f64 / (*calls).max(1) as f64 / 1e3,
            })
            .collect();
        host_functions.sort_by(|a, b| b.gas.cmp(&a.gas).then(a.function.cmp(&b.function)));
        let mut modules: Vec<ModuleRow> = s
            .modules
            .iter()
            .map(|(hash, m)| ModuleRow {
                code_hash: hash.clone(),
                calls: m.calls,
                memory_hits: m.memory_hits,
                disk_loads: m.disk_loads,
                compiles: m.compiles,
                mean_compile_ms: mean_ms(m.compile_ns, m.compiles),
                mean_disk_load_ms: mean_ms(m.disk_load_ns, m.disk_loads),
                artifact_bytes: m.artifact_bytes,
            })
            .collect();
        modules.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.code_hash.cmp(&b.code_hash)));
        Report {
            calls: s.calls,
            detailed_calls: s.detailed_calls,
            by_status: s.by_status.clone(),
            by_kind: s.by_kind.clone(),
            gas_used: s.gas_used,
            wasm_gas: s.gas_used.saturating_sub(s.host_gas),
            host_gas: s.host_gas,
            latency_us: percentiles(&s.latency_ns, 1e3),
            instantiate_us: percentiles(&s.instantiate_ns, 1e3),
            execute_us: percentiles(&s.execute_ns, 1e3),
            gas_per_call: percentiles(&s.gas, 1.0),
            calls_per_second: s.calls_per_second(),
            cache: s.by_cache_tier.clone(),
            memory_hit_rate: s.hit_rate("memory"),
            disk_hit_rate: s.hit_rate("disk"),
            compiles: s.compiles,
            mean_compile_ms: mean_ms(s.compile_ns, s.compiles),
            max_memory_pages: s.max_memory_pages,
            busiest,
            modules,
            host_functions,
            alerts: s.alerts.clone(),
            first_unix_ms: s.first_unix_ms,
            last_unix_ms: s.last_unix_ms,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serializes")
    }
}

/// A label value escaped for the exposition format.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Latency bucket bounds, in seconds, for the exposition histogram.
pub(crate) const LATENCY_BOUNDS: [f64; 12] =
    [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 1.0];

/// The snapshot in the Prometheus text exposition format (version 0.0.4).
pub fn prometheus(s: &Snapshot) -> String {
    let mut out = String::new();
    let mut section = |name: &str, kind: &str, help: &str, samples: Vec<String>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for sample in samples {
            let _ = writeln!(out, "{sample}");
        }
    };
    section(
        "xwasm_calls_total",
        "counter",
        "Finished calls by outcome status.",
        s.by_status
            .iter()
            .map(|(status, n)| format!("xwasm_calls_total{{status=\"{}\"}} {n}", label(status)))
            .collect(),
    );
    section(
        "xwasm_gas_used_total",
        "counter",
        "Gas used, split into WebAssembly execution and host functions.",
        vec![
            format!("xwasm_gas_used_total{{part=\"wasm\"}} {}", s.gas_used.saturating_sub(s.host_gas)),
            format!("xwasm_gas_used_total{{part=\"host\"}} {}", s.host_gas),
        ],
    );
    let mut buckets: Vec<String> = LATENCY_BOUNDS
        .iter()
        .map(|bound| {
            format!(
                "xwasm_call_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                s.latency_ns.count_at_most(bound * 1e9)
            )
        })
        .collect();
    buckets.push(format!("xwasm_call_duration_seconds_bucket{{le=\"+Inf\"}} {}", s.latency_ns.count()));
    buckets.push(format!("xwasm_call_duration_seconds_sum {}", s.total_ns as f64 / 1e9));
    buckets.push(format!("xwasm_call_duration_seconds_count {}", s.latency_ns.count()));
    section("xwasm_call_duration_seconds", "histogram", "Wall time of a call.", buckets);
    section(
        "xwasm_call_gas",
        "summary",
        "Gas used per call.",
        [0.5, 0.95, 0.99]
            .iter()
            .map(|q| format!("xwasm_call_gas{{quantile=\"{q}\"}} {}", s.gas.quantile(*q)))
            .chain([
                format!("xwasm_call_gas_sum {}", s.gas_used),
                format!("xwasm_call_gas_count {}", s.gas.count()),
            ])
            .collect(),
    );
    section(
        "xwasm_code_lookups_total",
        "counter",
        "Code lookups by the cache tier that served them.",
        s.by_cache_tier
            .iter()
            .map(|(tier, n)| format!("xwasm_code_lookups_total{{tier=\"{}\"}} {n}", label(tier)))
            .collect(),
    );
    section(
        "xwasm_host_calls_total",
        "counter",
        "Host function calls.",
        s.host_functions
            .iter()
            .map(|(f, (calls, _, _))| format!("xwasm_host_calls_total{{function=\"{}\"}} {calls}", label(f)))
            .collect(),
    );
    section(
        "xwasm_host_gas_total",
        "counter",
        "Gas charged by host functions.",
        s.host_functions
            .iter()
            .map(|(f, (_, gas, _))| format!("xwasm_host_gas_total{{function=\"{}\"}} {gas}", label(f)))
            .collect(),
    );
    section(
        "xwasm_host_seconds_total",
        "counter",
        "Wall time inside host functions (calls observed in detail).",
        s.host_functions
            .iter()
            .map(|(f, (_, _, nanos))| {
                format!("xwasm_host_seconds_total{{function=\"{}\"}} {}", label(f), *nanos as f64 / 1e9)
            })
            .collect(),
    );
    section(
        "xwasm_method_calls_total",
        "counter",
        "Calls per contract method.",
        s.methods
            .iter()
            .map(|(key, m)| {
                let (contract, method) = key.split_once("::").unwrap_or((key, ""));
                format!(
                    "xwasm_method_calls_total{{contract=\"{}\",method=\"{}\"}} {}",
                    label(contract),
                    label(method),
                    m.calls
                )
            })
            .collect(),
    );
    section(
        "xwasm_module_artifact_bytes",
        "gauge",
        "Size of each module's compiled artifact.",
        s.modules
            .iter()
            .map(|(hash, m)| {
                format!("xwasm_module_artifact_bytes{{code_hash=\"{hash}\"}} {}", m.artifact_bytes)
            })
            .collect(),
    );
    section(
        "xwasm_module_loads_total",
        "counter",
        "Code lookups per module, by the cache tier that served them.",
        s.modules
            .iter()
            .flat_map(|(hash, m)| {
                [("memory", m.memory_hits), ("disk", m.disk_loads), ("compiled", m.compiles)].map(
                    |(tier, n)| {
                        format!("xwasm_module_loads_total{{code_hash=\"{hash}\",tier=\"{tier}\"}} {n}")
                    },
                )
            })
            .collect(),
    );
    section(
        "xwasm_module_compile_seconds_total",
        "counter",
        "Time spent compiling each module.",
        s.modules
            .iter()
            .map(|(hash, m)| {
                format!(
                    "xwasm_module_compile_seconds_total{{code_hash=\"{hash}\"}} {}",
                    m.compile_ns as f64 / 1e9
                )
            })
            .collect(),
    );
    let mut alert_kinds = std::collections::BTreeMap::<&str, u64>::new();
    for alert in &s.alerts {
        *alert_kinds.entry(&alert.kind).or_default() += 1;
    }
    section(
        "xwasm_alerts",
        "gauge",
        "Alerts held by the monitor, by kind.",
        alert_kinds.iter().map(|(kind, n)| format!("xwasm_alerts{{kind=\"{}\"}} {n}", label(kind))).collect(),
    );
    section(
        "xwasm_memory_pages_max",
        "gauge",
        "The largest contract memory seen, in 64 KiB pages.",
        vec![format!("xwasm_memory_pages_max {}", s.max_memory_pages)],
    );
    section(
        "xwasm_calls_per_second",
        "gauge",
        "Calls per second over the time the recorded calls span.",
        vec![format!("xwasm_calls_per_second {}", s.calls_per_second())],
    );
    out
}

//! xwasm's metrics in a node's own OpenMetrics registry: a
//! `prometheus-client` [`Collector`] that reads the [`Monitor`] at each
//! scrape, so the node exposes the VM's figures beside its own, on its own
//! endpoint. The same figures as the text exposition ([`crate::prometheus`]).
//!
//! ```
//! use prometheus_client::registry::Registry;
//! use std::sync::Arc;
//! use xwasm_monitor::{MetricsCollector, Monitor, MonitorConfig, TracingAlerts};
//!
//! let monitor = Arc::new(Monitor::new(MonitorConfig::default(), Arc::new(TracingAlerts)));
//! let mut registry = Registry::default();
//! registry.register_collector(Box::new(MetricsCollector::new(monitor)));
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
//! assert!(text.contains("xwasm_gas_used_total{part=\"wasm\"} 0"));
//! ```

use crate::Monitor;
use crate::report::LATENCY_BOUNDS;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, EncodeMetric, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use std::fmt::Error;
use std::sync::Arc;

/// Encodes a monitor's figures on each scrape of the registry it is in.
#[derive(Debug, Clone)]
pub struct MetricsCollector {
    monitor: Arc<Monitor>,
}

impl MetricsCollector {
    pub fn new(monitor: Arc<Monitor>) -> Self {
        Self { monitor }
    }
}

/// One metric family of counters, one per label set.
fn counters<L: EncodeLabelSet, V: EncodeCounterValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, V)>,
) -> Result<(), Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        family.encode_family(&labels)?.encode_counter::<NoLabelSet, _, u64>(&value, None)?;
    }
    Ok(())
}

/// One metric family of gauges, one per label set.
fn gauges<L: EncodeLabelSet, V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, V)>,
) -> Result<(), Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        family.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

impl Collector for MetricsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        let s = self.monitor.snapshot();
        let e = &mut encoder;
        counters(
            e,
            "xwasm_calls",
            "Finished calls by outcome status.",
            s.by_status.iter().map(|(status, n)| ([("status", status.as_ref())], *n)),
        )?;
        counters(
            e,
            "xwasm_gas_used",
            "Gas used, split into WebAssembly execution and host functions.",
            [([("part", "wasm")], s.gas_used.saturating_sub(s.host_gas)), ([("part", "host")], s.host_gas)],
        )?;
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = LATENCY_BOUNDS
            .iter()
            .map(|bound| {
                let at_most = s.latency_ns.count_at_most(bound * 1e9);
                let bucket = (*bound, at_most - below);
                below = at_most;
                bucket
            })
            .collect();
        buckets.push((f64::MAX, s.latency_ns.count() - below));
        e.encode_descriptor(
            "xwasm_call_duration_seconds",
            "Wall time of a call.",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<NoLabelSet>(
            s.total_ns as f64 / 1e9,
            s.latency_ns.count(),
            &buckets,
            None,
        )?;
        counters(
            e,
            "xwasm_code_lookups",
            "Code lookups by the cache tier that served them.",
            s.by_cache_tier.iter().map(|(tier, n)| ([("tier", tier.as_ref())], *n)),
        )?;
        counters(
            e,
            "xwasm_host_calls",
            "Host function calls.",
            s.host_functions.iter().map(|(f, (calls, _, _))| ([("function", f.as_ref())], *calls)),
        )?;
        counters(
            e,
            "xwasm_host_gas",
            "Gas charged by host functions.",
            s.host_functions.iter().map(|(f, (_, gas, _))| ([("function", f.as_ref())], *gas)),
        )?;
        counters(
            e,
            "xwasm_host_seconds",
            "Wall time inside host functions (calls observed in detail).",
            s.host_functions.iter().map(|(f, (_, _, ns))| ([("function", f.as_ref())], *ns as f64 / 1e9)),
        )?;
        gauges(
            e,
            "xwasm_module_artifact_bytes",
            "Size of each module's compiled artifact.",
            s.modules.iter().map(|(hash, m)| ([("code_hash", hash.as_str())], m.artifact_bytes as i64)),
        )?;
        counters(
            e,
            "xwasm_module_loads",
            "Code lookups per module, by the cache tier that served them.",
            s.modules.iter().flat_map(|(hash, m)| {
                [("memory", m.memory_hits), ("disk", m.disk_loads), ("compiled", m.compiles)]
                    .map(|(tier, n)| ([("code_hash", hash.as_str()), ("tier", tier)], n))
            }),
        )?;
        counters(
            e,
            "xwasm_module_compile_seconds",
            "Time spent compiling each module.",
            s.modules.iter().map(|(hash, m)| ([("code_hash", hash.as_str())], m.compile_ns as f64 / 1e9)),
        )?;
        let pages = ConstGauge::new(s.max_memory_pages as i64);
        pages.encode(e.encode_descriptor(
            "xwasm_memory_pages_max",
            "The largest contract memory seen, in 64 KiB pages.",
            None,
            pages.metric_type(),
        )?)?;
        Ok(())
    }
}

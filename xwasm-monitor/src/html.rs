//! The HTML dashboard: one self-contained page (inline CSS and SVG, no
//! script, no network request) with the charts of a report.

use crate::monitor::Snapshot;
use crate::report::Report;
use std::fmt::Write;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn short(address: &str) -> String {
    if address.len() > 12 {
        format!("{}…{}", &address[..6], &address[address.len() - 4..])
    } else {
        address.to_owned()
    }
}

fn human(value: f64) -> String {
    match value {
        v if v >= 1e9 => format!("{:.1}G", v / 1e9),
        v if v >= 1e6 => format!("{:.1}M", v / 1e6),
        v if v >= 1e3 => format!("{:.1}k", v / 1e3),
        v if v >= 10.0 || v.fract() == 0.0 => format!("{v:.0}"),
        v => format!("{v:.2}"),
    }
}

/// A duration given in microseconds, in the unit that fits it: `850 ns`,
/// `12.5 µs`, `1.20 ms`, `3.40 s`.
fn duration(us: f64) -> String {
    match us {
        v if v >= 1e6 => format!("{:.2} s", v / 1e6),
        v if v >= 1e3 => format!("{:.2} ms", v / 1e3),
        v if v >= 1.0 => format!("{} µs", if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }),
        v => format!("{:.0} ns", v * 1e3),
    }
}

/// Vertical bars with labels under them.
fn bar_chart(title: &str, bars: &[(String, f64)], unit: &str) -> String {
    let (width, height, bottom) = (560.0, 220.0, 40.0);
    let max = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-9);
    let slot = width / bars.len().max(1) as f64;
    let mut svg = format!(
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {width} {}" role="img" aria-label="{}">"#,
        escape(title),
        height + bottom,
        escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = (value / max) * (height - 20.0);
        let x = i as f64 * slot;
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#3b82f6"><title>{}: {} {unit}</title></rect><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle" fill="#555">{}</text>"##,
            x + slot * 0.1,
            height - h,
            slot * 0.8,
            escape(label),
            human(*value),
            x + slot / 2.0,
            height - h - 3.0,
            human(*value),
            x + slot / 2.0,
            height + 14.0,
            escape(label)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Gas of each call of the history, in order, as points joined by a line.
fn gas_over_time(s: &Snapshot) -> String {
    let skip = s.history.len().saturating_sub(500);
    let calls: Vec<&crate::CallRecord> = s.history.iter().skip(skip).map(|r| &**r).collect();
    let (width, height) = (560.0, 220.0);
    let max = calls.iter().map(|c| c.gas_used).max().unwrap_or(1).max(1) as f64;
    let step = width / calls.len().max(2).saturating_sub(1) as f64;
    let points: Vec<String> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                height - 10.0 - (c.gas_used as f64 / max) * (height - 30.0)
            )
        })
        .collect();
    let mut svg = format!(
        r##"<figure><figcaption>Gas per call over time (last {} calls, max {})</figcaption><svg viewBox="0 0 {width} {height}" role="img" aria-label="gas per call"><polyline fill="none" stroke="#10b981" stroke-width="1.5" points="{}"/>"##,
        calls.len(),
        human(max),
        points.join(" ")
    );
    for (point, call) in points.iter().zip(&calls) {
        let (x, y) = point.split_once(',').expect("x,y");
        let color = if call.status == "ok" { "#10b981" } else { "#ef4444" };
        let _ = write!(
            svg,
            r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"><title>{} {}: {} gas, {}</title></circle>"#,
            escape(&short(&call.contract)),
            escape(&call.method),
            call.gas_used,
            escape(&call.status)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut html = String::from("<table><thead><tr>");
    for header in headers {
        let _ = write!(html, "<th>{}</th>", escape(header));
    }
    html.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(html, r#"<tr><td colspan="{}">none</td></tr>"#, headers.len());
    }
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// The dashboard page.
pub fn dashboard(s: &Snapshot) -> String {
    let r = Report::new(s);
    let ok = *r.by_status.get("ok").unwrap_or(&0);
    let tiles = [
        ("calls", r.calls.to_string()),
        ("ok", format!("{:.1}%", 100.0 * ok as f64 / r.calls.max(1) as f64)),
        ("p50 latency", duration(r.latency_us.p50)),
        ("p95 latency", duration(r.latency_us.p95)),
        ("p99 latency", duration(r.latency_us.p99)),
        ("gas used", human(r.gas_used as f64)),
        ("host share of gas", format!("{:.1}%", 100.0 * r.host_gas as f64 / r.gas_used.max(1) as f64)),
        ("memory-tier hits", format!("{:.1}%", 100.0 * r.memory_hit_rate)),
        ("alerts", r.alerts.len().to_string()),
    ];
    let latency: Vec<(String, f64)> = s
        .latency_ns
        .buckets()
        .map(|(bound, count)| (format!("≤{}", duration(bound / 1e3)), count as f64))
        .collect();
    let cache: Vec<(String, f64)> =
        ["memory", "disk", "compiled"].iter().map(|t| (t.to_string(), 100.0 * s.hit_rate(t))).collect();
    let busiest: Vec<(String, f64)> = r
        .busiest
        .iter()
        .take(8)
        .map(|m| (format!("{} {}", short(&m.contract), m.method), m.calls as f64))
        .collect();

    let mut html = String::from(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>xwasm dashboard</title><style>
body{font-family:system-ui,sans-serif;margin:24px;background:#f8fafc;color:#0f172a}
h1{margin:0 0 4px}p.sub{margin:0 0 16px;color:#475569}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px;margin-bottom:18px}
.tile{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px}
.tile b{display:block;font-size:22px}.tile span{color:#64748b;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
figure{background:#fff;border:1px solid #e2e8f0;border-radius:8px;margin:0;padding:10px}
figcaption{font-weight:600;margin-bottom:6px}svg{width:100%;height:auto}
table{border-collapse:collapse;width:100%;background:#fff;margin-top:8px;font-size:13px}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left}th{background:#f1f5f9}
h2{margin-top:22px}
</style></head><body><h1>xwasm dashboard</h1>"#,
    );
    let _ = write!(
        html,
        r#"<p class="sub">{} calls from {} to {} (unix ms) · {:.1} calls/s</p><div class="tiles">"#,
        r.calls, r.first_unix_ms, r.last_unix_ms, r.calls_per_second
    );
    for (label, value) in tiles {
        let _ = write!(
            html,
            r#"<div class="tile"><b>{}</b><span>{}</span></div>"#,
            escape(&value),
            escape(label)
        );
    }
    html.push_str(r#"</div><div class="grid">"#);
    html.push_str(&bar_chart("Latency histogram (calls per bucket)", &latency, "calls"));
    html.push_str(&gas_over_time(s));
    html.push_str(&bar_chart("Cache hit rates (% of code lookups)", &cache, "%"));
    html.push_str(&bar_chart("Busiest contract methods (calls)", &busiest, "calls"));
    html.push_str("</div><h2>Busiest contract methods</h2>");
    html.push_str(&table(
        &["contract", "method", "calls", "failures", "gas", "mean time"],
        r.busiest
            .iter()
            .map(|m| {
                vec![
                    m.contract.clone(),
                    m.method.clone(),
                    m.calls.to_string(),
                    m.failures.to_string(),
                    m.gas_used.to_string(),
                    duration(m.mean_us),
                ]
            })
            .collect(),
    ));
    html.push_str("<h2>Outcomes</h2>");
    html.push_str(&table(
        &["status", "calls"],
        r.by_status.iter().map(|(k, v)| vec![k.to_string(), v.to_string()]).collect(),
    ));
    html.push_str("<h2>Host functions</h2>");
    html.push_str(&table(
        &["function", "calls", "gas", "mean time"],
        r.host_functions
            .iter()
            .map(|h| vec![h.function.clone(), h.calls.to_string(), h.gas.to_string(), duration(h.mean_us)])
            .collect(),
    ));
    html.push_str("<h2>Modules</h2>");
    html.push_str(&table(
        &["code hash", "calls", "memory hits", "disk loads", "compiles", "mean compile", "artifact KiB"],
        r.modules
            .iter()
            .map(|m| {
                vec![
                    short(&m.code_hash),
                    m.calls.to_string(),
                    m.memory_hits.to_string(),
                    m.disk_loads.to_string(),
                    m.compiles.to_string(),
                    duration(m.mean_compile_ms * 1e3),
                    format!("{:.1}", m.artifact_bytes as f64 / 1024.0),
                ]
            })
            .collect(),
    ));
    html.push_str("<h2>Alerts</h2>");
    html.push_str(&table(
        &["unix ms", "kind", "contract", "method", "value", "threshold"],
        r.alerts
            .iter()
            .map(|a| {
                vec![
                    a.unix_ms.to_string(),
                    a.kind.clone(),
                    a.contract.clone(),
                    a.method.clone(),
                    human(a.value),
                    human(a.threshold),
                ]
            })
            .collect(),
    ));
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_are_shown_in_the_unit_that_fits() {
        assert_eq!(duration(0.85), "850 ns");
        assert_eq!(duration(12.54), "12.5 µs");
        assert_eq!(duration(412.0), "412 µs");
        assert_eq!(duration(1_000.0), "1.00 ms");
        assert_eq!(duration(1_234.0), "1.23 ms");
        assert_eq!(duration(3_400_000.0), "3.40 s");
    }
}

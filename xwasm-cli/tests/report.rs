//! Monitoring through the CLI: after a handful of deploys and calls, the
//! JSON, Prometheus and HTML reports hold the figures of those calls, and a
//! profile of a compute-heavy contract names its hot function first.

use serde_json::Value;
use std::process::{Command, Output};

const TOKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/token.wat");
const COMPUTE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/compute.wat");
const BOB: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

fn xwasm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xwasm")).args(args).output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {} {}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

/// Checks every line of a Prometheus text exposition: comments are HELP or
/// TYPE, samples are `name{labels} value` with a known family.
fn assert_exposition_format(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut families = std::collections::BTreeSet::new();
    let mut samples = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(keyword == "HELP" || keyword == "TYPE", "{line}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
            if keyword == "TYPE" {
                let kind = parts.next().unwrap();
                assert!(["counter", "gauge", "histogram", "summary"].contains(&kind), "{line}");
                families.insert(name.to_owned());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        let name = series.split('{').next().unwrap();
        let family = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
        assert!(families.contains(name) || families.contains(family), "sample before its TYPE: {line}");
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split("\",") {
                let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
                assert!(!value.trim_end_matches('"').contains('"'), "{line}");
            }
        }
        samples.insert(series.to_owned(), value);
    }
    samples
}

/// The code hash and payload length of the only artifact under `cache`
/// (its `.meta` file: magic, format, version length and version,
/// fingerprint, code hash, then the artifact's length).
fn only_artifact(cache: &std::path::Path) -> (String, u64) {
    let namespaces: Vec<_> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(namespaces.len(), 1, "{namespaces:?}");
    let files: Vec<_> = std::fs::read_dir(&namespaces[0])
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "meta"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let version_len = u16::from_le_bytes([bytes[12], bytes[13]]) as usize;
    let at = 14 + version_len + 64;
    let payload_len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let stem = files[0].file_stem().unwrap().to_str().unwrap().to_owned();
    (stem, payload_len)
}

#[test]
fn reports_hold_the_figures_of_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let deployed =
        json(&xwasm(&["deploy", TOKEN, "--state", state, "--input", "e803000000000000", "--json"]));
    let token = deployed["address"].as_str().unwrap().to_owned();
    let mut outcomes = vec![deployed];
    for amount in ["0a00000000000000", "1400000000000000", "ffffffffffffffff"] {
        let input = format!("{BOB}{amount}");
        outcomes
            .push(json(&xwasm(&["call", &token, "transfer", "--state", state, "--input", &input, "--json"])));
    }
    outcomes.push(json(&xwasm(&["query", &token, "balance_of", "--state", state, "--input", BOB, "--json"])));
    let gas: u64 = outcomes.iter().map(|o| o["gas_used"].as_u64().unwrap()).sum();
    let statuses: Vec<&str> = outcomes.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "ok", "ok", "abort", "ok"]);

    let report = json(&xwasm(&["report", "--state", state, "--format", "json"]));
    assert_eq!(report["calls"], 5);
    assert_eq!(report["gas_used"], gas);
    assert_eq!(report["by_status"]["ok"], 4);
    assert_eq!(report["by_status"]["abort"], 1);
    assert_eq!(report["by_kind"]["query"], 1);
    assert_eq!(report["by_kind"]["deploy"], 1);
    assert_eq!(report["busiest"][0]["method"], "transfer");
    assert_eq!(report["busiest"][0]["calls"], 3);
    assert_eq!(report["busiest"][0]["failures"], 1);
    assert!(report["latency_us"]["p50"].as_f64().unwrap() > 0.0);
    assert!(report["host_functions"].as_array().unwrap().iter().any(|h| h["function"] == "storage_write"));
    // Separate processes: the first compiled, the others found the disk tier.
    assert_eq!(report["cache"]["compiled"], 1);
    assert_eq!(report["cache"]["disk"], 4);
    // Per module: the one artifact in the disk tier, its size as its
    // header records it.
    let (code_hash, payload_len) = only_artifact(&std::path::Path::new(state).join("cache"));
    let modules = report["modules"].as_array().unwrap();
    assert_eq!(modules.len(), 1);
    let module = &modules[0];
    assert_eq!(module["code_hash"], code_hash.as_str());
    assert_eq!((module["calls"].as_u64(), module["compiles"].as_u64()), (Some(5), Some(1)));
    assert_eq!((module["disk_loads"].as_u64(), module["memory_hits"].as_u64()), (Some(4), Some(0)));
    assert_eq!(module["artifact_bytes"].as_u64(), Some(payload_len));
    assert!(module["mean_compile_ms"].as_f64().unwrap() > 0.0);

    let prometheus = xwasm(&["report", "--state", state, "--format", "prometheus"]);
    let samples = assert_exposition_format(&String::from_utf8(prometheus.stdout).unwrap());
    assert_eq!(samples["xwasm_calls_total{status=\"ok\"}"], 4.0);
    assert_eq!(samples["xwasm_call_duration_seconds_count"], 5.0);
    assert_eq!(samples["xwasm_call_duration_seconds_bucket{le=\"+Inf\"}"], 5.0);
    let wasm_gas = samples["xwasm_gas_used_total{part=\"wasm\"}"];
    let host_gas = samples["xwasm_gas_used_total{part=\"host\"}"];
    assert_eq!(wasm_gas + host_gas, gas as f64);
    assert_eq!(
        samples[&format!("xwasm_method_calls_total{{contract=\"{token}\",method=\"transfer\"}}")],
        3.0
    );
    assert_eq!(samples[&format!("xwasm_module_loads_total{{code_hash=\"{code_hash}\",tier=\"disk\"}}")], 4.0);
    assert_eq!(
        samples[&format!("xwasm_module_artifact_bytes{{code_hash=\"{code_hash}\"}}")],
        payload_len as f64
    );

    let page = dir.path().join("dashboard.html");
    let out = xwasm(&["report", "--state", state, "--format", "html", "--out", page.to_str().unwrap()]);
    assert!(out.status.success());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 4, "four charts");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "offline, no script"
    );
    assert!(html.contains("transfer") && html.contains("<b>5</b><span>calls</span>"));
    assert!(html.contains(&code_hash[..6]), "the modules table names the module");
}

#[test]
fn a_profile_names_the_hot_function_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.folded");
    let output =
        xwasm(&["profile", COMPUTE, "mix", "--runs", "200", "--json", "--out", out.to_str().unwrap()]);
    let profile = json(&output);
    assert_eq!(profile["status"], "ok", "{profile}");
    assert!(profile["samples"].as_u64().unwrap() >= 10, "{profile}");
    assert_eq!(profile["functions"][0]["function"], "mix_round", "{profile}");
    let folded = std::fs::read_to_string(&out).unwrap();
    assert!(
        folded.lines().all(|l| l.rsplit_once(' ').is_some_and(|(_, n)| n.parse::<u64>().is_ok())),
        "{folded}"
    );
    assert!(folded.contains("mix;mix_round "), "{folded}");
}

//! Printing outcomes: the JSON object of ABI.md, or aligned text for people.

use serde_json::{Value, json};
use xwasm::{Address, Outcome};

/// The outcome object of ABI.md ("The CLI's JSON outcome").
pub fn outcome_json(outcome: &Outcome) -> Value {
    let mut object = json!({
        "status": outcome.status.as_str(),
        "gas_used": outcome.gas_used,
        "gas_limit": outcome.gas_limit,
        "return_hex": hex::encode(&outcome.return_data),
        "error": outcome.error,
        "events": outcome.events.iter().map(|e| json!({
            "topic_hex": hex::encode(&e.topic),
            "data_hex": hex::encode(&e.data),
            "contract": e.contract.to_hex(),
        })).collect::<Vec<_>>(),
        "logs": outcome.logs,
        "backtrace": outcome.backtrace,
    });
    if let Some(address) = outcome.address {
        object["address"] = Value::String(address.to_hex());
    }
    object
}

/// Bytes as text when they are printable UTF-8, else as hex.
fn readable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.is_empty() && text.chars().all(|c| !c.is_control()) => format!("{text:?}"),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

/// The outcome, aligned, for people. The gas used is always shown.
pub fn outcome_text(outcome: &Outcome) -> String {
    let mut lines = vec![
        format!("status    {}", outcome.status),
        format!("gas used  {} of {}", outcome.gas_used, outcome.gas_limit),
    ];
    if let Some(address) = outcome.address {
        lines.push(format!("address   {address}"));
    }
    if !outcome.return_data.is_empty() {
        let mut value = format!("return    0x{}", hex::encode(&outcome.return_data));
        if outcome.return_data.len() == 8 {
            let n = u64::from_le_bytes(outcome.return_data[..].try_into().expect("8 bytes"));
            value.push_str(&format!(" (u64 LE: {n})"));
        }
        lines.push(value);
    }
    if let Some(error) = &outcome.error {
        lines.push(format!("error     {error}"));
    }
    if !outcome.backtrace.is_empty() {
        lines.push(format!("at        {}", outcome.backtrace.join(" <- ")));
    }
    for event in &outcome.events {
        lines.push(format!("event     {} {}", readable(&event.topic), readable(&event.data)));
    }
    for log in &outcome.logs {
        lines.push(format!("log       {log}"));
    }
    lines.join("\n")
}

pub fn print_outcome(outcome: &Outcome, as_json: bool) {
    if as_json {
        println!("{}", outcome_json(outcome));
    } else {
        println!("{}", outcome_text(outcome));
    }
}

pub fn storage_json(entries: &[(Vec<u8>, Vec<u8>)]) -> Value {
    json!({
        "entries": entries.iter().map(|(k, v)| json!({
            "key_hex": hex::encode(k),
            "value_hex": hex::encode(v),
        })).collect::<Vec<_>>()
    })
}

pub fn storage_text(address: &Address, entries: &[(Vec<u8>, Vec<u8>)]) -> String {
    let mut lines = vec![format!("contract  {address}"), format!("entries   {}", entries.len())];
    let width = entries.iter().map(|(k, _)| readable(k).len()).max().unwrap_or(0);
    for (key, value) in entries {
        lines.push(format!("  {:width$}  {}", readable(key), readable(value)));
    }
    lines.join("\n")
}

fn val_json(value: &xwasm::Val) -> Value {
    match value {
        xwasm::Val::I32(v) => json!(v),
        xwasm::Val::I64(v) => json!(v),
        xwasm::Val::F32(bits) => json!(f32::from_bits(*bits)),
        xwasm::Val::F64(bits) => json!(f64::from_bits(*bits)),
        other => json!(format!("{other:?}")),
    }
}

fn val_text(value: &xwasm::Val) -> String {
    match value {
        xwasm::Val::I32(v) => v.to_string(),
        xwasm::Val::I64(v) => v.to_string(),
        xwasm::Val::F32(bits) => f32::from_bits(*bits).to_string(),
        xwasm::Val::F64(bits) => f64::from_bits(*bits).to_string(),
        other => format!("{other:?}"),
    }
}

pub fn print_run(run: &xwasm::FunctionRun, as_json: bool) {
    if as_json {
        let mut object = outcome_json(&run.outcome);
        object["results"] = Value::Array(run.results.iter().map(val_json).collect());
        println!("{object}");
        return;
    }
    let mut text = outcome_text(&run.outcome);
    if !run.results.is_empty() {
        let results = run.results.iter().map(val_text).collect::<Vec<_>>().join(" ");
        text = format!("results   {results}\n{text}");
    }
    println!("{text}");
}

/// A module description for people.
pub fn info_text(info: &xwasm::security::ModuleInfo) -> String {
    let verdict = match (&info.verdict.accepted, &info.verdict.reason) {
        (true, _) => format!("accepted by policy {}", info.verdict.profile),
        (false, Some(reason)) => format!("refused by policy {}: {reason}", info.verdict.profile),
        (false, None) => format!("refused by policy {}", info.verdict.profile),
    };
    let mut lines = vec![
        format!("code hash  {}", info.code_hash),
        format!("size       {} bytes", info.size),
        format!("functions  {} defined", info.function_count),
        format!(
            "memory     {}",
            info.memory.map(|m| m.to_string()).unwrap_or_else(|| "none defined".to_owned())
        ),
        format!("floats     {}", if info.uses_floats { "used" } else { "not used" }),
        format!(
            "features   {}",
            if info.features.is_empty() { "none".to_owned() } else { info.features.join(", ") }
        ),
        format!("verdict    {verdict}"),
        format!("imports    {}", info.imports.len()),
    ];
    let width = info.imports.iter().map(|i| i.module.len() + i.name.len() + 2).max().unwrap_or(0);
    for import in &info.imports {
        lines.push(format!("  {:width$}  {}", format!("{}::{}", import.module, import.name), import.ty));
    }
    lines.push(format!("exports    {}", info.exports.len()));
    let width = info.exports.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for export in &info.exports {
        lines.push(format!("  {:width$}  {}", export.name, export.ty));
    }
    if !info.custom_sections.is_empty() {
        lines.push(format!("custom     {}", info.custom_sections.join(", ")));
    }
    lines.join("\n")
}

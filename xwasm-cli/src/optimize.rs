//! `xwasm optimize`: the size passes and their effect, before vs after.

use crate::input::{Failure, parse_optional_hex, read_module};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use xwasm::engine::Strategy;
use xwasm::{Address, ChainContext, CosmwasmMessage, Transaction, Vm, VmConfig};

pub struct Request {
    pub file: PathBuf,
    pub out: PathBuf,
    pub passes: Option<String>,
    pub call: Option<String>,
    pub input: Option<String>,
    pub msg: Option<String>,
    pub deploy: Option<String>,
    pub json: bool,
}

const SENDER: Address = Address([0x0a; 32]);

/// Compile time (median of 3) and artifact bytes of `wasm` as `vm` loads it.
fn compiled(vm: &Vm, wasm: &[u8]) -> Result<(Duration, usize), Failure> {
    let rewritten = vm.rewrite_for_compile(wasm)?;
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let module = xwasm::aot::compile(vm.engine(), &rewritten).map_err(|e| Failure(e.to_string()))?;
        times.push(started.elapsed());
        bytes = xwasm::aot::serialize(&module).map_err(|e| Failure(e.to_string()))?.len();
    }
    times.sort();
    Ok((times[1], bytes))
}

/// The call's result bytes, status, gas and time (median of 5) on a fresh
/// VM holding `wasm`.
fn called(wasm: &[u8], request: &Request, method: &str) -> Result<(Vec<u8>, String, u64, Duration), Failure> {
    let vm = Vm::builder().build()?;
    let mut runs = Vec::new();
    if xwasm::cosmwasm::detect(wasm).is_some() {
        let sender = vm.cosmwasm_address(&SENDER);
        let init = request.deploy.clone().unwrap_or_else(|| "{}".into());
        let deployed = vm.cosmwasm_instantiate(
            wasm,
            &CosmwasmMessage::new(&sender, init.into_bytes(), crate::cosmwasm::DEPLOY_GAS),
            None,
        )?;
        let address = deployed.outcome.address.ok_or_else(|| {
            Failure(format!("instantiate failed: {}", deployed.outcome.error.unwrap_or_default()))
        })?;
        let msg = request
            .msg
            .clone()
            .ok_or_else(|| Failure("--call on a CosmWasm contract takes --msg JSON".into()))?;
        let message = CosmwasmMessage::new(&sender, msg.into_bytes(), crate::cosmwasm::CALL_GAS);
        for _ in 0..5 {
            let started = Instant::now();
            let done = vm.cosmwasm_call_export(&address, method, &message)?;
            runs.push((
                started.elapsed(),
                done.result.unwrap_or_default(),
                done.outcome.status,
                done.outcome.gas_used,
            ));
        }
    } else {
        let chain = ChainContext::default();
        let deploy_input = parse_optional_hex(request.deploy.as_deref(), "--deploy")?;
        let deployed = vm.deploy(wasm, &chain, &Transaction::new(SENDER, 10_000_000_000, deploy_input))?;
        let address = deployed
            .address
            .ok_or_else(|| Failure(format!("deploy failed: {}", deployed.error.unwrap_or_default())))?;
        let input = parse_optional_hex(request.input.as_deref(), "--input")?;
        for _ in 0..5 {
            let started = Instant::now();
            let outcome =
                vm.query(&address, method, &chain, &Transaction::new(SENDER, 100_000_000, input.clone()))?;
            runs.push((started.elapsed(), outcome.return_data, outcome.status, outcome.gas_used));
        }
    }
    runs.sort_by_key(|run| run.0);
    let (took, result, status, gas) = runs.swap_remove(2);
    Ok((result, status.as_str().to_owned(), gas, took))
}

pub fn run(request: Request) -> Result<ExitCode, Failure> {
    let wasm = read_module(&request.file)?;
    let passes: Vec<String> = match &request.passes {
        Some(list) => list.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
        None => xwasm::security::optimize::DEFAULT_PASSES.iter().map(|p| (*p).to_owned()).collect(),
    };
    let names: Vec<&str> = passes.iter().map(String::as_str).collect();
    let cranelift = Vm::builder().build()?;
    let optimized = cranelift.optimize(&wasm, &names)?;
    let mut winch_config = VmConfig::default();
    winch_config.engine.strategy = Strategy::Winch;
    let winch = Vm::builder().config(winch_config).build()?;
    let mut rows = Vec::new();
    for (name, vm) in [("cranelift", &cranelift), ("winch", &winch)] {
        let (before_time, before_bytes) = compiled(vm, &wasm)?;
        let (after_time, after_bytes) = compiled(vm, &optimized.bytes)?;
        rows.push(json!({
            "compiler": name,
            "compile_ms": [before_time.as_secs_f64() * 1e3, after_time.as_secs_f64() * 1e3],
            "artifact_bytes": [before_bytes, after_bytes],
        }));
    }
    let mut call = Value::Null;
    if let Some(method) = &request.call {
        let before = called(&wasm, &request, method)?;
        let after = called(&optimized.bytes, &request, method)?;
        if (&before.0, &before.1) != (&after.0, &after.1) {
            return Err(Failure(format!(
                "the optimized module answers `{method}` differently ({} vs {}): not written",
                before.1, after.1
            )));
        }
        call = json!({
            "method": method,
            "status": before.1,
            "result": String::from_utf8_lossy(&before.0),
            "gas": [before.2, after.2],
            "time_us": [before.3.as_secs_f64() * 1e6, after.3.as_secs_f64() * 1e6],
        });
    }
    std::fs::write(&request.out, &optimized.bytes)
        .map_err(|e| Failure(format!("-o {}: {e}", request.out.display())))?;
    let report = json!({
        "passes": passes,
        "module_bytes": [wasm.len(), optimized.bytes.len()],
        "custom_sections_dropped": optimized.custom_sections_dropped,
        "dead_functions": optimized.dead_functions,
        "data_segments_dropped": optimized.data_segments_dropped,
        "data_bytes_dropped": optimized.data_bytes_dropped,
        "compile": rows,
        "call": call,
        "out": request.out,
    });
    if request.json {
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("passes: {}", passes.join(", "));
    println!("| | before | after |\n|---|---|---|");
    println!("| module bytes | {} | {} |", wasm.len(), optimized.bytes.len());
    for row in &report["compile"].as_array().expect("rows").clone() {
        let name = row["compiler"].as_str().unwrap_or_default();
        println!(
            "| compile ms ({name}) | {:.2} | {:.2} |",
            row["compile_ms"][0].as_f64().unwrap_or(0.0),
            row["compile_ms"][1].as_f64().unwrap_or(0.0)
        );
        println!("| artifact bytes ({name}) | {} | {} |", row["artifact_bytes"][0], row["artifact_bytes"][1]);
    }
    if !call.is_null() {
        println!(
            "| gas of `{}` | {} | {} |",
            call["method"].as_str().unwrap_or_default(),
            call["gas"][0],
            call["gas"][1]
        );
        println!(
            "| time of `{}` µs | {:.1} | {:.1} |",
            call["method"].as_str().unwrap_or_default(),
            call["time_us"][0].as_f64().unwrap_or(0.0),
            call["time_us"][1].as_f64().unwrap_or(0.0)
        );
    }
    println!(
        "dropped: {} custom sections, {} dead function bodies, {} data segments ({} bytes); written to {}",
        optimized.custom_sections_dropped.len(),
        optimized.dead_functions,
        optimized.data_segments_dropped,
        optimized.data_bytes_dropped,
        request.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

//! `xwasm report` and `xwasm profile`, and the history the state folder
//! keeps for them.

use crate::args::ReportFormat;
use crate::input::{Failure, open_state, parse_address, read_module};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use xwasm::monitor::{HistoryFile, Monitor, MonitorConfig, Observer, Report};
use xwasm::{Address, ChainContext, CosmwasmMessage, Transaction, Vm};

/// Calls kept in `DIR/history.jsonl` for reports.
pub const HISTORY_CAPACITY: usize = 10_000;

pub fn history_file(state: &Path) -> Result<HistoryFile, Failure> {
    let path = state.join("history.jsonl");
    HistoryFile::open(&path, HISTORY_CAPACITY)
        .map_err(|e| Failure(format!("cannot open the call history {}: {e}", path.display())))
}

/// Replays the state folder's history into a monitor and renders it.
pub fn report(state: &Path, format: ReportFormat, out: Option<&Path>) -> Result<ExitCode, Failure> {
    if !state.join("state.redb").is_file() {
        return Err(Failure(format!("--state {}: not a state folder (no state.redb)", state.display())));
    }
    let path = state.join("history.jsonl");
    let records = xwasm::monitor::load_history(&path, HISTORY_CAPACITY)
        .map_err(|e| Failure(format!("cannot read the call history {}: {e}", path.display())))?;
    let monitor = Monitor::new(MonitorConfig::default(), Arc::new(xwasm::monitor::TracingAlerts));
    for record in records {
        monitor.record(&Arc::new(record));
    }
    let snapshot = monitor.snapshot();
    let text = match format {
        ReportFormat::Json => Report::new(&snapshot).to_json(),
        ReportFormat::Prometheus => xwasm::monitor::prometheus(&snapshot),
        ReportFormat::Html => xwasm::monitor::dashboard(&snapshot),
    };
    match out {
        Some(out) => {
            std::fs::write(out, text).map_err(|e| Failure(format!("--out {}: {e}", out.display())))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// What to profile.
pub struct ProfileRequest {
    pub target: String,
    pub method: String,
    /// A CosmWasm entry point's message, and instantiate's.
    pub msg: Option<String>,
    pub deploy_msg: String,
    pub state: PathBuf,
    pub input: Vec<u8>,
    pub deploy_input: Vec<u8>,
    pub gas: u64,
    pub runs: u32,
    pub interval_us: u64,
}

const PROFILER: Address = Address([0x9f; 32]);

pub fn profile(request: ProfileRequest, out: &Path, as_json: bool) -> Result<ExitCode, Failure> {
    let chain = ChainContext { block_height: 1, block_time_ms: 0 };
    let path = Path::new(&request.target);
    let looks_like_file =
        path.exists() || request.target.ends_with(".wat") || request.target.ends_with(".wasm");
    let (vm, address) = if looks_like_file {
        let wasm = read_module(path)?;
        let vm = Vm::builder().interruptible(true).build()?;
        if xwasm::cosmwasm::detect(&wasm).is_some() {
            let sender = vm.cosmwasm_address(&PROFILER);
            let message =
                CosmwasmMessage::new(&sender, request.deploy_msg.as_bytes(), crate::cosmwasm::DEPLOY_GAS);
            let deployed = vm.cosmwasm_instantiate(&wasm, &message, None)?;
            let address = deployed.outcome.address.ok_or_else(|| {
                Failure(format!(
                    "instantiating {} failed: {}",
                    path.display(),
                    deployed.outcome.error.unwrap_or_default()
                ))
            })?;
            (vm, address)
        } else {
            let deployed =
                vm.deploy(&wasm, &chain, &Transaction::new(PROFILER, request.gas, request.deploy_input))?;
            let address = deployed.address.ok_or_else(|| {
                Failure(format!(
                    "deploying {} failed: {}",
                    path.display(),
                    deployed.error.unwrap_or_default()
                ))
            })?;
            (vm, address)
        }
    } else {
        let vm = Vm::builder().interruptible(true).backend(Arc::new(open_state(&request.state)?)).build()?;
        let address = match parse_address(&request.target, "TARGET") {
            Ok(address) => address,
            Err(hex_error) => vm.parse_cosmwasm_address(&request.target).map_err(|_| hex_error)?,
        };
        (vm, address)
    };
    let interval = Duration::from_micros(request.interval_us.max(10));
    let profile = if vm.is_cosmwasm_contract(&address)? {
        let msg = request
            .msg
            .clone()
            .ok_or_else(|| Failure("a CosmWasm contract takes its message as --msg JSON".into()))?;
        let sender = vm.cosmwasm_address(&PROFILER);
        let gas =
            if request.gas == crate::args::DEFAULT_GAS { crate::cosmwasm::CALL_GAS } else { request.gas };
        let message = CosmwasmMessage::new(&sender, msg.into_bytes(), gas);
        vm.cosmwasm_profile(&address, &request.method, &message, request.runs, interval)?
    } else {
        let tx = Transaction::new(PROFILER, request.gas, request.input.clone());
        vm.profile(&address, &request.method, &chain, &tx, request.runs, interval)?
    };
    std::fs::write(out, &profile.collapsed).map_err(|e| Failure(format!("--out {}: {e}", out.display())))?;
    let samples = profile.samples.max(1) as f64;
    let gas = profile.outcome.gas_used as f64;
    if as_json {
        let functions: Vec<_> = profile
            .functions
            .iter()
            .map(|f| {
                json!({
                    "function": f.name,
                    "self_samples": f.self_samples,
                    "total_samples": f.total_samples,
                    "self_share": f.self_samples as f64 / samples,
                    "estimated_gas": (gas * f.self_samples as f64 / samples).round(),
                })
            })
            .collect();
        let object = json!({
            "status": profile.outcome.status.as_str(),
            "gas_used": profile.outcome.gas_used,
            "runs": profile.runs,
            "wall_time_ms": profile.wall_time.as_secs_f64() * 1e3,
            "samples": profile.samples,
            "functions": functions,
            "out": out,
        });
        println!("{object}");
    } else {
        println!(
            "{} runs of {} in {:.1} ms: status {}, {} gas per run, {} samples -> {}",
            profile.runs,
            request.method,
            profile.wall_time.as_secs_f64() * 1e3,
            profile.outcome.status,
            profile.outcome.gas_used,
            profile.samples,
            out.display()
        );
        println!("{:<32} {:>8} {:>8} {:>14}", "function", "self %", "total %", "est. gas/run");
        for f in profile.functions.iter().take(15) {
            println!(
                "{:<32} {:>7.1}% {:>7.1}% {:>14.0}",
                f.name,
                100.0 * f.self_samples as f64 / samples,
                100.0 * f.total_samples as f64 / samples,
                gas * f.self_samples as f64 / samples
            );
        }
        if profile.samples == 0 {
            println!("no samples: the method ran for less than one sampling interval; raise --runs");
        }
    }
    Ok(ExitCode::SUCCESS)
}

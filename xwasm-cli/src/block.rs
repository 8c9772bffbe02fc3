//! `xwasm block`: a block file read into transactions, run, and shown.

use crate::args::TxArgs;
use crate::input::{Failure, parse_address, parse_hex, read_module};
use crate::output;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use xwasm::{BlockTransaction, ChainContext, Status, Transaction, Vm};

/// The transactions of the block file at `path`.
pub fn read(path: &Path, defaults: &TxArgs) -> Result<Vec<BlockTransaction>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    let file: Value =
        serde_json::from_str(&text).map_err(|e| Failure(format!("{}: not JSON: {e}", path.display())))?;
    let list = file
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| Failure(format!("{}: expected {{\"transactions\": [...]}}", path.display())))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut modules: BTreeMap<String, Arc<[u8]>> = BTreeMap::new();
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let what = |field: &str| format!("{}: transaction {i}: {field}", path.display());
            let text = |field: &str| -> Result<Option<&str>, Failure> {
                match t.get(field) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s)),
                    Some(_) => Err(Failure(format!("{} must be a string", what(field)))),
                }
            };
            let sender = parse_address(text("sender")?.unwrap_or(&defaults.sender), &what("sender"))?;
            let gas = match t.get("gas") {
                None => defaults.gas(),
                Some(gas) => {
                    gas.as_u64().ok_or_else(|| Failure(format!("{} must be a number", what("gas"))))?
                }
            };
            let input = text("input_hex")?.map(|hex| parse_hex(hex, &what("input_hex"))).transpose()?;
            let tx = Transaction::new(sender, gas, input.unwrap_or_default());
            match (text("deploy")?, text("call")?) {
                (Some(module), None) => {
                    let wasm = match modules.get(module) {
                        Some(wasm) => wasm.clone(),
                        None => {
                            let wasm: Arc<[u8]> = read_module(&folder.join(module))?.into();
                            modules.insert(module.to_owned(), wasm.clone());
                            wasm
                        }
                    };
                    Ok(BlockTransaction::Deploy { wasm, tx })
                }
                (None, Some(address)) => {
                    let address = parse_address(address, &what("call"))?;
                    let method =
                        text("method")?.ok_or_else(|| Failure(format!("{} is missing", what("method"))))?;
                    Ok(BlockTransaction::Call { address, method: method.to_owned(), tx })
                }
                _ => Err(Failure(format!("{}: give exactly one of \"deploy\" and \"call\"", what("kind")))),
            }
        })
        .collect()
}

/// Runs `block` on `threads` threads (0: one per core) and prints it.
pub fn run(
    vm: &Vm,
    chain: &ChainContext,
    block: &[BlockTransaction],
    threads: usize,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("executing {} transactions", block.len()));
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    let result = vm.execute_block(chain, block, threads)?;
    bar.finish_and_clear();
    let all_ok = result.outcomes.iter().all(|o| o.as_ref().is_ok_and(|o| o.status == Status::Ok));
    if as_json {
        let outcomes: Vec<Value> = result
            .outcomes
            .iter()
            .map(|o| match o {
                Ok(outcome) => output::outcome_json(outcome),
                Err(error) => json!({"status": "error", "error": error.to_string()}),
            })
            .collect();
        let report = json!({
            "outcomes": outcomes,
            "threads": result.threads,
            "re_executions": result.re_executions,
            "seconds": result.seconds,
        });
        println!("{report}");
    } else {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut gas = 0u64;
        for outcome in &result.outcomes {
            let status = match outcome {
                Ok(o) => {
                    gas += o.gas_used;
                    o.status.to_string()
                }
                Err(_) => "error".to_owned(),
            };
            *statuses.entry(status).or_default() += 1;
        }
        let summary: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
        println!("transactions  {} ({})", result.outcomes.len(), summary.join(", "));
        println!("gas used      {gas}");
        println!(
            "time          {:.3} s on {} threads, {:.0} transactions/s, {} re-executions",
            result.seconds,
            result.threads,
            result.outcomes.len() as f64 / result.seconds.max(1e-9),
            result.re_executions
        );
        let failed: Vec<(usize, String, String)> = result
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                Ok(o) if o.status == Status::Ok => None,
                Ok(o) => Some((i, o.status.to_string(), o.error.clone().unwrap_or_default())),
                Err(e) => Some((i, "error".to_owned(), e.to_string())),
            })
            .collect();
        if !failed.is_empty() {
            println!("failed:");
            for (i, status, error) in failed {
                println!("  #{i:<5} {status:<10} {error}");
            }
        }
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

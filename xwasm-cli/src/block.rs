//! `xwasm block`: a block file read into transactions, run, and shown.

use crate::args::TxArgs;
use crate::input::{Failure, parse_address, parse_hex, read_module};
use crate::output;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use xwasm::{BlockTransaction, ChainContext, CosmwasmMessage, Status, Transaction, Vm};

/// The transactions of the block file at `path` (CosmWasm addresses are
/// read as `vm` writes them).
pub fn read(vm: &Vm, path: &Path, defaults: &TxArgs) -> Result<Vec<BlockTransaction>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    let file: Value =
        serde_json::from_str(&text).map_err(|e| Failure(format!("{}: not JSON: {e}", path.display())))?;
    let list = file
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| Failure(format!("{}: expected {{\"transactions\": [...]}}", path.display())))?;
    // Each entry's text as written, for CosmWasm messages: a contract gets
    // its message byte for byte, as `xwasm call --msg` passes it.
    let raw: RawBlock = serde_json::from_str(&text)
        .map_err(|e| Failure(format!("{}: each transaction must be a JSON object: {e}", path.display())))?;
    let mut modules = Modules { folder: path.parent().unwrap_or(Path::new(".")), read: BTreeMap::new() };
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let what = |field: &str| format!("{}: transaction {i}: {field}", path.display());
            let text = |field: &str| field_text(t, field, &what);
            if let Some(entry) = text("cosmwasm")? {
                let msg = raw.transactions.get(i).and_then(|t| t.get("msg")).map(|msg| msg.get());
                return cosmwasm_entry(vm, t, msg, entry, defaults, &what, &mut modules);
            }
            let sender = parse_address(text("sender")?.unwrap_or(&defaults.sender), &what("sender"))?;
            let gas = field_gas(t, defaults.gas(), &what)?;
            let input = text("input_hex")?.map(|hex| parse_hex(hex, &what("input_hex"))).transpose()?;
            let tx = Transaction::new(sender, gas, input.unwrap_or_default());
            match (text("deploy")?, text("call")?) {
                (Some(file), None) => Ok(BlockTransaction::Deploy { wasm: modules.get(file)?, tx }),
                (None, Some(address)) => {
                    let address = parse_address(address, &what("call"))?;
                    let method =
                        text("method")?.ok_or_else(|| Failure(format!("{} is missing", what("method"))))?;
                    Ok(BlockTransaction::Call { address, method: method.to_owned(), tx })
                }
                _ => Err(Failure(format!(
                    "{}: give exactly one of \"deploy\", \"call\" and \"cosmwasm\"",
                    what("kind")
                ))),
            }
        })
        .collect()
}

/// A block file with each entry's fields as written.
#[derive(serde::Deserialize)]
struct RawBlock<'a> {
    #[serde(borrow)]
    transactions: Vec<BTreeMap<String, &'a serde_json::value::RawValue>>,
}

/// The modules a block file names, each read once.
struct Modules<'a> {
    /// The block file's folder, which paths are relative to.
    folder: &'a Path,
    read: BTreeMap<String, Arc<[u8]>>,
}

impl Modules<'_> {
    fn get(&mut self, file: &str) -> Result<Arc<[u8]>, Failure> {
        if let Some(wasm) = self.read.get(file) {
            return Ok(wasm.clone());
        }
        let wasm: Arc<[u8]> = read_module(&self.folder.join(file))?.into();
        self.read.insert(file.to_owned(), wasm.clone());
        Ok(wasm)
    }
}

/// The string field `field` of the entry `t`, if present.
fn field_text<'a>(
    t: &'a Value,
    field: &str,
    what: &dyn Fn(&str) -> String,
) -> Result<Option<&'a str>, Failure> {
    match t.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure(format!("{} must be a string", what(field)))),
    }
}

/// The entry's `gas`, or `default`.
fn field_gas(t: &Value, default: u64, what: &dyn Fn(&str) -> String) -> Result<u64, Failure> {
    match t.get("gas") {
        None => Ok(default),
        Some(gas) => gas.as_u64().ok_or_else(|| Failure(format!("{} must be a number", what("gas")))),
    }
}

/// A CosmWasm entry of a block file: `{"cosmwasm": "instantiate", "code":
/// PATH, "admin": ADDR?, ...}`, `{"cosmwasm": "migrate", "contract": ADDR,
/// "code": PATH?, ...}` or `{"cosmwasm": "execute" | "sudo" | EXPORT,
/// "contract": ADDR, ...}`, with `sender` (default
/// --sender), `msg` (JSON), `funds` (`10uatom,5earth`) and `gas` (default:
/// the CLI's for a CosmWasm deployment or call), in cosmwasm-vm's mock
/// block environment, as `xwasm deploy` and `xwasm call` use by default.
#[allow(clippy::too_many_arguments)]
fn cosmwasm_entry(
    vm: &Vm,
    t: &Value,
    msg: Option<&str>,
    entry: &str,
    defaults: &TxArgs,
    what: &dyn Fn(&str) -> String,
    modules: &mut Modules,
) -> Result<BlockTransaction, Failure> {
    let text = |field: &str| field_text(t, field, what);
    let address = |field: &str, text: &str| {
        vm.parse_cosmwasm_address(text).map_err(|e| Failure(format!("{}: {e}", what(field))))
    };
    let sender = address("sender", text("sender")?.unwrap_or(&defaults.sender))?;
    let msg = msg.ok_or_else(|| Failure(format!("{} is missing", what("msg"))))?;
    let funds = match text("funds")? {
        Some(coins) => xwasm::cosmwasm::bank::parse_coins(coins)
            .map_err(|e| Failure(format!("{}: {e}", what("funds"))))?,
        None => Vec::new(),
    };
    let instantiate = entry == "instantiate";
    // As `xwasm deploy` and `xwasm call`: new code gets a deployment's gas.
    let new_code = text("code")?.is_some();
    let default_gas = defaults.gas.unwrap_or(if new_code {
        crate::cosmwasm::DEPLOY_GAS
    } else {
        crate::cosmwasm::CALL_GAS
    });
    let message = CosmwasmMessage {
        sender: vm.cosmwasm_address(&sender),
        funds,
        msg: msg.as_bytes().to_vec(),
        env: xwasm::cosmwasm::BlockEnv::default(),
        gas_limit: field_gas(t, default_gas, what)?,
    };
    if instantiate {
        let code = text("code")?.ok_or_else(|| Failure(format!("{} is missing", what("code"))))?;
        let admin = text("admin")?.map(|admin| address("admin", admin)).transpose()?;
        let admin = admin.map(|admin| vm.cosmwasm_address(&admin));
        return Ok(BlockTransaction::CosmwasmInstantiate { wasm: modules.get(code)?, message, admin });
    }
    if entry == "query" {
        return Err(Failure(format!(
            "{}: a query changes nothing: it has no place in a block",
            what("cosmwasm")
        )));
    }
    let contract = text("contract")?.ok_or_else(|| Failure(format!("{} is missing", what("contract"))))?;
    let contract = address("contract", contract)?;
    match (entry, text("code")?) {
        ("migrate", code) => {
            let new_code = code.map(|code| modules.get(code)).transpose()?;
            Ok(BlockTransaction::CosmwasmMigrate { contract, new_code, message })
        }
        (_, Some(_)) => {
            Err(Failure(format!("{}: `code` goes with `instantiate` and `migrate` only", what("code"))))
        }
        (entry, None) => Ok(BlockTransaction::CosmwasmCall { contract, entry: entry.to_owned(), message }),
    }
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
            .zip(&result.cosmwasm)
            .map(|o| match o {
                (Ok(_), Some(done)) => crate::cosmwasm::outcome_json(vm, done, false),
                (Ok(outcome), None) => output::outcome_json(outcome),
                (Err(error), _) => json!({"status": "error", "error": error.to_string()}),
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

//! The CLI's commands on CosmWasm contracts: the same `deploy`, `call` and
//! `query` as for native ones, with a JSON message, funds and the block
//! environment.

use crate::args::{CosmwasmArgs, TxArgs};
use crate::input::{Failure, parse_hex};
use serde_json::{Value, json};
use std::process::ExitCode;
use xwasm::cosmwasm::{BlockEnv, EntryPoint, bank};
use xwasm::{Address, CosmwasmMessage, CosmwasmOutcome, Status, Vm};

/// Gas of a CosmWasm deployment unless `--gas` says otherwise (CosmWasm
/// gas): storing and compiling hackatom's 296 KB costs about 71 billion,
/// and instantiate runs on what is left.
pub const DEPLOY_GAS: u64 = 1_000_000_000_000;
/// Gas of a CosmWasm call unless `--gas` says otherwise: cosmwasm-vm's
/// testing default, 2,000,000,000 CosmWasm gas.
pub const CALL_GAS: u64 = 2_000_000_000;

/// The message of a command: sender, funds, JSON, block environment.
fn message(vm: &Vm, tx: &TxArgs, args: &CosmwasmArgs, gas: u64) -> Result<CosmwasmMessage, Failure> {
    let sender = vm.parse_cosmwasm_address(&tx.sender).map_err(|e| Failure(format!("--sender: {e}")))?;
    let msg = args
        .msg
        .clone()
        .ok_or_else(|| Failure("a CosmWasm contract takes its message as --msg JSON".into()))?;
    serde_json::from_str::<Value>(&msg).map_err(|e| Failure(format!("--msg: not JSON: {e}")))?;
    let funds = match &args.funds {
        Some(coins) => bank::parse_coins(coins).map_err(|e| Failure(format!("--funds: {e}")))?,
        None => Vec::new(),
    };
    let mut env = BlockEnv {
        height: args.height,
        time_nanos: args.time,
        chain_id: args.chain_id.clone(),
        ..BlockEnv::default()
    };
    env.tx_index = Some(args.tx_index);
    if let Some(hash) = &args.tx_hash {
        let bytes = parse_hex(hash, "--tx-hash")?;
        if bytes.len() != 32 {
            return Err(Failure(format!(
                "--tx-hash: {} bytes, expected 32 (64 hex characters)",
                bytes.len()
            )));
        }
        env.tx_hash = bytes;
    }
    Ok(CosmwasmMessage {
        sender: vm.cosmwasm_address(&sender),
        funds,
        msg: msg.into_bytes(),
        env,
        gas_limit: gas,
    })
}

pub fn deploy(
    vm: &Vm,
    wasm: &[u8],
    tx: &TxArgs,
    args: &CosmwasmArgs,
    admin: Option<&str>,
) -> Result<ExitCode, Failure> {
    let message = message(vm, tx, args, tx.gas.unwrap_or(DEPLOY_GAS))?;
    let admin = admin
        .map(|a| vm.parse_cosmwasm_address(a).map(|a| vm.cosmwasm_address(&a)))
        .transpose()
        .map_err(|e| Failure(format!("--admin: {e}")))?;
    let done = vm.cosmwasm_instantiate(wasm, &message, admin.as_deref())?;
    print(vm, &done, tx.json, false);
    Ok(exit_for(&done))
}

pub fn call(
    vm: &Vm,
    address: &Address,
    entry: Option<&str>,
    tx: &TxArgs,
    args: &CosmwasmArgs,
    code: Option<&[u8]>,
    read_only: bool,
) -> Result<ExitCode, Failure> {
    let mut message =
        message(vm, tx, args, tx.gas.unwrap_or(if code.is_some() { DEPLOY_GAS } else { CALL_GAS }))?;
    let done = match (read_only, entry) {
        (true, None | Some("query")) => {
            message.sender = vm.cosmwasm_address(address);
            vm.cosmwasm_call_export(address, "query", &message)?
        }
        (true, Some(other)) => {
            return Err(Failure(format!("a CosmWasm query takes no entry point (got `{other}`): use --msg")));
        }
        (false, None) => {
            return Err(Failure("name the entry point: execute, migrate, sudo (or an export)".into()));
        }
        (false, Some("migrate")) => vm.cosmwasm_migrate(address, code, &message)?,
        (false, Some(_)) if code.is_some() => return Err(Failure("--code goes with `migrate` only".into())),
        (false, Some("instantiate")) => {
            return Err(Failure("`instantiate` runs when the contract is deployed (xwasm deploy)".into()));
        }
        (false, Some(entry)) => match entry.parse::<EntryPoint>() {
            Ok(entry) => vm.cosmwasm_call(address, entry, &message)?,
            Err(_) => vm.cosmwasm_call_export(address, entry, &message)?,
        },
    };
    print(vm, &done, tx.json, read_only);
    Ok(exit_for(&done))
}

fn exit_for(done: &CosmwasmOutcome) -> ExitCode {
    if done.outcome.status == Status::Ok { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

/// The outcome object of ABI.md, plus `profile`, `result` (the
/// contract's `ContractResult` as returned), `gas_report` and `debug`; a
/// query's `ok` stays base64, and `data` holds it decoded.
pub fn outcome_json(vm: &Vm, done: &CosmwasmOutcome, query: bool) -> Value {
    let mut object = crate::output::outcome_json(&done.outcome);
    object["profile"] = json!("cosmwasm");
    object["contract"] = json!(done.contract);
    if let Some(address) = done.outcome.address {
        object["address"] = json!(vm.cosmwasm_address(&address));
        object["address_hex"] = json!(address.to_hex());
    }
    object["result"] =
        done.result.as_ref().and_then(|r| serde_json::from_slice(r).ok()).unwrap_or(Value::Null);
    object["gas_report"] = serde_json::to_value(done.gas_report).expect("plain data");
    object["code_gas"] = json!(done.code_gas);
    object["debug"] = json!(done.debug);
    if query && let Some(Value::String(ok)) = done.ok() {
        object["data"] = match cosmwasm_std::Binary::from_base64(&ok) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(hex::encode(bytes.as_slice())))
            }
            Err(_) => Value::Null,
        };
    }
    object
}

fn print(vm: &Vm, done: &CosmwasmOutcome, as_json: bool, query: bool) {
    let object = outcome_json(vm, done, query);
    if as_json {
        println!("{object}");
        return;
    }
    let outcome = &done.outcome;
    let mut lines = vec![
        "profile   cosmwasm".to_owned(),
        format!("status    {}", outcome.status),
        format!("gas used  {} of {}", outcome.gas_used, outcome.gas_limit),
    ];
    if done.code_gas > 0 {
        lines.push(format!("code gas  {} (storing and compiling the code)", done.code_gas));
    }
    let report = done.gas_report;
    lines.push(format!(
        "gas report  limit {}, remaining {}, used internally {}, externally {}",
        report.limit, report.remaining, report.used_internally, report.used_externally
    ));
    if !done.contract.is_empty() {
        lines.push(format!("contract  {}", done.contract));
    }
    if let Some(error) = &outcome.error {
        lines.push(format!("error     {error}"));
    }
    for message in &done.debug {
        lines.push(format!("debug     {message}"));
    }
    if let Some(data) = object.get("data") {
        lines.push(format!("data\n{}", serde_json::to_string_pretty(data).expect("JSON")));
    }
    if !object["result"].is_null() {
        lines.push(format!("result\n{}", serde_json::to_string_pretty(&object["result"]).expect("JSON")));
    }
    println!("{}", lines.join("\n"));
}

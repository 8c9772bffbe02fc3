//! The `xwasm` command-line tool: run functions, deploy and call contracts
//! against a persistent state folder, inspect modules, and a demo.
//!
//! Exit status: 0 when the command succeeded and the call's status is
//! `ok`; 2 when a call ran but ended in another status (the outcome is
//! printed); 1 on any error, reported as one line on stderr.

mod args;
mod block;
mod cosmwasm;
mod demo;
mod input;
mod maintain;
mod observe;
mod optimize;
mod output;

use args::{CallArgs, Cli, Command, ExecArgs, StrategyArg, TxArgs};
use clap::Parser;
use input::{Failure, open_state, parse_address, parse_hex, parse_optional_hex, read_module};
use std::process::ExitCode;
use std::sync::Arc;
use xwasm::engine::Strategy;
use xwasm::security::{JsonLinesAudit, Profile};
use xwasm::{ChainContext, Outcome, Status, Transaction, Vm, VmBuilder, VmConfig};

fn main() -> ExitCode {
    let cli = Cli::parse();
    input::LOCK_TIMEOUT.set(std::time::Duration::from_secs(cli.lock_timeout)).expect("set once, here");
    match run(cli.command) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(1)
        }
    }
}

fn exit_for(outcome: &Outcome) -> ExitCode {
    if outcome.status == Status::Ok { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

/// The VM configuration: the `--config` file if given, then the flags.
fn vm_config(exec: &ExecArgs) -> Result<VmConfig, Failure> {
    let mut config = match &exec.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("--config {}: {e}", path.display())))?;
            toml::from_str(&text)
                .map_err(|e| Failure(format!("--config {}: {}", path.display(), e.message())))?
        }
        None => VmConfig::default(),
    };
    if let Some(strategy) = exec.strategy {
        config.engine.strategy = match strategy {
            StrategyArg::Cranelift => Strategy::Cranelift,
            StrategyArg::Winch => Strategy::Winch,
        };
    }
    if let Some(ms) = exec.timeout_ms {
        config.timeout_ms = Some(ms);
    }
    Ok(config)
}

fn builder(exec: &ExecArgs) -> Result<VmBuilder, Failure> {
    Ok(Vm::builder().config(vm_config(exec)?))
}

/// A VM on the state folder, auditing to `DIR/audit.jsonl`, with its disk
/// tier in `DIR/cache` unless `--cache-dir` says otherwise.
fn chain_vm(tx: &TxArgs, exec: &ExecArgs) -> Result<Vm, Failure> {
    let backend = open_state(&tx.state)?;
    let audit_path = tx.state.join("audit.jsonl");
    let audit = JsonLinesAudit::open(&audit_path)
        .map_err(|e| Failure(format!("cannot open the audit log {}: {e}", audit_path.display())))?;
    let cache_dir = tx.cache_dir.clone().unwrap_or_else(|| tx.state.join("cache"));
    let history = observe::history_file(&tx.state)?;
    Ok(builder(exec)?
        .backend(Arc::new(backend))
        .audit(Arc::new(audit))
        .cache_dir(cache_dir)
        .observer(Arc::new(history))
        .build()?)
}

fn transaction(tx: &TxArgs, input: Vec<u8>) -> Result<(ChainContext, Transaction), Failure> {
    let sender = parse_address(&tx.sender, "--sender")?;
    let chain = ChainContext { block_height: tx.block_height, block_time_ms: tx.block_time };
    Ok((chain, Transaction::new(sender, tx.gas(), input)))
}

/// An address as 64 hex characters or, for CosmWasm contracts, bech32.
fn any_address(vm: &Vm, text: &str, what: &str) -> Result<xwasm::Address, Failure> {
    match parse_address(text, what) {
        Ok(address) => Ok(address),
        Err(hex_error) => vm.parse_cosmwasm_address(text).map_err(|_| hex_error),
    }
}

fn call_command(call: CallArgs, read_only: bool) -> Result<ExitCode, Failure> {
    let vm = chain_vm(&call.tx, &call.exec)?;
    let address = any_address(&vm, &call.addr, "ADDR")?;
    if vm.is_cosmwasm_contract(&address)? {
        let code = call.code.as_deref().map(read_module).transpose()?;
        return cosmwasm::call(
            &vm,
            &address,
            call.method.as_deref(),
            &call.tx,
            &call.cosmwasm,
            code.as_deref(),
            read_only,
        );
    }
    if call.cosmwasm.msg.is_some() || call.code.is_some() {
        return Err(Failure(format!(
            "contract {address} is a native contract: --msg and --code are for CosmWasm ones"
        )));
    }
    let method = call.method.ok_or_else(|| Failure("name the method to call".into()))?;
    let input = match (call.input, call.input_str) {
        (Some(hex), _) => parse_hex(&hex, "--input")?,
        (None, Some(text)) => text.into_bytes(),
        (None, None) => Vec::new(),
    };
    let (chain, transaction) = transaction(&call.tx, input)?;
    let outcome = if read_only {
        vm.query(&address, &method, &chain, &transaction)?
    } else {
        vm.call(&address, &method, &chain, &transaction)?
    };
    output::print_outcome(&outcome, call.tx.json);
    Ok(exit_for(&outcome))
}

/// `xwasm bank set|show`.
fn bank(action: args::BankAction) -> Result<ExitCode, Failure> {
    let (addr, state) = match &action {
        args::BankAction::Set { addr, state, .. } | args::BankAction::Show { addr, state, .. } => {
            (addr, state)
        }
    };
    let vm = Vm::builder().backend(Arc::new(open_state(state)?)).build()?;
    let holder = vm.cosmwasm_address(&any_address(&vm, addr, "ADDR")?);
    match action {
        args::BankAction::Set { coins, .. } => {
            let coins =
                xwasm::cosmwasm::bank::parse_coins(&coins).map_err(|e| Failure(format!("COINS: {e}")))?;
            vm.cosmwasm_set_balances(&holder, &coins)?;
        }
        args::BankAction::Show { json, .. } => {
            let coins = vm.cosmwasm_balances(&holder)?;
            if json {
                println!("{}", serde_json::json!({ "address": holder, "balances": coins }));
            } else {
                let list: Vec<String> = coins.iter().map(|c| format!("{}{}", c.amount, c.denom)).collect();
                println!(
                    "{holder}  {}",
                    if list.is_empty() { "(no balances)".to_owned() } else { list.join(",") }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Run { file, func, args, gas, json, policy, exec } => {
            let wasm = read_module(&file)?;
            let profile: Profile = policy.parse().map_err(Failure)?;
            let vm = builder(&exec)?.profile(profile).build()?;
            let ty = vm
                .function_type(&wasm, &func)?
                .ok_or_else(|| Failure(format!("{}: no exported function `{func}`", file.display())))?;
            let params = input::parse_params(&func, &ty, &args)?;
            let run = vm.run_function(&wasm, &func, &params, gas)?;
            output::print_run(&run, json);
            Ok(exit_for(&run.outcome))
        }
        Command::Deploy { file, tx, input, cosmwasm, admin, exec } => {
            let wasm = read_module(&file)?;
            let vm = chain_vm(&tx, &exec)?;
            if xwasm::cosmwasm::detect(&wasm).is_some() {
                return cosmwasm::deploy(&vm, &wasm, &tx, &cosmwasm, admin.as_deref());
            }
            if cosmwasm.msg.is_some() {
                return Err(Failure(format!(
                    "{}: not a CosmWasm contract (no interface_version_8 export): --msg is for CosmWasm contracts",
                    file.display()
                )));
            }
            let input = parse_optional_hex(input.as_deref(), "--input")?;
            let (chain, transaction) = transaction(&tx, input)?;
            let outcome = vm.deploy(&wasm, &chain, &transaction)?;
            output::print_outcome(&outcome, tx.json);
            Ok(exit_for(&outcome))
        }
        Command::Call(call) => call_command(call, false),
        Command::Block { file, tx, threads, sequential, exec } => {
            let vm = chain_vm(&tx, &exec)?;
            let block = block::read(&vm, &file, &tx)?;
            let chain = ChainContext { block_height: tx.block_height, block_time_ms: tx.block_time };
            let threads = if sequential { 1 } else { threads.unwrap_or(0) };
            block::run(&vm, &chain, &block, threads, tx.json)
        }
        Command::Query(call) => call_command(call, true),
        Command::Bank { action } => bank(action),
        Command::State { addr, state, json } => {
            let vm = Vm::builder().backend(Arc::new(open_state(&state)?)).build()?;
            let address = any_address(&vm, &addr, "ADDR")?;
            let entries = vm.storage(&address)?;
            if json {
                println!("{}", output::storage_json(&entries));
            } else {
                println!("{}", output::storage_text(&address, &entries));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { file, json, policy } => {
            let profile: Profile = policy.parse().map_err(Failure)?;
            let wasm = read_module(&file)?;
            let vm = Vm::builder().profile(profile).build()?;
            let info = vm.inspect(&wasm)?;
            // A CosmWasm contract: its profile, interface version, entry
            // points and capabilities, and cosmwasm-vm's verdict.
            let cosmwasm = xwasm::cosmwasm::detect(&wasm).map(|marker| {
                let config = &vm.config().cosmwasm;
                let checked = xwasm::cosmwasm::check_wasm(&wasm, &config.capabilities, &config.limits);
                let mut object = serde_json::json!({ "profile": "cosmwasm", "interface_version": marker });
                match checked {
                    Ok(contract) => {
                        object["accepted"] = true.into();
                        object["entry_points"] = serde_json::json!(contract.entry_points);
                        object["required_capabilities"] = serde_json::json!(contract.required_capabilities);
                        object["migrate_version"] = serde_json::json!(contract.migrate_version);
                    }
                    Err(refused) => {
                        object["accepted"] = false.into();
                        object["reason"] = refused.to_string().into();
                    }
                }
                object
            });
            if json {
                let mut object = serde_json::to_value(&info).expect("plain data serializes");
                if let Some(cosmwasm) = cosmwasm {
                    object["cosmwasm"] = cosmwasm;
                }
                println!("{}", serde_json::to_string_pretty(&object).expect("JSON"));
            } else {
                println!("{}", output::info_text(&info));
                if let Some(cosmwasm) = cosmwasm {
                    println!(
                        "\ncosmwasm profile ({}):",
                        cosmwasm["interface_version"].as_str().unwrap_or_default()
                    );
                    for key in
                        ["accepted", "reason", "entry_points", "required_capabilities", "migrate_version"]
                    {
                        if let Some(value) = cosmwasm.get(key) {
                            println!("  {key:<22} {value}");
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Optimize { file, out, passes, call, input, msg, deploy, json } => {
            let request = optimize::Request { file, out, passes, call, input, msg, deploy, json };
            optimize::run(request)
        }
        Command::Demo => demo::run(),
        Command::Report { state, format, out } => observe::report(&state, format, out.as_deref()),
        Command::Profile {
            target,
            method,
            msg,
            deploy_msg,
            state,
            input,
            deploy_input,
            gas,
            runs,
            interval_us,
            out,
            json,
        } => {
            let input = parse_optional_hex(input.as_deref(), "--input")?;
            let deploy_input = parse_optional_hex(deploy_input.as_deref(), "--deploy-input")?;
            let request = observe::ProfileRequest {
                target,
                method,
                msg,
                deploy_msg,
                state,
                input,
                deploy_input,
                gas,
                runs,
                interval_us,
            };
            observe::profile(request, &out, json)
        }
        Command::Precompile { files, cache_dir, policy, jobs, target, json, exec } => {
            let profile: Profile = policy.parse().map_err(Failure)?;
            let mut config = vm_config(&exec)?;
            config.profile = profile;
            config.engine.target = target;
            maintain::precompile(&files, &cache_dir, config, jobs, json)
        }
        Command::Cache { action, state, cache_dir, json, exec } => {
            let cache_dir = cache_dir.unwrap_or_else(|| state.join("cache"));
            maintain::cache(action, &state, &cache_dir, &vm_config(&exec)?, json)
        }
    }
}

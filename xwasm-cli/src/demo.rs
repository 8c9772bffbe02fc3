//! `xwasm demo`: the example token, end to end, in a temporary state folder.

use crate::input::{Failure, open_state};
use std::process::ExitCode;
use std::sync::Arc;
use xwasm::{Address, ChainContext, Outcome, Transaction, Vm};

const TOKEN: &str = include_str!("../../examples/contracts/token.wat");
/// CosmWasm's hackatom, as cosmwasm-vm's tests use it.
const HACKATOM: &[u8] = include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm");
const GAS: u64 = 10_000_000;

fn transfer_input(to: &Address, amount: u64) -> Vec<u8> {
    [to.0.as_slice(), &amount.to_le_bytes()].concat()
}

fn balance(outcome: &Outcome) -> String {
    match <[u8; 8]>::try_from(outcome.return_data.as_slice()) {
        Ok(bytes) => u64::from_le_bytes(bytes).to_string(),
        Err(_) => "-".to_owned(),
    }
}

pub fn run() -> Result<ExitCode, Failure> {
    let folder = tempfile::tempdir()?;
    let state = folder.path().join("state");
    let vm = Vm::builder().backend(Arc::new(open_state(&state)?)).build()?;
    let chain = ChainContext { block_height: 1, block_time_ms: 1_700_000_000_000 };
    let names = ["alice", "bob", "carol"];
    let [alice, bob, carol] = [Address([0xa1; 32]), Address([0xb0; 32]), Address([0xc4; 32])];
    let name_of = |a: &Address| names[[alice, bob, carol].iter().position(|x| x == a).unwrap_or(0)];

    println!("xwasm demo: the example token in {}", state.display());
    let wasm = wat::parse_str(TOKEN)?;
    let deployed = vm.deploy(&wasm, &chain, &Transaction::new(alice, GAS, 1_000u64.to_le_bytes()))?;
    let token = deployed.address.ok_or_else(|| Failure(format!("deploy failed: {:?}", deployed.error)))?;
    println!(
        "deployed  {token}  status {}  gas {}  (alice mints 1000)\n",
        deployed.status, deployed.gas_used
    );

    println!("{:<28} {:<8} {:>7}  detail", "step", "status", "gas");
    let steps = [(alice, bob, 250u64), (bob, carol, 100), (carol, alice, 5_000), (alice, alice, 10)];
    for (from, to, amount) in steps {
        let outcome =
            vm.call(&token, "transfer", &chain, &Transaction::new(from, GAS, transfer_input(&to, amount)))?;
        let detail = match &outcome.error {
            Some(error) => error.clone(),
            None => format!("{} event", outcome.events.len()),
        };
        let step = format!("transfer {amount} {} -> {}", name_of(&from), name_of(&to));
        println!("{step:<28} {:<8} {:>7}  {detail}", outcome.status.as_str(), outcome.gas_used);
    }
    println!();
    for who in [alice, bob, carol] {
        let outcome = vm.call(&token, "balance_of", &chain, &Transaction::new(alice, GAS, who.0.to_vec()))?;
        println!("balance_of {:<6} = {:>5}   (gas {})", name_of(&who), balance(&outcome), outcome.gas_used);
    }
    let metrics = vm.monitor().expect("monitoring is on by default").snapshot();
    println!(
        "\n{} calls, {} gas in all; the failed transfer changed nothing.",
        metrics.calls, metrics.gas_used
    );
    cosmwasm(&vm)?;
    Ok(ExitCode::SUCCESS)
}

/// The same VM runs an unmodified CosmWasm contract: hackatom.
fn cosmwasm(vm: &Vm) -> Result<(), Failure> {
    use xwasm::cosmwasm::{Bech32Api, EntryPoint, bank};
    let api = Bech32Api::default();
    let [creator, verifier, beneficiary] =
        ["creator", "verifies", "benefits"].map(|name| api.addr_make(name));
    println!(
        "\nxwasm demo, part 2: CosmWasm's hackatom ({} bytes), unmodified, with cosmwasm-vm's gas",
        HACKATOM.len()
    );
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let mut message = xwasm::CosmwasmMessage::new(&creator, init.as_bytes(), crate::cosmwasm::DEPLOY_GAS);
    message.funds = bank::parse_coins("1000earth").map_err(Failure)?;
    let deployed = vm.cosmwasm_instantiate(HACKATOM, &message, None)?;
    let show = |step: &str, done: &xwasm::CosmwasmOutcome| {
        let result = done.result.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        let result = if result.len() > 90 { format!("{}...", &result[..90]) } else { result.into_owned() };
        println!(
            "{step:<28} {:<6} gas {:>10}  {}",
            done.outcome.status.as_str(),
            done.outcome.gas_used - done.code_gas,
            if result.is_empty() { done.outcome.error.clone().unwrap_or_default() } else { result }
        );
    };
    show("instantiate (1000earth)", &deployed);
    println!("{:<28}        code gas {} (storing and compiling)", "", deployed.code_gas);
    let address = deployed.outcome.address.ok_or_else(|| Failure("hackatom did not deploy".into()))?;
    let query =
        vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &Default::default(), crate::cosmwasm::CALL_GAS)?;
    show("query verifier", &query);
    let release = br#"{"release":{"denom":"earth"}}"#;
    let refused = vm.cosmwasm_call(
        &address,
        EntryPoint::Execute,
        &xwasm::CosmwasmMessage::new(&beneficiary, release.as_slice(), crate::cosmwasm::CALL_GAS),
    )?;
    show("release by the beneficiary", &refused);
    let released = vm.cosmwasm_call(
        &address,
        EntryPoint::Execute,
        &xwasm::CosmwasmMessage::new(&verifier, release.as_slice(), crate::cosmwasm::CALL_GAS),
    )?;
    show("release by the verifier", &released);
    println!("contract {}: the bank send in the response is the chain's to dispatch.", deployed.contract);
    Ok(())
}

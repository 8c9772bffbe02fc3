//! `xwasm demo`: the example token, end to end, in a temporary state folder.

use crate::input::{Failure, open_state};
use std::process::ExitCode;
use std::sync::Arc;
use xwasm::{Address, ChainContext, Outcome, Transaction, Vm};

const TOKEN: &str = include_str!("../../examples/contracts/token.wat");
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
    Ok(ExitCode::SUCCESS)
}

//! The same scripted messages through cosmwasm-vm 3.0.10 and xwasm, on
//! the corpus's CosmWasm contracts: equal result bytes (successes and
//! contract errors), failures where cosmwasm-vm fails, equal debug
//! messages, equal final storage.

use cosmwasm_std::coins;
use xwasm::cosmwasm::Bech32Api;
use xwasm_peers::Pair;

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn addr(name: &str) -> String {
    Bech32Api::default().addr_make(name)
}

#[test]
fn hackatom_scripted() {
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let (mut pair, deployed) = Pair::instantiate(&corpus("hackatom.wasm"), &creator, &init, &coins(1000, "earth"));
    deployed.assert_agree("instantiate");
    pair.assert_storage_equal();
    pair.query(r#"{"verifier":{}}"#).assert_agree("query verifier");
    pair.query(r#"{"get_int":{}}"#).assert_agree("query get_int");
    pair.query(r#"{"panic":{}}"#).assert_agree("query panic");
    pair.query(r#"{"nonsense":{}}"#).assert_agree("query unknown");
    pair.execute(&beneficiary, r#"{"release":{"denom":"earth"}}"#, &[]).assert_agree("release from the beneficiary");
    pair.execute(&verifier, r#"{"release":{"denom":"earth"}}"#, &coins(15, "earth")).assert_agree("release");
    pair.execute(&creator, r#"{"user_errors_in_api_calls":{}}"#, &[]).assert_agree("user errors in api calls");
    pair.execute(&creator, r#"{"panic":{}}"#, &[]).assert_agree("panic");
    pair.execute(&creator, r#"{"allocate_large_memory":{"pages":48}}"#, &[]).assert_agree("allocate 48 pages");
    pair.execute(&creator, r#"{"allocate_large_memory":{"pages":1600}}"#, &[]).assert_agree("allocate 1600 pages");
    pair.execute(&creator, r#"{"message_loop":{}}"#, &[]).assert_agree("message loop");
    pair.execute(&creator, r#"{"cpu_loop":{}}"#, &[]).assert_agree("cpu loop");
    pair.execute(&creator, r#"{"memory_loop":{}}"#, &[]).assert_agree("memory loop");
    pair.execute(&creator, "not json at all", &[]).assert_agree("a message that is not JSON");
    let recipient = addr("community-pool");
    let steal = format!(r#"{{"steal_funds":{{"recipient":"{recipient}","amount":[{{"denom":"gold","amount":"700"}}]}}}}"#);
    pair.sudo(&steal).assert_agree("sudo steal_funds");
    let other = addr("someone else");
    pair.migrate(&creator, &format!(r#"{{"verifier":"{other}"}}"#)).assert_agree("migrate");
    pair.query(r#"{"verifier":{}}"#).assert_agree("query verifier after migrate");
    pair.assert_storage_equal();
}

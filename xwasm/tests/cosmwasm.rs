//! CosmWasm contracts of the corpus through the library: the
//! expectations of COSMWASM.md section 8 that concern results and state.

use xwasm::cosmwasm::{Bech32Api, EntryPoint};
use xwasm::{CosmwasmMessage, Status, Vm};

/// Gas of a call (xwasm gas: hackatom's calls take about 200,000).
const GAS: u64 = 100_000_000;
/// Gas of a deployment: storing and compiling hackatom's 180 KB costs
/// about 400 million.
const DEPLOY_GAS: u64 = 10_000_000_000;

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn addr(name: &str) -> String {
    Bech32Api::default().addr_make(name)
}

fn message(sender: &str, msg: &str) -> CosmwasmMessage {
    CosmwasmMessage::new(sender, msg.as_bytes(), GAS)
}

fn ok_json(outcome: &xwasm::CosmwasmOutcome) -> serde_json::Value {
    assert_eq!(outcome.outcome.status, Status::Ok, "{:?}", outcome.outcome.error);
    outcome.ok().expect("an ok result")
}

#[test]
fn hackatom_instantiates_answers_and_releases_funds() {
    let vm = Vm::builder().build().unwrap();
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let mut deploy = message(&creator, &init);
    deploy.gas_limit = DEPLOY_GAS;
    deploy.funds = xwasm::cosmwasm::bank::parse_coins("1000earth").unwrap();
    let deployed = vm.cosmwasm_instantiate(&corpus("hackatom.wasm"), &deploy, None).unwrap();
    let response = ok_json(&deployed);
    assert_eq!(response["messages"], serde_json::json!([]));
    assert_eq!(response["attributes"], serde_json::json!([{"key": "Let the", "value": "hacking begin"}]));
    assert_eq!(deployed.debug, vec!["here we go 🚀".to_owned()]);
    let address = deployed.outcome.address.unwrap();
    let state = vm.storage(&address).unwrap();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].0, b"config");
    let stored: serde_json::Value = serde_json::from_slice(&state[0].1).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"verifier": verifier, "beneficiary": beneficiary, "funder": creator})
    );

    let query = vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &Default::default(), GAS).unwrap();
    let data = ok_json(&query);
    let decoded = base64_decode(data.as_str().unwrap());
    assert_eq!(decoded, format!(r#"{{"verifier":"{verifier}"}}"#).into_bytes());

    // Only the verifier may release; an error leaves state as it was.
    let refused = vm
        .cosmwasm_call(
            &address,
            EntryPoint::Execute,
            &message(&beneficiary, r#"{"release":{"denom":"earth"}}"#),
        )
        .unwrap();
    assert_eq!(refused.outcome.status, Status::Abort);
    assert!(
        refused.outcome.error.as_deref().unwrap().contains("Unauthorized"),
        "{:?}",
        refused.outcome.error
    );
    assert_eq!(vm.storage(&address).unwrap(), state);

    let released = vm
        .cosmwasm_call(&address, EntryPoint::Execute, &message(&verifier, r#"{"release":{"denom":"earth"}}"#))
        .unwrap();
    let response = ok_json(&released);
    assert_eq!(
        response["messages"],
        serde_json::json!([{"id": 0, "payload": "", "msg": {"bank": {"send": {"to_address": beneficiary, "amount": [{"denom": "earth", "amount": "1000"}]}}}, "gas_limit": null, "reply_on": "never"}])
    );
    assert_eq!(
        response["attributes"],
        serde_json::json!([{"key": "action", "value": "release"}, {"key": "destination", "value": beneficiary}])
    );
    assert_eq!(response["data"], "8Auq");
}

fn base64_decode(text: &str) -> Vec<u8> {
    cosmwasm_std::Binary::from_base64(text).unwrap().to_vec()
}

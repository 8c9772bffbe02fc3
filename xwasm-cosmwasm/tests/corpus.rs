//! The corpus's real contracts through the upload checks, with the
//! verdicts and messages cosmwasm-vm 3.0.10 gives them (COSMWASM.md,
//! sections 3, 4 and 9; `packages/vm/src/compatibility.rs`).

use std::collections::BTreeSet;
use xwasm_cosmwasm::{
    CheckError, WasmLimits, capabilities_from_csv, check_wasm, default_capabilities, detect,
};

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../shared/corpus/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn check(name: &str, capabilities: &BTreeSet<String>) -> Result<xwasm_cosmwasm::ContractInfo, CheckError> {
    check_wasm(&corpus(name), capabilities, &WasmLimits::default())
}

fn with_stargate() -> BTreeSet<String> {
    let capabilities = default_capabilities();
    assert!(capabilities.contains("stargate"), "the default set offers stargate, as chains do");
    capabilities
}

#[test]
fn every_interface_version_8_contract_is_accepted() {
    for name in [
        "hackatom.wasm",
        "hackatom_1.0.wasm",
        "hackatom_1.2.wasm",
        "hackatom_1.3.wasm",
        "cyberpunk.wasm",
        "cyberpunk_rust170.wasm",
        "floaty_1.0.wasm",
        "floaty_1.2.wasm",
        "floaty_2.0.wasm",
        "empty.wasm",
        "ibc_reflect.wasm",
        "ibc_reflect_1.0.wasm",
        "ibc_reflect_1.2.wasm",
        "ibc_callbacks.wasm",
        "ibc2.wasm",
    ] {
        assert_eq!(detect(&corpus(name)).as_deref(), Some("interface_version_8"), "{name}");
        let info = check(name, &with_stargate()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(info.imports.iter().all(|i| i.starts_with("env.")), "{name}");
    }
}

#[test]
fn hackatom_is_described_as_cosmwasm_vm_sees_it() {
    let info = check("hackatom.wasm", &default_capabilities()).unwrap();
    // Expectation 1: seven required capabilities, cosmwasm_1_1 to 2_2.
    assert_eq!(
        info.required_capabilities,
        capabilities_from_csv(
            "cosmwasm_1_1,cosmwasm_1_2,cosmwasm_1_3,cosmwasm_1_4,cosmwasm_2_0,cosmwasm_2_1,cosmwasm_2_2"
        )
    );
    for entry in ["instantiate", "execute", "query", "migrate", "sudo"] {
        assert!(info.entry_points.iter().any(|e| e == entry), "{entry} in {:?}", info.entry_points);
    }
    assert_eq!(info.migrate_version, Some(420));
    assert_eq!(check("hackatom_1.3.wasm", &default_capabilities()).unwrap().migrate_version, Some(42));
    assert!(info.imports.contains(&"env.bls12_381_hash_to_g1".to_owned()));
    let ibc = check("ibc_reflect.wasm", &with_stargate()).unwrap();
    for entry in [
        "ibc_channel_open",
        "ibc_channel_connect",
        "ibc_channel_close",
        "ibc_packet_receive",
        "ibc_packet_ack",
        "ibc_packet_timeout",
        "reply",
    ] {
        assert!(ibc.entry_points.iter().any(|e| e == entry), "{entry}");
    }
}

#[test]
fn a_missing_capability_is_refused_naming_it() {
    // cosmwasm-vm's test instances without their stargate feature lack
    // "stargate", which ibc_reflect requires.
    let mut without_stargate = default_capabilities();
    without_stargate.remove("stargate");
    let err = check("ibc_reflect.wasm", &without_stargate).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error during static Wasm validation: Wasm contract requires unavailable capabilities: {\"stargate\"}"
    );
    let err = check("hackatom.wasm", &capabilities_from_csv("iterator,cosmwasm_1_1")).unwrap_err();
    assert_eq!(
        err.0,
        "Wasm contract requires unavailable capabilities: {\"cosmwasm_1_2\", \"cosmwasm_1_3\", \"cosmwasm_1_4\", \"cosmwasm_2_0\", \"cosmwasm_2_1\", \"cosmwasm_2_2\"}"
    );
}

#[test]
fn older_markers_are_refused_with_cosmwasm_vms_words() {
    let unknown = "Wasm contract has unknown interface_version_* marker export (see https://github.com/CosmWasm/cosmwasm/blob/main/packages/vm/README.md)";
    assert_eq!(detect(&corpus("hackatom_0.16.wasm")).as_deref(), Some("interface_version_7"));
    assert_eq!(check("hackatom_0.16.wasm", &with_stargate()).unwrap_err().0, unknown);
    assert_eq!(check("floaty_0.16.wasm", &with_stargate()).unwrap_err().0, unknown);
    assert_eq!(check("ibc_reflect_0.14.wasm", &with_stargate()).unwrap_err().0, unknown);
    let missing = "Wasm contract missing a required marker export: interface_version_*";
    for name in ["hackatom_0.12.wasm", "hackatom_0.7.wasm"] {
        assert_eq!(check(name, &with_stargate()).unwrap_err().0, missing, "{name}");
    }
    assert_eq!(detect(&corpus("hackatom_0.12.wasm")).as_deref(), Some("cosmwasm_vm_version_4"));
    // corrupted.wasm (a 0.7 contract with 8 bytes overwritten inside a
    // function body) is refused for its marker: as in cosmwasm-vm's
    // check_wasm, function bodies are validated only after every other
    // check.
    assert_eq!(check("corrupted.wasm", &with_stargate()).unwrap_err().0, missing);
}

/// A minimal contract with `extra` items (imports allowed: they come
/// first).
fn contract(memory: &str, extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module {extra} {memory}
            (func (export "allocate") (param i32) (result i32) (local.get 0))
            (func (export "deallocate") (param i32))
            (func (export "interface_version_8")))"#
    ))
    .unwrap()
}

#[test]
fn each_upload_check_refuses_with_its_message() {
    let caps = default_capabilities();
    let limits = WasmLimits::default();
    let refused = |wasm: Vec<u8>| check_wasm(&wasm, &caps, &limits).unwrap_err().0;
    assert_eq!(refused(contract("", "")), "Wasm contract must contain exactly one memory");
    assert_eq!(
        refused(contract("(memory 513)", "")),
        "Wasm contract memory's minimum must not exceed 512 pages."
    );
    assert_eq!(
        refused(contract("(memory 1 2)", "")),
        "Wasm contract memory's maximum must be unset. The host will set it for you."
    );
    assert_eq!(
        refused(contract("(memory 1)", "(table 3 funcref)")),
        "Wasm contract must not have unbound table section"
    );
    assert_eq!(
        refused(contract("(memory 1)", "(table 3 2501 funcref)")),
        "Wasm contract's first table section has a too large max limit"
    );
    assert_eq!(
        refused(contract("(memory 1)", "(table 1 1 funcref) (table 1 1 funcref)")),
        "Wasm contract must not have more than 1 table section"
    );
    assert_eq!(
        refused(contract("(memory 1)", r#"(func (export "interface_version_9"))"#)),
        "Wasm contract contains more than one marker export: interface_version_*"
    );
    assert_eq!(
        refused(contract("(memory 1)", r#"(import "env" "foo" (func))"#)),
        "Wasm contract requires unsupported import: \"env.foo\". Required imports: {\"env.foo\"}. Available imports: [\"env.abort\", \"env.db_read\", \"env.db_write\", \"env.db_remove\", \"env.addr_validate\", \"env.addr_canonicalize\", \"env.addr_humanize\", \"env.bls12_381_aggregate_g1\", \"env.bls12_381_aggregate_g2\", \"env.bls12_381_pairing_equality\", \"env.bls12_381_hash_to_g1\", \"env.bls12_381_hash_to_g2\", \"env.secp256k1_verify\", \"env.secp256k1_recover_pubkey\", \"env.secp256r1_verify\", \"env.secp256r1_recover_pubkey\", \"env.ed25519_verify\", \"env.ed25519_batch_verify\", \"env.debug\", \"env.query_chain\", \"env.db_scan\", \"env.db_next\", \"env.db_next_key\", \"env.db_next_value\"]."
    );
    assert_eq!(
        refused(contract("(memory 1)", r#"(import "env" "db_read" (global i32))"#)),
        "Wasm contract requires non-function import: \"env.db_read\". Right now, all supported imports are functions."
    );
    let no_allocate = wat::parse_str(r#"(module (memory 1) (func (export "interface_version_8")) (func (export "deallocate") (param i32)))"#).unwrap();
    assert_eq!(
        refused(no_allocate),
        "Wasm contract doesn't have required export: \"allocate\". Exports required by VM: [\"allocate\", \"deallocate\"]."
    );
    assert_eq!(
        refused(contract("(memory 1)", "(func (result i32 i32) (i32.const 1) (i32.const 2))")),
        "Wasm contract contains function with more than 1 results"
    );
    let locals = format!("(func (local {}))", " i32".repeat(101));
    assert_eq!(
        refused(contract("(memory 1)", &locals)),
        "Wasm contract contains function with more than 100 locals: 101"
    );
    // Bulk memory is not among the features cosmwasm-vm parses with.
    let bulk =
        refused(contract("(memory 1)", "(func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0)))"));
    assert!(
        bulk.starts_with("Wasm bytecode could not be deserialized. Deserialization error: \"bulk memory"),
        "{bulk}"
    );
}

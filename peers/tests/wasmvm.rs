//! The drop-in `libwasmvm` against cosmwasm-vm 3.0.10: every
//! `interface_version_8` contract of the corpus through scripted steps,
//! driven through the C interface only (the harness plays Go), the same
//! bytes given to cosmwasm-vm in-process with a `Backend` that answers
//! what the harness's callbacks answer. Result bytes (or the error text),
//! `GasReport`s and the final storage must be equal.

// Each step compares both VMs itself; a step's own result is checked
// further only where the script says so.
#![allow(unused_must_use)]

use cosmwasm_std::{Binary, Coin, ContractResult, SystemResult, coins};
use cosmwasm_vm::testing::{MockApi, MockQuerier, MockStorage};
use cosmwasm_vm::{
    Backend, BackendApi, Instance, InstanceOptions, Querier, Size, Storage, VmError, VmResult,
};
use xwasm::cosmwasm::Bech32Api;
use xwasm_peers::harness::{CAPABILITIES, Cache, Chain};
use xwasm_peers::records;
use xwasm_peers::wasmvm::{GoPricedStorage, PeerServices};

/// A contract of the corpus, or else one of the public contracts that
/// `peers/scripts/fetch_public_contracts.py` fetched.
fn corpus(name: &str) -> Vec<u8> {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = here.join("../../shared/corpus").join(name);
    let path = if path.exists() { path } else { here.join("../target/public-contracts").join(name) };
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn addr(name: &str) -> String {
    Bech32Api::default().addr_make(name)
}

const GAS: u64 = 2_000_000_000;
const MEMORY: u64 = 16 << 20;

/// How a step ended: the bytes the call returned, or its error text.
type Ended = Result<Vec<u8>, String>;

/// One contract in the library (through C) and in cosmwasm-vm.
struct Duo {
    name: String,
    cache: Cache,
    checksum: Vec<u8>,
    wasm: Vec<u8>,
    chain: Chain,
    peer: Option<Backend<MockApi, GoPricedStorage, MockQuerier>>,
    contract: String,
    balances: Vec<(String, Vec<Coin>)>,
    _dir: tempfile::TempDir,
}

impl Duo {
    fn new(name: &str, funds: &[Coin]) -> Duo {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::init(&Cache::config(dir.path(), CAPABILITIES, 64 << 20)).expect("a cache");
        let wasm = corpus(name);
        let checksum = cache.store_code(&wasm, true, true).expect("stored");
        let contract = addr(&format!("contract {name}"));
        let balances = vec![(contract.clone(), funds.to_vec())];
        let services = PeerServices { api: MockApi::default(), balances: balances.clone() };
        let querier = services.querier();
        let chain = Chain::new(services);
        let peer =
            Backend { api: MockApi::default(), storage: GoPricedStorage(MockStorage::default()), querier };
        Duo {
            name: name.into(),
            cache,
            checksum,
            wasm,
            chain,
            peer: Some(peer),
            contract,
            balances,
            _dir: dir,
        }
    }

    fn env(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "block": {"height": 12345, "time": "1571797419879305533", "chain_id": "cosmos-testnet-14002"},
            "transaction": {"index": 3},
            "contract": {"address": self.contract},
        }))
        .unwrap()
    }

    fn info(sender: &str, funds: &[Coin]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"sender": sender, "funds": funds})).unwrap()
    }

    /// Runs `symbol` with `args` in both, compares, and keeps the writes
    /// only of a call that succeeded (as the chain does).
    fn step(&mut self, what: &str, symbol: &str, args: &[&[u8]]) -> Ended {
        let before = self.chain.store.clone();
        let called = self.cache.call(symbol, &self.checksum, args, &mut self.chain, GAS);
        let ours: Ended = called.result.map_err(|f| f.message);
        let (theirs, report) = self.peer(symbol, args);
        let step = format!("{}: {what}", self.name);
        assert_eq!(ours, theirs, "{step}: the result differs");
        let report = report.map(|r| (r.limit, r.remaining, r.used_externally, r.used_internally));
        let our_report = called.report.map(|r| (r.limit, r.remaining, r.used_externally, r.used_internally));
        assert_eq!(our_report, report, "{step}: the gas report differs");
        let failed = match &ours {
            Ok(bytes) => xwasm::cosmwasm::contract_error(bytes).is_some(),
            Err(_) => true,
        };
        if failed {
            self.chain.store = before;
        }
        let store: Vec<_> = self.chain.store.clone().into_iter().collect();
        assert_eq!(store, records(&mut self.peer.as_mut().unwrap().storage.0), "{step}: the storage differs");
        ours
    }

    /// The same call in cosmwasm-vm: its result as libwasmvm words it.
    fn peer(&mut self, symbol: &str, args: &[&[u8]]) -> (Ended, Option<cosmwasm_vm::GasReport>) {
        let mut backend = self.peer.take().unwrap();
        let before = records(&mut backend.storage.0);
        let options = InstanceOptions { gas_limit: GAS };
        let mut instance =
            Instance::from_code(&self.wasm, backend, options, Some(Size::new(MEMORY as usize)))
                .expect("cosmwasm-vm instantiates the contract");
        let result = raw_call(&mut instance, symbol, args);
        let report = instance.create_gas_report();
        let mut backend = instance.recycle().unwrap();
        let failed = match &result {
            Ok(bytes) => xwasm::cosmwasm::contract_error(bytes).is_some(),
            Err(_) => true,
        };
        if failed {
            let mut storage = MockStorage::default();
            for (key, value) in before {
                let _ = storage.set(&key, &value);
            }
            backend.storage = GoPricedStorage(storage);
        }
        self.peer = Some(backend);
        let ended = result.map_err(|error| match error {
            VmError::GasDepletion { .. } => "Ran out of gas".to_owned(),
            other => format!("Error calling the VM: {other}"),
        });
        (ended, Some(report))
    }

    fn instantiate(&mut self, sender: &str, msg: &str, funds: &[Coin]) -> Ended {
        let (env, info) = (self.env(), Self::info(sender, funds));
        self.step(&format!("instantiate {msg}"), "instantiate", &[&env, &info, msg.as_bytes()])
    }

    fn execute(&mut self, sender: &str, msg: &str) -> Ended {
        let (env, info) = (self.env(), Self::info(sender, &[]));
        self.step(&format!("execute {msg}"), "execute", &[&env, &info, msg.as_bytes()])
    }

    fn call2(&mut self, symbol: &str, msg: &str) -> Ended {
        let env = self.env();
        self.step(&format!("{symbol} {msg}"), symbol, &[&env, msg.as_bytes()])
    }

    fn migrate_with_info(&mut self, sender: &str, msg: &str) -> Ended {
        let env = self.env();
        let info = xwasm::cosmwasm::migrate_info_json(sender, xwasm::cosmwasm::migrate_version(&self.wasm));
        self.step(&format!("migrate_with_info {msg}"), "migrate_with_info", &[&env, msg.as_bytes(), &info])
    }
}

fn raw_call<A: BackendApi + 'static, S: Storage + 'static, Q: Querier + 'static>(
    instance: &mut Instance<A, S, Q>,
    symbol: &str,
    args: &[&[u8]],
) -> VmResult<Vec<u8>> {
    use cosmwasm_vm::*;
    match (symbol, args) {
        ("instantiate", [env, info, msg]) => call_instantiate_raw(instance, env, info, msg),
        ("execute", [env, info, msg]) => call_execute_raw(instance, env, info, msg),
        ("migrate_with_info", [env, msg, info]) => call_migrate_with_info_raw(instance, env, msg, info),
        ("migrate", [env, msg]) => call_migrate_raw(instance, env, msg),
        ("sudo", [env, msg]) => call_sudo_raw(instance, env, msg),
        ("reply", [env, msg]) => call_reply_raw(instance, env, msg),
        ("query", [env, msg]) => call_query_raw(instance, env, msg),
        ("ibc_channel_open", [env, msg]) => call_ibc_channel_open_raw(instance, env, msg),
        ("ibc_channel_connect", [env, msg]) => call_ibc_channel_connect_raw(instance, env, msg),
        ("ibc_channel_close", [env, msg]) => call_ibc_channel_close_raw(instance, env, msg),
        ("ibc_packet_receive", [env, msg]) => call_ibc_packet_receive_raw(instance, env, msg),
        ("ibc_packet_ack", [env, msg]) => call_ibc_packet_ack_raw(instance, env, msg),
        ("ibc_packet_timeout", [env, msg]) => call_ibc_packet_timeout_raw(instance, env, msg),
        ("ibc_source_callback", [env, msg]) => call_ibc_source_callback_raw(instance, env, msg),
        ("ibc_destination_callback", [env, msg]) => call_ibc_destination_callback_raw(instance, env, msg),
        ("ibc2_packet_receive", [env, msg]) => call_ibc2_packet_receive_raw(instance, env, msg),
        ("ibc2_packet_ack", [env, msg]) => call_ibc2_packet_ack_raw(instance, env, msg),
        ("ibc2_packet_timeout", [env, msg]) => call_ibc2_packet_timeout_raw(instance, env, msg),
        ("ibc2_packet_send", [env, msg]) => call_ibc2_packet_send_raw(instance, env, msg),
        (other, args) => panic!("no raw call {other} with {} arguments", args.len()),
    }
}

fn ok(ended: &Ended) -> bool {
    matches!(ended, Ok(bytes) if xwasm::cosmwasm::contract_error(bytes).is_none())
}

#[test]
fn hackatoms_through_the_c_interface() {
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    for name in ["hackatom.wasm", "hackatom_1.0.wasm", "hackatom_1.2.wasm", "hackatom_1.3.wasm"] {
        let mut duo = Duo::new(name, &coins(1000, "earth"));
        assert!(ok(&duo.instantiate(&creator, &init, &coins(1000, "earth"))), "{name}: instantiate");
        assert!(ok(&duo.call2("query", r#"{"verifier":{}}"#)));
        duo.call2("query", r#"{"other_balance":{"address":"nobody"}}"#);
        duo.call2("query", r#"{"recurse":{"depth":0,"work":5}}"#);
        duo.call2("query", r#"{"nonsense":{}}"#);
        duo.execute(&beneficiary, r#"{"release":{"denom":"earth"}}"#);
        duo.execute(&verifier, r#"{"release":{"denom":"earth"}}"#);
        duo.execute(&verifier, r#"{"release":{}}"#);
        duo.execute(&creator, r#"{"user_errors_in_api_calls":{}}"#);
        assert!(duo.execute(&creator, r#"{"panic":{}}"#).is_err());
        duo.execute(&creator, r#"{"storage_loop":{}}"#);
        duo.execute(&creator, r#"{"allocate_large_memory":{"pages":48}}"#);
        duo.execute(&creator, r#"{"message_loop":{}}"#);
        assert_eq!(duo.execute(&creator, r#"{"cpu_loop":{}}"#), Err("Ran out of gas".into()));
        duo.execute(&creator, "not json at all");
        let steal = format!(
            r#"{{"steal_funds":{{"recipient":"{}","amount":[{{"denom":"gold","amount":"700"}}]}}}}"#,
            addr("pool")
        );
        duo.call2("sudo", &steal);
        let other = format!(r#"{{"verifier":"{}"}}"#, addr("someone else"));
        duo.migrate_with_info(&creator, &other);
        duo.call2("migrate", &other);
        duo.call2("query", r#"{"verifier":{}}"#);
        let _ = &duo.balances;
    }
}

#[test]
fn cyberpunks_through_the_c_interface() {
    for name in ["cyberpunk.wasm", "cyberpunk_rust170.wasm"] {
        let mut duo = Duo::new(name, &[]);
        let admin = addr("admin");
        assert!(ok(&duo.instantiate(&admin, "{}", &[])), "{name}: instantiate");
        for msg in [
            r#"{"mirror_env":{}}"#,
            r#"{"debug":{}}"#,
            r#"{"noop":{}}"#,
            r#"{"panic":{}}"#,
            r#"{"unreachable":{}}"#,
            r#"{"argon2":{"mem_cost":16,"time_cost":1}}"#,
            r#"{"allocate_large_memory":{"pages":3}}"#,
            r#"{"cpu_loop":{}}"#,
        ] {
            duo.execute(&admin, msg);
        }
        for msg in [r#"{"mirror_env":{}}"#, r#"{"denoms":{}}"#, r#"{"denom":{"denom":"uatom"}}"#] {
            duo.call2("query", msg);
        }
    }
}

#[test]
fn floaties_through_the_c_interface() {
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    for name in ["floaty_1.0.wasm", "floaty_1.2.wasm", "floaty_2.0.wasm"] {
        let mut duo = Duo::new(name, &coins(10, "earth"));
        assert!(ok(&duo.instantiate(&creator, &init, &coins(10, "earth"))), "{name}: instantiate");
        duo.execute(&verifier, r#"{"release":{}}"#);
        for msg in [
            r#"{"verifier":{}}"#,
            r#"{"instructions":{}}"#,
            r#"{"random_args_for":{"instruction":"f32.add","seed":7}}"#,
            r#"{"run":{"instruction":"f32.add","args":[{"f32":1065353216},{"f32":1073741824}]}}"#,
            r#"{"run":{"instruction":"f64.sqrt","args":[{"f64":9221120237041090561}]}}"#,
        ] {
            duo.call2("query", msg);
        }
    }
}

#[test]
fn ibc_contracts_through_the_c_interface() {
    use cosmwasm_std::testing::{mock_ibc_channel_connect_ack, mock_ibc_channel_open_init};
    let creator = addr("creator");
    for name in ["ibc_reflect.wasm", "ibc_reflect_1.0.wasm", "ibc_reflect_1.2.wasm"] {
        let mut duo = Duo::new(name, &[]);
        assert!(ok(&duo.instantiate(&creator, r#"{"reflect_code_id":17}"#, &[])), "{name}: instantiate");
        let open = mock_ibc_channel_open_init("channel-7", cosmwasm_std::IbcOrder::Ordered, "ibc-reflect-v1");
        duo.call2("ibc_channel_open", &serde_json::to_string(&open).unwrap());
        let connect =
            mock_ibc_channel_connect_ack("channel-7", cosmwasm_std::IbcOrder::Ordered, "ibc-reflect-v1");
        duo.call2("ibc_channel_connect", &serde_json::to_string(&connect).unwrap());
        duo.call2("query", r#"{"list_accounts":{}}"#);
        duo.call2("query", r#"{"account":{"channel_id":"channel-7"}}"#);
        duo.call2("ibc_packet_timeout", "{}");
    }
    for name in ["ibc_callbacks.wasm", "ibc2.wasm", "empty.wasm"] {
        let mut duo = Duo::new(name, &[]);
        duo.instantiate(&creator, "{}", &[]);
        duo.call2("query", r#"{"callback_stats":{}}"#);
        duo.call2("query", r#"{"query_state":{}}"#);
        duo.call2("ibc_source_callback", "{}");
        duo.call2("ibc2_packet_receive", "{}");
    }
}

#[test]
fn public_contracts_through_the_c_interface() {
    let (a, b) = (addr("alice"), addr("bob"));
    let mut duo = Duo::new("cw20-base.wasm", &[]);
    let init = format!(
        r#"{{"name":"Token","symbol":"TOK","decimals":6,"initial_balances":[{{"address":"{a}","amount":"1000"}}],"mint":{{"minter":"{a}","cap":null}},"marketing":null}}"#
    );
    assert!(ok(&duo.instantiate(&a, &init, &[])), "cw20-base: instantiate");
    assert!(ok(&duo.execute(&a, &format!(r#"{{"transfer":{{"recipient":"{b}","amount":"250"}}}}"#))));
    assert!(!ok(&duo.execute(&b, &format!(r#"{{"transfer":{{"recipient":"{a}","amount":"251"}}}}"#))));
    duo.execute(&b, r#"{"transfer":{"recipient":"nobody","amount":"1"}}"#);
    duo.execute(&a, &format!(r#"{{"increase_allowance":{{"spender":"{b}","amount":"9"}}}}"#));
    duo.execute(&b, &format!(r#"{{"transfer_from":{{"owner":"{a}","recipient":"{b}","amount":"9"}}}}"#));
    duo.execute(&b, r#"{"burn":{"amount":"100"}}"#);
    assert_eq!(
        duo.call2("query", &format!(r#"{{"balance":{{"address":"{b}"}}}}"#)),
        Ok(br#"{"ok":"eyJiYWxhbmNlIjoiMTU5In0="}"#.to_vec()),
        "bob holds 250 + 9 - 100"
    );
    duo.call2("query", r#"{"all_accounts":{}}"#);
    duo.call2("query", r#"{"token_info":{}}"#);

    let mut duo = Duo::new("cw721-base.wasm", &[]);
    assert!(ok(&duo.instantiate(&a, &format!(r#"{{"name":"Art","symbol":"ART","minter":"{a}"}}"#), &[])));
    for id in ["1", "2", "2"] {
        duo.execute(&a, &format!(r#"{{"mint":{{"token_id":"{id}","owner":"{a}","extension":null}}}}"#));
    }
    duo.execute(&b, &format!(r#"{{"transfer_nft":{{"recipient":"{b}","token_id":"1"}}}}"#));
    duo.execute(&a, &format!(r#"{{"transfer_nft":{{"recipient":"{b}","token_id":"1"}}}}"#));
    duo.call2("query", r#"{"all_tokens":{}}"#);
    duo.call2("query", &format!(r#"{{"tokens":{{"owner":"{b}"}}}}"#));
}

#[test]
fn analyze_code_reports_what_cosmwasm_vm_reports() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::init(&Cache::config(dir.path(), CAPABILITIES, 64 << 20)).unwrap();
    let peer_dir = tempfile::tempdir().unwrap();
    let options = cosmwasm_vm::CacheOptions::new(
        peer_dir.path(),
        cosmwasm_vm::capabilities_from_csv(&CAPABILITIES.join(",")),
        Size::mebi(64),
        Size::mebi(16),
    );
    let peer: cosmwasm_vm::Cache<MockApi, MockStorage, MockQuerier> =
        unsafe { cosmwasm_vm::Cache::new(options) }.unwrap();
    for name in [
        "hackatom.wasm",
        "hackatom_1.0.wasm",
        "hackatom_1.3.wasm",
        "cyberpunk.wasm",
        "floaty_2.0.wasm",
        "ibc_reflect.wasm",
        "ibc2.wasm",
        "ibc_callbacks.wasm",
        "empty.wasm",
        "cw20-base.wasm",
        "cw721-base.wasm",
        "cw3-fixed-multisig.wasm",
    ] {
        let wasm = corpus(name);
        let checksum = cache.store_code(&wasm, true, true).unwrap();
        let theirs = peer.analyze(&peer.store_code(&wasm, true, true).unwrap()).unwrap();
        let (ibc, entry_points, capabilities, version) = cache.analyze(&checksum).unwrap();
        let join = |list: Vec<String>| list.join(",");
        assert_eq!(ibc, theirs.has_ibc_entry_points, "{name}");
        assert_eq!(entry_points, join(theirs.entrypoints.iter().map(|e| e.to_string()).collect()), "{name}");
        assert_eq!(capabilities, join(theirs.required_capabilities.into_iter().collect()), "{name}");
        assert_eq!(version, theirs.contract_migrate_version, "{name}");
    }
    let _: Option<SystemResult<ContractResult<Binary>>> = None;
}

//! CosmWasm contracts of the corpus through the library: the
//! expectations of COSMWASM.md section 8 that concern results and state.

use xwasm::cosmwasm::{Bech32Api, EntryPoint};
use xwasm::{CosmwasmMessage, Status, Vm};

/// Gas of a call, in CosmWasm gas (cosmwasm-vm's testing default; its
/// calls of hackatom take 10-25 million).
const GAS: u64 = 2_000_000_000;
/// Gas of a deployment: storing and compiling hackatom's 296 KB costs
/// about 71 billion.
const DEPLOY_GAS: u64 = 1_000_000_000_000;

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

/// A hand-written CosmWasm contract: a bump allocator, and entry points
/// whose body is `body` (WAT instructions leaving a result Region
/// pointer). The static Region at 16 points to an ok Response.
fn contract(imports: &str, body: &str, allocate: &str) -> Vec<u8> {
    contract_with_query(imports, body, body, allocate)
}

/// [`contract`] with a `query` body of its own.
fn contract_with_query(imports: &str, body: &str, query: &str, allocate: &str) -> Vec<u8> {
    let ok = r#"{"ok":{"messages":[],"attributes":[],"events":[],"data":null}}"#;
    let wat = format!(
        r#"(module
          {imports}
          (memory (export "memory") 2)
          (global $heap (mut i32) (i32.const 4096))
          (data (i32.const 16) "\40\00\00\00\{len:02x}\00\00\00\{len:02x}\00\00\00")
          (data (i32.const 64) "{ok}")
          (func (export "allocate") (param $size i32) (result i32) (local $r i32)
            {allocate}
            (local.set $r (global.get $heap))
            (i32.store (local.get $r) (i32.add (local.get $r) (i32.const 12)))
            (i32.store offset=4 (local.get $r) (local.get $size))
            (i32.store offset=8 (local.get $r) (i32.const 0))
            (global.set $heap (i32.add (i32.add (local.get $r) (i32.const 12)) (local.get $size)))
            (local.get $r))
          (func (export "deallocate") (param i32))
          (func (export "interface_version_8"))
          (func (export "instantiate") (param i32 i32 i32) (result i32) (i32.const 16))
          (func (export "execute") (param i32 i32 i32) (result i32) {body})
          (func (export "query") (param i32 i32) (result i32) {query}))"#,
        ok = ok.replace('"', "\\\""),
        len = ok.len(),
    );
    wat::parse_str(&wat).unwrap()
}

fn deployed(vm: &Vm, wasm: &[u8]) -> xwasm::Address {
    let mut deploy = message(&addr("creator"), "{}");
    deploy.gas_limit = DEPLOY_GAS;
    let done = vm.cosmwasm_instantiate(wasm, &deploy, None).unwrap();
    assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
    done.outcome.address.unwrap()
}

#[test]
fn bad_regions_and_iterators_trap_and_change_nothing() {
    let vm = Vm::builder().build().unwrap();
    let imports = r#"(import "env" "db_next" (func $next (param i32) (result i32)))
        (import "env" "db_write" (func $write (param i32 i32)))"#;
    let cases = [
        ("(i32.const 200000)", "Could not dereference this pointer to a Region"),
        // A Region whose length exceeds its capacity (at 32: offset 64, capacity 1, length 9).
        (
            "(i32.store (i32.const 32) (i32.const 64)) (i32.store (i32.const 36) (i32.const 1)) (i32.store (i32.const 40) (i32.const 9)) (i32.const 32)",
            "length greater than its capacity",
        ),
        ("(drop (call $next (i32.const 9))) (i32.const 16)", "Iterator with ID 9 does not exist"),
    ];
    for (body, expected) in cases {
        let address = deployed(&vm, &contract(imports, body, ""));
        let before = vm.storage(&address).unwrap();
        let done = vm.cosmwasm_call(&address, EntryPoint::Execute, &message(&addr("creator"), "{}")).unwrap();
        assert_eq!(done.outcome.status, Status::Trap, "{body}");
        assert!(
            done.outcome.error.as_deref().unwrap().contains(expected),
            "{body}: {:?}",
            done.outcome.error
        );
        assert_eq!(done.result, None);
        assert_eq!(vm.storage(&address).unwrap(), before);
    }
    // A write in a query traps as cosmwasm-vm's does; in execute it commits.
    let write = "(call $write (i32.const 16) (i32.const 16)) (i32.const 16)";
    let address = deployed(&vm, &contract(imports, write, ""));
    let query = vm.cosmwasm_query(&address, b"{}", &Default::default(), GAS).unwrap();
    assert_eq!(query.outcome.status, Status::Trap);
    assert!(
        query.outcome.error.unwrap().contains("Must not call a writing storage function in this context.")
    );
    assert!(vm.storage(&address).unwrap().is_empty());
    let done = vm.cosmwasm_call(&address, EntryPoint::Execute, &message(&addr("creator"), "{}")).unwrap();
    assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
    assert_eq!(vm.storage(&address).unwrap().len(), 1);
}

#[test]
fn a_panic_is_an_abort_with_the_panic_message() {
    let vm = Vm::builder().build().unwrap();
    let mut deploy =
        message(&addr("creator"), &format!(r#"{{"verifier":"{0}","beneficiary":"{0}"}}"#, addr("x")));
    deploy.gas_limit = DEPLOY_GAS;
    let address =
        vm.cosmwasm_instantiate(&corpus("hackatom.wasm"), &deploy, None).unwrap().outcome.address.unwrap();
    let before = vm.storage(&address).unwrap();
    let done =
        vm.cosmwasm_call(&address, EntryPoint::Execute, &message(&addr("x"), r#"{"panic":{}}"#)).unwrap();
    assert_eq!(done.outcome.status, Status::Abort);
    let error = done.outcome.error.unwrap();
    assert!(error.starts_with("Aborted: panicked at src/contract.rs:"), "{error}");
    assert!(error.contains("This page intentionally faulted"), "{error}");
    assert_eq!(done.result, None);
    assert_eq!(vm.storage(&address).unwrap(), before);
    // Growing memory past the cap: memory.grow answers -1 and the contract
    // reports its own error (status abort, its message).
    let big = vm
        .cosmwasm_call(
            &address,
            EntryPoint::Execute,
            &message(&addr("x"), r#"{"allocate_large_memory":{"pages":1600}}"#),
        )
        .unwrap();
    assert_eq!(big.outcome.status, Status::Abort);
    assert!(big.outcome.error.unwrap().contains("memory.grow failed"));
    let cpu =
        vm.cosmwasm_call(&address, EntryPoint::Execute, &message(&addr("x"), r#"{"cpu_loop":{}}"#)).unwrap();
    assert_eq!((cpu.outcome.status, cpu.gas_report.remaining), (Status::OutOfGas, 0));
}

#[test]
fn a_contract_whose_allocate_returns_zero_cannot_be_called() {
    let vm = Vm::builder().build().unwrap();
    let wasm = contract("", "(i32.const 16)", "(if (global.get $heap) (then (return (i32.const 0))))");
    let mut deploy = message(&addr("creator"), "{}");
    deploy.gas_limit = DEPLOY_GAS;
    let done = vm.cosmwasm_instantiate(&wasm, &deploy, None).unwrap();
    assert_eq!(done.outcome.status, Status::Trap);
    assert!(done.outcome.error.unwrap().contains("Got a zero Wasm address"));
    assert_eq!(done.outcome.address, None);
}

#[test]
fn bad_input_is_a_clear_error() {
    let vm = Vm::builder().build().unwrap();
    let address = deployed(&vm, &contract("", "(i32.const 16)", ""));
    let error =
        vm.cosmwasm_call(&address, EntryPoint::Execute, &message("not-an-address", "{}")).unwrap_err();
    assert!(error.to_string().contains("`not-an-address` is not an address"), "{error}");
    let error =
        vm.cosmwasm_call_export(&address, "ibc_channel_open", &message(&addr("creator"), "{}")).unwrap_err();
    assert!(error.to_string().contains("has no method `ibc_channel_open`"), "{error}");
    let native =
        vm.call(&address, "execute", &Default::default(), &xwasm::Transaction::new(address, GAS, vec![]));
    assert!(native.unwrap_err().to_string().contains("is a CosmWasm contract"));
    // Older markers are refused with cosmwasm-vm's words.
    let mut deploy = message(&addr("creator"), "{}");
    deploy.gas_limit = DEPLOY_GAS;
    let error = vm.cosmwasm_instantiate(&corpus("hackatom_0.16.wasm"), &deploy, None).unwrap_err();
    assert!(
        error.to_string().contains("Wasm contract has unknown interface_version_* marker export"),
        "{error}"
    );
    // A VM configured without a capability a contract requires refuses it.
    let mut config = xwasm::VmConfig::default();
    config.cosmwasm.capabilities.remove("stargate");
    let without_stargate = Vm::builder().config(config).build().unwrap();
    let error =
        without_stargate.cosmwasm_instantiate(&corpus("ibc_reflect.wasm"), &deploy, None).unwrap_err();
    assert!(error.to_string().contains(r#"requires unavailable capabilities: {"stargate"}"#), "{error}");
}

#[test]
fn the_same_calls_give_the_same_gas_under_both_compilers_and_from_the_disk_tier() {
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let dir = tempfile::tempdir().unwrap();
    let run = |strategy: xwasm::engine::Strategy| {
        let mut config = xwasm::VmConfig::default();
        config.engine.strategy = strategy;
        let backend = std::sync::Arc::new(xwasm::store::MemoryBackend::new());
        let vm = Vm::builder()
            .config(config)
            .backend(backend)
            .cache_dir(dir.path().join(format!("{strategy:?}")))
            .build()
            .unwrap();
        let mut deploy = message(&creator, &init);
        deploy.gas_limit = DEPLOY_GAS;
        let deployed = vm.cosmwasm_instantiate(&corpus("hackatom.wasm"), &deploy, None).unwrap();
        let address = deployed.outcome.address.unwrap();
        let release = vm
            .cosmwasm_call(
                &address,
                EntryPoint::Execute,
                &message(&verifier, r#"{"release":{"denom":"earth"}}"#),
            )
            .unwrap();
        let query = vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &Default::default(), GAS).unwrap();
        let cpu = vm
            .cosmwasm_call(&address, EntryPoint::Execute, &message(&verifier, r#"{"cpu_loop":{}}"#))
            .unwrap();
        assert_eq!(cpu.outcome.status, Status::OutOfGas);
        [deployed.outcome.gas_used, release.outcome.gas_used, query.outcome.gas_used, cpu.outcome.gas_used]
    };
    let cranelift = run(xwasm::engine::Strategy::Cranelift);
    assert_eq!(run(xwasm::engine::Strategy::Winch), cranelift);
    // Again, from the disk tier this time.
    assert_eq!(run(xwasm::engine::Strategy::Cranelift), cranelift);
}

#[test]
fn the_default_querier_answers_bank_and_wasm_queries_from_this_vm() {
    let vm = Vm::builder().build().unwrap();
    // `execute` passes its message to query_chain and stores the answer
    // (under the key that is the static ok response).
    let imports = r#"(import "env" "query_chain" (func $query (param i32) (result i32)))
        (import "env" "db_write" (func $write (param i32 i32)))"#;
    let body = "(call $write (i32.const 16) (call $query (local.get 2))) (i32.const 16)";
    let address = deployed(&vm, &contract_with_query(imports, body, "(i32.const 16)", ""));
    let contract = vm.cosmwasm_address(&address);
    let ask = |request: String, funds: &str| {
        let mut message = message(&addr("creator"), &request);
        message.funds = xwasm::cosmwasm::bank::parse_coins(funds).unwrap();
        let done = vm.cosmwasm_call(&address, EntryPoint::Execute, &message).unwrap();
        assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
        let answer: serde_json::Value = serde_json::from_slice(&vm.storage(&address).unwrap()[0].1).unwrap();
        answer
    };
    let decoded = |answer: &serde_json::Value| -> serde_json::Value {
        serde_json::from_slice(&base64_decode(answer["ok"]["ok"].as_str().unwrap())).unwrap()
    };
    // Funds sent with the message are the contract's balance during it.
    let balance =
        ask(format!(r#"{{"bank":{{"balance":{{"address":"{contract}","denom":"earth"}}}}}}"#), "70earth");
    assert_eq!(decoded(&balance), serde_json::json!({"amount": {"denom": "earth", "amount": "70"}}));
    let supply = ask(r#"{"bank":{"supply":{"denom":"earth"}}}"#.into(), "5earth");
    assert_eq!(decoded(&supply), serde_json::json!({"amount": {"denom": "earth", "amount": "75"}}));
    let info = ask(format!(r#"{{"wasm":{{"contract_info":{{"contract_addr":"{contract}"}}}}}}"#), "");
    let info = decoded(&info);
    assert_eq!(
        (info["creator"].as_str(), info["admin"].as_str()),
        (Some(addr("creator").as_str()), Some(addr("creator").as_str()))
    );
    let raw = ask(
        format!(
            r#"{{"wasm":{{"raw":{{"contract_addr":"{contract}","key":"eyJvayI6eyJtZXNzYWdlcyI6W10sImF0dHJpYnV0ZXMiOltdLCJldmVudHMiOltdLCJkYXRhIjpudWxsfX0="}}}}}}"#
        ),
        "",
    );
    assert!(raw["ok"]["ok"].is_string(), "{raw}");
    let elsewhere =
        ask(format!(r#"{{"wasm":{{"smart":{{"contract_addr":"{}","msg":"e30="}}}}}}"#, addr("nobody")), "");
    assert_eq!(elsewhere["error"]["no_such_contract"]["addr"], addr("nobody"));
    let staking = ask(r#"{"staking":{"all_validators":{}}}"#.into(), "");
    assert_eq!(decoded(&staking), serde_json::json!({"validators": []}));
    let broken = ask(r#"{"nonsense":{}}"#.into(), "");
    assert!(
        broken["error"]["invalid_request"]["error"].as_str().unwrap().starts_with("Parsing query request"),
        "{broken}"
    );
}

/// Storing and compiling new code costs the native deployment price, every
/// part of it (bytes, functions, locals), in CosmWasm gas; code stored
/// already costs the fixed price. A migration to new code pays the same,
/// and a gas limit that cannot pay for its bytes ends before they are
/// parsed: garbage bytes are then unpaid, not refused.
#[test]
fn new_code_costs_the_native_price_in_cosmwasm_gas_at_deployment_and_migration() {
    let vm = Vm::builder().build().unwrap();
    let wasm = corpus("hackatom.wasm");
    let info = vm.inspect(&wasm).unwrap();
    let schedule = &vm.config().gas;
    let native = schedule.deployment(wasm.len(), false)
        + schedule.deployment_items(info.function_count.into(), info.locals);
    let multiplier = vm.config().cosmwasm.code_gas_multiplier;
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let mut deploy = message(&creator, &init);
    deploy.gas_limit = DEPLOY_GAS;
    let first = vm.cosmwasm_instantiate(&wasm, &deploy, None).unwrap();
    ok_json(&first);
    assert_eq!(first.code_gas, native * multiplier);
    let second = vm.cosmwasm_instantiate(&wasm, &deploy, None).unwrap();
    ok_json(&second);
    assert_eq!(second.code_gas, schedule.deployment(wasm.len(), true) * multiplier);

    let address = first.outcome.address.unwrap();
    let garbage = vec![0xAB; 50_000];
    let mut migrate = message(&creator, r#"{"new_verifier":"x"}"#);
    migrate.gas_limit = schedule.deployment(garbage.len(), false) * multiplier - 1;
    let unpaid = vm.cosmwasm_migrate(&address, Some(&garbage), &migrate).unwrap();
    assert_eq!(unpaid.outcome.status, Status::OutOfGas, "{:?}", unpaid.outcome.error);
    assert_eq!(unpaid.outcome.gas_used, migrate.gas_limit);
    migrate.gas_limit = DEPLOY_GAS;
    assert!(vm.cosmwasm_migrate(&address, Some(&garbage), &migrate).is_err(), "paid for, then refused");
}

/// Smart queries nest: each nested query is one level deeper, and the
/// depth limit cuts the chain. A contract whose `query` forwards its
/// message to `query_chain` answers an onion of smart queries to itself
/// (each level's message is the next level's request) with ok while the
/// chain fits, and with its error once a level is refused. (Before nested
/// queries carried their depth, no chain was ever cut: a contract could
/// nest instances without bound, each on the same native stack.)
#[test]
fn nested_smart_queries_are_cut_at_the_depth_limit() {
    let vm = Vm::builder().build().unwrap();
    let ok = r#"{"ok":"e30="}"#;
    let error = r#"{"error":"deep"}"#;
    let imports = format!(
        r#"(import "env" "query_chain" (func $query (param i32) (result i32)))
        (import "env" "db_write" (func $write (param i32 i32)))
        (data (i32.const 32) "\00\04\00\00\{ok_len:02x}\00\00\00\{ok_len:02x}\00\00\00")
        (data (i32.const 48) "\00\05\00\00\{error_len:02x}\00\00\00\{error_len:02x}\00\00\00")
        (data (i32.const 1024) "{ok_text}")
        (data (i32.const 1280) "{error_text}")"#,
        ok_len = ok.len(),
        error_len = error.len(),
        ok_text = ok.replace('"', "\\\""),
        error_text = error.replace('"', "\\\""),
    );
    let body = "(call $write (i32.const 16) (call $query (local.get 2))) (i32.const 16)";
    // Answer ok when the forwarded query's SystemResult is {"ok":{"ok"...
    // (byte 8 is the `o` of the inner "ok"), else the error.
    let query = r#"(if (result i32) (i32.eq (i32.load8_u offset=8 (i32.load (call $query (local.get 1)))) (i32.const 111))
        (then (i32.const 32)) (else (i32.const 48)))"#;
    let address = deployed(&vm, &contract_with_query(&imports, body, query, ""));
    let contract = vm.cosmwasm_address(&address);
    let onion = |levels: u32| {
        let mut request = format!(r#"{{"bank":{{"balance":{{"address":"{contract}","denom":"earth"}}}}}}"#);
        for _ in 1..levels {
            let msg = cosmwasm_std::Binary::from(request.as_bytes()).to_base64();
            request = format!(r#"{{"wasm":{{"smart":{{"contract_addr":"{contract}","msg":"{msg}"}}}}}}"#);
        }
        assert!(request.len() < 64 * 1024, "the request fits query_chain's limit: {}", request.len());
        let done =
            vm.cosmwasm_call(&address, EntryPoint::Execute, &message(&addr("creator"), &request)).unwrap();
        assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
        let answer: serde_json::Value = serde_json::from_slice(&vm.storage(&address).unwrap()[0].1).unwrap();
        answer
    };
    // The transaction's own call is depth 0; with a depth limit of 16 the
    // queries nest 15 deep, so 16 levels of request are the most that fit.
    let limit = vm.config().limits.max_call_depth;
    assert_eq!(onion(3)["ok"]["ok"], "e30=");
    assert_eq!(onion(limit)["ok"]["ok"], "e30=");
    assert_eq!(onion(limit + 1)["ok"]["error"], "deep");
}

/// A smart query charges its caller for the queried contract's work, as a
/// chain does: on top of the querier's flat and per-byte price, the gas
/// the nested `query` used. (It once charged only the price: one query of
/// 100,000 gas could run a contract for all the gas its caller had left,
/// again and again.) A nested query that needs more than its caller has
/// left runs its caller out of gas.
#[test]
fn a_smart_query_charges_its_caller_for_the_queried_contracts_work() {
    let vm = Vm::builder().build().unwrap();
    let ok = r#"{"ok":"e30="}"#;
    let imports = format!(
        r#"(import "env" "query_chain" (func $query (param i32) (result i32)))
        (import "env" "db_write" (func $write (param i32 i32)))
        (data (i32.const 32) "\00\04\00\00\{len:02x}\00\00\00\{len:02x}\00\00\00")
        (data (i32.const 1024) "{text}")"#,
        len = ok.len(),
        text = ok.replace('"', "\\\""),
    );
    // `query` counts to `rounds`, then answers ok; `execute` forwards its
    // message to `query_chain` and stores the answer.
    let counting = |rounds: u32| {
        format!(
            "(local.set 0 (i32.const 0))
             (block (loop (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                          (br_if 0 (i32.lt_u (local.get 0) (i32.const {rounds})))))
             (i32.const 32)"
        )
    };
    let body = "(call $write (i32.const 16) (call $query (local.get 2))) (i32.const 16)";
    let light = deployed(&vm, &contract_with_query(&imports, body, &counting(1), ""));
    let heavy = deployed(&vm, &contract_with_query(&imports, body, &counting(200_000), ""));
    let direct = |address| {
        let done = vm.cosmwasm_query(address, b"{}", &Default::default(), GAS).unwrap();
        assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
        done.gas_report.used_internally + done.gas_report.used_externally
    };
    let (light_work, heavy_work) = (direct(&light), direct(&heavy));
    assert!(heavy_work > light_work + 1_000_000, "{heavy_work} vs {light_work}");
    // The caller asks each through a smart query: equal answers (so equal
    // flat and per-byte prices); the difference in gas is the work.
    let asking = |of: &xwasm::Address, gas_limit| {
        let request = format!(
            r#"{{"wasm":{{"smart":{{"contract_addr":"{}","msg":"e30="}}}}}}"#,
            vm.cosmwasm_address(of)
        );
        let mut message = message(&addr("creator"), &request);
        message.gas_limit = gas_limit;
        vm.cosmwasm_call(&light, EntryPoint::Execute, &message).unwrap()
    };
    let (of_light, of_heavy) = (asking(&light, GAS), asking(&heavy, GAS));
    for done in [&of_light, &of_heavy] {
        assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
    }
    assert_eq!(
        of_heavy.gas_report.used_externally - of_light.gas_report.used_externally,
        heavy_work - light_work
    );
    assert_eq!(of_heavy.gas_report.used_internally, of_light.gas_report.used_internally);
    // A caller that can pay the query's price but not the work runs out.
    let short = of_light.gas_report.used_internally + of_light.gas_report.used_externally + heavy_work / 2;
    let cut = asking(&heavy, short);
    assert_eq!(
        (cut.outcome.status, cut.gas_report.remaining),
        (Status::OutOfGas, 0),
        "{:?}",
        cut.outcome.error
    );
}

/// The meter's boundary, as cosmwasm-vm's: a call given exactly the gas it
/// uses succeeds with none left; one unit less runs out of gas (the last
/// charge finds too little), under both compilers.
#[test]
fn a_call_given_exactly_its_gas_succeeds_and_one_less_runs_out() {
    for strategy in [xwasm::engine::Strategy::Cranelift, xwasm::engine::Strategy::Winch] {
        let mut config = xwasm::VmConfig::default();
        config.engine.strategy = strategy;
        let vm = Vm::builder().config(config).build().unwrap();
        let (verifier, creator) = (addr("verifies"), addr("creator"));
        let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{creator}"}}"#);
        let mut deploy = message(&creator, &init);
        deploy.gas_limit = DEPLOY_GAS;
        let address =
            vm.cosmwasm_instantiate(&corpus("hackatom.wasm"), &deploy, None).unwrap().outcome.address;
        let address = address.unwrap();
        let query =
            |gas| vm.cosmwasm_query(&address, br#"{"verifier":{}}"#, &Default::default(), gas).unwrap();
        let used = query(GAS).outcome.gas_used;
        let exact = query(used);
        assert_eq!((exact.outcome.status, exact.outcome.gas_used), (Status::Ok, used), "{strategy:?}");
        assert_eq!(exact.gas_report.remaining, 0, "{strategy:?}");
        let short = query(used - 1);
        assert_eq!(
            (short.outcome.status, short.outcome.gas_used),
            (Status::OutOfGas, used - 1),
            "{strategy:?}"
        );
    }
}

/// A deployment reads a contract's function bodies once before its
/// rewrite: one analysis validates them for cosmwasm-vm's checks (last,
/// as they do) and reads what the policy's description and the rewrite
/// need. It refuses what cosmwasm-vm's checks refuse, in their words and
/// order, and describes and rewrites what they accept as the separate
/// passes do.
#[test]
fn one_pass_over_the_bodies_refuses_and_describes_as_the_separate_checks() {
    let vm = Vm::builder().build().unwrap();
    let loader = vm.loader();
    let (capabilities, limits) =
        (xwasm::cosmwasm::default_capabilities(), xwasm::cosmwasm::WasmLimits::default());
    let too_many_locals = format!("(func (local {}))", " i32".repeat(101));
    let body = "Error during static Wasm validation: Wasm bytecode could not be deserialized";
    let refused = [
        // A type error in a body.
        (contract("", "(i32.add (i32.const 1))", ""), body),
        // Bulk memory: valid under the policy's features, not cosmwasm-vm's.
        (contract("", "(memory.fill (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const 16)", ""), body),
        // A body ending inside a block.
        (contract("", "(i32.const 16) block", ""), body),
        // An invalid body and a check before the bodies: the check speaks.
        (
            contract(&too_many_locals, "(i32.add (i32.const 1))", ""),
            "Error during static Wasm validation: Wasm contract contains function with more than 100 locals",
        ),
    ];
    for (wasm, words) in refused {
        let expected = xwasm::cosmwasm::check_wasm(&wasm, &capabilities, &limits).expect_err("refused");
        assert!(expected.to_string().starts_with(words), "{expected}");
        let refusal = loader.check_new(&wasm, true).err().expect("refused by a deployment");
        assert_eq!(refusal.to_string(), expected.to_string());
    }
    let mut accepted = 0;
    for entry in
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
            .unwrap()
    {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let wasm = std::fs::read(&path).unwrap();
        let checked = loader.check_new(&wasm, true);
        match xwasm::cosmwasm::check_wasm(&wasm, &capabilities, &limits) {
            Err(expected) => assert_eq!(checked.err().unwrap().to_string(), expected.to_string(), "{path:?}"),
            Ok(contract) => {
                let checked = checked.unwrap();
                let policy = loader.cosmwasm_policy();
                assert_eq!(checked.cosmwasm, Some(contract), "{path:?}");
                assert_eq!(checked.info, policy.check(&wasm).unwrap(), "{path:?}");
                assert!(checked.analysis.is_some(), "{path:?}");
                assert_eq!(
                    vm.rewrite_for_compile(&wasm).unwrap(),
                    policy.preprocess(&wasm).unwrap(),
                    "{path:?}"
                );
                accepted += 1;
            }
        }
    }
    assert!(accepted >= 5, "{accepted} corpus contracts accepted");
}

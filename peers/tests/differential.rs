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
    // Spelled as cosmwasm-vm's gas tests spell it.
    let init = format!(r#"{{"verifier": "{verifier}", "beneficiary": "{beneficiary}"}}"#);
    let (mut pair, deployed) =
        Pair::instantiate(&corpus("hackatom.wasm"), &creator, &init, &coins(1000, "earth"));
    deployed.assert_agree("instantiate").returned();
    // cosmwasm-vm's own figure for this message (packages/vm/src/instance.rs,
    // contract_deducts_gas_init): 18,034,576, 251 of it used externally.
    assert_eq!(deployed.xwasm_gas, (18_034_325, 251), "instantiate gas");
    pair.assert_storage_equal();
    let verifier_query = pair.query(r#"{"verifier":{}}"#);
    verifier_query.assert_agree("query verifier").returned();
    // (cosmwasm-vm's published 11,105,566 for this query is on the
    // instance that ran instantiate, its allocator warm; here each
    // message gets a fresh instance, as wasmd makes one, in both VMs.)
    pair.query(r#"{"get_int":{}}"#).assert_agree("query get_int").returned();
    pair.query(r#"{"panic":{}}"#).assert_agree("query panic").returned();
    pair.query(r#"{"nonsense":{}}"#).assert_agree("query unknown");
    pair.execute(&beneficiary, r#"{"release":{"denom":"earth"}}"#, &[])
        .assert_agree("release from the beneficiary")
        .returned();
    pair.execute(&verifier, r#"{"release":{"denom":"earth"}}"#, &coins(15, "earth"))
        .assert_agree("release")
        .returned();
    pair.execute(&creator, r#"{"user_errors_in_api_calls":{}}"#, &[])
        .assert_agree("user errors in api calls")
        .returned();
    pair.execute(&creator, r#"{"panic":{}}"#, &[]).assert_agree("panic").failed();
    pair.execute(&creator, r#"{"allocate_large_memory":{"pages":48}}"#, &[])
        .assert_agree("allocate 48 pages")
        .returned();
    pair.execute(&creator, r#"{"allocate_large_memory":{"pages":1600}}"#, &[])
        .assert_agree("allocate 1600 pages")
        .returned();
    pair.execute(&creator, r#"{"message_loop":{}}"#, &[]).assert_agree("message loop").returned();
    pair.execute(&creator, r#"{"cpu_loop":{}}"#, &[]).assert_agree("cpu loop").failed();
    pair.execute(&creator, r#"{"memory_loop":{}}"#, &[]).assert_agree("memory loop").failed();
    pair.execute(&creator, "not json at all", &[]).assert_agree("a message that is not JSON").returned();
    let recipient = addr("community-pool");
    let steal = format!(
        r#"{{"steal_funds":{{"recipient":"{recipient}","amount":[{{"denom":"gold","amount":"700"}}]}}}}"#
    );
    pair.sudo(&steal).assert_agree("sudo steal_funds").returned();
    let other = addr("someone else");
    pair.migrate(&creator, &format!(r#"{{"verifier":"{other}"}}"#)).assert_agree("migrate").returned();
    pair.query(r#"{"verifier":{}}"#).assert_agree("query verifier after migrate").returned();
    pair.assert_storage_equal();
}

#[test]
fn older_hackatoms_scripted() {
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    for name in ["hackatom_1.0.wasm", "hackatom_1.2.wasm", "hackatom_1.3.wasm"] {
        let (mut pair, deployed) = Pair::instantiate(&corpus(name), &creator, &init, &coins(1000, "earth"));
        deployed.assert_agree(&format!("{name}: instantiate"));
        pair.query(r#"{"verifier":{}}"#).assert_agree(&format!("{name}: query verifier"));
        pair.query(r#"{"other_balance":{"address":"nobody"}}"#)
            .assert_agree(&format!("{name}: other balance"));
        pair.execute(&verifier, r#"{"release":{}}"#, &[]).assert_agree(&format!("{name}: release"));
        pair.execute(&creator, r#"{"user_errors_in_api_calls":{}}"#, &[])
            .assert_agree(&format!("{name}: user errors"));
        pair.execute(&creator, r#"{"panic":{}}"#, &[]).assert_agree(&format!("{name}: panic"));
        pair.execute(&creator, r#"{"storage_loop":{}}"#, &[]).assert_agree(&format!("{name}: storage loop"));
        let other = addr("someone else");
        pair.migrate(&creator, &format!(r#"{{"verifier":"{other}"}}"#))
            .assert_agree(&format!("{name}: migrate"));
        pair.query(r#"{"verifier":{}}"#).assert_agree(&format!("{name}: verifier after migrate"));
        pair.assert_storage_equal();
    }
}

#[test]
fn cyberpunk_scripted() {
    for name in ["cyberpunk.wasm", "cyberpunk_rust170.wasm"] {
        let (mut pair, deployed) = Pair::instantiate(&corpus(name), &addr("admin"), "{}", &[]);
        deployed.assert_agree(&format!("{name}: instantiate"));
        let admin = addr("admin");
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
            pair.execute(&admin, msg, &[]).assert_agree(&format!("{name}: execute {msg}"));
        }
        for msg in [r#"{"mirror_env":{}}"#, r#"{"denoms":{}}"#, r#"{"denom":{"denom":"uatom"}}"#] {
            pair.query(msg).assert_agree(&format!("{name}: query {msg}"));
        }
        pair.assert_storage_equal();
    }
}

#[test]
fn floaty_scripted() {
    let (verifier, beneficiary, creator) = (addr("verifies"), addr("benefits"), addr("creator"));
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    for name in ["floaty_1.0.wasm", "floaty_1.2.wasm", "floaty_2.0.wasm"] {
        let (mut pair, deployed) = Pair::instantiate(&corpus(name), &creator, &init, &coins(10, "earth"));
        deployed.assert_agree(&format!("{name}: instantiate"));
        pair.execute(&verifier, r#"{"release":{}}"#, &[]).assert_agree(&format!("{name}: release"));
        for msg in [
            r#"{"verifier":{}}"#,
            r#"{"instructions":{}}"#,
            r#"{"random_args_for":{"instruction":"f32.add","seed":7}}"#,
            r#"{"run":{"instruction":"f32.add","args":[{"f32":1065353216},{"f32":1073741824}]}}"#,
            r#"{"run":{"instruction":"f64.sqrt","args":[{"f64":9221120237041090561}]}}"#,
        ] {
            pair.query(msg).assert_agree(&format!("{name}: query {msg}"));
        }
        pair.assert_storage_equal();
    }
}

#[test]
fn ibc_contracts_scripted() {
    use cosmwasm_std::testing::{mock_ibc_channel_connect_ack, mock_ibc_channel_open_init};
    let creator = addr("creator");
    for name in ["ibc_reflect.wasm", "ibc_reflect_1.0.wasm", "ibc_reflect_1.2.wasm"] {
        let (mut pair, deployed) =
            Pair::instantiate(&corpus(name), &creator, r#"{"reflect_code_id":17}"#, &[]);
        deployed.assert_agree(&format!("{name}: instantiate"));
        let open = mock_ibc_channel_open_init("channel-7", cosmwasm_std::IbcOrder::Ordered, "ibc-reflect-v1");
        let open = serde_json::to_string(&open).unwrap();
        pair.call_export("ibc_channel_open", &open).assert_agree(&format!("{name}: channel open"));
        let connect =
            mock_ibc_channel_connect_ack("channel-7", cosmwasm_std::IbcOrder::Ordered, "ibc-reflect-v1");
        let connect = serde_json::to_string(&connect).unwrap();
        pair.call_export("ibc_channel_connect", &connect).assert_agree(&format!("{name}: channel connect"));
        pair.query(r#"{"list_accounts":{}}"#).assert_agree(&format!("{name}: list accounts"));
        pair.query(r#"{"account":{"channel_id":"channel-7"}}"#).assert_agree(&format!("{name}: account"));
        pair.assert_storage_equal();
    }
    for (name, init) in [("ibc_callbacks.wasm", "{}"), ("ibc2.wasm", "{}")] {
        let (mut pair, deployed) = Pair::instantiate(&corpus(name), &creator, init, &[]);
        deployed.assert_agree(&format!("{name}: instantiate"));
        pair.query(r#"{"callback_stats":{}}"#).assert_agree(&format!("{name}: query callback stats"));
        pair.query(r#"{"query_state":{}}"#).assert_agree(&format!("{name}: query state"));
        pair.assert_storage_equal();
    }
}

/// A hand-written contract whose `execute` loops with forward branches
/// inside, then, by the first byte of its message, traps (`0`:
/// `unreachable`, `1`: a load out of bounds, `2`: a division by zero) or
/// returns (`3`, through a call).
const EDGES: &str = r#"(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 64) "{\"ok\":{\"messages\":[],\"attributes\":[],\"events\":[],\"data\":null}}")
  (func (export "interface_version_8"))
  (func $allocate (export "allocate") (param $size i32) (result i32)
    (local $region i32)
    (local.set $region (global.get $heap))
    (i32.store (local.get $region) (i32.add (local.get $region) (i32.const 12)))
    (i32.store offset=4 (local.get $region) (local.get $size))
    (i32.store offset=8 (local.get $region) (i32.const 0))
    (global.set $heap (i32.add (i32.add (local.get $region) (i32.const 12)) (local.get $size)))
    (local.get $region))
  (func (export "deallocate") (param i32))
  (func $ok (result i32)
    (local $region i32)
    (local.set $region (call $allocate (i32.const 0)))
    (i32.store (local.get $region) (i32.const 64))
    (i32.store offset=4 (local.get $region) (i32.const 61))
    (i32.store offset=8 (local.get $region) (i32.const 61))
    (local.get $region))
  (func (export "instantiate") (param i32 i32 i32) (result i32) (call $ok))
  (func (export "execute") (param $env i32) (param $info i32) (param $msg i32) (result i32)
    (local $i i32) (local $acc i32) (local $kind i32)
    (local.set $kind (i32.and (i32.load8_u (i32.load (local.get $msg))) (i32.const 3)))
    (loop $again
      (block $odd
        (br_if $odd (i32.and (local.get $i) (i32.const 1)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i))))
      (if (i32.gt_u (local.get $i) (i32.const 1))
        (then (local.set $acc (i32.xor (local.get $acc) (i32.const 7))))
        (else (local.set $acc (i32.sub (local.get $acc) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 3))))
    (block $returns
      (block $divides
        (block $loads
          (block $unreachable
            (br_table $unreachable $loads $divides $returns (local.get $kind)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          unreachable)
        (local.set $acc (i32.load (i32.const -16)))
        unreachable)
      (local.set $acc (i32.div_u (local.get $acc) (i32.sub (local.get $i) (i32.const 3))))
      unreachable)
    (block $done
      (br_if $done (i32.eqz (local.get $acc)))
      (local.set $acc (i32.mul (local.get $acc) (i32.const 3))))
    (call $ok))
)"#;

/// Out of gas at every charge, and traps just after charges that ran out:
/// for each gas limit one unit short of a multiple of cosmwasm-vm's
/// operator cost (every charge is one) up to what the call needs, and for
/// exactly what it needs, both VMs end the same
/// way (out of gas where cosmwasm-vm runs out, the same trap otherwise, or
/// the same result) with the same gas.
#[test]
fn gas_runs_out_where_cosmwasm_vm_says() {
    let wasm = wat::parse_str(EDGES).unwrap();
    let (creator, user) = (addr("creator"), addr("user"));
    let (mut pair, deployed) = Pair::instantiate(&wasm, &creator, "{}", &[]);
    deployed.assert_agree("instantiate").returned();
    for kind in ["0", "1", "2", "3"] {
        pair.gas = xwasm_peers::GAS;
        let needed = pair.execute(&user, kind, &[]).assert_agree(kind).peer_gas.0;
        let (mut out_of_gas, mut ended) = (0, 0);
        let units = xwasm::security::preprocess::COSMWASM_OPERATOR_COST;
        for limit in (0..=needed / units + 1).map(|k| (k * units).saturating_sub(1)).chain([needed]) {
            pair.gas = limit;
            let step = format!("message {kind}, gas limit {limit}");
            let compared = pair.execute(&user, kind, &[]);
            compared.assert_agree(&step);
            let peer_ran_out = compared.peer.text().contains("Ran out of gas");
            assert_eq!(
                compared.xwasm_status == xwasm::Status::OutOfGas,
                peer_ran_out,
                "{step}: {compared:?}"
            );
            if peer_ran_out { out_of_gas += 1 } else { ended += 1 }
        }
        // Both ways of ending were tried: the sweep crossed the boundary.
        assert!(out_of_gas > 10 && ended >= 1, "message {kind}: {out_of_gas} out of gas, {ended} ended");
    }
}

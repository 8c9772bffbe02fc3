//! The crypto imports through the contract interface, xwasm against
//! cosmwasm-vm: cosmwasm-crypto's own test vectors and broken variants of
//! them, each verify and recover import called from a contract with the
//! inputs in Regions; the return codes (and recovered keys) the contract
//! stores must be equal.

use serde_json::Value;
use xwasm::cosmwasm::{Bech32Api, encode_sections};
use xwasm_peers::Pair;

/// A contract whose `execute` reads `op | len_a | len_b | len_c` (four
/// little-endian u32) and then `a`, `b`, `c` from its message, calls the
/// import `op` names on Regions over them, and stores the code it
/// returns under `r` (as 8 bytes; a recovered key under `p`). For the
/// recover imports `len_c` is the recovery parameter and `c` is absent.
const CONTRACT: &str = r#"(module
  (import "env" "db_write" (func $write (param i32 i32)))
  (import "env" "secp256k1_verify" (func $k1v (param i32 i32 i32) (result i32)))
  (import "env" "secp256k1_recover_pubkey" (func $k1r (param i32 i32 i32) (result i64)))
  (import "env" "secp256r1_verify" (func $r1v (param i32 i32 i32) (result i32)))
  (import "env" "secp256r1_recover_pubkey" (func $r1r (param i32 i32 i32) (result i64)))
  (import "env" "ed25519_verify" (func $edv (param i32 i32 i32) (result i32)))
  (import "env" "ed25519_batch_verify" (func $edb (param i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 16) "\40\00\00\00\3e\00\00\00\3e\00\00\00")
  (data (i32.const 64) "{\22ok\22:{\22messages\22:[],\22attributes\22:[],\22events\22:[],\22data\22:null}}")
  (data (i32.const 200) "\f0\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 212) "\f8\00\00\00\08\00\00\00\08\00\00\00")
  (data (i32.const 224) "\f1\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 240) "rp")
  (func (export "allocate") (param $size i32) (result i32) (local $r i32)
    (local.set $r (global.get $heap))
    (i32.store (local.get $r) (i32.add (local.get $r) (i32.const 12)))
    (i32.store offset=4 (local.get $r) (local.get $size))
    (i32.store offset=8 (local.get $r) (i32.const 0))
    (global.set $heap (i32.add (i32.add (local.get $r) (i32.const 12)) (local.get $size)))
    (local.get $r))
  (func (export "deallocate") (param i32))
  (func (export "interface_version_8"))
  (func (export "requires_cosmwasm_2_1"))
  (func (export "instantiate") (param i32 i32 i32) (result i32) (i32.const 16))
  (func $region (param $at i32) (param $offset i32) (param $len i32)
    (i32.store (local.get $at) (local.get $offset))
    (i32.store offset=4 (local.get $at) (local.get $len))
    (i32.store offset=8 (local.get $at) (local.get $len)))
  (func (export "execute") (param i32 i32 i32) (result i32)
    (local $m i32) (local $op i32) (local $la i32) (local $lb i32) (local $lc i32) (local $b i32) (local $r i64)
    (local.set $m (i32.load (local.get 2)))
    (local.set $op (i32.load (local.get $m)))
    (local.set $la (i32.load offset=4 (local.get $m)))
    (local.set $lb (i32.load offset=8 (local.get $m)))
    (local.set $lc (i32.load offset=12 (local.get $m)))
    (local.set $b (i32.add (i32.add (local.get $m) (i32.const 16)) (local.get $la)))
    (call $region (i32.const 300) (i32.add (local.get $m) (i32.const 16)) (local.get $la))
    (call $region (i32.const 312) (local.get $b) (local.get $lb))
    (call $region (i32.const 324) (i32.add (local.get $b) (local.get $lb)) (local.get $lc))
    (block $done
      (if (i32.eq (local.get $op) (i32.const 0)) (then
        (local.set $r (i64.extend_i32_u (call $k1v (i32.const 300) (i32.const 312) (i32.const 324)))) (br $done)))
      (if (i32.eq (local.get $op) (i32.const 1)) (then
        (local.set $r (call $k1r (i32.const 300) (i32.const 312) (local.get $lc))) (br $done)))
      (if (i32.eq (local.get $op) (i32.const 2)) (then
        (local.set $r (i64.extend_i32_u (call $r1v (i32.const 300) (i32.const 312) (i32.const 324)))) (br $done)))
      (if (i32.eq (local.get $op) (i32.const 3)) (then
        (local.set $r (call $r1r (i32.const 300) (i32.const 312) (local.get $lc))) (br $done)))
      (if (i32.eq (local.get $op) (i32.const 4)) (then
        (local.set $r (i64.extend_i32_u (call $edv (i32.const 300) (i32.const 312) (i32.const 324)))) (br $done)))
      (local.set $r (i64.extend_i32_u (call $edb (i32.const 300) (i32.const 312) (i32.const 324)))))
    (i64.store (i32.const 248) (local.get $r))
    (call $write (i32.const 200) (i32.const 212))
    ;; A recovered key: the low half points to its Region.
    (if (i32.and (i32.or (i32.eq (local.get $op) (i32.const 1)) (i32.eq (local.get $op) (i32.const 3)))
                 (i64.eqz (i64.shr_u (local.get $r) (i64.const 32))))
      (then (call $write (i32.const 224) (i32.wrap_i64 (local.get $r)))))
    (i32.const 16)))"#;

fn input(op: u32, a: &[u8], b: &[u8], c: &[u8], recovery: Option<u32>) -> Vec<u8> {
    let lc = recovery.unwrap_or(c.len() as u32);
    let mut msg = Vec::new();
    for n in [op, a.len() as u32, b.len() as u32, lc] {
        msg.extend_from_slice(&n.to_le_bytes());
    }
    msg.extend_from_slice(a);
    msg.extend_from_slice(b);
    if recovery.is_none() {
        msg.extend_from_slice(c);
    }
    msg
}

fn vectors(file: &str) -> Vec<Value> {
    let dir = std::fs::read_dir(home_registry()).unwrap();
    for entry in dir.flatten() {
        let path = entry.path().join("cosmwasm-crypto-3.0.10/testdata").join(file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return serde_json::from_str(&text).unwrap();
        }
    }
    panic!("cosmwasm-crypto 3.0.10's test data ({file}) not found in the cargo registry");
}

fn home_registry() -> std::path::PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    home.join("registry/src")
}

fn hex(value: &Value, key: &str) -> Vec<u8> {
    ::hex::decode(value[key].as_str().unwrap_or_else(|| panic!("{key}"))).unwrap()
}

fn flipped(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    bytes
}

#[test]
fn crypto_imports_give_cosmwasm_vm_codes() {
    let wasm = wat::parse_str(CONTRACT).unwrap();
    let sender = Bech32Api::default().addr_make("creator");
    let (mut pair, deployed) = Pair::instantiate(&wasm, &sender, "{}", &[]);
    deployed.assert_agree("instantiate").returned();
    let mut calls = Vec::new();
    for (file, verify, recover) in [("secp256k1_tests.json", 0, 1), ("secp256r1_tests.json", 2, 3)] {
        for vector in vectors(file).iter().take(6) {
            let hash = match vector.get("message_hash") {
                Some(_) => hex(vector, "message_hash"),
                None => {
                    use sha2::Digest;
                    sha2::Sha256::digest(hex(vector, "message")).to_vec()
                }
            };
            let (sig, key) = (hex(vector, "signature"), hex(vector, "pubkey"));
            calls.push(input(verify, &hash, &sig, &key, None));
            calls.push(input(verify, &hash, &flipped(&sig), &key, None));
            calls.push(input(verify, &hash[..31], &sig, &key, None));
            calls.push(input(verify, &hash, &sig[..63], &key, None));
            calls.push(input(verify, &hash, &sig, &key[..33], None));
            calls.push(input(verify, &hash, &sig, &[], None));
            for param in [0, 1, 2, 4, 300] {
                calls.push(input(recover, &hash, &sig, &[], Some(param)));
            }
            calls.push(input(recover, &hash, &flipped(&sig), &[], Some(0)));
        }
    }
    let ed = vectors("ed25519_tests.json");
    for vector in &ed {
        let (msg, sig, key) = (hex(vector, "message"), hex(vector, "signature"), hex(vector, "pubkey"));
        calls.push(input(4, &msg, &sig, &key, None));
        calls.push(input(4, &flipped(&msg), &sig, &key, None));
        calls.push(input(4, &msg, &sig, &key[..31], None));
    }
    let field = |key: &str| ed.iter().map(|v| hex(v, key)).collect::<Vec<_>>();
    let (msgs, sigs, keys) = (field("message"), field("signature"), field("pubkey"));
    let sections = |v: &[Vec<u8>]| encode_sections(&v.iter().map(Vec::as_slice).collect::<Vec<_>>());
    calls.push(input(5, &sections(&msgs), &sections(&sigs), &sections(&keys), None));
    let mut broken = sigs.clone();
    broken[1] = flipped(&broken[1]);
    calls.push(input(5, &sections(&msgs), &sections(&broken), &sections(&keys), None));
    calls.push(input(5, &sections(&msgs[..2]), &sections(&sigs), &sections(&keys), None));
    calls.push(input(5, &[], &[], &[], None));
    let mut codes = std::collections::BTreeSet::new();
    for (n, call) in calls.iter().enumerate() {
        pair.execute_bytes(&sender, call, &[]).assert_agree(&format!("crypto call {n}")).returned();
        let storage = pair.assert_storage_equal();
        let (_, code) = storage.iter().find(|(key, _)| key == b"r").expect("the code is stored");
        let code = u64::from_le_bytes(code.as_slice().try_into().unwrap());
        codes.insert(code);
    }
    // Valid, invalid, and several error codes were all seen.
    assert!(codes.contains(&0) && codes.contains(&1), "{codes:?}");
    assert!(codes.iter().filter(|&&c| c > 1).count() >= 3, "{codes:?}");
}

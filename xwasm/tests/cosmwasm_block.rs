//! Blocks of CosmWasm transactions (a token contract: transfers, burns,
//! overdrafts, out of gas, funds, migrations by the admin and by others)
//! mixed with native ones, run in parallel against the same transactions
//! run one by one: equal outcomes (status, gas, result, gas report, error,
//! debug), and equal final state, for 1 to 8 threads, each block twice;
//! blocks whose queries and scans read what the block wrote before them;
//! and a block of real contracts from the corpus.

mod common;

use common::{Rng, account};
use std::sync::Arc;
use xwasm::cosmwasm::bank::parse_coins;
use xwasm::store::MemoryBackend;
use xwasm::{
    Address, BlockTransaction, ChainContext, CosmwasmMessage, CosmwasmOutcome, Outcome, Transaction, Vm,
    VmError,
};

const CW_TOKEN: &str = include_str!("../../examples/contracts/cosmwasm/token.wat");
const NATIVE_TOKEN: &str = include_str!("../../examples/contracts/token.wat");
const CHAIN: ChainContext = ChainContext { block_height: 9, block_time_ms: 9 };
const ALICE: Address = Address([0xa1; 32]);
const CALL_GAS: u64 = 2_000_000_000;

/// The token with `burn` unknown: a second code to migrate to, whose
/// burns answer an error.
fn no_burn_token() -> String {
    CW_TOKEN.replace("\\22burn\\22", "\\22xurn\\22")
}

struct Setup {
    token: Address,
    native: Address,
}

fn message(vm: &Vm, sender: &Address, msg: String, gas: u64) -> CosmwasmMessage {
    CosmwasmMessage::new(vm.cosmwasm_address(sender), msg.into_bytes(), gas)
}

fn transfer(vm: &Vm, to: &Address, amount: u64) -> String {
    format!(r#"{{"transfer":{{"recipient":"{}","amount":"{amount}"}}}}"#, vm.cosmwasm_address(to))
}

/// The token instantiated by ALICE, each of `accounts` given 1,000; the
/// native token deployed beside it.
fn setup(vm: &Vm, accounts: u64) -> Setup {
    let wasm = wat::parse_str(CW_TOKEN).unwrap();
    let supply = format!(r#"{{"amount":"{}"}}"#, accounts * 1_000 + 1_000_000);
    let done = vm.cosmwasm_instantiate(&wasm, &message(vm, &ALICE, supply, 1_000_000_000_000), None).unwrap();
    let token = done.outcome.address.expect("instantiated");
    for i in 0..accounts {
        let msg = message(vm, &ALICE, transfer(vm, &account(i), 1_000), CALL_GAS);
        assert!(vm.cosmwasm_call_export(&token, "execute", &msg).unwrap().outcome.is_ok());
    }
    let native = wat::parse_str(NATIVE_TOKEN).unwrap();
    let tx = Transaction::new(ALICE, 100_000_000, 1_000_000u64.to_le_bytes().to_vec());
    let native = vm.deploy(&native, &CHAIN, &tx).unwrap().address.unwrap();
    Setup { token, native }
}

fn fresh(accounts: u64) -> (Vm, Setup) {
    let vm = Vm::builder().backend(Arc::new(MemoryBackend::new())).monitoring(None).build().unwrap();
    let setup = setup(&vm, accounts);
    (vm, setup)
}

/// A block of `size` transactions among `accounts` accounts.
fn random_block(vm: &Vm, rng: &mut Rng, s: &Setup, accounts: u64, size: usize) -> Vec<BlockTransaction> {
    let cw_wasm: Arc<[u8]> = wat::parse_str(CW_TOKEN).unwrap().into();
    let no_burn: Arc<[u8]> = wat::parse_str(no_burn_token()).unwrap().into();
    (0..size)
        .map(|_| {
            let from = account(rng.below(accounts));
            let to = account(rng.below(accounts));
            let call = |entry: &str, message| BlockTransaction::CosmwasmCall {
                contract: s.token,
                entry: entry.into(),
                message,
            };
            match rng.below(20) {
                // Transfers, some of them overdrawn.
                0..=9 => call("execute", message(vm, &from, transfer(vm, &to, rng.below(1_500)), CALL_GAS)),
                10..=11 => {
                    let msg = format!(r#"{{"burn":{{"amount":"{}"}}}}"#, rng.below(300));
                    call("execute", message(vm, &from, msg, CALL_GAS))
                }
                // Out of gas: after a write, or before the first.
                12 => call("execute", message(vm, &from, r#"{"spin":{}}"#.into(), 5_000_000)),
                13 => call("execute", message(vm, &from, transfer(vm, &to, 1), 20_000)),
                // Funds credited to the contract: bank keys every such
                // transaction writes.
                14 => {
                    let mut msg = message(vm, &from, transfer(vm, &to, rng.below(20)), CALL_GAS);
                    msg.funds = parse_coins("7uatom").unwrap();
                    call("execute", msg)
                }
                // A migration: by the admin, or refused; to the same code,
                // to the other code or back.
                15 => {
                    let sender = if rng.below(2) == 0 { ALICE } else { from };
                    let message = message(vm, &sender, "{}".into(), 1_000_000_000_000);
                    let new_code = match rng.below(3) {
                        0 => None,
                        1 => Some(cw_wasm.clone()),
                        _ => Some(no_burn.clone()),
                    };
                    BlockTransaction::CosmwasmMigrate { contract: s.token, new_code, message }
                }
                16 => BlockTransaction::CosmwasmInstantiate {
                    wasm: cw_wasm.clone(),
                    message: message(vm, &from, r#"{"amount":"5"}"#.into(), 1_000_000_000_000),
                    admin: None,
                },
                17 => call("sudo", message(vm, &from, "{}".into(), CALL_GAS)),
                _ => {
                    let input = [to.0.as_slice(), &rng.below(3_000).to_le_bytes()].concat();
                    BlockTransaction::Call {
                        address: s.native,
                        method: "transfer".into(),
                        tx: Transaction::new(ALICE, 10_000_000, input),
                    }
                }
            }
        })
        .collect()
}

/// What a transaction's result is made of, comparably.
fn essence(outcome: &Result<Outcome, VmError>, cosmwasm: Option<&CosmwasmOutcome>) -> String {
    let native = match outcome {
        Ok(o) => format!(
            "{} {} {} {:?} {:?} {:?}",
            o.status,
            o.gas_used,
            hex::encode(&o.return_data),
            o.events,
            o.error,
            o.address
        ),
        Err(e) => return format!("error: {e}"),
    };
    match cosmwasm {
        None => native,
        Some(done) => format!(
            "{native} {:?} {:?} {:?} {} {}",
            done.result.as_deref().map(String::from_utf8_lossy),
            done.gas_report,
            done.debug,
            done.code_gas,
            done.contract
        ),
    }
}

/// The transaction run alone, as a chain would without a block.
fn one_by_one(vm: &Vm, t: &BlockTransaction) -> String {
    let cosmwasm = |done: Result<CosmwasmOutcome, VmError>| match done {
        Ok(done) => essence(&Ok(done.outcome.clone()), Some(&done)),
        Err(error) => essence(&Err(error), None),
    };
    match t {
        BlockTransaction::Deploy { wasm, tx } => essence(&vm.deploy(wasm, &CHAIN, tx), None),
        BlockTransaction::Call { address, method, tx } => {
            essence(&vm.call(address, method, &CHAIN, tx), None)
        }
        BlockTransaction::CosmwasmInstantiate { wasm, message, admin } => {
            cosmwasm(vm.cosmwasm_instantiate(wasm, message, admin.as_deref()))
        }
        BlockTransaction::CosmwasmCall { contract, entry, message } => match entry.as_str() {
            "migrate" => cosmwasm(vm.cosmwasm_migrate(contract, None, message)),
            entry => cosmwasm(vm.cosmwasm_call_export(contract, entry, message)),
        },
        BlockTransaction::CosmwasmMigrate { contract, new_code, message } => {
            cosmwasm(vm.cosmwasm_migrate(contract, new_code.as_deref(), message))
        }
    }
}

fn state(vm: &Vm) -> Vec<(Vec<u8>, Vec<u8>)> {
    vm.backend().scan_prefix(&[]).unwrap()
}

#[test]
fn cosmwasm_blocks_give_exactly_the_one_by_one_outcomes_and_state() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut re_executions = 0;
    for (accounts, size) in [(3, 150), (60, 200)] {
        let (reference, s) = fresh(accounts);
        let block = random_block(&reference, &mut rng, &s, accounts, size);
        let expected: Vec<String> = block.iter().map(|t| one_by_one(&reference, t)).collect();
        let kinds: std::collections::BTreeSet<&str> =
            expected.iter().map(|e| e.split(' ').next().unwrap()).collect();
        for kind in ["ok", "abort", "out_of_gas", "error:"] {
            assert!(kinds.contains(kind), "the block has a {kind} transaction: {kinds:?}");
        }
        for threads in [1, 2, 4, 8] {
            for _ in 0..2 {
                let (vm, _) = fresh(accounts);
                let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
                re_executions += outcome.re_executions;
                for (i, expected) in expected.iter().enumerate() {
                    let got = essence(&outcome.outcomes[i], outcome.cosmwasm[i].as_deref());
                    assert_eq!(
                        &got, expected,
                        "transaction {i} of {size}, {accounts} accounts, {threads} threads"
                    );
                }
                assert_eq!(state(&vm), state(&reference), "state, {accounts} accounts, {threads} threads");
            }
        }
    }
    assert!(re_executions > 0, "the blocks had conflicts to resolve");
}

/// A migration early in a block changes the record later transactions of
/// the block read, and, once the block commits, the record the VM had
/// cached: later calls run the new code, in the block and after.
#[test]
fn a_migration_in_a_block_is_seen_by_the_rest_of_the_block_and_after() {
    let (vm, s) = fresh(2);
    let by_alice = |msg: &str| message(&vm, &ALICE, msg.into(), 1_000_000_000_000);
    let burn = r#"{"burn":{"amount":"1"}}"#;
    let status = |done: &CosmwasmOutcome| done.outcome.status;
    // The committed record is cached by this call.
    assert_eq!(
        status(&vm.cosmwasm_call_export(&s.token, "execute", &by_alice(burn)).unwrap()),
        xwasm::Status::Ok
    );
    let no_burn: Arc<[u8]> = wat::parse_str(no_burn_token()).unwrap().into();
    let block = vec![
        BlockTransaction::CosmwasmMigrate {
            contract: s.token,
            new_code: Some(no_burn),
            message: by_alice("{}"),
        },
        BlockTransaction::CosmwasmCall {
            contract: s.token,
            entry: "execute".into(),
            message: by_alice(burn),
        },
    ];
    let outcome = vm.execute_block(&CHAIN, &block, 2).unwrap();
    assert_eq!(outcome.outcomes[0].as_ref().unwrap().status, xwasm::Status::Ok);
    let burned = outcome.cosmwasm[1].as_ref().unwrap();
    assert_eq!(
        (status(burned), burned.outcome.error.as_deref()),
        (xwasm::Status::Abort, Some("unknown message"))
    );
    let after = vm.cosmwasm_call_export(&s.token, "execute", &by_alice(burn)).unwrap();
    assert_eq!(
        (status(&after), after.outcome.error.as_deref()),
        (xwasm::Status::Abort, Some("unknown message"))
    );
}

/// A contract that reads inside a block what the block wrote before it.
/// `execute` with a JSON object passes it to `query_chain` (a smart, raw
/// or bank query) and stores the answer as a key; with a JSON array,
/// counts its own keys with `db_scan` and stores the count as a key; with
/// anything else, stores the message as a key. Its gas grows with what it
/// read: the answer's length, the keys counted.
const READER: &str = r#"(module
  (import "env" "db_write" (func $write (param i32 i32)))
  (import "env" "db_scan" (func $scan (param i32 i32 i32) (result i32)))
  (import "env" "db_next_key" (func $next_key (param i32) (result i32)))
  (import "env" "query_chain" (func $query (param i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  ;; The Region at 16 over the ok Response at 64.
  (data (i32.const 16) "\40\00\00\00\3e\00\00\00\3e\00\00\00")
  (data (i32.const 64) "{\22ok\22:{\22messages\22:[],\22attributes\22:[],\22events\22:[],\22data\22:null}}")
  (func (export "allocate") (param $size i32) (result i32) (local $r i32)
    (local.set $r (global.get $heap))
    (i32.store (local.get $r) (i32.add (local.get $r) (i32.const 12)))
    (i32.store offset=4 (local.get $r) (local.get $size))
    (i32.store offset=8 (local.get $r) (i32.const 0))
    (global.set $heap (i32.add (i32.add (local.get $r) (i32.const 12)) (local.get $size)))
    (local.get $r))
  (func (export "deallocate") (param i32))
  (func (export "interface_version_8"))
  (func (export "instantiate") (param i32 i32 i32) (result i32) (i32.const 16))
  (func (export "execute") (param i32 i32 i32) (result i32) (local $first i32) (local $it i32) (local $n i32)
    (local.set $first (i32.load8_u (i32.load (local.get 2))))
    (if (i32.eq (local.get $first) (i32.const 123))
      (then (call $write (call $query (local.get 2)) (local.get 2)) (return (i32.const 16))))
    (if (i32.eq (local.get $first) (i32.const 91))
      (then
        (local.set $it (call $scan (i32.const 0) (i32.const 0) (i32.const 1)))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (call $next_key (local.get $it))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $next)))
        (i32.store (i32.const 1040) (local.get $n))
        (i32.store (i32.const 1024) (i32.const 1040))
        (i32.store (i32.const 1028) (i32.const 4))
        (i32.store (i32.const 1032) (i32.const 4))
        (call $write (i32.const 1024) (local.get 2))
        (return (i32.const 16))))
    (call $write (local.get 2) (local.get 2))
    (i32.const 16))
  (func (export "query") (param i32 i32) (result i32) (i32.const 16)))"#;

fn base64(bytes: impl AsRef<[u8]>) -> String {
    cosmwasm_std::Binary::new(bytes.as_ref().to_vec()).to_base64()
}

/// Smart queries of the token's balances, raw reads of its storage, bank
/// queries of the funds sent to it, and scans of the reader's own keys,
/// among transfers (some with funds) and inserts: a block in which every
/// kind of read depends on a write earlier in the block. Each is
/// validated: the outcomes and final state equal one-by-one calls on 1 to
/// 8 threads.
#[test]
fn queries_and_scans_in_a_block_read_what_the_block_wrote_before_them() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut re_executions = 0;
    for accounts in [3, 60] {
        let fresh_with_reader = || {
            let (vm, s) = fresh(accounts);
            let wasm = wat::parse_str(READER).unwrap();
            let done =
                vm.cosmwasm_instantiate(&wasm, &message(&vm, &ALICE, "{}".into(), 1_000_000_000_000), None);
            let reader = done.unwrap().outcome.address.expect("instantiated");
            (vm, s, reader)
        };
        let (reference, s, reader) = fresh_with_reader();
        let token = reference.cosmwasm_address(&s.token);
        let block: Vec<BlockTransaction> = (0..160)
            .map(|_| {
                let from = account(rng.below(accounts));
                let holder = reference.cosmwasm_address(&account(rng.below(accounts)));
                let (contract, msg, funds) = match rng.below(10) {
                    0..=2 => {
                        (s.token, transfer(&reference, &account(rng.below(accounts)), rng.below(700)), "")
                    }
                    3 => (s.token, transfer(&reference, &account(rng.below(accounts)), 1), "3uatom"),
                    4 => {
                        let balance = base64(format!(r#"{{"balance":{{"address":"{holder}"}}}}"#));
                        (
                            reader,
                            format!(
                                r#"{{"wasm":{{"smart":{{"contract_addr":"{token}","msg":"{balance}"}}}}}}"#
                            ),
                            "",
                        )
                    }
                    5 => {
                        let key = base64(format!("b{holder}"));
                        (
                            reader,
                            format!(r#"{{"wasm":{{"raw":{{"contract_addr":"{token}","key":"{key}"}}}}}}"#),
                            "",
                        )
                    }
                    6 => (
                        reader,
                        format!(r#"{{"bank":{{"balance":{{"address":"{token}","denom":"uatom"}}}}}}"#),
                        "",
                    ),
                    7 => (reader, format!(r#""k{}""#, rng.below(40)), ""),
                    _ => (reader, "[]".into(), ""),
                };
                let mut message = message(&reference, &from, msg, CALL_GAS);
                message.funds = parse_coins(funds).unwrap();
                BlockTransaction::CosmwasmCall { contract, entry: "execute".into(), message }
            })
            .collect();
        let expected: Vec<String> = block.iter().map(|t| one_by_one(&reference, t)).collect();
        // The reads saw the block move: several balances answered, several counts.
        let stored = reference.storage(&reader).unwrap();
        let answers = stored.iter().filter(|(key, _)| key.starts_with(br#"{"ok":{"ok":"#)).count();
        let counts = stored.iter().filter(|(_, value)| value.as_slice() == b"[]").count();
        assert!(answers > 10 && counts > 5, "{answers} distinct answers, {counts} distinct counts");
        for threads in [1, 2, 4, 8] {
            for _ in 0..2 {
                let (vm, _, _) = fresh_with_reader();
                let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
                re_executions += outcome.re_executions;
                for (i, expected) in expected.iter().enumerate() {
                    let got = essence(&outcome.outcomes[i], outcome.cosmwasm[i].as_deref());
                    assert_eq!(&got, expected, "transaction {i}, {accounts} accounts, {threads} threads");
                }
                assert_eq!(state(&vm), state(&reference), "state, {accounts} accounts, {threads} threads");
            }
        }
    }
    assert!(re_executions > 0, "the blocks had conflicts to resolve");
}

/// The token's balance query answers the holder's balance (the reader's
/// smart queries depend on it): 12 base64 digits whose 9 bytes hold the
/// balance's 66 bits, then 6 zero bits.
#[test]
fn the_token_answers_a_balance_query_with_the_balance() {
    let (vm, s) = fresh(2);
    let balance_of = |holder: &Address| {
        let msg = format!(r#"{{"balance":{{"address":"{}"}}}}"#, vm.cosmwasm_address(holder));
        let done = vm.cosmwasm_query(&s.token, msg.as_bytes(), &Default::default(), CALL_GAS).unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&done.result.expect("an answer")).unwrap();
        let bytes = cosmwasm_std::Binary::from_base64(answer["ok"].as_str().unwrap()).unwrap();
        assert_eq!(bytes.len(), 9, "{answer}");
        u128::from_be_bytes([[0; 7].as_slice(), &bytes].concat().try_into().unwrap()) >> 6
    };
    assert_eq!(balance_of(&account(0)), 1_000);
    let msg = message(&vm, &account(0), transfer(&vm, &account(1), 321), CALL_GAS);
    assert!(vm.cosmwasm_call_export(&s.token, "execute", &msg).unwrap().outcome.is_ok());
    assert_eq!((balance_of(&account(0)), balance_of(&account(1))), (679, 1_321));
    assert_eq!(balance_of(&account(7)), 0);
    let other = vm.cosmwasm_query(&s.token, b"{}", &Default::default(), CALL_GAS).unwrap();
    assert_eq!(other.result.as_deref(), Some(br#"{"ok":"e30="}"#.as_slice()));
}

fn corpus(name: &str) -> Arc<[u8]> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into()
}

fn empty_vm() -> Vm {
    Vm::builder().backend(Arc::new(MemoryBackend::new())).monitoring(None).build().unwrap()
}

/// Real contracts compiled by others (hackatom and cyberpunk, from the
/// corpus), deployed and called in one block: funds, a release and an
/// unauthorized one, a panic, user errors in API calls, out of gas in a
/// loop, an `unreachable`, a migration the contract refuses and `sudo`.
/// The block on 1, 2 and 4 threads gives the outcomes and state of the
/// same transactions run one by one.
#[test]
fn real_contracts_deployed_and_called_in_a_block_give_the_one_by_one_outcomes() {
    let reference = empty_vm();
    let bech = |i: u64| reference.cosmwasm_address(&account(i));
    let (verifier, beneficiary) = (bech(1), bech(2));
    let msg = |sender: &Address, text: &str, gas: u64, funds: &str| {
        let mut message = message(&reference, sender, text.into(), gas);
        message.funds = parse_coins(funds).unwrap();
        message
    };
    // The deployments first, one by one, for their addresses (the block's
    // are the same: they follow from the sender, its deploy count and the
    // code).
    let init = format!(r#"{{"verifier":"{verifier}","beneficiary":"{beneficiary}"}}"#);
    let admin = Some(reference.cosmwasm_address(&ALICE));
    let mut block = vec![
        BlockTransaction::CosmwasmInstantiate {
            wasm: corpus("hackatom.wasm"),
            message: msg(&ALICE, &init, 1_000_000_000_000, "1000earth"),
            admin,
        },
        BlockTransaction::CosmwasmInstantiate {
            wasm: corpus("cyberpunk.wasm"),
            message: msg(&ALICE, "{}", 1_000_000_000_000, ""),
            admin: None,
        },
    ];
    let mut expected = Vec::new();
    let mut addresses = Vec::new();
    for t in &block {
        let BlockTransaction::CosmwasmInstantiate { wasm, message, admin } = t else { unreachable!() };
        let done = reference.cosmwasm_instantiate(wasm, message, admin.as_deref()).unwrap();
        addresses.push(done.outcome.address.expect("instantiated"));
        expected.push(essence(&Ok(done.outcome.clone()), Some(&done)));
    }
    let (hackatom, cyberpunk) = (addresses[0], addresses[1]);
    let call = |contract: Address, entry: &str, message| BlockTransaction::CosmwasmCall {
        contract,
        entry: entry.into(),
        message,
    };
    let (v, other) = (account(1), account(3));
    block.extend([
        call(hackatom, "execute", msg(&other, r#"{"release":{"denom":"earth"}}"#, CALL_GAS, "")),
        call(hackatom, "execute", msg(&v, r#"{"release":{"denom":"earth"}}"#, CALL_GAS, "")),
        call(hackatom, "execute", msg(&v, r#"{"cpu_loop":{}}"#, 300_000, "")),
        call(hackatom, "execute", msg(&v, r#"{"panic":{}}"#, CALL_GAS, "")),
        call(hackatom, "execute", msg(&v, r#"{"user_errors_in_api_calls":{}}"#, CALL_GAS, "")),
        call(cyberpunk, "execute", msg(&other, r#"{"mirror_env":{}}"#, CALL_GAS, "3uatom")),
        call(cyberpunk, "execute", msg(&other, r#"{"noop":{}}"#, CALL_GAS, "")),
        call(cyberpunk, "execute", msg(&other, r#"{"unreachable":{}}"#, CALL_GAS, "")),
        call(cyberpunk, "execute", msg(&other, r#"{"memory_loop":{}}"#, 300_000, "")),
        BlockTransaction::CosmwasmMigrate {
            contract: hackatom,
            new_code: None,
            message: msg(&ALICE, &format!(r#"{{"verifier":"{}"}}"#, bech(3)), CALL_GAS, ""),
        },
        // hackatom refuses a migration to its own version ("Downgrade is
        // not supported"): the verifier stays, and this release is refused.
        call(hackatom, "execute", msg(&other, r#"{"release":{"denom":"earth"}}"#, CALL_GAS, "")),
        call(
            hackatom,
            "sudo",
            msg(
                &ALICE,
                &format!(
                    r#"{{"steal_funds":{{"recipient":"{}","amount":[{{"denom":"earth","amount":"1"}}]}}}}"#,
                    bech(4)
                ),
                CALL_GAS,
                "",
            ),
        ),
    ]);
    expected.extend(block[2..].iter().map(|t| one_by_one(&reference, t)));
    let kinds: std::collections::BTreeSet<&str> =
        expected.iter().map(|e| e.split(' ').next().unwrap()).collect();
    for kind in ["ok", "abort", "out_of_gas", "trap"] {
        assert!(kinds.contains(kind), "the block has a {kind} transaction: {kinds:?}");
    }
    for threads in [1, 2, 4] {
        let vm = empty_vm();
        let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
        for (i, expected) in expected.iter().enumerate() {
            let got = essence(&outcome.outcomes[i], outcome.cosmwasm[i].as_deref());
            assert_eq!(&got, expected, "transaction {i}, {threads} threads");
        }
        assert_eq!(state(&vm), state(&reference), "state, {threads} threads");
    }
}

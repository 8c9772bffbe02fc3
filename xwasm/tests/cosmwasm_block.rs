//! Blocks of CosmWasm transactions (a token contract: transfers, burns,
//! overdrafts, out of gas, funds, migrations by the admin and by others)
//! mixed with native ones, run in parallel against the same transactions
//! run one by one: equal outcomes (status, gas, result, gas report, error,
//! debug), and equal final state, for 1 to 8 threads, each block twice.

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

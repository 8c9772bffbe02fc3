//! Contracts from public repositories, compiled and published by others
//! and not in the corpus: cw-plus's cw20-base (a token), cw721-base (an
//! NFT), cw3-fixed-multisig, cw4-group and cw1-whitelist, as
//! `peers/scripts/fetch_public_contracts.py` fetches them (`.ci/run` runs
//! it first), and OraiDEX's concentrated-liquidity swap contract. Each is driven through cosmwasm-vm 3.0.10 and xwasm with the
//! same messages (successes, contract errors, unauthorized senders,
//! invalid addresses, iteration in both orders): equal results, gas and
//! storage. A cw3-flex-multisig weighs votes by smart and raw queries of
//! a cw4-group, against cosmwasm-vm running the group's code for its
//! querier. Then blocks of cw20, cw721 and swap transactions equal the
//! same transactions run one by one, and so does that multisig.

use cosmwasm_std::{Coin, coins};
use xwasm::cosmwasm::Bech32Api;
use xwasm_peers::Pair;

fn contract(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/public-contracts");
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (run `python3 peers/scripts/fetch_public_contracts.py` first)", path.display())
    })
}

fn addr(name: &str) -> String {
    Bech32Api::default().addr_make(name)
}

/// Deploys `name` in both VMs, runs `executions` (sender, message) and
/// then `queries` in both, each compared, and compares the storage.
fn scripted(name: &str, init: &str, funds: &[Coin], executions: &[(String, String)], queries: &[String]) {
    let (mut pair, deployed) = Pair::instantiate(&contract(name), &addr("alice"), init, funds);
    deployed.assert_agree(&format!("{name}: instantiate")).returned();
    for (sender, msg) in executions {
        pair.execute(sender, msg, &[]).assert_agree(&format!("{name}: execute {msg}")).returned();
    }
    for msg in queries {
        pair.query(msg).assert_agree(&format!("{name}: query {msg}")).returned();
    }
    pair.assert_storage_equal();
}

fn users() -> (String, String, String) {
    (addr("alice"), addr("bob"), addr("carol"))
}

#[test]
fn cw20_base_agrees_with_cosmwasm_vm() {
    let (a, b, c) = users();
    let init = format!(
        r#"{{"name":"Token","symbol":"TOK","decimals":6,"initial_balances":[{{"address":"{a}","amount":"1000"}},{{"address":"{b}","amount":"7"}}],"mint":{{"minter":"{a}","cap":"100000"}},"marketing":null}}"#
    );
    let executions = [
        (&a, format!(r#"{{"transfer":{{"recipient":"{b}","amount":"100"}}}}"#)),
        // An overdraft, an invalid address, a burn, a mint by the minter
        // and by someone else.
        (&b, format!(r#"{{"transfer":{{"recipient":"{c}","amount":"1000000"}}}}"#)),
        (&b, r#"{"transfer":{"recipient":"not-an-address","amount":"1"}}"#.to_string()),
        (&a, r#"{"burn":{"amount":"10"}}"#.to_string()),
        (&a, format!(r#"{{"mint":{{"recipient":"{c}","amount":"5"}}}}"#)),
        (&b, format!(r#"{{"mint":{{"recipient":"{c}","amount":"5"}}}}"#)),
        (&a, format!(r#"{{"increase_allowance":{{"spender":"{b}","amount":"50","expires":null}}}}"#)),
        (&b, format!(r#"{{"transfer_from":{{"owner":"{a}","recipient":"{c}","amount":"20"}}}}"#)),
        (&b, format!(r#"{{"transfer_from":{{"owner":"{a}","recipient":"{c}","amount":"40"}}}}"#)),
        (&a, format!(r#"{{"send":{{"contract":"{c}","amount":"3","msg":"eyJhIjoxfQ=="}}}}"#)),
        (&a, r#"{"update_marketing":{"project":"p","description":"d","marketing":null}}"#.to_string()),
        (&a, r#"{"nonsense":{}}"#.to_string()),
    ];
    let queries = [
        format!(r#"{{"balance":{{"address":"{a}"}}}}"#),
        format!(r#"{{"balance":{{"address":"{c}"}}}}"#),
        r#"{"token_info":{}}"#.to_string(),
        r#"{"minter":{}}"#.to_string(),
        format!(r#"{{"allowance":{{"owner":"{a}","spender":"{b}"}}}}"#),
        format!(r#"{{"all_allowances":{{"owner":"{a}"}}}}"#),
        r#"{"all_accounts":{}}"#.to_string(),
        r#"{"all_accounts":{"start_after":"a","limit":2}}"#.to_string(),
        r#"{"marketing_info":{}}"#.to_string(),
    ];
    let executions = executions.map(|(sender, msg)| (sender.clone(), msg));
    scripted("cw20-base.wasm", &init, &[], &executions, &queries);
}

#[test]
fn cw721_base_agrees_with_cosmwasm_vm() {
    let (a, b, c) = users();
    let mint = |id: &str, owner: &str| {
        format!(r#"{{"mint":{{"token_id":"{id}","owner":"{owner}","token_uri":null,"extension":null}}}}"#)
    };
    let executions = [
        (&a, mint("1", &a)),
        (&a, mint("2", &b)),
        // A taken id, a mint by someone else, a transfer by a non-owner,
        // a send by an approved spender, a burn.
        (&a, mint("2", &b)),
        (&b, mint("3", &b)),
        (&a, format!(r#"{{"transfer_nft":{{"recipient":"{c}","token_id":"1"}}}}"#)),
        (&a, format!(r#"{{"transfer_nft":{{"recipient":"{c}","token_id":"2"}}}}"#)),
        (&b, format!(r#"{{"approve":{{"spender":"{c}","token_id":"2","expires":null}}}}"#)),
        (&c, format!(r#"{{"send_nft":{{"contract":"{a}","token_id":"2","msg":"e30="}}}}"#)),
        (&c, r#"{"burn":{"token_id":"1"}}"#.to_string()),
    ];
    let queries = [
        r#"{"owner_of":{"token_id":"2"}}"#.to_string(),
        r#"{"owner_of":{"token_id":"1"}}"#.to_string(),
        r#"{"num_tokens":{}}"#.to_string(),
        r#"{"all_tokens":{}}"#.to_string(),
        format!(r#"{{"tokens":{{"owner":"{a}"}}}}"#),
        r#"{"nft_info":{"token_id":"2"}}"#.to_string(),
        r#"{"all_nft_info":{"token_id":"2"}}"#.to_string(),
        r#"{"contract_info":{}}"#.to_string(),
        r#"{"minter":{}}"#.to_string(),
    ];
    let executions = executions.map(|(sender, msg)| (sender.clone(), msg));
    let init = format!(r#"{{"name":"Art","symbol":"ART","minter":"{a}"}}"#);
    scripted("cw721-base.wasm", &init, &[], &executions, &queries);
}

#[test]
fn cw3_fixed_multisig_agrees_with_cosmwasm_vm() {
    let (a, b, c) = users();
    let init = format!(
        r#"{{"voters":[{{"addr":"{a}","weight":1}},{{"addr":"{b}","weight":1}},{{"addr":"{c}","weight":1}}],"threshold":{{"absolute_count":{{"weight":2}}}},"max_voting_period":{{"height":100}}}}"#
    );
    let send = format!(
        r#"[{{"bank":{{"send":{{"to_address":"{c}","amount":[{{"denom":"earth","amount":"10"}}]}}}}}}]"#
    );
    let propose = format!(r#"{{"propose":{{"title":"t","description":"d","msgs":{send},"latest":null}}}}"#);
    let executions = [
        (a.clone(), propose.clone()),
        (addr("mallory"), propose),
        (b.clone(), r#"{"vote":{"proposal_id":1,"vote":"yes"}}"#.to_string()),
        (b.clone(), r#"{"vote":{"proposal_id":1,"vote":"no"}}"#.to_string()),
        (c.clone(), r#"{"execute":{"proposal_id":1}}"#.to_string()),
        (c.clone(), r#"{"execute":{"proposal_id":1}}"#.to_string()),
    ];
    let queries = [
        r#"{"proposal":{"proposal_id":1}}"#.to_string(),
        r#"{"list_proposals":{}}"#.to_string(),
        r#"{"reverse_proposals":{}}"#.to_string(),
        r#"{"list_votes":{"proposal_id":1}}"#.to_string(),
        r#"{"list_voters":{}}"#.to_string(),
        r#"{"threshold":{}}"#.to_string(),
    ];
    scripted("cw3-fixed-multisig.wasm", &init, &coins(500, "earth"), &executions, &queries);
}

#[test]
fn cw4_group_and_cw1_whitelist_agree_with_cosmwasm_vm() {
    let (a, b, c) = users();
    let init =
        format!(r#"{{"admin":"{a}","members":[{{"addr":"{a}","weight":5}},{{"addr":"{b}","weight":3}}]}}"#);
    let executions = [
        (
            a.clone(),
            format!(r#"{{"update_members":{{"remove":["{b}"],"add":[{{"addr":"{c}","weight":7}}]}}}}"#),
        ),
        (b.clone(), format!(r#"{{"update_members":{{"remove":["{a}"],"add":[]}}}}"#)),
        (a.clone(), format!(r#"{{"add_hook":{{"addr":"{c}"}}}}"#)),
        (a.clone(), format!(r#"{{"update_admin":{{"admin":"{b}"}}}}"#)),
    ];
    let queries = [
        r#"{"list_members":{}}"#.to_string(),
        r#"{"total_weight":{}}"#.to_string(),
        format!(r#"{{"member":{{"addr":"{c}"}}}}"#),
        format!(r#"{{"member":{{"addr":"{b}","at_height":1}}}}"#),
        r#"{"hooks":{}}"#.to_string(),
        r#"{"admin":{}}"#.to_string(),
    ];
    scripted("cw4-group.wasm", &init, &[], &executions, &queries);

    let send = format!(
        r#"{{"bank":{{"send":{{"to_address":"{c}","amount":[{{"denom":"earth","amount":"1"}}]}}}}}}"#
    );
    let executions = [
        (a.clone(), format!(r#"{{"execute":{{"msgs":[{send}]}}}}"#)),
        (b.clone(), format!(r#"{{"execute":{{"msgs":[{send}]}}}}"#)),
        (a.clone(), format!(r#"{{"update_admins":{{"admins":["{a}","{b}"]}}}}"#)),
        (a.clone(), r#"{"freeze":{}}"#.to_string()),
    ];
    let queries =
        [r#"{"admin_list":{}}"#.to_string(), format!(r#"{{"can_execute":{{"sender":"{b}","msg":{send}}}}}"#)];
    let init = format!(r#"{{"admins":["{a}"],"mutable":true}}"#);
    scripted("cw1-whitelist.wasm", &init, &coins(9, "earth"), &executions, &queries);
}

/// A swap contract: oraiswap-v3, concentrated liquidity (Invariant's
/// design), with its fixed-point price math: a fee tier, a pool, a
/// position, swaps both ways, fees claimed, quotes.
#[test]
fn oraiswap_v3_agrees_with_cosmwasm_vm() {
    let (a, b, _) = users();
    let (x, y) = (addr("token x"), addr("token y"));
    let (x, y) = if x < y { (x, y) } else { (y, x) };
    let fee = r#"{"fee":10000000000,"tick_spacing":1}"#;
    let key = format!(r#"{{"token_x":"{x}","token_y":"{y}","fee_tier":{fee}}}"#);
    let max = "340282366920938463463374607431768211455";
    let swap = |x_to_y: bool, amount: &str, limit: &str| {
        format!(
            r#"{{"pool_key":{key},"x_to_y":{x_to_y},"amount":"{amount}","by_amount_in":true,"sqrt_price_limit":"{limit}"}}"#
        )
    };
    let executions = [
        (&a, format!(r#"{{"add_fee_tier":{{"fee_tier":{fee}}}}}"#)),
        (&b, r#"{"add_fee_tier":{"fee_tier":{"fee":20000000000,"tick_spacing":2}}}"#.to_string()),
        (
            &a,
            format!(
                r#"{{"create_pool":{{"token_0":"{x}","token_1":"{y}","fee_tier":{fee},"init_sqrt_price":"1000000000000000000000000","init_tick":0}}}}"#
            ),
        ),
        (
            &b,
            format!(
                r#"{{"create_position":{{"pool_key":{key},"lower_tick":-10,"upper_tick":10,"liquidity_delta":"1000000000000000000","slippage_limit_lower":"0","slippage_limit_upper":"{max}"}}}}"#
            ),
        ),
        (&a, format!(r#"{{"swap":{}}}"#, swap(true, "1000", "1"))),
        (&a, format!(r#"{{"swap":{}}}"#, swap(false, "500", max))),
        // A price limit on the wrong side of the price.
        (&a, format!(r#"{{"swap":{}}}"#, swap(true, "1000", max))),
        (&b, r#"{"claim_fee":{"index":0}}"#.to_string()),
        (&a, r#"{"claim_fee":{"index":0}}"#.to_string()),
    ];
    let queries = [
        format!(r#"{{"pool":{{"token_0":"{x}","token_1":"{y}","fee_tier":{fee}}}}}"#),
        r#"{"pools":{}}"#.to_string(),
        format!(r#"{{"quote":{}}}"#, swap(true, "2000", "1")),
        format!(r#"{{"position":{{"owner_id":"{b}","index":0}}}}"#),
        r#"{"protocol_fee":{}}"#.to_string(),
        r#"{"fee_tiers":{}}"#.to_string(),
    ];
    let executions = executions.map(|(sender, msg)| (sender.clone(), msg));
    scripted("oraiswap-v3.wasm", r#"{"protocol_fee":100000000000}"#, &[], &executions, &queries);
}

/// Smart and raw queries between two contracts, with cosmwasm-vm as the
/// judge: a cw3-flex-multisig that weighs votes by querying its
/// cw4-group, in one xwasm VM, against cosmwasm-vm whose querier answers
/// the multisig's queries by running the group's code over the group's
/// storage, in the environment xwasm gives a nested query. Members
/// change between a proposal and its votes, so the votes are weighed at
/// the proposal's height (the group's snapshots). Results, gas (the
/// caller's own, and the mock's price plus the group's gas, which a chain
/// charges to the caller) and both contracts' storage are equal.
#[test]
fn cw3_flex_multisig_queries_its_cw4_group_as_in_cosmwasm_vm() {
    use cosmwasm_std::{Binary, ContractResult, SystemResult, WasmQuery};
    use cosmwasm_vm::testing::{MockApi, MockQuerier, MockStorage};
    use cosmwasm_vm::{Backend, Instance, InstanceOptions, Size, Storage};
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use xwasm::cosmwasm::{BlockEnv, EntryPoint};
    use xwasm::{CosmwasmMessage, Status};
    use xwasm_peers::{CW_GAS, DEPLOY_GAS, records};

    type Records = Vec<(Vec<u8>, Vec<u8>)>;
    let (a, b, c) = users();
    let (group_wasm, flex_wasm) = (contract("cw4-group.wasm"), contract("cw3-flex-multisig.wasm"));
    let vm = xwasm_peers::vm();
    let env_at = |height: u64| BlockEnv { height, ..BlockEnv::default() };
    let message = |sender: &str, msg: &str, height: u64, gas: u64| {
        let mut message = CosmwasmMessage::new(sender, msg.as_bytes(), gas);
        message.env = env_at(height);
        message
    };
    // The peer's side: each contract's storage, and what the group's
    // nested queries used.
    let group_storage: Rc<RefCell<Records>> = Rc::default();
    let mut flex_storage = Records::new();
    let nested_gas = Rc::new(Cell::new(0u64));
    let nested_env: Rc<RefCell<Vec<u8>>> = Rc::default();
    // Runs `call` on a fresh cosmwasm-vm instance of `wasm` over
    // `storage`; keeps the writes only if the contract returned ok.
    fn run(
        wasm: &[u8],
        storage: &mut Records,
        querier: MockQuerier,
        call: impl FnOnce(&mut Instance<MockApi, MockStorage, MockQuerier>) -> cosmwasm_vm::VmResult<Vec<u8>>,
    ) -> (Option<Vec<u8>>, (u64, u64)) {
        let mut backend = Backend { api: MockApi::default(), storage: MockStorage::default(), querier };
        for (key, value) in storage.iter() {
            backend.storage.set(key, value).0.unwrap();
        }
        let options = InstanceOptions { gas_limit: CW_GAS };
        let mut instance = Instance::from_code(wasm, backend, options, Some(Size::mebi(16))).unwrap();
        let result = call(&mut instance).ok();
        let report = instance.create_gas_report();
        let mut backend = instance.recycle().unwrap();
        if result.as_deref().is_some_and(|bytes| xwasm::cosmwasm::contract_error(bytes).is_none()) {
            *storage = records(&mut backend.storage);
        }
        (result, (report.used_internally, report.used_externally))
    }

    // Deploy both in xwasm, then in the peer at the same addresses.
    let members =
        format!(r#"[{{"addr":"{a}","weight":1}},{{"addr":"{b}","weight":2}},{{"addr":"{c}","weight":1}}]"#);
    let group_init = format!(r#"{{"admin":"{a}","members":{members}}}"#);
    let deploy = |wasm: &[u8], init: &str| {
        let done = vm.cosmwasm_instantiate(wasm, &message(&a, init, 100, DEPLOY_GAS), None).unwrap();
        assert_eq!(done.outcome.status, Status::Ok, "{:?}", done.outcome.error);
        (done.outcome.address.unwrap(), done.contract)
    };
    let (group, group_contract) = deploy(&group_wasm, &group_init);
    let flex_init = format!(
        r#"{{"group_addr":"{group_contract}","threshold":{{"absolute_count":{{"weight":3}}}},"max_voting_period":{{"height":100}},"executor":null,"proposal_deposit":null}}"#
    );
    let (flex, flex_contract) = deploy(&flex_wasm, &flex_init);
    let info = |sender: &str| xwasm::cosmwasm::info_json(sender, &[]);
    let env_json = |height: u64, contract: &str| xwasm::cosmwasm::env_json(&env_at(height).env(contract));
    let (result, _) = run(&group_wasm, &mut group_storage.borrow_mut(), MockQuerier::new(&[]), |i| {
        cosmwasm_vm::call_instantiate_raw(
            i,
            &env_json(100, &group_contract),
            &info(&a),
            group_init.as_bytes(),
        )
    });
    assert!(result.is_some());
    // The multisig's querier: the group's code over the group's storage.
    let querier = || {
        let mut querier = MockQuerier::new(&[]);
        let (wasm, storage, gas, env) =
            (group_wasm.clone(), group_storage.clone(), nested_gas.clone(), nested_env.clone());
        let group = group_contract.clone();
        querier.update_wasm(move |query| match query {
            WasmQuery::Smart { contract_addr, msg } if *contract_addr == group => {
                let (answer, used) = run(&wasm, &mut storage.borrow().clone(), MockQuerier::new(&[]), |i| {
                    cosmwasm_vm::call_query_raw(i, &env.borrow(), msg)
                });
                gas.set(gas.get() + used.0 + used.1);
                let answer = answer.expect("the group answers");
                SystemResult::Ok(cosmwasm_std::from_json::<ContractResult<Binary>>(&answer).unwrap())
            }
            WasmQuery::Raw { contract_addr, key } if *contract_addr == group => {
                let value =
                    storage.borrow().iter().find(|(k, _)| k == key.as_slice()).map(|(_, v)| v.clone());
                SystemResult::Ok(ContractResult::Ok(Binary::from(value.unwrap_or_default())))
            }
            other => panic!("the multisig asked for {other:?}"),
        });
        querier
    };
    // A nested query's environment in xwasm: the block's height, its
    // time in whole milliseconds, the queried contract.
    let nested_at = |height: u64| {
        let mut env = env_at(height);
        env.time_nanos = env.time_nanos / 1_000_000 * 1_000_000;
        xwasm::cosmwasm::env_json(&env.env(&group_contract))
    };
    *nested_env.borrow_mut() = nested_at(100);
    let (result, _) = run(&flex_wasm, &mut flex_storage, querier(), |i| {
        cosmwasm_vm::call_instantiate_raw(i, &env_json(100, &flex_contract), &info(&a), flex_init.as_bytes())
    });
    assert!(result.is_some(), "the peer instantiates the multisig");

    let send = format!(
        r#"[{{"bank":{{"send":{{"to_address":"{c}","amount":[{{"denom":"earth","amount":"10"}}]}}}}}}]"#
    );
    let propose = |title: &str| {
        format!(r#"{{"propose":{{"title":"{title}","description":"d","msgs":{send},"latest":null}}}}"#)
    };
    // (height, sender, contract, message): c leaves the group and d joins
    // after the proposal; votes count the weights at its height.
    let d = addr("dave");
    let steps = [
        (110, a.clone(), "flex", propose("t")),
        (110, addr("mallory"), "flex", propose("t")),
        (
            111,
            a.clone(),
            "group",
            format!(r#"{{"update_members":{{"remove":["{c}"],"add":[{{"addr":"{d}","weight":5}}]}}}}"#),
        ),
        (112, d.clone(), "flex", r#"{"vote":{"proposal_id":1,"vote":"yes"}}"#.to_string()),
        (112, c.clone(), "flex", r#"{"vote":{"proposal_id":1,"vote":"yes"}}"#.to_string()),
        (113, a.clone(), "flex", r#"{"execute":{"proposal_id":1}}"#.to_string()),
        (113, b.clone(), "flex", r#"{"vote":{"proposal_id":1,"vote":"no"}}"#.to_string()),
        (114, b.clone(), "flex", propose("u")),
        (114, d.clone(), "flex", r#"{"vote":{"proposal_id":2,"vote":"yes"}}"#.to_string()),
        (115, c.clone(), "flex", r#"{"execute":{"proposal_id":2}}"#.to_string()),
    ];
    let mut ok = 0;
    for (height, sender, target, msg) in &steps {
        let step = format!("height {height}: {target} {msg}");
        let (address, contract, wasm) = match *target {
            "flex" => (&flex, &flex_contract, &flex_wasm),
            _ => (&group, &group_contract, &group_wasm),
        };
        let done =
            vm.cosmwasm_call(address, EntryPoint::Execute, &message(sender, msg, *height, CW_GAS)).unwrap();
        nested_gas.set(0);
        *nested_env.borrow_mut() = nested_at(*height);
        let env = env_json(*height, contract);
        let execute =
            |i: &mut Instance<_, _, _>| cosmwasm_vm::call_execute_raw(i, &env, &info(sender), msg.as_bytes());
        let (theirs, gas) = match *target {
            "flex" => run(wasm, &mut flex_storage, querier(), execute),
            _ => run(wasm, &mut group_storage.borrow_mut(), MockQuerier::new(&[]), execute),
        };
        assert_eq!(done.result, theirs, "{step}: results differ");
        let ours = (done.gas_report.used_internally, done.gas_report.used_externally);
        assert_eq!(ours, (gas.0, gas.1 + nested_gas.get()), "{step}: gas differs");
        ok += usize::from(theirs.as_deref().is_some_and(|r| xwasm::cosmwasm::contract_error(r).is_none()));
    }
    // Successes and refusals both: d's first vote (it joined after the
    // proposal), the outsider's proposal and the first execution fail.
    assert_eq!(ok, steps.len() - 3);
    for query in
        [r#"{"proposal":{"proposal_id":1}}"#, r#"{"list_votes":{"proposal_id":1}}"#, r#"{"list_voters":{}}"#]
    {
        let done = vm.cosmwasm_query(&flex, query.as_bytes(), &env_at(116), CW_GAS).unwrap();
        *nested_env.borrow_mut() = nested_at(116);
        let (theirs, _) = run(&flex_wasm, &mut flex_storage.clone(), querier(), |i| {
            cosmwasm_vm::call_query_raw(i, &env_json(116, &flex_contract), query.as_bytes())
        });
        assert!(theirs.is_some(), "query {query}");
        assert_eq!(done.result, theirs, "query {query}");
    }
    assert_eq!(vm.storage(&group).unwrap(), *group_storage.borrow(), "the group's storage");
    assert_eq!(vm.storage(&flex).unwrap(), flex_storage, "the multisig's storage");
}

mod block {
    use super::contract;
    use std::sync::Arc;
    use xwasm::store::MemoryBackend;
    use xwasm::{Address, BlockTransaction, ChainContext, CosmwasmMessage, CosmwasmOutcome, Vm, VmConfig};

    const CHAIN: ChainContext = ChainContext { block_height: 12_345, block_time_ms: 1_571_797_419_879 };
    const GAS: u64 = 2_000_000_000;

    /// A VM with empty state; its compiled code in `cache` (shared by
    /// every VM of the test, so that each contract compiles once per
    /// engine configuration).
    fn vm(cache: &std::path::Path, explicit_bounds_checks: bool) -> Vm {
        let mut config = VmConfig::default();
        config.engine.explicit_bounds_checks = explicit_bounds_checks;
        let builder = Vm::builder().config(config).backend(Arc::new(MemoryBackend::new())).cache_dir(cache);
        builder.monitoring(None).build().unwrap()
    }

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn user(i: u64) -> String {
        super::addr(&format!("user {i}"))
    }

    /// The block's contracts, deployed by user 0.
    #[derive(Debug, PartialEq, Clone, Copy)]
    struct Contracts {
        token: Address,
        nft: Address,
        dex: Address,
    }

    const FEE: &str = r#"{"fee":10000000000,"tick_spacing":1}"#;

    fn pool_key() -> String {
        format!(r#"{{"token_x":"{}","token_y":"{}","fee_tier":{FEE}}}"#, user(1000), user(1001))
    }

    /// cw20-base with 1,000 tokens for each of `accounts` users (user 0
    /// mints), cw721-base with user 0 as minter, and oraiswap-v3 with one
    /// pool and a position in it.
    fn setup(vm: &Vm, accounts: u64) -> Contracts {
        let run = |name: &str, to: Option<Address>, msg: &str| {
            let message = CosmwasmMessage::new(user(0), msg.as_bytes(), 1_000_000_000_000);
            let done = match to {
                None => vm.cosmwasm_instantiate(&contract(name), &message, None).unwrap(),
                Some(to) => vm.cosmwasm_call_export(&to, "execute", &message).unwrap(),
            };
            assert!(done.outcome.is_ok(), "{name}: {msg}: {:?}", done.outcome.error);
            done.outcome.address
        };
        let balances: Vec<String> =
            (0..accounts).map(|i| format!(r#"{{"address":"{}","amount":"1000"}}"#, user(i))).collect();
        let token = format!(
            r#"{{"name":"Token","symbol":"TOK","decimals":6,"initial_balances":[{}],"mint":{{"minter":"{}","cap":null}},"marketing":null}}"#,
            balances.join(","),
            user(0)
        );
        let nft = format!(r#"{{"name":"Art","symbol":"ART","minter":"{}"}}"#, user(0));
        let dex = run("oraiswap-v3.wasm", None, r#"{"protocol_fee":100000000000}"#).unwrap();
        run("oraiswap-v3.wasm", Some(dex), &format!(r#"{{"add_fee_tier":{{"fee_tier":{FEE}}}}}"#));
        let (x, y) = (user(1000), user(1001));
        let pool = format!(
            r#"{{"create_pool":{{"token_0":"{x}","token_1":"{y}","fee_tier":{FEE},"init_sqrt_price":"1000000000000000000000000","init_tick":0}}}}"#
        );
        run("oraiswap-v3.wasm", Some(dex), &pool);
        let position = format!(
            r#"{{"create_position":{{"pool_key":{},"lower_tick":-50,"upper_tick":50,"liquidity_delta":"100000000000000000000","slippage_limit_lower":"0","slippage_limit_upper":"{}"}}}}"#,
            pool_key(),
            u128::MAX
        );
        run("oraiswap-v3.wasm", Some(dex), &position);
        Contracts {
            token: run("cw20-base.wasm", None, &token).unwrap(),
            nft: run("cw721-base.wasm", None, &nft).unwrap(),
            dex,
        }
    }

    /// 120 random transactions among `accounts` users.
    fn random_block(rng: &mut Rng, c: Contracts, accounts: u64) -> Vec<BlockTransaction> {
        let mut minted = 0;
        (0..120)
            .map(|_| {
                let (from, to) = (rng.below(accounts), rng.below(accounts));
                let (sender, recipient) = (user(from), user(to));
                let amount = rng.below(700);
                let (contract, sender, msg) = match rng.below(14) {
                    0..=4 => {
                        (c.token, sender, format!(r#"{{"transfer":{{"recipient":"{recipient}","amount":"{amount}"}}}}"#))
                    }
                    5 => (c.token, sender, format!(r#"{{"burn":{{"amount":"{amount}"}}}}"#)),
                    6 => {
                        let msg = format!(r#"{{"increase_allowance":{{"spender":"{recipient}","amount":"{amount}"}}}}"#);
                        (c.token, sender, msg)
                    }
                    7 => {
                        let msg = format!(
                            r#"{{"transfer_from":{{"owner":"{sender}","recipient":"{recipient}","amount":"{amount}"}}}}"#
                        );
                        (c.token, recipient, msg)
                    }
                    8 => (c.token, sender, format!(r#"{{"mint":{{"recipient":"{recipient}","amount":"{amount}"}}}}"#)),
                    9 => {
                        minted += 1;
                        let id = minted - rng.below(2);
                        let msg = format!(
                            r#"{{"mint":{{"token_id":"{id}","owner":"{recipient}","token_uri":null,"extension":null}}}}"#
                        );
                        (c.nft, sender, msg)
                    }
                    10 => {
                        let id = rng.below(minted + 1);
                        (c.nft, sender, format!(r#"{{"transfer_nft":{{"recipient":"{recipient}","token_id":"{id}"}}}}"#))
                    }
                    11 | 12 => {
                        // Every swap moves the one pool's price: each
                        // depends on the one before.
                        let x_to_y = rng.below(2) == 0;
                        let limit = if x_to_y { 1 } else { u128::MAX };
                        let msg = format!(
                            r#"{{"swap":{{"pool_key":{},"x_to_y":{x_to_y},"amount":"{}","by_amount_in":true,"sqrt_price_limit":"{limit}"}}}}"#,
                            pool_key(),
                            amount * 1000
                        );
                        (c.dex, sender, msg)
                    }
                    _ => (c.token, sender, format!(r#"{{"transfer":{{"recipient":"nobody","amount":"{amount}"}}}}"#)),
                };
                // One in ten runs out of gas.
                let gas = if rng.below(10) == 0 { 8_000_000 } else { GAS };
                let message = CosmwasmMessage::new(sender, msg.into_bytes(), gas);
                BlockTransaction::CosmwasmCall { contract, entry: "execute".into(), message }
            })
            .collect()
    }

    fn one_by_one(vm: &Vm, t: &BlockTransaction) -> String {
        let BlockTransaction::CosmwasmCall { contract, entry, message } = t else { unreachable!() };
        format!("{:?}", vm.cosmwasm_call_export(contract, entry, message).map(Box::new))
    }

    fn described(
        outcome: &Option<Box<CosmwasmOutcome>>,
        error: &Result<xwasm::Outcome, xwasm::VmError>,
    ) -> String {
        match (outcome, error) {
            (Some(done), _) => format!("{:?}", Ok::<_, ()>(done)),
            (None, Err(e)) => format!("{:?}", Err::<(), _>(e)),
            (None, Ok(o)) => panic!("a CosmWasm transaction without its CosmWasm outcome: {o:?}"),
        }
    }

    /// cw3-flex-multisig weighs votes by the members of a cw4-group, which
    /// it asks through smart queries (the group's total weight, a member's
    /// weight at the proposal's height). In one block on 2 threads, and
    /// one by one: a member proposes, an outsider cannot, a second member's
    /// vote passes the proposal, and it executes; the block equals the
    /// calls one by one.
    #[test]
    fn cw3_flex_multisig_reads_its_cw4_group_through_smart_queries() {
        let cache = tempfile::tempdir().unwrap();
        let (a, b) = (user(0), user(1));
        // The group exists before the proposal's block: votes count the
        // weights at the proposal's start height.
        let deploy = |vm: &Vm, name: &str, msg: String| {
            let mut message = CosmwasmMessage::new(a.clone(), msg.into_bytes(), 1_000_000_000_000);
            message.env.height = 100;
            message.funds = cosmwasm_std::coins(100, "earth");
            let done = vm.cosmwasm_instantiate(&contract(name), &message, None).unwrap();
            assert!(done.outcome.is_ok(), "{name}: {:?}", done.outcome.error);
            done.outcome.address.unwrap()
        };
        let setup = |vm: &Vm| {
            let members = format!(r#"[{{"addr":"{a}","weight":1}},{{"addr":"{b}","weight":2}}]"#);
            let group = deploy(vm, "cw4-group.wasm", format!(r#"{{"admin":"{a}","members":{members}}}"#));
            let init = format!(
                r#"{{"group_addr":"{}","threshold":{{"absolute_count":{{"weight":2}}}},"max_voting_period":{{"height":100}},"executor":null,"proposal_deposit":null}}"#,
                vm.cosmwasm_address(&group)
            );
            deploy(vm, "cw3-flex-multisig.wasm", init)
        };
        let reference = vm(cache.path(), false);
        let multisig = setup(&reference);
        let send = format!(
            r#"[{{"bank":{{"send":{{"to_address":"{b}","amount":[{{"denom":"earth","amount":"10"}}]}}}}}}]"#
        );
        let propose =
            format!(r#"{{"propose":{{"title":"t","description":"d","msgs":{send},"latest":null}}}}"#);
        let block: Vec<BlockTransaction> = [
            (a.clone(), propose.clone()),
            (user(9), propose),
            (b.clone(), r#"{"vote":{"proposal_id":1,"vote":"yes"}}"#.to_string()),
            (a.clone(), r#"{"execute":{"proposal_id":1}}"#.to_string()),
        ]
        .into_iter()
        .map(|(sender, msg)| BlockTransaction::CosmwasmCall {
            contract: multisig,
            entry: "execute".into(),
            message: CosmwasmMessage::new(sender, msg.into_bytes(), GAS),
        })
        .collect();
        let expected: Vec<String> = block.iter().map(|t| one_by_one(&reference, t)).collect();
        let statuses: Vec<&str> =
            expected.iter().map(|e| if e.contains("status: Ok") { "ok" } else { "not ok" }).collect();
        assert_eq!(statuses, ["ok", "not ok", "ok", "ok"], "{expected:#?}");
        assert!(expected[1].contains("Unauthorized"));
        let proposal = reference
            .cosmwasm_query(&multisig, br#"{"proposal":{"proposal_id":1}}"#, &Default::default(), GAS)
            .unwrap();
        let proposal: serde_json::Value = serde_json::from_slice(&proposal.result.unwrap()).unwrap();
        let proposal = cosmwasm_std::Binary::from_base64(proposal["ok"].as_str().unwrap()).unwrap();
        let proposal = String::from_utf8(proposal.to_vec()).unwrap();
        assert!(proposal.contains(r#""status":"executed""#), "{proposal}");
        let vm = vm(cache.path(), false);
        assert_eq!(setup(&vm), multisig);
        let outcome = vm.execute_block(&CHAIN, &block, 2).unwrap();
        for (i, expected) in expected.iter().enumerate() {
            assert_eq!(&described(&outcome.cosmwasm[i], &outcome.outcomes[i]), expected, "transaction {i}");
        }
        let state = |vm: &Vm| vm.backend().scan_prefix(&[]).unwrap();
        assert_eq!(state(&vm), state(&reference));
    }

    /// cw20-base transfers, burns, allowances, mints (by the minter and by
    /// others), transfers to an invalid address, cw721-base mints (some of
    /// a taken id) and transfers (some by non-owners), oraiswap-v3 swaps in
    /// one pool, a tenth of them out of gas: among 3 and among 60 users, on
    /// 1, 2, 4 and 8 threads (2 and 8 also with explicit bounds checks),
    /// the block equals the same transactions run one by one.
    #[test]
    fn cw20_cw721_and_swap_blocks_equal_one_by_one_calls() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let cache = tempfile::tempdir().unwrap();
        let mut re_executions = 0;
        for accounts in [3, 60] {
            let reference = vm(cache.path(), false);
            let contracts = setup(&reference, accounts);
            let block = random_block(&mut rng, contracts, accounts);
            let expected: Vec<String> = block.iter().map(|t| one_by_one(&reference, t)).collect();
            for kind in ["status: Ok", "status: Abort", "status: OutOfGas"] {
                assert!(expected.iter().any(|e| e.contains(kind)), "the block has a transaction with {kind}");
            }
            let state = |vm: &Vm| vm.backend().scan_prefix(&[]).unwrap();
            // Some runs with explicit bounds checks: the same outcomes and
            // gas from differently compiled code.
            for (threads, explicit_bounds_checks) in
                [(1, false), (2, false), (2, true), (4, false), (8, false), (8, true)]
            {
                let vm = vm(cache.path(), explicit_bounds_checks);
                assert_eq!(setup(&vm, accounts), contracts);
                let outcome = vm.execute_block(&CHAIN, &block, threads).unwrap();
                re_executions += outcome.re_executions;
                for (i, expected) in expected.iter().enumerate() {
                    let got = described(&outcome.cosmwasm[i], &outcome.outcomes[i]);
                    let run = format!("{accounts} users, {threads} threads, {explicit_bounds_checks}");
                    assert_eq!(&got, expected, "transaction {i}, {run}");
                }
                assert_eq!(state(&vm), state(&reference), "state, {accounts} users, {threads} threads");
            }
        }
        assert!(re_executions > 0, "the blocks had conflicts to resolve");
    }
}

/// Every contract of both packages, deployed in both VMs with an empty
/// object as its message (most refuse it) and, where that succeeds, asked
/// an unknown query: the same results, error texts and gas. Each is
/// accepted by both VMs' checks. About three minutes here (each message
/// compiles the contract afresh in a debug build of both VMs), so not in
/// `.ci/run`: `cargo test --manifest-path peers/Cargo.toml --target-dir
/// target --test public_contracts -- --ignored`.
#[test]
#[ignore = "slow: every public contract compiled in both VMs; run with --ignored"]
fn every_public_contract_refuses_alike() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/public-contracts");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run peers/scripts/fetch_public_contracts.py)", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".wasm"))
        .collect();
    names.sort();
    assert!(names.len() >= 28, "both packages' contracts: {names:?}");
    for name in &names {
        let (mut pair, deployed) = Pair::instantiate(&contract(name), &addr("alice"), "{}", &[]);
        deployed.assert_agree(&format!("{name}: instantiate {{}}")).returned();
        // A contract whose instantiate failed does not exist (as on a
        // chain); one that took the empty message answers queries.
        if deployed.xwasm_status == xwasm::Status::Ok {
            let query = pair.query(r#"{"no_such_query":{}}"#);
            query.assert_agree(&format!("{name}: an unknown query")).returned();
            pair.assert_storage_equal();
        }
    }
}

//! The CLI on a CosmWasm contract, as a user drives it: deploy with a JSON
//! message and funds, query, execute, migrate, bank balances and state,
//! each in its own process over one state folder.

use serde_json::Value;
use std::process::{Command, Output};

const HACKATOM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/cosmwasm/hackatom.wasm");
const CREATOR: &str = "cosmwasm1h34lmpywh4upnjdg90cjf4j70aee6z8qqfspugamjp42e4q28kqs8s7vcp";
const VERIFIER: &str = "cosmwasm1pu6qnztwn8w95j903786aqstj3smhxysenasp3rkhdfw06e9vrjs2rlx8w";
const BENEFICIARY: &str = "cosmwasm1yrr937kq5yd6xcs3eejp4pz3kes3zls7c4f7yq27g2yx65ylkuxsh0ldf7";

struct Chain {
    dir: tempfile::TempDir,
}

impl Chain {
    fn run(&self, args: &[&str]) -> Output {
        let state = self.dir.path().join("state");
        let mut all = args.to_vec();
        all.extend(["--state", state.to_str().unwrap()]);
        Command::new(env!("CARGO_BIN_EXE_xwasm")).args(&all).output().expect("the binary runs")
    }

    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {stdout} / {}", String::from_utf8_lossy(&output.stderr))
        })
    }
}

fn one_line_error(output: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
}

#[test]
fn hackatom_through_the_cli() {
    let chain = Chain { dir: tempfile::tempdir().unwrap() };
    let init = format!(r#"{{"verifier":"{VERIFIER}","beneficiary":"{BENEFICIARY}"}}"#);
    let deployed = chain.json(&[
        "deploy",
        HACKATOM,
        "--msg",
        &init,
        "--sender",
        CREATOR,
        "--funds",
        "1000earth",
        "--json",
    ]);
    assert_eq!(deployed["status"], "ok", "{deployed}");
    assert_eq!(deployed["profile"], "cosmwasm");
    assert_eq!(deployed["result"]["ok"]["attributes"][0]["value"], "hacking begin");
    assert_eq!(deployed["debug"][0], "here we go 🚀");
    assert_eq!(deployed["gas_report"]["used_externally"], 251, "{deployed}");
    let contract = deployed["address"].as_str().unwrap().to_owned();
    assert!(contract.starts_with("cosmwasm1"), "{contract}");

    let query = chain.json(&["query", &contract, "--msg", r#"{"verifier":{}}"#, "--json"]);
    assert_eq!(query["data"]["verifier"], VERIFIER, "{query}");
    assert!(query["result"]["ok"].is_string(), "the ok payload stays base64: {query}");

    let balance = chain.json(&["bank", "show", &contract, "--json"]);
    assert_eq!(balance["balances"][0]["amount"], "1000", "{balance}");

    let refused = chain.run(&[
        "call",
        &contract,
        "execute",
        "--sender",
        BENEFICIARY,
        "--msg",
        r#"{"release":{"denom":"earth"}}"#,
        "--json",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    let refused: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(refused["status"], "abort");
    assert_eq!(refused["error"], "Unauthorized");
    assert_eq!(refused["result"]["error"], "Unauthorized");

    let released = chain.json(&[
        "call",
        &contract,
        "execute",
        "--sender",
        VERIFIER,
        "--msg",
        r#"{"release":{"denom":"earth"}}"#,
        "--json",
    ]);
    assert_eq!(released["status"], "ok", "{released}");
    assert_eq!(released["result"]["ok"]["data"], "8Auq");
    assert_eq!(released["result"]["ok"]["messages"][0]["msg"]["bank"]["send"]["to_address"], BENEFICIARY);

    // Only the admin (the deployer) may migrate; the migration switches
    // the code and runs its migrate entry point.
    one_line_error(
        &chain.run(&["call", &contract, "migrate", "--sender", VERIFIER, "--msg", "{}"]),
        "only its admin may",
    );
    // hackatom refuses a migration from its own version (420, in
    // MigrateInfo) as a downgrade; the contract's error, nothing changed.
    let to_creator = format!(r#"{{"verifier":"{CREATOR}"}}"#);
    let same =
        chain.json(&["call", &contract, "migrate", "--sender", CREATOR, "--msg", &to_creator, "--json"]);
    assert_eq!(same["status"], "abort", "{same}");
    assert_eq!(same["error"], "Downgrade is not supported");
    // New code: hackatom built with std 1.3 (a 2-argument migrate).
    let older = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/hackatom_1.3.wasm");
    let migrated = chain.json(&[
        "call",
        &contract,
        "migrate",
        "--sender",
        CREATOR,
        "--msg",
        &to_creator,
        "--code",
        older,
        "--json",
    ]);
    assert_eq!(migrated["status"], "ok", "{migrated}");
    assert!(migrated["code_gas"].as_u64().unwrap() > 0);
    let state = chain.run(&["state", &contract]);
    assert!(String::from_utf8_lossy(&state.stdout).contains(&format!(r#"\"verifier\":\"{CREATOR}\""#)));
    let query = chain.json(&["query", &contract, "--msg", r#"{"verifier":{}}"#, "--json"]);
    assert_eq!(query["data"]["verifier"], CREATOR, "{query}");

    one_line_error(&chain.run(&["call", &contract, "execute", "--msg", "not json"]), "--msg: not JSON");
    one_line_error(
        &chain.run(&["call", &contract, "execute", "--sender", "bob", "--msg", "{}"]),
        "--sender:",
    );
    one_line_error(&chain.run(&["call", &contract, "execute"]), "--msg JSON");
    one_line_error(
        &chain.run(&["call", &contract, "frobnicate", "--msg", "{}"]),
        "has no method `frobnicate`",
    );
    let inspect =
        Command::new(env!("CARGO_BIN_EXE_xwasm")).args(["inspect", HACKATOM, "--json"]).output().unwrap();
    let inspect: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspect["cosmwasm"]["interface_version"], "interface_version_8");
    assert_eq!(inspect["cosmwasm"]["migrate_version"], 420);
}

#[test]
fn optimize_shrinks_a_corpus_contract_with_equal_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("floaty.opt.wasm");
    let input = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/floaty_2.0.wasm");
    let init = format!(r#"{{"verifier":"{VERIFIER}","beneficiary":"{BENEFICIARY}"}}"#);
    let output = Command::new(env!("CARGO_BIN_EXE_xwasm"))
        .args(["optimize", input, "-o", out.to_str().unwrap(), "--json", "--call", "query"])
        .args(["--msg", r#"{"instructions":{}}"#, "--deploy", &init])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let (before, after) =
        (report["module_bytes"][0].as_u64().unwrap(), report["module_bytes"][1].as_u64().unwrap());
    assert!(after < before, "{report}");
    assert_eq!(report["call"]["status"], "ok");
    assert_eq!(report["call"]["gas"][0], report["call"]["gas"][1]);
    // The output is a contract the VM deploys.
    let wasm = std::fs::read(&out).unwrap();
    assert_eq!(wasm.len() as u64, after);
    let inspect = Command::new(env!("CARGO_BIN_EXE_xwasm"))
        .args(["inspect", out.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let inspect: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspect["cosmwasm"]["accepted"], true, "{inspect}");
    // An unknown pass is a one-line error.
    let bad = Command::new(env!("CARGO_BIN_EXE_xwasm"))
        .args(["optimize", input, "-o", out.to_str().unwrap(), "--passes", "fold"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown pass `fold`"));
}

/// `xwasm block` with CosmWasm entries (instantiate, transfers with funds,
/// an overdraft, a migration to other code, a call after it) gives what
/// the same commands give one by one: each outcome's JSON, and the state.
#[test]
fn a_cosmwasm_block_through_the_cli_equals_one_by_one_commands() {
    let token = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/cosmwasm/token.wat");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(token, dir.path().join("token.wat")).unwrap();
    let no_burn = std::fs::read_to_string(token).unwrap().replace("\\22burn\\22", "\\22xurn\\22");
    let no_burn_path = dir.path().join("no_burn.wat");
    std::fs::write(&no_burn_path, no_burn).unwrap();
    // One by one: the address instantiate gives is the block's too (it
    // follows from the sender, its deploy count and the code).
    let one_by_one = Chain { dir: tempfile::tempdir().unwrap() };
    let mint = serde_json::json!({"amount": "1000"});
    let first =
        one_by_one.json(&["deploy", token, "--msg", &mint.to_string(), "--sender", CREATOR, "--json"]);
    let contract = first["address"].as_str().unwrap().to_owned();
    let transfer =
        |to: &str, amount: &str| serde_json::json!({"transfer": {"recipient": to, "amount": amount}});
    let call = |entry: &str, sender: &str, msg: Value| serde_json::json!({"cosmwasm": entry, "contract": contract, "sender": sender, "msg": msg});
    let mut steps = vec![
        call("execute", CREATOR, transfer(VERIFIER, "300")),
        call("execute", CREATOR, transfer(BENEFICIARY, "5000")),
        call("migrate", CREATOR, serde_json::json!({})),
        call("execute", VERIFIER, serde_json::json!({"burn": {"amount": "1"}})),
    ];
    steps[0]["funds"] = "5uatom".into();
    steps[2]["code"] = "no_burn.wat".into();
    let mut expected = vec![first];
    for step in &steps {
        let msg = step["msg"].to_string();
        let (entry, sender) = (step["cosmwasm"].as_str().unwrap(), step["sender"].as_str().unwrap());
        let mut args = vec!["call", &contract, entry, "--msg", &msg, "--sender", sender, "--json"];
        if step.get("code").is_some() {
            args.extend(["--code", no_burn_path.to_str().unwrap()]);
        }
        if let Some(funds) = step["funds"].as_str() {
            args.extend(["--funds", funds]);
        }
        expected.push(one_by_one.json(&args));
    }
    let statuses: Vec<&str> = expected.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "ok", "abort", "ok", "abort"]);
    let instantiate =
        serde_json::json!({"cosmwasm": "instantiate", "code": "token.wat", "sender": CREATOR, "msg": mint});
    let entries: Vec<Value> = std::iter::once(instantiate).chain(steps).collect();
    let file = dir.path().join("block.json");
    std::fs::write(&file, serde_json::json!({"transactions": entries}).to_string()).unwrap();
    let state = |chain: &Chain| chain.json(&["state", &contract, "--json"]);
    for threads in ["1", "2"] {
        let block = Chain { dir: tempfile::tempdir().unwrap() };
        let ran = block.json(&["block", file.to_str().unwrap(), "--threads", threads, "--json"]);
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(&ran["outcomes"][i], want, "transaction {i}, {threads} threads");
        }
        assert_eq!(state(&block), state(&one_by_one));
    }
}

/// A block file whose entries are not all objects is a one-line error.
#[test]
fn a_block_file_with_an_entry_that_is_not_an_object_is_refused() {
    let chain = Chain { dir: tempfile::tempdir().unwrap() };
    let file = chain.dir.path().join("block.json");
    std::fs::write(&file, r#"{"transactions": [{"cosmwasm": "execute", "m\u0073g": {}}, 42]}"#).unwrap();
    one_line_error(&chain.run(&["block", file.to_str().unwrap()]), "must be a JSON object");
}

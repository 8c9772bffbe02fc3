//! The `xwasm` binary as a user drives it: separate processes sharing one
//! `--state` folder, JSON outcomes, and one-line errors for bad input.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

const TOKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/token.wat");
const COUNTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/counter.wat");
const BOB: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
const DEFAULT_SENDER: &str = "0101010101010101010101010101010101010101010101010101010101010101";

fn xwasm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xwasm")).args(args).output().expect("the binary runs")
}

fn json_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout} / {}", stderr(output)))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts a failure with exactly one line on stderr that contains `needle`.
fn assert_one_line_error(output: &Output, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

struct Chain {
    _dir: tempfile::TempDir,
    state: PathBuf,
}

impl Chain {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        Self { _dir: dir, state }
    }

    fn state(&self) -> &str {
        self.state.to_str().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--state", self.state()]);
        xwasm(&all)
    }

    fn deploy(&self, file: &str, input: &str) -> String {
        let output = self.run(&["deploy", file, "--input", input, "--json"]);
        let outcome = json_of(&output);
        assert_eq!(outcome["status"], "ok", "{outcome}");
        outcome["address"].as_str().unwrap().to_owned()
    }

    fn storage(&self, address: &str) -> Value {
        json_of(&self.run(&["state", address, "--json"]))
    }
}

fn transfer_hex(to: &str, amount: u64) -> String {
    format!("{to}{}", hex::encode(amount.to_le_bytes()))
}

#[test]
fn token_end_to_end_across_processes() {
    let chain = Chain::new();
    let token = chain.deploy(TOKEN, &hex::encode(1_000u64.to_le_bytes()));
    assert_eq!(token.len(), 64);

    let output = chain.run(&["call", &token, "transfer", "--input", &transfer_hex(BOB, 250), "--json"]);
    let outcome = json_of(&output);
    assert_eq!(outcome["status"], "ok", "{outcome}");
    assert!(outcome["gas_used"].as_u64().unwrap() > 4_000);
    assert_eq!(outcome["gas_limit"], 10_000_000);
    assert_eq!(outcome["return_hex"], "");
    assert_eq!(outcome["error"], Value::Null);
    assert_eq!(outcome["events"][0]["topic_hex"], hex::encode("transfer"));
    assert_eq!(outcome["logs"], Value::Array(vec![]));

    let balance = json_of(&chain.run(&["call", &token, "balance_of", "--input", BOB, "--json"]));
    assert_eq!(balance["return_hex"], hex::encode(250u64.to_le_bytes()));

    // A failed call in another process leaves the state exactly as it was.
    let before = chain.storage(&token);
    let failed = chain.run(&[
        "call",
        &token,
        "transfer",
        "--sender",
        BOB,
        "--input",
        &transfer_hex(DEFAULT_SENDER, 251),
        "--json",
    ]);
    assert_eq!(failed.status.code(), Some(2));
    let outcome = json_of(&failed);
    assert_eq!(outcome["status"], "abort");
    assert_eq!(outcome["error"], "aborted: insufficient balance");
    assert_eq!(chain.storage(&token), before);

    let entries = before["entries"].as_array().unwrap();
    let keys: Vec<_> = entries.iter().map(|e| e["key_hex"].as_str().unwrap().to_owned()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "entries are sorted by key bytes");
    assert_eq!(entries.len(), 3, "two balances and the supply: {before}");
}

#[test]
fn human_output_shows_the_gas() {
    let chain = Chain::new();
    let counter = chain.deploy(COUNTER, "");
    let output = chain.run(&["call", &counter, "increment"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(text.contains("status    ok"), "{text}");
    assert!(text.contains("gas used  "), "{text}");
    assert!(text.contains("u64 LE: 1"), "{text}");
    let text_input = chain.run(&["call", &counter, "get", "--input-str", "ignored"]);
    assert!(text_input.status.success());
}

#[test]
fn run_parses_arguments_by_signature() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("math.wat");
    std::fs::write(
        &file,
        r#"(module
            (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
            (func (export "half") (param f64) (result f64) (f64.div (local.get 0) (f64.const 2)))
            (func (export "spin") (loop br 0)))"#,
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let add = xwasm(&["run", file, "add", "-5", "7000000000", "--json"]);
    let outcome = json_of(&add);
    assert_eq!(outcome["results"], serde_json::json!([6_999_999_995i64]));
    assert!(outcome["gas_used"].as_u64().unwrap() > 0);
    let half = String::from_utf8_lossy(&xwasm(&["run", file, "half", "3"]).stdout).into_owned();
    assert!(half.contains("results   1.5") && half.contains("gas used"), "{half}");
    let spin = xwasm(&["run", file, "spin", "--gas", "5000", "--json"]);
    assert_eq!(spin.status.code(), Some(2));
    assert_eq!(json_of(&spin)["status"], "out_of_gas");
    assert_one_line_error(&xwasm(&["run", file, "add", "1"]), "takes 2 arguments");
    assert_one_line_error(&xwasm(&["run", file, "add", "x", "1"]), "not a valid i32");
    assert_one_line_error(&xwasm(&["run", file, "nope"]), "no exported function `nope`");
}

#[test]
fn bad_input_gets_one_line_errors() {
    let chain = Chain::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| -> String {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let empty = write("empty.wasm", b"");
    let random = write("random.wasm", &(0..200u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>());
    let syntax = write("syntax.wat", b"(module (func");
    let no_memory = write("nomem.wat", br#"(module (func (export "f")))"#);
    let foreign = write(
        "foreign.wat",
        br#"(module (import "env" "db_read" (func (param i32) (result i32))) (memory (export "memory") 1))"#,
    );
    let not_state = tempfile::tempdir().unwrap();
    std::fs::write(not_state.path().join("notes.txt"), "hello").unwrap();
    let counter = chain.deploy(COUNTER, "");
    let not_hex = "zz".repeat(32);

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["deploy", "/no/such/file.wasm"], "cannot read"),
        (vec!["deploy", &empty], "empty"),
        (vec!["deploy", &random], "neither a WebAssembly binary nor valid WAT"),
        (vec!["deploy", &syntax], "syntax.wat"),
        (vec!["deploy", &no_memory], "memory"),
        (vec!["deploy", &foreign], "env::db_read"),
        (vec!["call", &counter, "nope"], "no method `nope`"),
        (vec!["call", "abc", "get"], "64 hex characters"),
        (vec!["call", &not_hex, "get"], "64 hex characters"),
        (vec!["call", BOB, "get"], "no contract at address"),
        (vec!["state", BOB], "no contract at address"),
        (vec!["deploy", COUNTER, "--input", "xyz"], "not hex"),
        (vec!["call", &counter, "get", "--sender", "42"], "--sender"),
    ];
    for (args, needle) in cases {
        let output = chain.run(&args);
        assert_one_line_error(&output, needle);
    }
    let output = xwasm(&["call", &counter, "get", "--state", not_state.path().to_str().unwrap()]);
    assert_one_line_error(&output, "not a state folder");
    let output = xwasm(&["call", &counter, "get", "--state", &empty]);
    assert_one_line_error(&output, "not a state folder");
    let garbage = tempfile::tempdir().unwrap();
    std::fs::write(garbage.path().join("state.redb"), vec![0x5a; 4096]).unwrap();
    let output = xwasm(&["call", &counter, "get", "--state", garbage.path().to_str().unwrap()]);
    assert_one_line_error(&output, "not a usable state folder");
}

#[test]
fn a_bad_pointer_is_a_trap_and_the_state_survives() {
    let chain = Chain::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.wat");
    std::fs::write(
        &file,
        r#"(module (import "xwasm" "return_data" (func $r (param i32 i32)))
            (memory (export "memory") 1)
            (func (export "oops") (call $r (i32.const 65535) (i32.const 2))))"#,
    )
    .unwrap();
    let bad = chain.deploy(file.to_str().unwrap(), "");
    let output = chain.run(&["call", &bad, "oops", "--json", "--gas", "5000"]);
    assert_eq!(output.status.code(), Some(2));
    let outcome = json_of(&output);
    assert_eq!(outcome["status"], "trap");
    assert_eq!(outcome["gas_used"], 5000);
    // The folder still works.
    let counter = chain.deploy(COUNTER, "");
    assert!(chain.run(&["call", &counter, "increment"]).status.success());
}

#[test]
fn inspect_describes_modules() {
    let output = xwasm(&["inspect", TOKEN, "--json"]);
    let info = json_of(&output);
    assert_eq!(info["verdict"]["accepted"], true);
    assert_eq!(info["memory"]["initial_pages"], 1);
    let exports: Vec<_> =
        info["exports"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(exports.contains(&"transfer") && exports.contains(&"memory"), "{exports:?}");
    assert_eq!(info["imports"][0]["module"], "xwasm");
    let text = String::from_utf8_lossy(&xwasm(&["inspect", TOKEN]).stdout).into_owned();
    assert!(text.contains("accepted by policy xwasm"), "{text}");
}

#[test]
fn inspect_describes_modules_beyond_webassembly_2_with_the_policys_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let gc = dir.path().join("gc.wat");
    std::fs::write(
        &gc,
        r#"(module (type $point (struct (field i32) (field i32)))
             (memory (export "memory") 1)
             (func (export "make") (result (ref $point)) (struct.new $point (i32.const 1) (i32.const 2))))"#,
    )
    .unwrap();
    let output = xwasm(&["inspect", gc.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let info = json_of(&output);
    assert_eq!(info["verdict"]["accepted"], false);
    assert!(info["verdict"]["reason"].as_str().unwrap().contains("gc"), "{info}");
    let features: Vec<_> = info["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(features.contains(&"gc"), "{features:?}");
    let exports: Vec<_> =
        info["exports"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(exports, ["memory", "make"]);
    let text = String::from_utf8_lossy(&xwasm(&["inspect", gc.to_str().unwrap()]).stdout).into_owned();
    assert!(text.contains("refused by policy xwasm") && text.contains("features   "), "{text}");
    // Bytes that are no valid module at all are still an error.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0\x01\xff").unwrap();
    assert_one_line_error(&xwasm(&["inspect", junk.to_str().unwrap()]), "invalid WebAssembly");
}

#[test]
fn the_demo_runs() {
    let output = xwasm(&["demo"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(text.contains("insufficient balance"), "{text}");
    assert!(text.contains("balance_of alice  =   750"), "{text}");
}

#[test]
fn query_reads_without_writing_and_everything_is_audited() {
    let chain = Chain::new();
    let token = chain.deploy(TOKEN, &hex::encode(1_000u64.to_le_bytes()));
    let balance = json_of(&chain.run(&["query", &token, "balance_of", "--input", DEFAULT_SENDER, "--json"]));
    assert_eq!(balance["return_hex"], hex::encode(1_000u64.to_le_bytes()));
    let before = chain.storage(&token);
    let refused = chain.run(&["query", &token, "transfer", "--input", &transfer_hex(BOB, 1), "--json"]);
    assert_eq!(refused.status.code(), Some(2));
    let outcome = json_of(&refused);
    assert_eq!(outcome["status"], "limit");
    assert!(outcome["error"].as_str().unwrap().contains("storage_write"), "{outcome}");
    assert_eq!(chain.storage(&token), before);

    let audit = std::fs::read_to_string(chain.state.join("audit.jsonl")).unwrap();
    let entries: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<_> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["deploy", "query", "host_function_denied", "query"], "{audit}");
    assert_eq!(entries[0]["contract"], token);
}

#[test]
fn timeout_ms_stops_an_endless_loop() {
    let chain = Chain::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spin.wat");
    std::fs::write(&file, r#"(module (memory (export "memory") 1) (func (export "spin") (loop br 0)))"#)
        .unwrap();
    let spin = chain.deploy(file.to_str().unwrap(), "");
    let started = std::time::Instant::now();
    let output =
        chain.run(&["call", &spin, "spin", "--gas", "100000000000000", "--timeout-ms", "100", "--json"]);
    assert_eq!(json_of(&output)["status"], "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn precompile_the_corpus_then_verify_and_clear_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let corpus = |name: &str| format!("{}/../../shared/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let names = [
        "hackatom.wasm",
        "cyberpunk.wasm",
        "ibc_reflect.wasm",
        "floaty_2.0.wasm",
        "empty.wasm",
        "corrupted.wasm",
    ];
    let files: Vec<String> = names.iter().map(|n| corpus(n)).collect();
    let mut args =
        vec!["precompile", "--policy", "permissive", "--json", "--cache-dir", cache.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    let output = xwasm(&args);
    assert_eq!(output.status.code(), Some(2), "one module fails: {}", stderr(&output));
    let report = json_of(&output);
    let modules = report["modules"].as_array().unwrap();
    // CosmWasm contracts are precompiled as the VM loads them: under the
    // cosmwasm profile (its checks and meter), whatever --policy says.
    for (module, name) in modules.iter().zip(names) {
        let expected = if name == "corrupted.wasm" { "failed" } else { "ok" };
        assert_eq!(module["status"], expected, "{name}: {module}");
    }
    // corrupted.wasm (a hackatom 0.6 with a broken function body) fails
    // cosmwasm-vm's marker check, which comes before body validation.
    assert!(modules[5]["error"].as_str().unwrap().contains("interface_version_*"), "{}", modules[5]);

    // The default policy precompiles a CosmWasm contract the same way:
    // the same artifact.
    let again = json_of(&xwasm(&["precompile", "--json", "--cache-dir", cache.to_str().unwrap(), &files[0]]));
    assert_eq!(again["modules"][0]["status"], "ok", "{again}");
    assert_eq!(again["modules"][0]["artifact_bytes"], modules[0]["artifact_bytes"]);

    let stats = json_of(&xwasm(&["cache", "stats", "--json", "--cache-dir", cache.to_str().unwrap()]));
    assert_eq!(stats["artifacts"], 5);
    // Corrupt one artifact: verify finds and deletes it.
    let artifact_dir = std::path::PathBuf::from(stats["dir"].as_str().unwrap());
    let first = std::fs::read_dir(&artifact_dir).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&first).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&first, bytes).unwrap();
    let verify = json_of(&xwasm(&["cache", "verify", "--json", "--cache-dir", cache.to_str().unwrap()]));
    assert_eq!((verify["verified"].as_u64(), verify["deleted"].as_array().unwrap().len()), (Some(4), 1));
    let cleared = json_of(&xwasm(&["cache", "clear", "--json", "--cache-dir", cache.to_str().unwrap()]));
    assert_eq!(cleared["deleted"], 4);
}

#[test]
fn a_second_process_loads_the_contract_from_the_disk_tier() {
    let chain = Chain::new();
    let token = chain.deploy(TOKEN, &hex::encode(10u64.to_le_bytes()));
    let stats = json_of(&xwasm(&["cache", "stats", "--json", "--state", chain.state()]));
    assert_eq!(stats["artifacts"], 1, "the deploy stored its artifact");
    for strategy in ["cranelift", "winch"] {
        let output = chain.run(&[
            "call",
            &token,
            "balance_of",
            "--input",
            DEFAULT_SENDER,
            "--json",
            "--strategy",
            strategy,
        ]);
        let outcome = json_of(&output);
        assert_eq!(outcome["return_hex"], hex::encode(10u64.to_le_bytes()), "{strategy}");
    }
}

#[test]
fn cache_warm_compiles_what_the_disk_tier_lacks() {
    let chain = Chain::new();
    chain.deploy(TOKEN, &hex::encode(10u64.to_le_bytes()));
    let cleared = json_of(&xwasm(&["cache", "clear", "--json", "--state", chain.state()]));
    assert_eq!(cleared["deleted"], 1);
    let warm = json_of(&xwasm(&["cache", "warm", "--json", "--state", chain.state()]));
    let counts = |v: &Value| (v["codes"].as_u64(), v["compiled"].as_u64(), v["from_disk"].as_u64());
    assert_eq!(counts(&warm), (Some(1), Some(1), Some(0)), "{warm}");
    let again = json_of(&xwasm(&["cache", "warm", "--json", "--state", chain.state()]));
    assert_eq!(counts(&again), (Some(1), Some(0), Some(1)), "{again}");
    let human = xwasm(&["cache", "warm", "--state", chain.state()]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("1 from disk, 0 compiled, 0 failed"));
}

#[test]
fn precompile_for_another_target() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let output =
        xwasm(&["precompile", TOKEN, "--cache-dir", cache, "--target", "x86_64-apple-darwin", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_of(&output);
    assert_eq!(report["modules"][0]["status"], "ok");
    // The artifact sits in the target's own folder: this host's tier does
    // not list it, and a call never loads it.
    let host = json_of(&xwasm(&["cache", "stats", "--json", "--cache-dir", cache]));
    assert_eq!(host["artifacts"], 0);
    assert_ne!(host["dir"], report["cache_dir"]);
    assert_one_line_error(
        &xwasm(&["precompile", TOKEN, "--cache-dir", cache, "--target", "aarch64-unknown-linux-gnu"]),
        "aarch64",
    );
}

#[test]
fn an_unusable_cache_folder_is_a_clear_error() {
    let chain = Chain::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let output = chain.run(&["deploy", COUNTER, "--cache-dir", file.to_str().unwrap()]);
    assert_one_line_error(&output, "cache folder");
    let output = xwasm(&["precompile", COUNTER, "--cache-dir", file.to_str().unwrap()]);
    assert_one_line_error(&output, "cache folder");
}

#[test]
fn concurrent_processes_on_one_state_folder_wait_and_every_call_lands() {
    let chain = Chain::new();
    let counter = chain.deploy(COUNTER, "");
    const PROCESSES: usize = 8;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_xwasm"))
                .args(["call", &counter, "increment", "--json", "--state", chain.state()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the binary starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
        assert_eq!(json_of(&output)["status"], "ok");
    }
    let get = json_of(&chain.run(&["query", &counter, "get", "--json"]));
    assert_eq!(get["return_hex"], hex::encode((PROCESSES as u64).to_le_bytes()), "every increment landed");
}

#[test]
fn a_folder_busy_past_the_lock_timeout_is_a_one_line_error() {
    let chain = Chain::new();
    let counter = chain.deploy(COUNTER, "");
    // This test process holds the folder open, as another xwasm would.
    let holder = xwasm::store::RedbBackend::open(chain.state.join("state.redb")).unwrap();
    let output = chain.run(&["call", &counter, "increment", "--lock-timeout", "1"]);
    assert_one_line_error(&output, "busy: another xwasm process held it for all of --lock-timeout (1 s)");
    // One that may wait long enough says so after a second, and runs once
    // the folder is free.
    let waiting = Command::new(env!("CARGO_BIN_EXE_xwasm"))
        .args(["call", &counter, "increment", "--lock-timeout", "30", "--state", chain.state()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    drop(holder);
    let output = waiting.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(stderr(&output).starts_with("Blocking waiting for the state folder"), "{}", stderr(&output));
    let get = json_of(&chain.run(&["query", &counter, "get", "--json"]));
    assert_eq!(get["return_hex"], hex::encode(1u64.to_le_bytes()), "the refused call changed nothing");
}

#[test]
fn a_block_in_parallel_equals_the_block_run_sequentially() {
    let chains = [Chain::new(), Chain::new()];
    let deployed: Vec<(String, String)> = chains
        .iter()
        .map(|c| (c.deploy(TOKEN, &hex::encode(1_000u64.to_le_bytes())), c.deploy(COUNTER, "")))
        .collect();
    assert_eq!(deployed[0], deployed[1], "addresses are deterministic");
    let (token, counter) = &deployed[0];
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(COUNTER, dir.path().join("counter.wat")).unwrap();
    let mut transactions = vec![serde_json::json!({"deploy": "counter.wat", "gas": 50_000_000})];
    for i in 0..60u64 {
        let to = format!("{:064x}", i % 3 + 7);
        transactions.push(match i % 4 {
            0 | 1 => serde_json::json!({"call": token, "method": "transfer", "input_hex": transfer_hex(&to, 10 + i)}),
            2 => serde_json::json!({"call": counter, "method": "increment", "sender": to}),
            _ => serde_json::json!({"call": token, "method": "transfer", "input_hex": transfer_hex(&to, 1), "gas": 3_000}),
        });
    }
    let file = dir.path().join("block.json");
    std::fs::write(&file, serde_json::json!({"transactions": transactions}).to_string()).unwrap();
    let parallel = chains[0].run(&["block", file.to_str().unwrap(), "--threads", "4", "--json"]);
    let sequential = chains[1].run(&["block", file.to_str().unwrap(), "--sequential", "--json"]);
    assert_eq!(parallel.status.code(), Some(2), "some transfers run out of gas: {}", stderr(&parallel));
    let (parallel, sequential) = (json_of(&parallel), json_of(&sequential));
    assert_eq!((parallel["threads"].as_u64(), sequential["threads"].as_u64()), (Some(4), Some(1)));
    assert_eq!(parallel["outcomes"], sequential["outcomes"]);
    let outcomes = parallel["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 61);
    assert_eq!(outcomes[4]["status"], "out_of_gas");
    assert!(outcomes[0]["address"].is_string(), "the block's deployment");
    assert_eq!(chains[0].storage(token), chains[1].storage(token));
    assert_eq!(chains[0].storage(counter), chains[1].storage(counter));
    let text =
        String::from_utf8_lossy(&chains[0].run(&["block", file.to_str().unwrap()]).stdout).into_owned();
    assert!(
        text.contains("transactions  61") && text.contains("re-executions") && text.contains("failed:"),
        "{text}"
    );
    // A block file that is not one is a one-line error.
    std::fs::write(&file, r#"{"transactions": [{"call": "zz", "method": "get"}]}"#).unwrap();
    assert_one_line_error(&chains[0].run(&["block", file.to_str().unwrap()]), "transaction 0: call");
}

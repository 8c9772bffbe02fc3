//! The drop-in library driven from C, as cgo drives it: `tests/c/harness.c`
//! declares the types and functions from the interface's description
//! (not from this crate's code), is compiled with the system's C compiler
//! and linked against the built `libwasmvm.so`. It runs hackatom (a real
//! contract: instantiate, query, an authorized and an unauthorized
//! release, out of gas), a call without a gas report, and a contract that
//! iterates its storage both ways; this test checks what it printed.

mod harness;

use std::path::Path;
use std::process::Command;

/// A contract whose `execute` takes the first key of a descending scan
/// (stored under "last"), then counts the keys of an ascending scan
/// (stored under "n", u32 little-endian).
const SCANNER: &str = r#"(module
  (import "env" "db_scan" (func $scan (param i32 i32 i32) (result i32)))
  (import "env" "db_next_key" (func $next_key (param i32) (result i32)))
  (import "env" "db_write" (func $write (param i32 i32)))
  (memory (export "memory") 17)
  (global $heap (mut i32) (i32.const 65536))
  ;; The Region at 16 over the ok Response at 64; "last" at 200 with its
  ;; Region at 208; "n" at 224 with its Region at 232; the count at 248
  ;; with its Region at 256.
  (data (i32.const 16) "\40\00\00\00\3e\00\00\00\3e\00\00\00")
  (data (i32.const 64) "{\22ok\22:{\22messages\22:[],\22attributes\22:[],\22events\22:[],\22data\22:null}}")
  (data (i32.const 200) "last")
  (data (i32.const 208) "\c8\00\00\00\04\00\00\00\04\00\00\00")
  (data (i32.const 224) "n")
  (data (i32.const 232) "\e0\00\00\00\01\00\00\00\01\00\00\00")
  (data (i32.const 256) "\f8\00\00\00\04\00\00\00\04\00\00\00")
  (func (export "allocate") (param $n i32) (result i32)
    (local $region i32)
    (local.set $region (global.get $heap))
    (i32.store (local.get $region) (i32.add (local.get $region) (i32.const 12)))
    (i32.store offset=4 (local.get $region) (local.get $n))
    (i32.store offset=8 (local.get $region) (i32.const 0))
    (global.set $heap (i32.add (global.get $heap) (i32.add (local.get $n) (i32.const 16))))
    (local.get $region))
  (func (export "deallocate") (param i32))
  (func (export "interface_version_8"))
  (func (export "requires_iterator"))
  (func (export "execute") (param i32 i32 i32) (result i32)
    (local $it i32) (local $n i32)
    (call $write (i32.const 208) (call $next_key (call $scan (i32.const 0) (i32.const 0) (i32.const 2))))
    (local.set $it (call $scan (i32.const 0) (i32.const 0) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (call $next_key (local.get $it))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 248) (local.get $n))
    (call $write (i32.const 232) (i32.const 256))
    (i32.const 16)))"#;

/// One `CALL` line: errno, the gas report, the gas the callbacks reported,
/// and the result (or the error).
struct Call {
    errno: i32,
    gas: [u64; 4],
    charged: u64,
    text: String,
}

fn calls(output: &str) -> std::collections::HashMap<String, Call> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("CALL "))
        .map(|line| {
            let fields: Vec<&str> = line.splitn(8, ' ').collect();
            let number = |i: usize| fields[i].parse::<u64>().unwrap();
            let call = Call {
                errno: fields[1].parse().unwrap(),
                gas: [number(2), number(3), number(4), number(5)],
                charged: number(6),
                text: fields[7].to_owned(),
            };
            (fields[0].to_owned(), call)
        })
        .collect()
}

fn base64_json(text: &str) -> serde_json::Value {
    let bytes = cosmwasm_std::Binary::from_base64(text).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_c_program_runs_contracts_through_the_library() {
    let library = harness::library_path();
    let folder = library.parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("harness");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/harness.c");
    let compiled = Command::new("gcc")
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&program)
        .arg(&source)
        .arg(format!("-L{}", folder.display()))
        .arg("-lwasmvm")
        .arg(format!("-Wl,-rpath,{}", folder.display()))
        .output()
        .expect("gcc runs");
    assert!(compiled.status.success(), "gcc: {}", String::from_utf8_lossy(&compiled.stderr));

    let scanner = dir.path().join("scanner.wasm");
    std::fs::write(&scanner, wat::parse_str(SCANNER).unwrap()).unwrap();
    let hackatom = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contracts/cosmwasm/hackatom.wasm");
    let base = dir.path().join("base");
    std::fs::create_dir(&base).unwrap();
    let ran = Command::new(&program).arg(&base).arg(&hackatom).arg(&scanner).output().expect("runs");
    let output = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "{output}\n{}", String::from_utf8_lossy(&ran.stderr));
    assert!(output.ends_with("DONE\n"), "{output}");
    let line = |prefix: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {output}"))
    };
    assert!(line("VERSION ").starts_with(char::is_numeric), "{output}");
    assert!(line("INIT_ERROR ").contains("JSON"), "{output}");
    assert!(line("STORE_ERROR ").starts_with("Error calling the VM: "), "{output}");
    assert_eq!(line("NO_GAS_REPORT "), "Empty argument: gas_report");
    assert_eq!(line("SCANNED "), "4 c", "the descending scan began at c; the ascending one saw 4 keys");

    let calls = calls(&output);
    for (name, call) in &calls {
        let [limit, remaining, external, internal] = call.gas;
        if call.errno == 2 {
            assert_eq!(remaining, 0, "{name}");
            continue;
        }
        assert_eq!(limit, remaining + external + internal, "{name}: the report adds up");
        assert!(internal > 0, "{name}");
        // What the storage and querier callbacks reported is the gas used
        // externally (the address callbacks' is a cost, counted inside).
        assert_eq!(external, call.charged, "{name}");
    }
    let ok = |name: &str| -> serde_json::Value {
        let call = &calls[name];
        assert_eq!(call.errno, 0, "{name}: {}", call.text);
        let result: serde_json::Value = serde_json::from_str(&call.text).unwrap();
        result["ok"].clone()
    };
    assert!(ok("instantiate")["messages"].as_array().unwrap().is_empty());
    assert_eq!(base64_json(ok("query").as_str().unwrap()), serde_json::json!({"verifier": "addr_verifier"}));
    let release = ok("release");
    let send = &release["messages"][0]["msg"]["bank"]["send"];
    assert_eq!(send["to_address"], "addr_beneficiary", "{release}");
    assert_eq!(send["amount"], serde_json::json!([{"denom": "earth", "amount": "1000"}]), "{release}");
    let unauthorized: serde_json::Value = serde_json::from_str(&calls["unauthorized"].text).unwrap();
    assert_eq!(unauthorized["error"], "Unauthorized", "{unauthorized}");
    assert_eq!((calls["out_of_gas"].errno, calls["out_of_gas"].text.as_str()), (2, "Ran out of gas"));
    assert_eq!(ok("scan")["data"], serde_json::Value::Null);
}

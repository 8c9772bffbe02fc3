//! Crash safety: processes writing to one state folder are killed with
//! SIGKILL at arbitrary moments. Afterwards the folder opens without
//! repair, the state holds every transaction that reported success (and
//! of the killed ones, any may have landed, whole or not at all), and the
//! disk tier holds no artifact that fails verification.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const COUNTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/contracts/counter.wat");
const ROUNDS: u32 = 30;

fn xwasm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xwasm")).args(args).output().unwrap()
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn killed_writers_lose_nothing_that_was_reported() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let deployed = json(&xwasm(&["deploy", COUNTER, "--state", state, "--json"]));
    let counter = deployed["address"].as_str().unwrap().to_owned();

    let (mut reported, mut killed) = (0u64, 0u64);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..ROUNDS {
        // Every third round also drops the disk tier, so that some kills
        // land while an artifact is being written.
        if round % 3 == 0 {
            let _ = std::fs::remove_dir_all(dir.path().join("state/cache"));
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_xwasm"))
            .args(["call", &counter, "increment", "--state", state, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 30));
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            assert_eq!(json(&output)["status"], "ok");
            reported += 1;
        } else {
            killed += 1;
        }
    }
    let got = json(&xwasm(&["call", &counter, "get", "--state", state, "--json"]));
    assert_eq!(got["status"], "ok", "the folder opens without repair: {got}");
    let count =
        u64::from_le_bytes(hex::decode(got["return_hex"].as_str().unwrap()).unwrap().try_into().unwrap());
    assert!(
        (reported..=reported + killed).contains(&count),
        "count {count}, reported {reported}, killed {killed}"
    );
    let verify = json(&xwasm(&["cache", "verify", "--state", state, "--json"]));
    assert!(
        verify["deleted"].as_array().unwrap().is_empty(),
        "a torn artifact under its final name: {verify}"
    );
    eprintln!("{ROUNDS} rounds: {reported} reported, {killed} killed, count {count}; cache {verify}");
}

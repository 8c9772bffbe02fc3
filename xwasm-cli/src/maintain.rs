//! `xwasm precompile` and `xwasm cache`: the disk tier of compiled code.

use crate::args::CacheAction;
use crate::input::{Failure, read_module};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use xwasm::cache::{ArtifactCache, ArtifactStore};
use xwasm::{Vm, VmConfig};

/// One module's fate in a batch.
struct Row {
    file: String,
    code_hash: String,
    wasm_bytes: usize,
    result: Result<usize, String>,
}

fn open_store(cache_dir: &Path, vm: &Vm, config: &VmConfig) -> Result<ArtifactStore, Failure> {
    let namespace = xwasm::artifact_namespace(vm.engine(), vm.policy());
    ArtifactStore::open(cache_dir, namespace, config.disk_cache_bytes).map_err(Failure::from)
}

/// Checks every file against the policy, compiles the accepted ones on
/// `jobs` threads into the disk tier, and prints a summary table.
pub fn precompile(
    files: &[PathBuf],
    cache_dir: &Path,
    mut config: VmConfig,
    jobs: Option<usize>,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    // One thread per module, so the batch scales with the workers.
    config.engine.parallel_compilation = false;
    let vm = Vm::builder().config(config.clone()).build()?;
    let store = open_store(cache_dir, &vm, &config)?;
    let started = Instant::now();

    let mut rows = Vec::new();
    let mut accepted: Vec<(usize, Vec<u8>, Vec<u8>)> = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let row = match read_module(file) {
            Err(failure) => {
                Row { file: name, code_hash: String::new(), wasm_bytes: 0, result: Err(failure.to_string()) }
            }
            Ok(wasm) => {
                let code_hash = hex::encode(xwasm::security::code_hash(&wasm));
                // As the VM would load it: a CosmWasm contract under its
                // own profile's checks and meter; with the description a
                // load would make (one pass of the checks), stored beside
                // the artifact: a load that finds it reads no operators.
                let result = match vm.loader().prepare_for_disk(&wasm).map_err(xwasm::VmError::from) {
                    Ok((preprocessed, sidecar)) => {
                        accepted.push((rows.len(), preprocessed, sidecar));
                        Ok(0)
                    }
                    Err(e) => Err(format!("refused: {e}")),
                };
                Row { file: name, code_hash, wasm_bytes: wasm.len(), result }
            }
        };
        rows.push(row);
    }

    let modules: Vec<&[u8]> = accepted.iter().map(|(_, wasm, _)| wasm.as_slice()).collect();
    let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = if as_json || modules.len() < 2 {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(modules.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} compiled ({elapsed})")
            .expect("a valid template"),
    );
    let results = xwasm::aot::precompile_batch(vm.engine(), &modules, threads, &|_, _| bar.inc(1));
    bar.finish_and_clear();
    for ((row_index, _, sidecar), result) in accepted.iter().zip(results) {
        let row = &mut rows[*row_index];
        row.result = match result {
            Ok(artifact) => {
                let hash: [u8; 32] = hex::decode(&row.code_hash).expect("hex").try_into().expect("32 bytes");
                store.insert_with_sidecar(&hash, &artifact, sidecar);
                Ok(artifact.len())
            }
            Err(e) => Err(e.to_string()),
        };
    }
    let failed = rows.iter().filter(|r| r.result.is_err()).count();
    print_rows(&rows, threads, started.elapsed().as_secs_f64(), store.dir(), as_json);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn print_rows(rows: &[Row], threads: usize, seconds: f64, dir: &Path, as_json: bool) {
    if as_json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "file": r.file,
                    "code_hash": r.code_hash,
                    "wasm_bytes": r.wasm_bytes,
                    "status": if r.result.is_ok() { "ok" } else { "failed" },
                    "artifact_bytes": r.result.as_ref().ok(),
                    "error": r.result.as_ref().err(),
                })
            })
            .collect();
        println!("{}", json!({"modules": list, "threads": threads, "seconds": seconds, "cache_dir": dir}));
        return;
    }
    let width = rows.iter().map(|r| r.file.len()).max().unwrap_or(4).max(4);
    println!("{:width$}  {:>9}  {:>10}  result", "file", "wasm", "artifact");
    for row in rows {
        let (artifact, result) = match &row.result {
            Ok(bytes) => (bytes.to_string(), "ok".to_owned()),
            Err(error) => ("-".to_owned(), error.clone()),
        };
        println!("{:width$}  {:>9}  {:>10}  {result}", row.file, row.wasm_bytes, artifact);
    }
    let ok = rows.iter().filter(|r| r.result.is_ok()).count();
    println!(
        "{ok} of {} precompiled on {threads} threads in {seconds:.2} s into {}",
        rows.len(),
        dir.display()
    );
}

/// `xwasm cache stats|verify|clear|warm`.
pub fn cache(
    action: CacheAction,
    state: &Path,
    cache_dir: &Path,
    config: &VmConfig,
    as_json: bool,
) -> Result<ExitCode, Failure> {
    if action == CacheAction::Warm {
        return warm(state, cache_dir, config, as_json);
    }
    let vm = Vm::builder().config(config.clone()).build()?;
    let store = open_store(cache_dir, &vm, config)?;
    let value = match action {
        CacheAction::Stats => {
            let entries = store.entries();
            let bytes: u64 = entries.iter().map(|e| e.bytes).sum();
            json!({"dir": store.dir(), "artifacts": entries.len(), "bytes": bytes, "entries": entries})
        }
        CacheAction::Verify => {
            let report = store.verify_all();
            json!({"dir": store.dir(), "verified": report.verified, "deleted": report.deleted, "strays": report.strays})
        }
        CacheAction::Clear => json!({"dir": store.dir(), "deleted": store.clear()}),
        CacheAction::Warm => unreachable!("handled above"),
    };
    if as_json {
        println!("{value}");
    } else {
        print_cache_text(action, &value);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_cache_text(action: CacheAction, value: &serde_json::Value) {
    println!("cache      {}", value["dir"].as_str().unwrap_or_default());
    match action {
        CacheAction::Stats => {
            println!("artifacts  {}", value["artifacts"]);
            println!("bytes      {}", value["bytes"]);
            for entry in value["entries"].as_array().into_iter().flatten() {
                println!("  {}  {:>10}", entry["code_hash"].as_str().unwrap_or_default(), entry["bytes"]);
            }
        }
        CacheAction::Verify => {
            println!("verified   {}", value["verified"]);
            let deleted = value["deleted"].as_array().map_or(0, Vec::len);
            let strays = value["strays"].as_array().map_or(0, Vec::len);
            println!("deleted    {deleted} corrupt, {strays} stray");
        }
        CacheAction::Clear => println!("deleted    {}", value["deleted"]),
        CacheAction::Warm => {}
    }
}

/// `xwasm cache warm`: every stored code through the tiers on every core,
/// with a progress bar; exit 2 if any failed.
fn warm(state: &Path, cache_dir: &Path, config: &VmConfig, as_json: bool) -> Result<ExitCode, Failure> {
    let backend = std::sync::Arc::new(crate::input::open_state(state)?);
    let hashes = xwasm::chain::code_hashes(backend.as_ref()).map_err(xwasm::VmError::from)?;
    let vm = Vm::builder().config(config.clone()).backend(backend).cache_dir(cache_dir).build()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bar = if as_json || hashes.len() < 2 {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(hashes.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} warm ({elapsed})")
            .expect("a valid template"),
    );
    let started = Instant::now();
    let results = vm.warm(&hashes, threads, &|| bar.inc(1));
    bar.finish_and_clear();
    let (mut disk, mut compiled, mut failed) = (0, 0, Vec::new());
    for (hash, result) in hashes.iter().zip(&results) {
        match result {
            Ok(xwasm::CodeSource::Compiled(_)) => compiled += 1,
            Ok(_) => disk += 1,
            Err(e) => failed.push(json!({"code_hash": hex::encode(hash), "error": e.to_string()})),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if as_json {
        let value = json!({"dir": cache_dir, "codes": hashes.len(), "from_disk": disk, "compiled": compiled,
            "failed": failed, "threads": threads, "seconds": seconds});
        println!("{value}");
    } else {
        println!("cache      {}", cache_dir.display());
        println!(
            "warm       {} codes on {threads} threads in {seconds:.2} s: {disk} from disk, {compiled} compiled, {} failed",
            hashes.len(),
            failed.len()
        );
        for failure in &failed {
            println!(
                "  {}  {}",
                failure["code_hash"].as_str().unwrap_or_default(),
                failure["error"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

//! Turning command-line input into values, with one-line errors.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};
use xwasm::Address;
use xwasm::store::{RedbBackend, StateError};

/// A command that failed, with a one-line message for stderr.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&one_line(&self.0))
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Failure(message)
    }
}

/// Joins a multi-line message into one line, dropping source snippets.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l.chars().next().is_some_and(|c| c.is_ascii_digit() && l.contains(" |"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads a module from a `.wasm` (binary) or `.wat` (text) file.
pub fn read_module(path: &Path) -> Result<Vec<u8>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    if bytes.is_empty() {
        return Err(Failure(format!("{}: the file is empty", path.display())));
    }
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::Parser::new()
        .parse_bytes(Some(path), &bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|e| Failure(format!("{}: neither a WebAssembly binary nor valid WAT: {e}", path.display())))
}

/// What xwasm keeps in a state folder.
const OWN_ENTRIES: [&str; 4] = ["state.redb", "cache", "audit.jsonl", "history.jsonl"];

/// Opens (or creates) the state folder `dir`, whose database is
/// `dir/state.redb`. A path that is a file, or a non-empty folder without a
/// state database and with files that are not xwasm's, is refused rather
/// than written into.
pub fn open_state(dir: &Path) -> Result<RedbBackend, Failure> {
    let database = dir.join("state.redb");
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Failure(format!("--state {}: not a state folder (it is a file)", dir.display())));
        }
        // Ours holds only what xwasm writes there; anything else means the
        // path is some other folder.
        let foreign = std::fs::read_dir(dir)
            .map_err(|e| Failure(format!("--state {}: cannot read the folder: {e}", dir.display())))?
            .filter_map(Result::ok)
            .any(|entry| !OWN_ENTRIES.contains(&entry.file_name().to_string_lossy().as_ref()));
        if foreign && !database.is_file() {
            return Err(Failure(format!(
                "--state {}: not a state folder (it holds files that are not xwasm's and no state.redb)",
                dir.display()
            )));
        }
    } else {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("--state {}: cannot create the folder: {e}", dir.display())))?;
    }
    let timeout = *LOCK_TIMEOUT.get().unwrap_or(&Duration::from_secs(crate::args::DEFAULT_LOCK_TIMEOUT_S));
    let started = Instant::now();
    let mut said = false;
    loop {
        let waited = started.elapsed();
        match RedbBackend::open(&database) {
            Ok(backend) => return Ok(backend),
            Err(StateError::Busy { .. }) if waited < timeout => {
                // As cargo does with its lock: say so once, after a second.
                if !said && waited >= Duration::from_secs(1) {
                    eprintln!(
                        "Blocking waiting for the state folder {} (used by another xwasm)",
                        dir.display()
                    );
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(StateError::Busy { .. }) => {
                return Err(Failure(format!(
                    "--state {}: busy: another xwasm process held it for all of --lock-timeout ({} s)",
                    dir.display(),
                    timeout.as_secs()
                )));
            }
            Err(e) => {
                return Err(Failure(format!(
                    "--state {}: not a usable state folder: {}",
                    dir.display(),
                    Failure::from(e)
                )));
            }
        }
    }
}

/// How long [`open_state`] waits for a folder another process is using
/// (`--lock-timeout`), set once by `main`.
pub static LOCK_TIMEOUT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

pub fn parse_address(text: &str, what: &str) -> Result<Address, Failure> {
    text.parse().map_err(|e| Failure(format!("{what}: {e}")))
}

pub fn parse_hex(text: &str, what: &str) -> Result<Vec<u8>, Failure> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(text).map_err(|e| Failure(format!("{what}: not hex ({e})")))
}

/// Hex input if given, else no bytes.
pub fn parse_optional_hex(text: Option<&str>, what: &str) -> Result<Vec<u8>, Failure> {
    text.map(|hex| parse_hex(hex, what)).transpose().map(Option::unwrap_or_default)
}

/// Parses `args` by the parameter types of `func`.
pub fn parse_params(
    func: &str,
    ty: &wasmtime::FuncType,
    args: &[String],
) -> Result<Vec<xwasm::Val>, Failure> {
    let params: Vec<_> = ty.params().collect();
    if params.len() != args.len() {
        return Err(Failure(format!("`{func}` takes {} arguments, {} given", params.len(), args.len())));
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (param, arg))| {
            let bad = || Failure(format!("argument {} of `{func}`: `{arg}` is not a valid {param}", i + 1));
            Ok(match param {
                wasmtime::ValType::I32 => xwasm::Val::I32(
                    arg.parse::<i32>()
                        .or_else(|_| arg.parse::<u32>().map(|v| v as i32))
                        .map_err(|_| bad())?,
                ),
                wasmtime::ValType::I64 => xwasm::Val::I64(
                    arg.parse::<i64>()
                        .or_else(|_| arg.parse::<u64>().map(|v| v as i64))
                        .map_err(|_| bad())?,
                ),
                wasmtime::ValType::F32 => xwasm::Val::F32(arg.parse::<f32>().map_err(|_| bad())?.to_bits()),
                wasmtime::ValType::F64 => xwasm::Val::F64(arg.parse::<f64>().map_err(|_| bad())?.to_bits()),
                other => {
                    return Err(Failure(format!(
                        "`{func}` takes a {other} argument, which `run` cannot pass"
                    )));
                }
            })
        })
        .collect()
}

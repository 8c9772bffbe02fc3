//! The command line, as clap sees it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The default sender of `deploy` and `call`: 32 bytes of 0x01.
pub const DEFAULT_SENDER: &str = "0101010101010101010101010101010101010101010101010101010101010101";
pub const DEFAULT_GAS: u64 = 10_000_000;

#[derive(Debug, Parser)]
#[command(name = "xwasm", version, about = "A WebAssembly smart-contract VM on wasmtime")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How long to wait for a state folder that another xwasm process is
    /// using, in seconds, before giving up (0: do not wait).
    #[arg(long, global = true, default_value_t = DEFAULT_LOCK_TIMEOUT_S, value_name = "SECONDS")]
    pub lock_timeout: u64,
}

/// The default of `--lock-timeout`: a minute.
pub const DEFAULT_LOCK_TIMEOUT_S: u64 = 60;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Instantiate a .wasm or .wat file with no state and call an exported
    /// function with numeric arguments (parsed by the function's signature).
    Run {
        file: PathBuf,
        func: String,
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        #[arg(long, default_value_t = DEFAULT_GAS)]
        gas: u64,
        #[arg(long)]
        json: bool,
        /// The module policy: xwasm or permissive.
        #[arg(long, default_value = "permissive")]
        policy: String,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Precompile modules into the disk tier of compiled code, in parallel.
    Precompile {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The disk tier (default: `.xwasm/cache`).
        #[arg(long, default_value = ".xwasm/cache")]
        cache_dir: PathBuf,
        /// The module policy: xwasm or permissive.
        #[arg(long, default_value = "xwasm")]
        policy: String,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Compile for another target triple (for example
        /// x86_64-apple-darwin). The artifacts land in that target's own
        /// folder of the disk tier; this host never loads them.
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Inspect or maintain the disk tier of compiled code.
    Cache {
        #[arg(value_enum)]
        action: CacheAction,
        #[arg(long, default_value = ".xwasm")]
        state: PathBuf,
        /// The disk tier (default: `STATE/cache`).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Deploy a contract into the state folder and run its `init` (a
    /// CosmWasm contract: its `instantiate` with `--msg`).
    Deploy {
        file: PathBuf,
        #[command(flatten)]
        tx: TxArgs,
        /// Deploy input, hex.
        #[arg(long)]
        input: Option<String>,
        #[command(flatten)]
        cosmwasm: CosmwasmArgs,
        /// CosmWasm: who may migrate the contract (default: the sender).
        #[arg(long)]
        admin: Option<String>,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// The bank balances the CosmWasm querier answers from (kept in the
    /// state folder).
    Bank {
        #[command(subcommand)]
        action: BankAction,
    },
    /// Call a method of a deployed contract.
    Call(CallArgs),
    /// Execute a block of transactions, in parallel with exactly the
    /// result of running them one after another. FILE holds
    /// `{"transactions": [...]}`, each `{"deploy": PATH, ...}` or
    /// `{"call": ADDR, "method": NAME, ...}` with optional `sender`,
    /// `input_hex` and `gas` (defaults: --sender and --gas), or a CosmWasm
    /// entry: `{"cosmwasm": "instantiate", "code": PATH, "msg": JSON,
    /// "admin": ADDR?}`, `{"cosmwasm": "execute" | "sudo" | "migrate",
    /// "contract": ADDR, "msg": JSON, "code": PATH? (migrate)}`, each with
    /// optional `sender`, `funds` (`10uatom,5earth`) and `gas` (default:
    /// as `deploy` and `call`). PATH is relative to FILE's folder.
    Block {
        file: PathBuf,
        #[command(flatten)]
        tx: TxArgs,
        /// Worker threads (default: one per core).
        #[arg(long, conflicts_with = "sequential")]
        threads: Option<usize>,
        /// One after another, on one thread.
        #[arg(long)]
        sequential: bool,
        #[command(flatten)]
        exec: ExecArgs,
    },
    /// Call a method read-only: state is read, never written; a write,
    /// remove or event ends the call with status `limit`.
    Query(CallArgs),
    /// Print a contract's storage, sorted by key bytes.
    State {
        addr: String,
        #[arg(long, default_value = ".xwasm")]
        state: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Shrink a module with named passes (strip-custom, strip-names,
    /// dead-code, zero-data; default: all but strip-names), check it stays
    /// valid, and report the effect: bytes, compile time and artifact size
    /// under Cranelift and Winch, and with --call the gas and time of that
    /// call before and after (equal results required).
    Optimize {
        file: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        /// Comma-separated passes.
        #[arg(long)]
        passes: Option<String>,
        /// A method (native) or entry point (CosmWasm: execute or query)
        /// to run on both versions.
        #[arg(long)]
        call: Option<String>,
        /// The call's input, hex (native).
        #[arg(long)]
        input: Option<String>,
        /// The call's message (CosmWasm).
        #[arg(long)]
        msg: Option<String>,
        /// Deploy input, hex (native), or instantiate's message (CosmWasm).
        #[arg(long)]
        deploy: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Describe a module: exports, imports, memory, and the policy's verdict.
    Inspect {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// The policy whose verdict to show: xwasm or permissive.
        #[arg(long, default_value = "xwasm")]
        policy: String,
    },
    /// Summarize the calls recorded in the state folder's history.
    Report {
        #[arg(long, default_value = ".xwasm")]
        state: PathBuf,
        #[arg(long, value_enum, default_value = "json")]
        format: ReportFormat,
        /// Write the report here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Profile a method: sample where its time goes, per WebAssembly
    /// function. TARGET is a .wasm/.wat file (deployed into a throw-away
    /// state first) or the address of a contract in --state. For a
    /// CosmWasm contract METHOD is an entry point (`execute`, `query`, ...)
    /// and --msg its message (--deploy-msg: instantiate's, for a file).
    Profile {
        target: String,
        method: String,
        /// CosmWasm: the message, JSON.
        #[arg(long)]
        msg: Option<String>,
        /// CosmWasm: instantiate's message when TARGET is a file.
        #[arg(long, default_value = "{}")]
        deploy_msg: String,
        #[arg(long, default_value = ".xwasm")]
        state: PathBuf,
        /// Call input, hex.
        #[arg(long)]
        input: Option<String>,
        /// Deploy input when TARGET is a file, hex.
        #[arg(long)]
        deploy_input: Option<String>,
        #[arg(long, default_value_t = DEFAULT_GAS)]
        gas: u64,
        /// How many times to run the method (nothing is committed).
        #[arg(long, default_value_t = 20)]
        runs: u32,
        /// Sampling interval in microseconds.
        #[arg(long, default_value_t = 100)]
        interval_us: u64,
        /// Where to write the samples as collapsed stacks (flame graph
        /// input).
        #[arg(long, default_value = "xwasm-profile.folded")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Deploy the example token into a temporary state folder, run a few
    /// transfers (one of them failing) and print their outcomes and gas.
    Demo,
}

/// `xwasm bank`.
#[derive(Debug, clap::Subcommand)]
pub enum BankAction {
    /// Set ADDR's balances to COINS (`1000earth,5uatom`; other denoms kept).
    Set {
        addr: String,
        coins: String,
        #[arg(long, default_value = ".xwasm")]
        state: PathBuf,
    },
    /// Print ADDR's balances.
    Show {
        addr: String,
        #[arg(long, default_value = ".xwasm")]
        state: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// What a CosmWasm message carries beyond the transaction: the message,
/// funds, and the block environment (`Env`).
#[derive(Debug, Args)]
pub struct CosmwasmArgs {
    /// CosmWasm: the message, JSON.
    #[arg(long)]
    pub msg: Option<String>,
    /// CosmWasm: funds sent with the message (`1000earth,5uatom`), credited
    /// to the contract before the call.
    #[arg(long)]
    pub funds: Option<String>,
    /// CosmWasm: block height in `Env` (default 12345, as cosmwasm-vm's mock_env).
    #[arg(long, default_value_t = 12_345)]
    pub height: u64,
    /// CosmWasm: block time, nanoseconds since the Unix epoch (default
    /// 1571797419879305533, as mock_env).
    #[arg(long, default_value_t = 1_571_797_419_879_305_533)]
    pub time: u64,
    /// CosmWasm: the chain id (default cosmos-testnet-14002).
    #[arg(long, default_value = "cosmos-testnet-14002")]
    pub chain_id: String,
    /// CosmWasm: the transaction's index in the block (default 3).
    #[arg(long, default_value_t = 3)]
    pub tx_index: u32,
    /// CosmWasm: the transaction's hash, 64 hex characters (default
    /// mock_env's E5469DAC...94B3).
    #[arg(long)]
    pub tx_hash: Option<String>,
}

/// A call of a deployed contract's method.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The contract's address: 64 hex characters (a CosmWasm contract's
    /// bech32 address too).
    pub addr: String,
    /// The method; for a CosmWasm contract the entry point (`execute`,
    /// `migrate`, `sudo`, or any export by name). A CosmWasm query takes none.
    pub method: Option<String>,
    #[command(flatten)]
    pub cosmwasm: CosmwasmArgs,
    /// CosmWasm `migrate`: the new code (default: the current code).
    #[arg(long)]
    pub code: Option<PathBuf>,
    #[command(flatten)]
    pub tx: TxArgs,
    /// Call input, hex.
    #[arg(long, conflicts_with = "input_str")]
    pub input: Option<String>,
    /// Call input, as UTF-8 text.
    #[arg(long)]
    pub input_str: Option<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// What every transaction takes.
#[derive(Debug, Args)]
pub struct TxArgs {
    /// The state folder (created if missing; it persists across runs).
    #[arg(long, default_value = ".xwasm")]
    pub state: PathBuf,
    /// The disk tier of compiled code (default: `STATE/cache`).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// The signing account, 64 hex characters (or bech32 for CosmWasm
    /// contracts).
    #[arg(long, default_value = DEFAULT_SENDER)]
    pub sender: String,
    /// Gas limit (default 10,000,000). CosmWasm contracts count CosmWasm
    /// gas (cosmwasm-vm's meter): default 2,000,000,000 for a call and
    /// 1,000,000,000,000 for a deployment, which pays for storing and
    /// compiling the code first.
    #[arg(long)]
    pub gas: Option<u64>,
    /// Block height the transaction runs at.
    #[arg(long, default_value_t = 1)]
    pub block_height: u64,
    /// Block time, ms since the Unix epoch.
    #[arg(long, default_value_t = 0)]
    pub block_time: u64,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl TxArgs {
    /// The gas limit of a native transaction.
    pub fn gas(&self) -> u64 {
        self.gas.unwrap_or(DEFAULT_GAS)
    }
}

/// The format of `xwasm report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Prometheus,
    Html,
}

/// What `xwasm cache` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheAction {
    /// List the artifacts and their sizes.
    Stats,
    /// Check every artifact; delete the corrupt ones and stray files.
    Verify,
    /// Delete every artifact.
    Clear,
    /// Load every contract's code stored in the state folder through the
    /// tiers, in parallel: what is missing on disk is compiled, so that a
    /// node starting (or upgraded) finds every artifact ready.
    Warm,
}

/// The compilation strategy, for `--strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    Cranelift,
    Winch,
}

/// How code compiles and runs.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Wall-clock limit of the call in milliseconds (status `timeout`).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Compilation strategy (overrides the config file).
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// A TOML file holding a VM configuration (engine, gas schedule,
    /// limits, policy, caches).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

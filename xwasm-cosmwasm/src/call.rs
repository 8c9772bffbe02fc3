//! Entry points: the environment types a contract is given, and the
//! calling convention (`packages/vm/src/calls.rs`, `call_raw`).

use crate::region::{read_region, trap, write_allocated};
use crate::state::CallState;
use cosmwasm_std::{
    Addr, BlockInfo, Coin, ContractInfo, Env, MessageInfo, MigrateInfo, Timestamp, TransactionInfo,
};
use wasmtime::{Instance, Store, Val};
use xwasm_store::WasmContext;

/// The largest result an entry point may return (cosmwasm-vm's
/// `read_limits`): 64 MiB.
pub const MAX_RESULT_BYTES: usize = 64 << 20;

/// The block and transaction a call runs in, as `Env` carries them. The
/// default is cosmwasm-vm's `mock_env()` (its contract address aside,
/// which is the called contract's).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockEnv {
    pub height: u64,
    /// Nanoseconds since the Unix epoch.
    pub time_nanos: u64,
    pub chain_id: String,
    /// The transaction's index in the block; `None` outside a transaction.
    pub tx_index: Option<u32>,
    /// The transaction's hash (3.0 contracts read it).
    pub tx_hash: Vec<u8>,
}

impl BlockEnv {
    /// The block of a native transaction: `chain`'s height and time in the
    /// default environment (the default block when `chain` is).
    pub fn of_chain(chain: &xwasm_store::ChainContext) -> Self {
        let mut env = Self::default();
        if *chain != xwasm_store::ChainContext::default() {
            env.height = chain.block_height;
            env.time_nanos = chain.block_time_ms.saturating_mul(1_000_000);
        }
        env
    }
}

impl Default for BlockEnv {
    fn default() -> Self {
        Self {
            height: 12_345,
            time_nanos: 1_571_797_419_879_305_533,
            chain_id: "cosmos-testnet-14002".into(),
            tx_index: Some(3),
            tx_hash: hex::decode("E5469DACEC17CEF8A260FD37675ED87E7FB6A2B5AD95193C51308006C7E494B3")
                .expect("hex constant"),
        }
    }
}

impl BlockEnv {
    /// cosmwasm-std's `Env` for a call of the contract at `contract`
    /// (its bech32 address).
    pub fn env(&self, contract: &str) -> Env {
        // TransactionInfo is non-exhaustive: built through its serde,
        // which is the reference anyway.
        let transaction = self.tx_index.map(|index| {
            let json = serde_json::json!({ "index": index, "hash": cosmwasm_std::Binary::from(self.tx_hash.clone()) });
            serde_json::from_value::<TransactionInfo>(json).expect("a TransactionInfo")
        });
        Env {
            block: BlockInfo {
                height: self.height,
                time: Timestamp::from_nanos(self.time_nanos),
                chain_id: self.chain_id.clone(),
            },
            transaction,
            contract: ContractInfo { address: Addr::unchecked(contract) },
        }
    }
}

/// An entry point of a CosmWasm contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPoint {
    Instantiate,
    Execute,
    Migrate,
    Sudo,
    Reply,
    Query,
}

impl EntryPoint {
    pub fn name(self) -> &'static str {
        match self {
            EntryPoint::Instantiate => "instantiate",
            EntryPoint::Execute => "execute",
            EntryPoint::Migrate => "migrate",
            EntryPoint::Sudo => "sudo",
            EntryPoint::Reply => "reply",
            EntryPoint::Query => "query",
        }
    }
}

impl std::str::FromStr for EntryPoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "instantiate" => EntryPoint::Instantiate,
            "execute" => EntryPoint::Execute,
            "migrate" => EntryPoint::Migrate,
            "sudo" => EntryPoint::Sudo,
            "reply" => EntryPoint::Reply,
            "query" => EntryPoint::Query,
            other => {
                return Err(format!(
                    "unknown entry point `{other}` (expected instantiate, execute, migrate, sudo, reply or query)"
                ));
            }
        })
    }
}

/// JSON of cosmwasm-std's `MessageInfo`.
pub fn info_json(sender: &str, funds: &[Coin]) -> Vec<u8> {
    let info = MessageInfo { sender: Addr::unchecked(sender), funds: funds.to_vec() };
    cosmwasm_std::to_json_vec(&info).expect("MessageInfo serializes")
}

/// JSON of cosmwasm-std's `MigrateInfo`.
pub fn migrate_info_json(sender: &str, old_migrate_version: Option<u64>) -> Vec<u8> {
    let info = MigrateInfo { sender: Addr::unchecked(sender), old_migrate_version };
    cosmwasm_std::to_json_vec(&info).expect("MigrateInfo serializes")
}

/// JSON of cosmwasm-std's `Env`.
pub fn env_json(env: &Env) -> Vec<u8> {
    cosmwasm_std::to_json_vec(env).expect("Env serializes")
}

/// One entry-point call: the export and its arguments (JSON), driven as
/// cosmwasm-vm's `call_raw` does. Each argument is written through the
/// contract's `allocate` (metered wasm) into a fresh Region; the export
/// is called with the Regions' pointers; its result Region is read (at
/// most [`MAX_RESULT_BYTES`]) and handed back with `deallocate`. The
/// result's JSON goes to the call state's `result`.
#[derive(Debug, Clone)]
pub struct EntryCall {
    pub export: String,
    pub args: Vec<Vec<u8>>,
}

impl xwasm_exec::Driver for EntryCall {
    fn drive(&self, store: &mut Store<WasmContext>, instance: &Instance) -> wasmtime::Result<()> {
        let allocate = instance.get_func(&mut *store, "allocate");
        let mut pointers = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            pointers.push(Val::I32(write_allocated(store, allocate, arg)? as i32));
        }
        let Some(func) = instance.get_func(&mut *store, &self.export) else {
            return Err(trap(store, format!("Could not get export: {}", self.export)));
        };
        let ty = func.ty(&*store);
        if self.export == "migrate" && pointers.len() == 3 && ty.params().len() == 2 {
            // cosmwasm-vm's `call_migrate_with_info_raw`: a 2-argument
            // `migrate` is called again with fresh copies of (env, msg).
            pointers.clear();
            for arg in &self.args[..2] {
                pointers.push(Val::I32(write_allocated(store, allocate, arg)? as i32));
            }
        }
        if ty.params().len() != pointers.len() {
            // cosmwasm-vm's `FunctionArityMismatch`.
            let arity = ty.params().len();
            return Err(trap(
                store,
                format!(
                    "The called function args arity does not match. The contract's method arity: {arity}"
                ),
            ));
        }
        if ty.results().len() != 1 {
            return Err(trap(
                store,
                format!("Unexpected number of result values when calling '{}'", self.export),
            ));
        }
        let mut results = [Val::I32(0)];
        func.call(&mut *store, &pointers, &mut results)?;
        let Some(result) = results[0].i32() else {
            return Err(trap(store, format!("{} returned a value that is not an i32", self.export)));
        };
        let data = read_region(store, result as u32, MAX_RESULT_BYTES)?;
        if let Some(deallocate) = instance.get_func(&mut *store, "deallocate") {
            deallocate.typed::<u32, ()>(&*store)?.call(&mut *store, result as u32)?;
        }
        match CallState::of_mut(store.data_mut()) {
            Some(state) => state.result = Some(data),
            None => return Err(wasmtime::Error::msg("a cosmwasm entry point called without its call state")),
        }
        Ok(())
    }
}

/// The `old_migrate_version` of code: its `cw_migrate_version` custom
/// section, a decimal `u64`.
pub fn migrate_version(wasm: &[u8]) -> Option<u64> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Ok(wasmparser::Payload::CustomSection(section)) = payload
            && section.name() == "cw_migrate_version"
        {
            return std::str::from_utf8(section.data()).ok()?.trim().parse().ok();
        }
    }
    None
}

//! An entry point's arguments going in, and its outcome coming out as
//! cosmwasm-vm reports it: the contract's result, its error wording and
//! the `GasReport`.

use crate::{BlockEnv, CallState, CosmwasmConfig};
use cosmwasm_std::{Binary, Coin, ContractResult};
use xwasm_exec::{Outcome, Status};
use xwasm_store::Halt;

/// A message to a CosmWasm contract: who sends it, with what funds, in
/// which block.
#[derive(Debug, Clone)]
pub struct CosmwasmMessage {
    /// The sender's address: bech32 with the VM's prefix, or 64 hex
    /// characters (an xwasm address).
    pub sender: String,
    pub funds: Vec<Coin>,
    /// The message, JSON. Passed to the contract as it is, as cosmwasm-vm
    /// does (the contract's own parse error answers bytes that are not
    /// JSON); a chain checks it first, as the CLI does.
    pub msg: Vec<u8>,
    pub env: BlockEnv,
    /// Gas for the call, in xwasm gas.
    pub gas_limit: u64,
}

impl CosmwasmMessage {
    /// A smart query `msg` to a contract whose address is `sender`, made
    /// by a contract running as `context` says: in its block, with what
    /// gas it has left.
    pub fn for_query(
        sender: String,
        msg: &[u8],
        context: &crate::QueryContext<'_>,
        config: &CosmwasmConfig,
    ) -> Self {
        Self {
            sender,
            funds: Vec::new(),
            msg: msg.to_vec(),
            env: BlockEnv {
                height: context.chain.block_height,
                time_nanos: context.chain.block_time_ms.saturating_mul(1_000_000),
                ..BlockEnv::default()
            },
            gas_limit: context.gas_limit / config.cw_gas_per_gas.max(1),
        }
    }

    /// A native transaction's input as the message of a CosmWasm
    /// deployment from `sender` (its address as the profile writes it), in
    /// `chain`'s block.
    pub fn of_transaction(
        sender: String,
        tx: &xwasm_store::Transaction,
        chain: &xwasm_store::ChainContext,
    ) -> Self {
        let mut message = Self::new(sender, tx.input.clone(), tx.gas_limit);
        message.env = BlockEnv::of_chain(chain);
        message
    }

    /// `msg` from `sender`, no funds, in the default block.
    pub fn new(sender: impl Into<String>, msg: impl Into<Vec<u8>>, gas_limit: u64) -> Self {
        Self {
            sender: sender.into(),
            funds: Vec::new(),
            msg: msg.into(),
            env: BlockEnv::default(),
            gas_limit,
        }
    }
}

/// How a CosmWasm call ended.
#[derive(Debug, Clone)]
pub struct CosmwasmOutcome {
    /// The status and gas as for any call. A contract that returns
    /// `{"error": ...}` ends with status `abort` and its error string, and
    /// nothing it wrote is kept.
    pub outcome: Outcome,
    /// The contract's `ContractResult` JSON, as it returned it (none when
    /// it did not return: a trap, out of gas, an abort).
    pub result: Option<Vec<u8>>,
    pub gas_report: GasReport,
    /// What the contract passed to `debug`, in order.
    pub debug: Vec<String>,
    /// The price of storing and compiling new code (a deployment only),
    /// apart from the call's gas.
    pub code_gas: u64,
    /// The contract's bech32 address.
    pub contract: String,
    /// Out of gas in an import, not in the contract's own code:
    /// cosmwasm-vm reports it as a runtime error of the import.
    pub out_of_gas_in_import: bool,
}

impl CosmwasmOutcome {
    /// The outcome of a deployment whose `gas_limit` could not pay `price`
    /// for `what` of its code.
    pub fn unpaid(config: &CosmwasmConfig, gas_limit: u64, price: u64, what: &str, contract: String) -> Self {
        let outcome = Outcome::unpaid_deployment(gas_limit, price, what);
        Self {
            gas_report: GasReport::of(config, &outcome, 0),
            outcome,
            result: None,
            debug: Vec::new(),
            code_gas: price,
            contract,
            out_of_gas_in_import: false,
        }
    }

    /// Adds the price of a deployment's code (`code_gas`, within
    /// `gas_limit`) to the call's gas.
    pub fn charge_code(&mut self, code_gas: u64, gas_limit: u64) {
        self.code_gas = code_gas;
        self.outcome.gas_used = self.outcome.gas_used.saturating_add(code_gas);
        self.outcome.gas_limit = gas_limit;
    }

    /// A smart query's answer to the querying contract, and the CosmWasm
    /// gas the query used.
    pub fn query_answer(&self, config: &CosmwasmConfig) -> (Result<ContractResult<Binary>, String>, u64) {
        let answer = match (&self.result, self.outcome.status) {
            (Some(result), _) => serde_json::from_slice::<ContractResult<Binary>>(result)
                .map_err(|e| format!("the contract's query result is not a ContractResult: {e}")),
            (None, Status::OutOfGas) => Err("Ran out of gas during contract execution".into()),
            (None, _) => Ok(ContractResult::Err(self.outcome.error.clone().unwrap_or_default())),
        };
        (answer, config.to_cw_gas(self.outcome.gas_used))
    }

    /// The outcome of an entry point's `execution` as cosmwasm-vm reports
    /// it ([`finish`], [`GasReport::of`]), and the call's context; `None`
    /// if the context lost its [`CallState`] (a wiring fault).
    pub fn of_execution(
        config: &CosmwasmConfig,
        execution: xwasm_exec::Execution,
    ) -> Option<(Self, xwasm_store::WasmContext)> {
        let gas_left = execution.gas_left;
        let (mut outcome, mut context) = execution.into_parts();
        let state = context.extension.take()?.0.downcast::<CallState>().ok()?;
        let result = finish(&mut outcome, gas_left, context.halt.as_ref(), &state);
        let gas_report = GasReport::of(config, &outcome, state.used_externally);
        let (debug, contract, out_of_gas_in_import) =
            (state.debug, String::new(), state.out_of_gas_in_import);
        let done = Self { gas_report, outcome, result, debug, code_gas: 0, contract, out_of_gas_in_import };
        Some((done, context))
    }

    /// The `ok` payload of the result, if the contract succeeded.
    pub fn ok(&self) -> Option<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_slice(self.result.as_ref()?).ok()?;
        value.get("ok").cloned()
    }
}

/// cosmwasm-vm's `GasReport` of a call, in CosmWasm gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GasReport {
    pub limit: u64,
    pub remaining: u64,
    pub used_externally: u64,
    pub used_internally: u64,
}

impl GasReport {
    /// The report of a call that ended as `outcome`, of which the backend
    /// (storage, API, queries) reported `used_externally` CosmWasm gas.
    /// Consensus-relevant.
    pub fn of(config: &CosmwasmConfig, outcome: &Outcome, used_externally: u64) -> Self {
        let limit = config.to_cw_gas(outcome.gas_limit);
        let remaining = match outcome.status {
            Status::OutOfGas => 0,
            _ => config.to_cw_gas(outcome.gas_limit.saturating_sub(outcome.gas_used)),
        };
        Self {
            limit,
            remaining,
            used_externally,
            used_internally: limit.saturating_sub(used_externally).saturating_sub(remaining),
        }
    }
}

/// The JSON arguments of entry point `export`: `(env, info, msg)` for
/// `instantiate` and `execute`; `(env, msg)` for the others, and for a
/// `migrate` of `arity` 3 (std 2.2+) also its `MigrateInfo`.
pub fn entry_args(
    export: &str,
    env: Vec<u8>,
    info: impl FnOnce() -> Vec<u8>,
    msg: &[u8],
    migrate_info: Option<&[u8]>,
    arity: Option<usize>,
) -> Vec<Vec<u8>> {
    match export {
        "instantiate" | "execute" => vec![env, info(), msg.to_vec()],
        "migrate" => match (arity, migrate_info) {
            (Some(3), Some(migrate)) => vec![env, msg.to_vec(), migrate.to_vec()],
            _ => vec![env, msg.to_vec()],
        },
        _ => vec![env, msg.to_vec()],
    }
}

/// Turns an entry point's run into cosmwasm-vm's terms: the call used
/// what ran, a trap included (out of gas leaves none: `gas_left` is what
/// the meter held at the end); an `abort` is worded as cosmwasm-vm words
/// it; a `{"error": ...}` result ends the call with status `abort` and
/// that error, its events dropped. Returns the contract's result bytes,
/// if it returned one.
pub fn finish(
    outcome: &mut Outcome,
    gas_left: u64,
    halt: Option<&Halt>,
    state: &CallState,
) -> Option<Vec<u8>> {
    outcome.gas_used = outcome.gas_limit - gas_left;
    if let Some(Halt::Abort(message)) = halt {
        // std's panic handler calls `abort`.
        outcome.error = Some(format!("Aborted: {message}"));
    }
    let result = if outcome.status == Status::Ok { state.result.clone() } else { None };
    if let Some(result) = &result {
        if let Some(error) = crate::contract_error(result) {
            outcome.status = Status::Abort;
            outcome.error = Some(error);
            outcome.events.clear();
        }
        outcome.return_data = result.clone();
    }
    result
}

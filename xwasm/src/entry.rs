//! One CosmWasm entry point run in a fresh instance: its arguments, the
//! profile's call state, and its outcome as cosmwasm-vm reports it
//! (`xwasm-cosmwasm`); and the smart queries contracts make of each other.
//!
//! The contract's `Response` is returned, not dispatched: sending funds,
//! running sub-messages and replies is the chain's job.

use crate::vm::Inner;
use crate::{Vm, VmError};
use cosmwasm_std::{Binary, ContractResult};
use std::sync::{Arc, Weak};
use xwasm_cosmwasm::{
    CallState, ChainServices, CosmwasmMessage, CosmwasmOutcome, EntryCall, QueryContext, SmartQuerier,
};
use xwasm_exec::{Budget, Entry, Executor, Status, Trace};
use xwasm_loader::LoadedCode;
use xwasm_store::{Address, CallFrame, ChainContext, ContractRecord, Journal, StopSignal, WasmContext};

/// How an entry point runs.
#[derive(Default, Clone)]
pub(crate) struct EntryRun<'a> {
    pub(crate) read_only: bool,
    /// A migration's `MigrateInfo` JSON.
    pub(crate) migrate_info: Option<&'a [u8]>,
    /// Another executor than the code's tier's (the profiler's): a dry
    /// run, which commits nothing whatever the outcome.
    pub(crate) executor: Option<&'a Executor>,
    /// A nested query's depth, the stack units its callers use and their
    /// deadline and interrupt.
    pub(crate) nested: Option<(u32, u32, StopSignal)>,
}

impl Vm {
    /// The bech32 address of `address` under this VM's prefix.
    pub fn cosmwasm_address(&self, address: &Address) -> String {
        self.inner.addresses.format(address)
    }

    /// An address given as bech32 (this VM's prefix, 32 bytes) or as 64
    /// hex characters.
    pub fn parse_cosmwasm_address(&self, text: &str) -> Result<Address, VmError> {
        Ok(self.inner.addresses.parse(text)?)
    }

    /// The contract at `address` and its code, which must be CosmWasm's.
    pub(crate) fn cosmwasm_code(
        &self,
        journal: &Journal,
        address: &Address,
        trace: &mut Trace,
    ) -> Result<(ContractRecord, Arc<LoadedCode>), VmError> {
        let record = self.inner.records.record(journal, address)?;
        let code = self.stored_code(journal, address, &record, trace)?;
        if !code.is_cosmwasm() {
            return Err(VmError::Profile(format!(
                "contract {address} is not a CosmWasm contract: call its methods with `call`"
            )));
        }
        Ok((record, code))
    }

    /// A fresh call state of the profile, its smart queries answered by
    /// this VM.
    pub(crate) fn call_state(&self) -> CallState {
        self.inner.cosmwasm.call_state(Some(Arc::new(SmartQueries(Arc::downgrade(&self.inner)))))
    }

    /// Runs one entry point in a fresh instance and settles it: commits
    /// only an `ok` result of a call that may write. The message's funds
    /// are credited to the contract first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_entry(
        &self,
        trace: &mut Trace,
        mut journal: Journal,
        code: &LoadedCode,
        address: Address,
        export: &str,
        message: &CosmwasmMessage,
        how: EntryRun<'_>,
    ) -> Result<CosmwasmOutcome, VmError> {
        let EntryRun { read_only, migrate_info, executor, nested } = how;
        let contract = self.cosmwasm_address(&address);
        if !message.funds.is_empty() {
            xwasm_chain::credit(&mut journal, &contract, &message.funds)?;
        }
        let env = xwasm_cosmwasm::env_json(&message.env.env(&contract));
        let info = || xwasm_cosmwasm::info_json(&message.sender, &message.funds);
        let args =
            xwasm_cosmwasm::entry_args(export, env, info, &message.msg, migrate_info, code.arity(export));
        let chain = ChainContext {
            block_height: message.env.height,
            block_time_ms: message.env.time_nanos / 1_000_000,
        };
        let sender = self.parse_cosmwasm_address(&message.sender).unwrap_or(address);
        let tx = xwasm_store::Transaction::new(sender, message.gas_limit, Vec::new());
        let call = CallFrame::transaction(chain, &tx, address, sender);
        let mut context = self.context(call, journal, read_only, StopSignal::after(self.call_timeout()));
        if let Some((depth, stack_base, stop)) = nested {
            (context.depth, context.stack_base, context.stop) = (depth, stack_base, stop);
        }
        let driver = EntryCall { export: export.to_owned(), args };
        let (mut done, context) =
            self.run_driven(trace, code, context, self.call_state(), &driver, message.gas_limit, executor)?;
        if done.outcome.status == Status::Ok && !read_only && executor.is_none() {
            trace.commit(|| context.journal.commit())?;
        }
        done.contract = contract;
        Ok(done)
    }

    /// Runs `export` of CosmWasm `code` as a chain hands a call to its VM
    /// (wasmvm's interface): the exact argument bytes (`env`, then `info`
    /// for `instantiate` and `execute`, then `msg`, then a migration's
    /// `MigrateInfo`), and the chain's own storage, address API and
    /// querier for this one call. Writes go to `chain.storage` as they
    /// happen; nothing touches this VM's state. A `query` may not write.
    pub fn cosmwasm_run(
        &self,
        code: &LoadedCode,
        export: &str,
        args: Vec<Vec<u8>>,
        chain: ChainServices,
        gas_limit: u64,
    ) -> Result<CosmwasmOutcome, VmError> {
        let mut trace = self.inner.observers.start(if export == "query" { "query" } else { "call" });
        let context = self.empty_context(gas_limit, export == "query");
        let state = CallState::for_chain(self.inner.cosmwasm.config.clone(), chain);
        let driver = EntryCall { export: export.to_owned(), args };
        Ok(self.run_driven(&mut trace, code, context, state, &driver, gas_limit, None)?.0)
    }

    /// Runs `driver` in `context` with the profile's call `state`, and
    /// reads its outcome as cosmwasm-vm reports it.
    #[allow(clippy::too_many_arguments)]
    fn run_driven(
        &self,
        trace: &mut Trace,
        code: &LoadedCode,
        mut context: WasmContext,
        state: CallState,
        driver: &EntryCall,
        gas_limit: u64,
        executor: Option<&Executor>,
    ) -> Result<(CosmwasmOutcome, WasmContext), VmError> {
        context.extension = Some(state.into_extension());
        let entry = Entry::Driven { name: &driver.export, driver };
        let budget = Budget { gas_limit, timed: trace.detailed() };
        let execution = match executor {
            Some(executor) => self.execute_on(executor, code, context, entry, budget)?,
            None => self.execute(code, context, entry, budget)?,
        };
        trace.ran(&execution);
        CosmwasmOutcome::of_execution(&self.inner.cosmwasm.config, execution)
            .ok_or_else(|| VmError::Link { reason: "the cosmwasm call state went missing".into() })
    }
}

/// `wasm` smart queries of CosmWasm contracts against the contracts of
/// this VM: a nested, read-only `query` over the calling transaction's
/// state.
struct SmartQueries(Weak<Inner>);

impl SmartQuerier for SmartQueries {
    fn smart(
        &self,
        contract: &Address,
        msg: &[u8],
        context: &QueryContext<'_>,
    ) -> Option<(Result<ContractResult<Binary>, String>, u64)> {
        let vm = Vm { inner: self.0.upgrade()? };
        if context.depth + 1 >= vm.inner.config.limits.max_call_depth {
            return Some((Err("query depth exceeds the limit".into()), 0));
        }
        let journal = context.journal.fork();
        let mut trace = Trace::start("nested", false);
        let (_, code) = vm.cosmwasm_code(&journal, contract, &mut trace).ok()?;
        let config = &vm.inner.cosmwasm.config;
        let message = CosmwasmMessage::for_query(vm.cosmwasm_address(contract), msg, context, config);
        let how = EntryRun {
            read_only: true,
            nested: Some((context.depth + 1, context.stack_used, context.stop.clone())),
            ..EntryRun::default()
        };
        match vm.run_entry(&mut trace, journal, &code, *contract, "query", &message, how) {
            Ok(done) => Some(done.query_answer(config)),
            Err(error) => Some((Err(error.to_string()), 0)),
        }
    }
}

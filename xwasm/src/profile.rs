//! Profiling a contract method: [`Vm::profile`] and [`Vm::cosmwasm_profile`].

use crate::entry::EntryRun;
use crate::{Vm, VmError};
use std::collections::HashMap;
use std::time::Duration;
use xwasm_cosmwasm::CosmwasmMessage;
use xwasm_exec::{Budget, Entry, Executor, ProfileReport, Sampler, Trace};
use xwasm_store::{Address, ChainContext, Journal, Transaction};

impl Vm {
    /// Profiles `method` of the contract at `address`: runs it `runs` times
    /// (never committing anything), sampling the WebAssembly stack every
    /// `interval`. Returns the last outcome and the samples. The VM must be
    /// interruptible ([`VmBuilder::interruptible`](crate::VmBuilder::interruptible)):
    /// samples are taken at the checks that makes it compile in.
    pub fn profile(
        &self,
        address: &Address,
        method: &str,
        chain: &ChainContext,
        tx: &Transaction,
        runs: u32,
        interval: Duration,
    ) -> Result<ProfileReport, VmError> {
        let (sampler, started) = Sampler::start(self.inner.config.engine.interruptible)?;
        let mut outcome = None;
        let mut names = HashMap::new();
        let mut executor: Option<Executor> = None;
        for _ in 0..runs.max(1) {
            let journal = Journal::new(self.inner.backend.clone());
            let (record, code) =
                self.callable(&journal, address, method, &mut Trace::start("call", false))?;
            names = code.unnamed_exports();
            // On the engine that compiled the code (a tiered VM's code may
            // still be the baseline's).
            if executor.as_ref().is_none_or(|e| !wasmtime::Engine::same(e.engine(), code.module.engine())) {
                executor = Some(Executor::sampling(code.module.engine().clone(), interval, sampler.clone()));
            }
            let executor = executor.as_ref().expect("set above");
            let context = self.transaction_context(*address, record.owner, chain, tx, journal, false, None);
            let budget = Budget::gas(tx.gas_limit);
            outcome = Some(self.execute_on(executor, &code, context, Entry::Method(method), budget)?.outcome);
        }
        let outcome = outcome.expect("at least one run");
        Ok(ProfileReport::new(&sampler, &names, outcome, runs.max(1), started))
    }

    /// [`Vm::profile`] for a CosmWasm contract: `export` (an entry point)
    /// with `message`, run `runs` times, nothing committed.
    pub fn cosmwasm_profile(
        &self,
        address: &Address,
        export: &str,
        message: &CosmwasmMessage,
        runs: u32,
        interval: Duration,
    ) -> Result<ProfileReport, VmError> {
        let (sampler, started) = Sampler::start(self.inner.config.engine.interruptible)?;
        let journal = Journal::new(self.inner.backend.clone());
        let (_, code) = self.cosmwasm_code(&journal, address, &mut Trace::start("call", false))?;
        let names = code.unnamed_exports();
        let executor = Executor::sampling(code.module.engine().clone(), interval, sampler.clone());
        let mut outcome = None;
        for _ in 0..runs.max(1) {
            let journal = Journal::new(self.inner.backend.clone());
            let how =
                EntryRun { read_only: export == "query", executor: Some(&executor), ..EntryRun::default() };
            let mut trace = Trace::start("call", false);
            outcome =
                Some(self.run_entry(&mut trace, journal, &code, *address, export, message, how)?.outcome);
        }
        let outcome = outcome.expect("at least one run");
        Ok(ProfileReport::new(&sampler, &names, outcome, runs.max(1), started))
    }
}

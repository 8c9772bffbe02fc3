//! Profiling a contract method: [`Vm::profile`].

use crate::code::LoadedCode;
use crate::{Vm, VmError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xwasm_exec::{Budget, Entry, Executor, FunctionSamples, Outcome, Sampler};
use xwasm_store::{Address, ChainContext, Journal, Transaction};

/// Sampled frames of exported functions without a name-section entry
/// (`func[N]` in the compiled module's index space) and their export
/// names.
fn unnamed_exports(code: &LoadedCode) -> std::collections::HashMap<String, String> {
    let added = xwasm_security::preprocess::added_imports(code.module.imports().map(|i| i.module()));
    code.info
        .exports
        .iter()
        .filter(|e| e.ty.kind() == "func")
        .map(|e| (format!("func[{}]", e.index + added), e.name.clone()))
        .collect()
}

/// The result of [`Vm::profile`].
#[derive(Debug, Clone)]
pub struct ProfileReport {
    /// The outcome of the last run (nothing was committed).
    pub outcome: Outcome,
    pub runs: u32,
    pub wall_time: Duration,
    pub samples: u64,
    /// Per function, busiest first (self samples).
    pub functions: Vec<FunctionSamples>,
    /// The samples as collapsed stacks (`outer;inner count` lines), for
    /// flame graph tools such as inferno, flamegraph.pl or speedscope.
    pub collapsed: String,
}

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
        let (sampler, started) = self.start_sampling()?;
        let mut outcome = None;
        let mut names = std::collections::HashMap::new();
        let mut executor: Option<Executor> = None;
        for _ in 0..runs.max(1) {
            let journal = Journal::new(self.inner.backend.clone());
            let (record, code, _) = self.callable(&journal, address, method)?;
            names = unnamed_exports(&code);
            // On the engine that compiled the code (a tiered VM's code may
            // still be the baseline's).
            if executor.as_ref().is_none_or(|e| !wasmtime::Engine::same(e.engine(), code.module.engine())) {
                executor = Some(Executor::sampling(code.module.engine().clone(), interval, sampler.clone()));
            }
            let executor = executor.as_ref().expect("set above");
            let frame =
                self.transaction_frame(&code, *address, record.owner, chain, tx, journal, false, None);
            outcome = Some(
                self.execute_on(executor, frame, Entry::Method(method), Budget::gas(tx.gas_limit))?.outcome,
            );
        }
        Ok(report(&sampler, &names, outcome.expect("at least one run"), runs.max(1), started))
    }

    /// [`Vm::profile`] for a CosmWasm contract: `export` (an entry point)
    /// with `message`, run `runs` times, nothing committed.
    pub fn cosmwasm_profile(
        &self,
        address: &Address,
        export: &str,
        message: &crate::CosmwasmMessage,
        runs: u32,
        interval: Duration,
    ) -> Result<ProfileReport, VmError> {
        let (sampler, started) = self.start_sampling()?;
        let code = self.cosmwasm_loaded(address)?;
        let names = unnamed_exports(&code);
        let executor = Executor::sampling(code.module.engine().clone(), interval, sampler.clone());
        let mut outcome = None;
        for _ in 0..runs.max(1) {
            outcome = Some(self.cosmwasm_dry_run(&executor, address, export, message)?.0.outcome);
        }
        Ok(report(&sampler, &names, outcome.expect("at least one run"), runs.max(1), started))
    }
}

impl Vm {
    /// A fresh sampler and the time profiling started; only an
    /// interruptible VM has the checks samples are taken at.
    fn start_sampling(&self) -> Result<(Arc<Sampler>, Instant), VmError> {
        if !self.inner.config.engine.interruptible {
            return Err(xwasm_exec::ExecError::NotInterruptible.into());
        }
        Ok((Arc::new(Sampler::new()), Instant::now()))
    }
}

/// The samples as a report, frames named by their exports.
fn report(
    sampler: &Sampler,
    names: &std::collections::HashMap<String, String>,
    outcome: Outcome,
    runs: u32,
    started: Instant,
) -> ProfileReport {
    let mut functions = sampler.functions();
    for function in &mut functions {
        if let Some(name) = names.get(&function.name) {
            function.name = name.clone();
        }
    }
    let collapsed = sampler
        .stacks()
        .iter()
        .map(|(stack, count)| {
            let frames: Vec<&str> =
                stack.split(';').map(|f| names.get(f).map_or(f, String::as_str)).collect();
            format!("{} {count}\n", frames.join(";"))
        })
        .collect();
    ProfileReport {
        outcome,
        runs,
        wall_time: started.elapsed(),
        samples: sampler.stacks().values().sum(),
        collapsed,
        functions,
    }
}

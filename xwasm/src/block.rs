//! Blocks of transactions run on several threads with exactly the result
//! of running them one after another ([`xwasm_block`]: Block-STM). The
//! layers do not change: each transaction is an ordinary deployment or
//! call whose journal sits on a view of the block's earlier writes instead
//! of the committed state.

use crate::run::CallOptions;
use crate::{CosmwasmMessage, CosmwasmOutcome, Vm, VmError};
use std::sync::Arc;
use std::time::Instant;
use xwasm_exec::Outcome;
use xwasm_store::{Address, ChainContext, Overlay, StateBackend, Transaction};

/// A block transaction's result, and all a CosmWasm one returns.
type Output = (Result<Outcome, VmError>, Option<Box<CosmwasmOutcome>>);

/// One transaction of a block. Native and CosmWasm transactions mix.
#[derive(Debug, Clone)]
pub enum BlockTransaction {
    /// [`Vm::deploy`] of this code.
    Deploy { wasm: Arc<[u8]>, tx: Transaction },
    /// [`Vm::call`] of a method.
    Call { address: Address, method: String, tx: Transaction },
    /// [`Vm::cosmwasm_instantiate`] of this code (funds credited to the
    /// new contract, `admin` recorded).
    CosmwasmInstantiate { wasm: Arc<[u8]>, message: CosmwasmMessage, admin: Option<String> },
    /// [`Vm::cosmwasm_call_export`] of an entry point: `execute`, `sudo`,
    /// `migrate` (to the same code, by the admin) or any export.
    CosmwasmCall { contract: Address, entry: String, message: CosmwasmMessage },
    /// [`Vm::cosmwasm_migrate`] to `new_code` (`None`: the same code).
    /// Later transactions of the block run the new code.
    CosmwasmMigrate { contract: Address, new_code: Option<Arc<[u8]>>, message: CosmwasmMessage },
}

/// What a block did.
#[derive(Debug)]
pub struct BlockOutcome {
    /// Each transaction's result, in block order: exactly what running
    /// them one after another would have given.
    pub outcomes: Vec<Result<Outcome, VmError>>,
    /// For a CosmWasm transaction, all a CosmWasm call returns (its
    /// `outcome` is the one in `outcomes`); `None` for a native one or an
    /// error.
    pub cosmwasm: Vec<Option<Box<CosmwasmOutcome>>>,
    pub threads: usize,
    /// Executions beyond the first of each transaction (conflicts).
    pub re_executions: usize,
    pub seconds: f64,
}

impl Vm {
    /// Runs `transactions` in block order on `threads` worker threads (0:
    /// one per core), with exactly the result of running them one after
    /// another: the same outcomes, gas, addresses and final state, whatever
    /// the thread count. The block's writes reach a durable state backend
    /// in one atomic apply at the end. A volatile one
    /// ([`StateBackend::is_volatile`]: the memory backend) takes them as
    /// the transactions become final: a batch at a time while the workers
    /// go on, and each transaction of a part run in order (all of the
    /// block on one thread) as it commits, as plain calls do.
    ///
    /// A transaction that conflicts with an earlier one runs again; the
    /// monitor and the audit log see every execution. The block reads the
    /// committed state as it was when the block started: nothing else may
    /// commit to this VM's backend while a block runs (as on a chain, where
    /// blocks are executed one at a time).
    pub fn execute_block(
        &self,
        chain: &ChainContext,
        transactions: &[BlockTransaction],
        threads: usize,
    ) -> Result<BlockOutcome, VmError> {
        // No more workers than the pool holds calls nesting to the limit.
        let config = &self.inner.config;
        let threads = xwasm_block::worker_count(threads)
            .min(config.engine.parallel_calls(config.limits.max_call_depth));
        let started = Instant::now();
        // Block-STM, until re-executions dominate (from the start on one
        // thread); then the rest runs in order over the validated prefix.
        let (records, backend) = (&self.inner.records, &self.inner.backend);
        let block = records.speculate(backend, transactions.len(), threads, |index, view| {
            self.run_in_block(view, chain, &transactions[index])
        })?;
        // The rest one after another, with no versions to keep and no
        // reads to validate: on a volatile backend, as plain calls, after
        // the prefix's writes (committed while its outputs are moved
        // apart); on a durable one, over an overlay of them (with room for
        // a few writes each: it never rehashes), committed with them.
        let rest = &transactions[block.outputs.len()..];
        let mut outputs: (Vec<_>, Vec<_>);
        if rest.is_empty() || backend.is_volatile() {
            let unzip = || block.outputs.into_iter().unzip();
            outputs = self.inner.records.commit_during(backend.as_ref(), block.writes, unzip)?;
            outputs.extend(rest.iter().map(|t| self.run_in_block(backend.clone(), chain, t)));
        } else {
            outputs = block.outputs.into_iter().unzip();
            let overlay = Arc::new(Overlay::holding(backend.clone(), block.writes, 2 * rest.len()));
            outputs.extend(rest.iter().map(|t| self.run_in_block(overlay.clone(), chain, t)));
            let writes = Arc::try_unwrap(overlay).map_or_else(|shared| shared.writes(), Overlay::into_writes);
            self.inner.records.commit(backend.as_ref(), writes)?;
        }
        let (outcomes, cosmwasm) = outputs;
        Ok(BlockOutcome {
            outcomes,
            cosmwasm,
            threads,
            re_executions: block.re_executions,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Runs `transaction` of a block against `backend`, the block's state
    /// as it sees it.
    fn run_in_block(
        &self,
        backend: Arc<dyn StateBackend>,
        chain: &ChainContext,
        transaction: &BlockTransaction,
    ) -> Output {
        let cosmwasm = |done: Result<CosmwasmOutcome, VmError>| match done {
            Ok(done) => (Ok(done.outcome.clone()), Some(Box::new(done))),
            Err(error) => (Err(error), None),
        };
        match transaction {
            BlockTransaction::Deploy { wasm, tx } => (self.deploy_on(backend, wasm, chain, tx), None),
            BlockTransaction::Call { address, method, tx } => {
                (self.run_call(backend, address, method, chain, tx, false, &CallOptions::default()), None)
            }
            BlockTransaction::CosmwasmInstantiate { wasm, message, admin } => {
                cosmwasm(self.instantiate_on(backend, None, wasm, message, admin.as_deref()))
            }
            BlockTransaction::CosmwasmCall { contract, entry, message } => {
                cosmwasm(self.call_export_on(backend, contract, entry, message))
            }
            BlockTransaction::CosmwasmMigrate { contract, new_code, message } => {
                cosmwasm(self.migrate_on(backend, contract, new_code.as_deref(), message))
            }
        }
    }
}

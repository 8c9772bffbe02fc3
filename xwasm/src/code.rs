//! Code for a call or a deployment: through the loader, priced first when
//! it is deployed.

use crate::{Vm, VmError};
use std::sync::Arc;
use xwasm_exec::Trace;
use xwasm_host::{CodeItems, CodePrice};
use xwasm_loader::{Check, LoadedCode};
use xwasm_store::{Address, CodeHash, ContractRecord, Journal, keys};

/// A deployment's code, as far as its gas limit paid for it.
pub(crate) enum Deployable {
    /// Paid `gas`, and loaded; `stored` if the code was on chain already.
    Loaded { code: Arc<LoadedCode>, gas: u64, stored: bool },
    /// The limit cannot pay `price` for `what`: nothing was compiled.
    Unpaid { price: u64, what: String },
}

impl Vm {
    /// The loaded code of a deployed contract (its bytes come from state on
    /// a miss of the memory tier).
    pub(crate) fn stored_code(
        &self,
        journal: &Journal,
        address: &Address,
        record: &ContractRecord,
        trace: &mut Trace,
    ) -> Result<Arc<LoadedCode>, VmError> {
        let bytes = || {
            let wasm = journal.get(&keys::code(&record.code_hash))?;
            wasm.map(Arc::from).ok_or(VmError::MissingCode { address: *address })
        };
        let (code, source) = self.inner.loader.load(record.code_hash, bytes, Check::Stored)?;
        trace.loaded(source, &code.code_hash, code.artifact_bytes);
        Ok(code)
    }

    /// Prices deploying `wasm` (hash `code_hash`; empty for code already
    /// stored, whose bytes are read only if the memory tier misses)
    /// against `gas_limit` ([`xwasm_host::GasSchedule::price_code`], in
    /// CosmWasm gas for a CosmWasm contract), then loads it, checked once.
    pub(crate) fn deployable(
        &self,
        journal: &Journal,
        code_hash: CodeHash,
        wasm: &[u8],
        gas_limit: u64,
        cosmwasm: bool,
        trace: &mut Trace,
    ) -> Result<Deployable, VmError> {
        let stored = journal.contains(&keys::code(&code_hash))?;
        let per_unit = if cosmwasm { self.inner.cosmwasm.config.code_gas_multiplier } else { 1 };
        let loader = &self.inner.loader;
        let price = self.inner.config.gas.price_code(wasm.len(), stored, per_unit, gas_limit, || {
            let checked = loader.check_new(wasm, cosmwasm)?;
            let items =
                CodeItems { functions: checked.info.function_count.into(), locals: checked.info.locals };
            Ok::<_, VmError>((checked, items))
        })?;
        let (gas, check) = match price {
            CodePrice::Unpaid { price, what } => return Ok(Deployable::Unpaid { price, what }),
            CodePrice::Paid { gas, checked: None } => (gas, Check::Stored),
            CodePrice::Paid { gas, checked: Some(checked) } => (gas, Check::Done(Box::new(checked))),
        };
        let bytes = || match wasm {
            [] => {
                let missing =
                    || VmError::BadInput(format!("no code with hash {} is stored", hex::encode(code_hash)));
                Ok::<_, VmError>(Arc::from(journal.get(&keys::code(&code_hash))?.ok_or_else(missing)?))
            }
            wasm => Ok(Arc::from(wasm)),
        };
        let (code, source) = loader.load(code_hash, bytes, check)?;
        trace.loaded(source, &code.code_hash, code.artifact_bytes);
        Ok(Deployable::Loaded { code, gas, stored })
    }
}

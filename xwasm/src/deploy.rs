//! [`Vm::deploy`]: a deployment of either profile's code.

use crate::{Vm, VmError};
use std::sync::Arc;
use xwasm_cosmwasm::CosmwasmMessage;
use xwasm_exec::Outcome;
use xwasm_store::{ChainContext, StateBackend, Transaction};

impl Vm {
    /// Deploys `wasm` from `tx.sender`, running its `init` (if exported)
    /// with `tx.input`. If `init` fails, nothing is recorded. A CosmWasm
    /// contract is instantiated with `tx.input` as its message.
    ///
    /// The deployment's price ([`GasSchedule::deployment`](xwasm_host::GasSchedule::deployment))
    /// is charged first, before the bytes are parsed: a gas limit that
    /// cannot pay it ends `out_of_gas` at once, with no compile work and no
    /// change. `init` then runs with what is left, and the outcome's
    /// `gas_used` includes the price.
    ///
    /// The contract's address is
    /// [`Address::derive_contract`](crate::Address::derive_contract)`(sender, sender's deploy count, code hash)`.
    pub fn deploy(&self, wasm: &[u8], chain: &ChainContext, tx: &Transaction) -> Result<Outcome, VmError> {
        self.deploy_on(self.inner.backend.clone(), wasm, chain, tx)
    }

    /// [`Vm::deploy`] against `backend` (a block's view, say).
    pub(crate) fn deploy_on(
        &self,
        backend: Arc<dyn StateBackend>,
        wasm: &[u8],
        chain: &ChainContext,
        tx: &Transaction,
    ) -> Result<Outcome, VmError> {
        if xwasm_cosmwasm::detect(wasm).is_none() {
            return self.deploy_native(backend, wasm, chain, tx);
        }
        // A CosmWasm contract: `instantiate` with the input as its
        // message, from the sender, in this block.
        let message = CosmwasmMessage::of_transaction(self.cosmwasm_address(&tx.sender), tx, chain);
        Ok(self.instantiate_on(backend, None, wasm, &message, None)?.outcome)
    }
}

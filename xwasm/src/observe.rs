//! What observers see of each call: the monitor, the embedder's
//! observers and the audit log.

use crate::{Vm, VmError};
use xwasm_exec::{Outcome, Trace};
use xwasm_security::{AuditEntry, AuditKind};
use xwasm_store::{Address, Transaction};

impl Vm {
    pub(crate) fn report(
        &self,
        trace: Trace,
        kind: AuditKind,
        address: &Address,
        method: &str,
        tx: &Transaction,
        outcome: &Outcome,
    ) {
        self.inner.observers.observe(trace, address, method, outcome);
        let (status, gas) = (outcome.status.as_str(), outcome.gas_used);
        self.audit(kind, Some(address), method, tx, status, gas, outcome.error.clone());
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn audit(
        &self,
        kind: AuditKind,
        address: Option<&Address>,
        method: &str,
        tx: &Transaction,
        status: &str,
        gas_used: u64,
        detail: Option<String>,
    ) {
        if let Some(sink) = &self.inner.audit {
            sink.record(&AuditEntry {
                unix_ms: AuditEntry::now_ms(),
                kind,
                contract: address.map(Address::to_hex).unwrap_or_default(),
                method: method.to_owned(),
                sender: tx.sender.to_hex(),
                status: status.to_owned(),
                gas_used,
                detail,
            });
        }
    }
}

impl Vm {
    /// `error`, recorded in the audit log as a refusal of `tx`'s module if
    /// the policy refused it.
    pub(crate) fn refused(&self, error: VmError, tx: &Transaction) -> VmError {
        if error.is_policy_violation() {
            self.audit(AuditKind::PolicyRefusal, None, "", tx, "refused", 0, Some(error.to_string()));
        }
        error
    }
}

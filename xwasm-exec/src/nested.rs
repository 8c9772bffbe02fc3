//! A nested call's execution as its caller sees it: a `NestedOutcome`.

use crate::{Execution, Outcome, Status};
use xwasm_store::{Checkpoint, Halt, NestedOutcome};

impl Execution {
    /// Settles a nested call against the caller's journal, whose state
    /// before the call is `checkpoint`: kept on success, reverted on
    /// failure. The result is the return bytes on success, else the abort
    /// message or the error. Returns the callee's outcome too (its events
    /// and logs moved to the nested outcome).
    pub fn into_nested(self, checkpoint: Checkpoint) -> (NestedOutcome, Outcome) {
        let (mut outcome, context) = self.into_parts();
        let mut journal = context.journal;
        let success = outcome.status == Status::Ok;
        if success {
            journal.release(checkpoint);
        } else {
            journal.revert_to(checkpoint);
        }
        let result = match (&context.halt, success) {
            (_, true) => outcome.return_data.clone(),
            (Some(Halt::Abort(message)), _) => message.clone().into_bytes(),
            _ => outcome.error.clone().unwrap_or_default().into_bytes(),
        };
        let denied = match context.halt {
            Some(Halt::Permission(denied)) => Some(denied),
            _ => None,
        };
        let nested = NestedOutcome {
            success,
            interrupted: outcome.status == Status::Timeout,
            denied,
            gas_used: outcome.gas_used,
            result,
            events: std::mem::take(&mut outcome.events),
            logs: std::mem::take(&mut outcome.logs),
            journal,
        };
        (nested, outcome)
    }
}

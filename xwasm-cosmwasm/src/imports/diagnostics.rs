//! The contract's own messages: `debug` output and `abort`.

use super::{Ctx, R, enter, wrap};
use crate::region::read_region;
use crate::state::{call_state, charge_cw, config};
use xwasm_linker::WasmType::I32;
use xwasm_linker::{HostFunction, Permissions};

const MAX_LENGTH_DEBUG: usize = 2 * 1024 * 1024;
const MAX_LENGTH_ABORT: usize = 2 * 1024 * 1024;

/// `debug` and `abort`, in cosmwasm-vm's order.
pub(super) fn imports() -> Vec<HostFunction> {
    let none = Permissions::NONE;
    let mut f = Vec::new();

    f.push(wrap("debug", &[I32], &[], "host call + region", none, |mut c: Ctx<'_>, message: u32| -> R<()> {
        enter(&mut c, "debug")?;
        let message = read_region(&mut c, message, MAX_LENGTH_DEBUG)?;
        let message = String::from_utf8_lossy(&message).into_owned();
        let gas_left = crate::state::cw_gas_left(&mut c);
        let state = call_state(&mut c)?;
        if let Some(handler) = state.debug_handler.as_mut() {
            handler(&message, gas_left);
        }
        state.debug.push(message);
        Ok(())
    }));

    f.push(wrap(
        "abort",
        &[I32],
        &[],
        "host call + region + string",
        none,
        |mut c: Ctx<'_>, message: u32| -> R<()> {
            enter(&mut c, "abort")?;
            let message = read_region(&mut c, message, MAX_LENGTH_ABORT)?;
            let cost = config(c.data()).gas.string_from_bytes(message.len());
            charge_cw(&mut c, cost)?;
            let message = String::from_utf8_lossy(&message).into_owned();
            Err(xwasm_host::halt(&mut c, xwasm_store::Halt::Abort(message)))
        },
    ));

    f
}

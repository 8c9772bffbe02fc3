//! Addresses: `addr_validate`, `addr_canonicalize` and `addr_humanize`,
//! through the profile's [`AddressApi`](crate::AddressApi).

use super::{Ctx, R, enter, wrap};
use crate::api::ApiError;
use crate::region::{read_region, trap, write_region, write_to_contract};
use crate::state::{call_state, charge_cw, config};
use xwasm_linker::WasmType::I32;
use xwasm_linker::{HostFunction, Permissions};

const MAX_LENGTH_CANONICAL_ADDRESS: usize = 64;
const MAX_LENGTH_HUMAN_ADDRESS: usize = 256;

/// The address imports, in cosmwasm-vm's order.
pub(super) fn imports() -> Vec<HostFunction> {
    let none = Permissions::NONE;
    let mut f = Vec::new();

    f.push(wrap(
        "addr_validate",
        &[I32],
        &[I32],
        "host call + region + string + API",
        none,
        |mut c: Ctx<'_>, source: u32| -> R<u32> {
            enter(&mut c, "addr_validate")?;
            let Some(human) = human_input(&mut c, source)? else { return last_error(&mut c) };
            let api = call_state(&mut c)?.api.clone();
            let (result, cost) = api.validate(&human);
            charge_cw(&mut c, cost)?;
            match result {
                Ok(()) => Ok(0),
                Err(error) => api_error(&mut c, error),
            }
        },
    ));

    f.push(wrap(
        "addr_canonicalize",
        &[I32, I32],
        &[I32],
        "host call + regions + string + API",
        none,
        |mut c: Ctx<'_>, source: u32, destination: u32| -> R<u32> {
            enter(&mut c, "addr_canonicalize")?;
            let Some(human) = human_input(&mut c, source)? else { return last_error(&mut c) };
            let api = call_state(&mut c)?.api.clone();
            let (result, cost) = api.canonicalize(&human);
            charge_cw(&mut c, cost)?;
            match result {
                Ok(canonical) => write_region(&mut c, destination, &canonical).map(|()| 0),
                Err(error) => api_error(&mut c, error),
            }
        },
    ));

    f.push(wrap(
        "addr_humanize",
        &[I32, I32],
        &[I32],
        "host call + regions + API",
        none,
        |mut c: Ctx<'_>, source: u32, destination: u32| -> R<u32> {
            enter(&mut c, "addr_humanize")?;
            let canonical = read_region(&mut c, source, MAX_LENGTH_CANONICAL_ADDRESS)?;
            let api = call_state(&mut c)?.api.clone();
            let (result, cost) = api.humanize(&canonical);
            charge_cw(&mut c, cost)?;
            match result {
                Ok(human) => write_region(&mut c, destination, human.as_bytes()).map(|()| 0),
                Err(error) => api_error(&mut c, error),
            }
        },
    ));

    f
}

/// A human address input of `addr_validate` and `addr_canonicalize`:
/// `None` when it is empty or not UTF-8 (the error Region's text is kept
/// for [`last_error`]).
fn human_input(c: &mut Ctx<'_>, source: u32) -> R<Option<String>> {
    let data = read_region(c, source, MAX_LENGTH_HUMAN_ADDRESS)?;
    if data.is_empty() {
        c.data_mut().last_result = b"Input is empty".to_vec();
        return Ok(None);
    }
    let cost = config(c.data()).gas.string_from_bytes(data.len());
    charge_cw(c, cost)?;
    match String::from_utf8(data) {
        Ok(human) => Ok(Some(human)),
        Err(_) => {
            c.data_mut().last_result = b"Input is not valid UTF-8".to_vec();
            Ok(None)
        }
    }
}

fn last_error(c: &mut Ctx<'_>) -> R<u32> {
    let message = std::mem::take(&mut c.data_mut().last_result);
    write_to_contract(c, &message)
}

fn api_error(c: &mut Ctx<'_>, error: ApiError) -> R<u32> {
    match error {
        ApiError::User(message) => write_to_contract(c, message.as_bytes()),
        ApiError::Backend(message) => Err(trap(c, message)),
    }
}

//! `query_chain`: a query of the chain through the profile's
//! [`Querier`](crate::Querier), charged as external gas.

use super::{Ctx, R, enter, wrap};
use crate::querier::QueryContext;
use crate::region::{read_region, trap, write_to_contract};
use crate::state::{call_state, charge_external};
use xwasm_linker::WasmType::I32;
use xwasm_linker::{HostFunction, Permissions};
use xwasm_store::stack_used;

const MAX_LENGTH_QUERY_CHAIN_REQUEST: usize = 64 * 1024;

/// `query_chain`.
pub(super) fn imports() -> Vec<HostFunction> {
    let read = Permissions::READ_STATE;
    let mut f = Vec::new();

    f.push(wrap(
        "query_chain",
        &[I32],
        &[I32],
        "host call + region + query + region",
        read,
        |mut c: Ctx<'_>, request: u32| -> R<u32> {
            enter(&mut c, "query_chain")?;
            let request = read_region(&mut c, request, MAX_LENGTH_QUERY_CHAIN_REQUEST)?;
            let gas_left = crate::state::cw_gas_left(&mut c);
            let state = call_state(&mut c)?;
            let (querier, smart) = (state.querier.clone(), state.smart.clone());
            let stack_used = stack_used(&mut c)?;
            let context = c.data();
            let mut query = QueryContext {
                journal: &context.journal,
                gas_limit: gas_left,
                chain: context.chain,
                smart: smart.as_deref(),
                depth: context.depth,
                stack_used,
                stop: context.stop.clone(),
            };
            let (answer, used) = querier.query(&request, &mut query);
            charge_external(&mut c, used)?;
            match answer {
                Ok(answer) => write_to_contract(&mut c, &answer),
                Err(fault) => Err(trap(&mut c, fault)),
            }
        },
    ));

    f
}

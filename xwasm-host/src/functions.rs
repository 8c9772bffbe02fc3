//! The host functions of ABI.md, namespace `xwasm`.
//!
//! Each one checks its guest ranges, then charges its gas, then works; a
//! configured limit is checked before the charge.

use crate::gas::{GasSchedule, charge_as, charge_more, gas_left, halt, linear, set_gas_left};
use crate::memory::{self, GuestRange};
use sha2::Digest;
use std::sync::Arc;
use wasmtime::{Caller, IntoFunc};
use xwasm_linker::{HostFnDescriptor, HostFunction, Permissions, WasmType};
use xwasm_store::{Address, Event, Halt, Journal, NestedCall, WasmContext, keys};

type Ctx<'a> = Caller<'a, WasmContext>;
type R<T> = wasmtime::Result<T>;

const I32: WasmType = WasmType::I32;
const I64: WasmType = WasmType::I64;
const ADDRESS_LEN: i32 = 32;

fn wrap<P, Res>(
    descriptor: HostFnDescriptor,
    func: impl IntoFunc<WasmContext, P, Res> + Clone + 'static,
) -> HostFunction {
    let (namespace, name) = (descriptor.namespace, descriptor.name);
    HostFunction::new(descriptor, move |linker| {
        linker.func_wrap(namespace, name, func.clone())?;
        Ok(())
    })
}

fn describe(
    name: &'static str,
    params: &'static [WasmType],
    results: &'static [WasmType],
    gas: &'static str,
    permissions: Permissions,
) -> HostFnDescriptor {
    HostFnDescriptor { namespace: crate::NAMESPACE, name, params, results, gas, permissions }
}

fn limit(caller: &mut Ctx<'_>, message: String) -> wasmtime::Error {
    halt(caller, Halt::Limit(message))
}

fn backend_fault(caller: &mut Ctx<'_>, error: xwasm_store::StateError) -> wasmtime::Error {
    halt(caller, Halt::Backend(error.to_string()))
}

/// Checks a storage key range and the key-length limit.
fn key_range(caller: &mut Ctx<'_>, ptr: i32, len: i32) -> R<GuestRange> {
    let range = memory::check(caller, ptr, len)?;
    let max = caller.data().limits.max_key_len as usize;
    if range.len() > max {
        return Err(limit(
            caller,
            format!("storage key of {} bytes exceeds the limit of {max}", range.len()),
        ));
    }
    Ok(range)
}

/// The state key of the calling contract's storage key at `range`, built
/// straight from guest memory.
fn storage_key(caller: &mut Ctx<'_>, range: GuestRange) -> R<Vec<u8>> {
    memory::read_with(caller, range, |key, context| keys::storage(&context.contract, key))
}

/// Every host function of ABI.md, priced by `schedule`.
pub fn abi_functions(schedule: Arc<GasSchedule>) -> Vec<HostFunction> {
    let g = schedule;
    let read = Permissions::READ_STATE;
    let none = Permissions::NONE;
    let mut functions = Vec::new();

    let s = g.clone();
    functions.push(wrap(describe("input_len", &[], &[I32], "20", none), move |mut c: Ctx<'_>| -> R<i32> {
        charge_as(&mut c, "input_len", s.simple)?;
        Ok(c.data().input.len() as i32)
    }));

    let s = g.clone();
    functions.push(wrap(
        describe("input_read", &[I32], &[], "20 + 1/byte", none),
        move |mut c: Ctx<'_>, dst: i32| -> R<()> {
            let len = c.data().input.len();
            let range = memory::check(&mut c, dst, len as i32)?;
            charge_as(&mut c, "input_read", linear(s.copy_base, s.copy_per_byte, len as u64))?;
            memory::write_from_context(&mut c, range, |ctx| &ctx.input)
        },
    ));

    let s = g.clone();
    functions.push(wrap(
        describe("return_data", &[I32, I32], &[], "20 + 1/byte", none),
        move |mut c: Ctx<'_>, ptr: i32, len: i32| -> R<()> {
            let range = memory::check(&mut c, ptr, len)?;
            let max = c.data().limits.max_return_len as usize;
            if range.len() > max {
                return Err(limit(
                    &mut c,
                    format!("return data of {} bytes exceeds the limit of {max}", range.len()),
                ));
            }
            charge_as(&mut c, "return_data", linear(s.copy_base, s.copy_per_byte, range.len() as u64))?;
            let bytes = memory::read(&mut c, range)?;
            c.data_mut().return_data = bytes;
            Ok(())
        },
    ));

    functions.push(wrap(
        describe("abort", &[I32, I32], &[], "0", none),
        |mut c: Ctx<'_>, ptr: i32, len: i32| -> R<()> {
            let range = memory::check(&mut c, ptr, len)?;
            let message = String::from_utf8_lossy(&memory::read(&mut c, range)?).into_owned();
            Err(halt(&mut c, Halt::Abort(message)))
        },
    ));

    let s = g.clone();
    functions.push(wrap(
        describe("log", &[I32, I32], &[], "50 + 1/byte", none),
        move |mut c: Ctx<'_>, ptr: i32, len: i32| -> R<()> {
            let range = memory::check(&mut c, ptr, len)?;
            let ctx = c.data();
            let (count, bytes) = (ctx.logs.len() as u64, ctx.log_bytes + range.len() as u64);
            if count >= ctx.limits.max_logs as u64 || bytes > ctx.limits.max_log_bytes as u64 {
                let message = format!(
                    "logs exceed the limit of {} lines or {} bytes",
                    ctx.limits.max_logs, ctx.limits.max_log_bytes
                );
                return Err(limit(&mut c, message));
            }
            charge_as(&mut c, "log", linear(s.log_base, s.log_per_byte, range.len() as u64))?;
            let line = String::from_utf8_lossy(&memory::read(&mut c, range)?).into_owned();
            let ctx = c.data_mut();
            ctx.log_bytes = bytes;
            ctx.logs.push(line);
            Ok(())
        },
    ));

    let s = g.clone();
    functions.push(wrap(
        describe("storage_read", &[I32, I32, I32, I32], &[I64], "500 + 2/key byte + 1/value byte", read),
        move |mut c: Ctx<'_>, key_ptr: i32, key_len: i32, dst: i32, dst_cap: i32| -> R<i64> {
            let key_range = key_range(&mut c, key_ptr, key_len)?;
            let dst_range = memory::check(&mut c, dst, dst_cap)?;
            charge_as(
                &mut c,
                "storage_read",
                linear(s.storage_read_base, s.storage_read_per_key_byte, key_range.len() as u64),
            )?;
            let key = storage_key(&mut c, key_range)?;
            let value = match c.data().journal.get(&key) {
                Ok(Some(value)) => value,
                Ok(None) => return Ok(-1),
                Err(error) => return Err(backend_fault(&mut c, error)),
            };
            charge_more(
                &mut c,
                "storage_read",
                s.storage_read_per_value_byte.saturating_mul(value.len() as u64),
            )?;
            memory::write_checked(&mut c, dst_range, &value)?;
            Ok(value.len() as i64)
        },
    ));

    let s = g.clone();
    functions.push(wrap(
        describe(
            "storage_write",
            &[I32, I32, I32, I32],
            &[],
            "1000 + 10/byte of key and value",
            read.union(Permissions::WRITE_STATE),
        ),
        move |mut c: Ctx<'_>, key_ptr: i32, key_len: i32, val_ptr: i32, val_len: i32| -> R<()> {
            let key_range = key_range(&mut c, key_ptr, key_len)?;
            let value_range = memory::check(&mut c, val_ptr, val_len)?;
            let max = c.data().limits.max_value_len as usize;
            if value_range.len() > max {
                return Err(limit(
                    &mut c,
                    format!("storage value of {} bytes exceeds the limit of {max}", value_range.len()),
                ));
            }
            let bytes = (key_range.len() + value_range.len()) as u64;
            charge_as(
                &mut c,
                "storage_write",
                linear(s.storage_write_base, s.storage_write_per_byte, bytes),
            )?;
            let key = storage_key(&mut c, key_range)?;
            let value = memory::read(&mut c, value_range)?;
            c.data_mut().journal.set(key, value);
            Ok(())
        },
    ));

    let s = g.clone();
    functions.push(wrap(
        describe(
            "storage_remove",
            &[I32, I32],
            &[I32],
            "500 + 2/key byte",
            read.union(Permissions::WRITE_STATE),
        ),
        move |mut c: Ctx<'_>, key_ptr: i32, key_len: i32| -> R<i32> {
            let key_range = key_range(&mut c, key_ptr, key_len)?;
            charge_as(
                &mut c,
                "storage_remove",
                linear(s.storage_remove_base, s.storage_remove_per_key_byte, key_range.len() as u64),
            )?;
            let key = storage_key(&mut c, key_range)?;
            match c.data().journal.get(&key) {
                Ok(Some(_)) => {
                    c.data_mut().journal.remove(key);
                    Ok(1)
                }
                Ok(None) => Ok(0),
                Err(error) => Err(backend_fault(&mut c, error)),
            }
        },
    ));

    for (name, pick) in [
        ("caller", (|ctx: &WasmContext| &ctx.caller.0[..]) as fn(&WasmContext) -> &[u8]),
        ("self_address", |ctx| &ctx.contract.0[..]),
        ("owner", |ctx| &ctx.owner.0[..]),
    ] {
        let s = g.clone();
        functions.push(wrap(
            describe(name, &[I32], &[], "20", none),
            move |mut c: Ctx<'_>, dst: i32| -> R<()> {
                let range = memory::check(&mut c, dst, ADDRESS_LEN)?;
                charge_as(&mut c, name, s.simple)?;
                memory::write_from_context(&mut c, range, pick)
            },
        ));
    }

    for (name, pick) in [
        ("block_height", (|ctx: &WasmContext| ctx.chain.block_height) as fn(&WasmContext) -> u64),
        ("block_time", |ctx| ctx.chain.block_time_ms),
    ] {
        let s = g.clone();
        functions.push(wrap(describe(name, &[], &[I64], "20", none), move |mut c: Ctx<'_>| -> R<i64> {
            charge_as(&mut c, name, s.simple)?;
            Ok(pick(c.data()) as i64)
        }));
    }

    let s = g.clone();
    functions.push(wrap(describe("gas_left", &[], &[I64], "20", none), move |mut c: Ctx<'_>| -> R<i64> {
        charge_as(&mut c, "gas_left", s.simple)?;
        Ok(gas_left(&mut c)? as i64)
    }));

    let s = g.clone();
    functions.push(wrap(
        describe(
            "emit_event",
            &[I32, I32, I32, I32],
            &[],
            "200 + 2/byte of topic and data",
            Permissions::EMIT_EVENTS,
        ),
        move |mut c: Ctx<'_>, topic_ptr: i32, topic_len: i32, data_ptr: i32, data_len: i32| -> R<()> {
            let topic_range = memory::check(&mut c, topic_ptr, topic_len)?;
            let data_range = memory::check(&mut c, data_ptr, data_len)?;
            let size = (topic_range.len() + data_range.len()) as u64;
            let ctx = c.data();
            let (count, bytes) = (ctx.events.len() as u64, ctx.event_bytes + size);
            if count >= ctx.limits.max_events as u64 || bytes > ctx.limits.max_event_bytes as u64 {
                let message = format!(
                    "events exceed the limit of {} events or {} bytes",
                    ctx.limits.max_events, ctx.limits.max_event_bytes
                );
                return Err(limit(&mut c, message));
            }
            charge_as(&mut c, "emit_event", linear(s.event_base, s.event_per_byte, size))?;
            let topic = memory::read(&mut c, topic_range)?;
            let data = memory::read(&mut c, data_range)?;
            let ctx = c.data_mut();
            ctx.event_bytes = bytes;
            let contract = ctx.contract;
            ctx.events.push(Event { contract, topic, data });
            Ok(())
        },
    ));

    let s = g.clone();
    functions.push(wrap(
        describe("sha256", &[I32, I32, I32], &[], "100 + 3/byte", none),
        move |mut c: Ctx<'_>, ptr: i32, len: i32, dst: i32| -> R<()> {
            hash_into(&mut c, "sha256", (ptr, len, dst), (s.sha256_base, s.sha256_per_byte), |bytes| {
                sha2::Sha256::digest(bytes).into()
            })
        },
    ));

    functions.extend(cross_contract(&g));

    let s = g;
    functions.push(wrap(
        describe("keccak256", &[I32, I32, I32], &[], "100 + 4/byte", none),
        move |mut c: Ctx<'_>, ptr: i32, len: i32, dst: i32| -> R<()> {
            hash_into(
                &mut c,
                "keccak256",
                (ptr, len, dst),
                (s.keccak256_base, s.keccak256_per_byte),
                |bytes| sha3::Keccak256::digest(bytes).into(),
            )
        },
    ));

    functions
}

/// `call`, `result_len` and `result_read`.
fn cross_contract(g: &Arc<GasSchedule>) -> Vec<HostFunction> {
    let s = g.clone();
    let call = wrap(
        describe(
            "call",
            &[I32, I32, I32, I32, I32, I64],
            &[I32],
            "5000 + 1/byte of method and input, plus the callee's gas",
            Permissions::CALL_CONTRACTS,
        ),
        move |mut c: Ctx<'_>,
              addr_ptr: i32,
              method_ptr: i32,
              method_len: i32,
              input_ptr: i32,
              input_len: i32,
              gas: i64|
              -> R<i32> {
            let address = memory::check(&mut c, addr_ptr, ADDRESS_LEN)?;
            let method = memory::check(&mut c, method_ptr, method_len)?;
            let input = memory::check(&mut c, input_ptr, input_len)?;
            let (depth, max) = (c.data().depth + 1, c.data().limits.max_call_depth);
            if depth > max {
                return Err(limit(&mut c, format!("call depth {depth} exceeds the limit of {max}")));
            }
            let Some(contracts) = c.data().contracts.clone() else {
                return Err(limit(&mut c, "cross-contract calls are not available in this execution".into()));
            };
            charge_as(
                &mut c,
                "call",
                linear(s.call_base, s.call_per_byte, (method.len() + input.len()) as u64),
            )?;
            let callee = Address(memory::read(&mut c, address)?.try_into().expect("32 bytes"));
            let method = String::from_utf8_lossy(&memory::read(&mut c, method)?).into_owned();
            let input = memory::read(&mut c, input)?;
            // The callee gets at most what is left; what it does not use
            // comes back.
            let left = gas_left(&mut c)?;
            let forwarded = u64::try_from(gas).unwrap_or(0).min(left);
            set_gas_left(&mut c, left - forwarded)?;
            let stack_used = xwasm_store::stack_used(&mut c)?;
            let ctx = c.data_mut();
            let placeholder = Journal::new(ctx.journal.backend().clone());
            let call = NestedCall {
                chain: ctx.chain,
                origin: ctx.origin,
                caller: ctx.contract,
                callee,
                method,
                input,
                gas_limit: forwarded,
                depth,
                read_only: ctx.read_only,
                stop: ctx.stop.clone(),
                stack_used,
                journal: std::mem::replace(&mut ctx.journal, placeholder),
            };
            let outcome = match contracts.call(call) {
                Ok(outcome) => outcome,
                Err(fault) => return Err(halt(&mut c, Halt::Backend(fault))),
            };
            let used = outcome.gas_used.min(forwarded);
            let left = gas_left(&mut c)?;
            set_gas_left(&mut c, left + (forwarded - used))?;
            let ctx = c.data_mut();
            ctx.journal = outcome.journal;
            ctx.host_gas += used;
            ctx.record_host_call("call", used, false);
            ctx.logs.extend(outcome.logs);
            ctx.last_result = outcome.result;
            if outcome.interrupted {
                return Err(halt(&mut c, Halt::Interrupted));
            }
            if let Some(denied) = outcome.denied {
                return Err(halt(&mut c, Halt::Permission(denied)));
            }
            if !outcome.success {
                return Ok(1);
            }
            ctx.event_bytes +=
                outcome.events.iter().map(|e| (e.topic.len() + e.data.len()) as u64).sum::<u64>();
            ctx.events.extend(outcome.events);
            Ok(0)
        },
    );

    let s = g.clone();
    let result_len =
        wrap(describe("result_len", &[], &[I32], "20", Permissions::NONE), move |mut c: Ctx<'_>| -> R<i32> {
            charge_as(&mut c, "result_len", s.simple)?;
            Ok(c.data().last_result.len() as i32)
        });

    let s = g.clone();
    let result_read = wrap(
        describe("result_read", &[I32], &[], "20 + 1/byte", Permissions::NONE),
        move |mut c: Ctx<'_>, dst: i32| -> R<()> {
            let len = c.data().last_result.len();
            let range = memory::check(&mut c, dst, len as i32)?;
            charge_as(&mut c, "result_read", linear(s.copy_base, s.copy_per_byte, len as u64))?;
            memory::write_from_context(&mut c, range, |ctx| &ctx.last_result)
        },
    );
    vec![call, result_len, result_read]
}

/// The namespace of the functions the load-time preprocessing imports
/// (`xwasm_security::preprocess::INTERNAL_NAMESPACE`).
pub const INTERNAL_NAMESPACE: &str = "xwasm_internal";

/// The function the preprocessing calls: `charge_bulk` charges a bulk
/// instruction's bytes and passes the count through.
pub fn internal_functions(schedule: Arc<GasSchedule>) -> Vec<HostFunction> {
    let internal = |name, params, results, gas| HostFnDescriptor {
        namespace: INTERNAL_NAMESPACE,
        name,
        params,
        results,
        gas,
        permissions: Permissions::NONE,
    };
    let s = schedule;
    vec![wrap(
        internal("charge_bulk", &[I32], &[I32], "1/byte or element"),
        move |mut c: Ctx<'_>, n: i32| -> R<i32> {
            charge_as(&mut c, "charge_bulk", s.bulk_per_byte.saturating_mul(n as u32 as u64))?;
            Ok(n)
        },
    )]
}

fn hash_into(
    c: &mut Ctx<'_>,
    name: &'static str,
    (ptr, len, dst): (i32, i32, i32),
    (base, per_byte): (u64, u64),
    digest: impl FnOnce(&[u8]) -> [u8; 32],
) -> R<()> {
    let source = memory::check(c, ptr, len)?;
    let target = memory::check(c, dst, ADDRESS_LEN)?;
    charge_as(c, name, linear(base, per_byte, source.len() as u64))?;
    let hash = digest(&memory::read(c, source)?);
    memory::write_checked(c, target, &hash)
}

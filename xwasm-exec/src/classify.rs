//! How a call that failed ended: the [`Status`] and message a trap or a
//! halt classifies into, and the trap's backtrace.

use crate::{ExecError, Status};
use wasmtime::{Store, Trap};
use xwasm_store::{Halt, WasmContext};

/// Whether the preprocessed code marked its stack global: the trap that
/// ended the call was the deterministic stack limit.
pub(crate) fn stack_exhausted(store: &mut Store<WasmContext>, instance: &wasmtime::Instance) -> bool {
    instance
        .get_typed_func::<i32, i32>(&mut *store, xwasm_store::STACK_EXPORT)
        .and_then(|stack| stack.call(&mut *store, xwasm_store::STACK_READ))
        .ok()
        == Some(xwasm_store::STACK_EXHAUSTED_MARK)
}

pub(crate) enum Fault {
    /// The contract ran and failed.
    Run(wasmtime::Error),
    /// The call could not be set up.
    Setup(ExecError),
}

pub(crate) fn setup(error: wasmtime::Error) -> Fault {
    Fault::Setup(ExecError::Instantiate { reason: format!("{error:#}") })
}

/// The status of a failed call and its one-line message. A host function
/// that halted the call says why in the context (left there for the
/// caller); anything else is a trap raised by the engine.
pub(crate) fn classify(
    context: &mut WasmContext,
    error: &wasmtime::Error,
) -> Result<(Status, Option<String>), ExecError> {
    let (status, message) = match context.halt.clone() {
        Some(Halt::Abort(message)) => (Status::Abort, format!("aborted: {message}")),
        Some(Halt::Limit(message)) => (Status::Limit, format!("limit exceeded: {message}")),
        Some(Halt::OutOfGas) => (Status::OutOfGas, "out of gas".to_owned()),
        Some(Halt::BadPointer(message)) => {
            (Status::Trap, format!("trap: out of bounds host access: {message}"))
        }
        Some(Halt::Permission(message)) => (Status::Limit, format!("permission denied: {message}")),
        Some(Halt::StackExhausted) => {
            (Status::Trap, "trap: call stack exhausted (deterministic limit)".to_owned())
        }
        Some(Halt::Interrupted) => {
            (Status::Timeout, "wall-clock deadline exceeded or interrupted".to_owned())
        }
        Some(Halt::Backend(reason)) => return Err(ExecError::Backend { reason }),
        None => match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => (Status::OutOfGas, "out of gas".to_owned()),
            Some(Trap::Interrupt) => {
                (Status::Timeout, "wall-clock deadline exceeded or interrupted".to_owned())
            }
            Some(trap) => (Status::Trap, format!("trap: {trap}")),
            None => (Status::Trap, format!("trap: {}", first_line(error))),
        },
    };
    Ok((status, Some(message)))
}

/// The frames of a trap, innermost first. An unnamed outermost frame is
/// the entry function, named by its export.
pub(crate) fn backtrace(error: &wasmtime::Error, entry: &str) -> Vec<String> {
    let Some(trace) = error.downcast_ref::<wasmtime::WasmBacktrace>() else { return Vec::new() };
    let frames = trace.frames();
    frames
        .iter()
        .enumerate()
        .map(|(i, frame)| match frame.func_name() {
            Some(name) => name.to_owned(),
            None if i + 1 == frames.len() => entry.to_owned(),
            None => format!("func[{}]", frame.func_index()),
        })
        .collect()
}

fn first_line(error: &wasmtime::Error) -> String {
    error.to_string().lines().next().unwrap_or_default().to_owned()
}

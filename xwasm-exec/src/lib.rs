//! Runs one call: the seed's `ExecutionController`.
//!
//! [`Executor::run`] prepares a fresh store (gas, deadline), instantiates
//! the contract from its `InstancePre`, runs the method, classifies how it
//! ended into a [`Status`], and hands back an [`Execution`] whose
//! [`Execution::settle`] commits the journal only when the status is `ok`.
//! A nested call keeps the journal instead of settling it.
//!
//! This crate knows nothing of caching or compilation: it is given an
//! `InstancePre` and a [`WasmContext`].
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_exec::{Budget, Entry, Executor, Status};
//! use xwasm_store::{Address, CallFrame, CallLimits, ChainContext, Journal, MemoryBackend, WasmContext};
//!
//! let engine = xwasm_engine::build_engine(&Default::default()).unwrap();
//! // Metered as the load-time rewrite meters: each basic block takes its
//! // cost from the exported gas global and traps below zero.
//! let module = wasmtime::Module::new(&engine, r#"(module (memory (export "memory") 1)
//!     (global $gas (export "__xwasm_gas") (mut i64) (i64.const 10000000))
//!     (func (export "spin") (loop
//!         (global.set $gas (i64.sub (global.get $gas) (i64.const 1)))
//!         (if (i64.lt_s (global.get $gas) (i64.const 0)) (then unreachable))
//!         (br 0))))"#).unwrap();
//! let pre = wasmtime::Linker::new(&engine).instantiate_pre(&module).unwrap();
//! let frame = CallFrame { chain: ChainContext::default(), origin: Address::default(),
//!     caller: Address::default(), contract: Address::default(), owner: Address::default(),
//!     input: vec![] };
//! let context = WasmContext::new(frame, Journal::new(Arc::new(MemoryBackend::new())),
//!     CallLimits::default());
//! let executor = Executor::new(engine);
//! let outcome = executor.run(&pre, context, Entry::Method("spin"), Budget::gas(10_000)).unwrap().settle().unwrap();
//! assert_eq!((outcome.status, outcome.gas_used), (Status::OutOfGas, 10_000));
//! ```

mod outcome;
mod sampler;
mod ticker;

pub use outcome::{Outcome, Status};
pub use sampler::{FunctionSamples, Sampler};
pub use ticker::{EpochTicker, TICK};

use std::time::{Duration, Instant};
use wasmtime::{InstancePre, Store, Trap, UpdateDeadline, Val};
use xwasm_store::{ExecutionState, Halt, StateError, WasmContext};

/// The gas one call may use. Its wall-clock bounds travel in the
/// context's [`StopSignal`](xwasm_store::StopSignal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub gas_limit: u64,
    /// Measure the call's [`Timing`] (a few clock reads).
    pub timed: bool,
}

impl Budget {
    pub fn gas(gas_limit: u64) -> Self {
        Self { gas_limit, timed: false }
    }
}

/// Why a call could not be run or settled at all (as opposed to running
/// and failing, which is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    #[error("the contract has no method `{method}` (an exported function of type () -> ())")]
    UnknownMethod { method: String },
    #[error("function `{function}` takes {expected} arguments, {found} given")]
    BadArguments { function: String, expected: usize, found: usize },
    #[error("could not create an instance: {reason}")]
    Instantiate { reason: String },
    #[error(
        "this VM cannot stop a call from outside (no timeout was configured): build it with \
         `interruptible` on, or give it a timeout"
    )]
    NotInterruptible,
    #[error("the state backend failed during the call: {reason}")]
    Backend { reason: String },
    #[error("could not commit the call's state changes: {0}")]
    Commit(#[from] StateError),
}

/// A call that has run: its outcome and the store it ran in, whose
/// context still holds the journal of its state changes. (The store, a
/// pointer, travels instead of the context itself: an execution is moved
/// a few times on the way back to the caller.)
pub struct Execution {
    pub outcome: Outcome,
    store: Store<WasmContext>,
    /// What the function returned (empty for a method, or on failure).
    pub results: Vec<Val>,
    /// The gas global's value when the call ended (none when it ran out),
    /// whatever the status: what a profile that charges a trap only for
    /// what ran reports.
    pub gas_left: u64,
    /// Where the wall time went, and the memory used (for the monitor; not
    /// consensus-relevant).
    pub timing: Timing,
}

/// Wall time of an execution's phases, and its peak memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    pub instantiate: Duration,
    pub execute: Duration,
    /// The contract memory's size at the end of the call, in 64 KiB pages
    /// (memory never shrinks, so this is its peak).
    pub peak_memory_pages: u64,
}

/// What to run in a fresh instance.
#[derive(Clone, Copy)]
pub enum Entry<'a> {
    /// A contract method: an exported `() -> ()` function (ABI.md).
    Method(&'a str),
    /// A contract method whose exports were resolved once for the module:
    /// no lookup by name per call.
    Resolved(&'a str, &'a ResolvedMethod),
    /// Any exported function, with arguments (for `xwasm run`).
    Function { name: &'a str, params: &'a [Val] },
    /// A profile's own calling convention: `driver` calls into the fresh
    /// instance as it needs (the `cosmwasm` profile writes the arguments
    /// through the contract's `allocate` first), metered like any call.
    Driven { name: &'a str, driver: &'a dyn Driver },
}

/// Runs an entry point of a profile with its own calling convention
/// ([`Entry::Driven`]). What it leaves in the context's `return_data`
/// is the call's return data; an error is classified like any trap (a
/// `Halt` set in the context names the status).
pub trait Driver: Sync {
    fn drive(&self, store: &mut Store<WasmContext>, instance: &wasmtime::Instance) -> wasmtime::Result<()>;
}

/// A method's export and the module's memory export, found once per
/// module with `Module::get_export_index`.
#[derive(Clone, Copy)]
pub struct ResolvedMethod {
    pub func: wasmtime::ModuleExport,
    /// The exported `memory`, if the module has one.
    pub memory: Option<wasmtime::ModuleExport>,
    /// The gas global the load-time rewrite exports.
    pub gas: Option<wasmtime::ModuleExport>,
    /// The module has a start function, which instantiation runs on the
    /// gas global's initial value (without one, nothing is read back).
    pub start: bool,
}

impl ResolvedMethod {
    /// `method` of `module`, if it exports a function by that name;
    /// `start`: whether the module has a start function.
    pub fn of(module: &wasmtime::Module, method: &str, start: bool) -> Option<Self> {
        Some(Self {
            func: module.get_export_index(method)?,
            memory: module.get_export_index("memory"),
            gas: module.get_export_index(xwasm_store::GAS_GLOBAL_EXPORT),
            start,
        })
    }
}

impl std::fmt::Debug for ResolvedMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedMethod").field("memory", &self.memory.is_some()).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entry({})", self.name())
    }
}

impl Entry<'_> {
    pub fn name(&self) -> &str {
        match self {
            Entry::Method(name)
            | Entry::Resolved(name, _)
            | Entry::Function { name, .. }
            | Entry::Driven { name, .. } => name,
        }
    }
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution")
            .field("outcome", &self.outcome)
            .field("context", self.context())
            .field("results", &self.results)
            .field("timing", &self.timing)
            .finish()
    }
}

impl Execution {
    /// The context the call ran with.
    pub fn context(&self) -> &WasmContext {
        self.store.data()
    }

    /// A copy of the instance's exported memory as the call left it (for
    /// differential tests), if it has one.
    pub fn memory_bytes(&self) -> Option<Vec<u8>> {
        Some(self.context().memory?.data(&self.store).to_vec())
    }

    /// The module's own exported globals as the call left them, by export
    /// name in export order (for differential tests); the rewrite's are
    /// left out.
    pub fn exported_globals(&mut self) -> Vec<(String, Val)> {
        let Some(instance) = self.context().instance else { return Vec::new() };
        let globals: Vec<(String, wasmtime::Global)> = instance
            .exports(&mut self.store)
            .filter(|export| !xwasm_store::RESERVED_EXPORTS.contains(&export.name()))
            .filter_map(|export| {
                let name = export.name().to_owned();
                export.into_global().map(|global| (name, global))
            })
            .collect();
        globals.into_iter().map(|(name, global)| (name, global.get(&mut self.store))).collect()
    }

    /// The outcome and the context the call ran with; the instance is
    /// released.
    pub fn into_parts(self) -> (Outcome, WasmContext) {
        (self.outcome, self.store.into_data())
    }

    /// Commits the journal if the call succeeded and drops it otherwise;
    /// returns the outcome.
    pub fn settle(self) -> Result<Outcome, ExecError> {
        if self.outcome.status == Status::Ok {
            self.store.into_data().journal.commit()?;
        }
        Ok(self.outcome)
    }
}

/// Runs calls on one engine.
#[derive(Debug)]
pub struct Executor {
    engine: wasmtime::Engine,
    ticker: EpochTicker,
    sampler: Option<std::sync::Arc<Sampler>>,
    /// Install the `ResourceLimiter` (not needed when the pooling
    /// allocator already caps every memory).
    limited: bool,
    /// The engine compiles epoch checks in (`EngineConfig::interruptible`,
    /// read from the engine): only then can a deadline, an interrupt
    /// handle or the sampler stop or look into a running call. A call that
    /// asks for one on an engine without is refused with
    /// [`ExecError::NotInterruptible`] rather than left unstoppable.
    interruptible: bool,
}

/// Far enough in the future that a call without a timeout never reaches it.
const NO_DEADLINE: u64 = u64::MAX / 2;

impl Executor {
    pub fn new(engine: wasmtime::Engine) -> Self {
        let interruptible = engine.get_epoch_interruption();
        Self { engine, ticker: EpochTicker::default(), sampler: None, limited: true, interruptible }
    }

    /// Whether to enforce the context's `StoreLimits` through a
    /// `ResourceLimiter` (default: yes). Turn it off only when the engine's
    /// pooling allocator already caps memories at the same size.
    pub fn limited(mut self, limited: bool) -> Self {
        self.limited = limited;
        self
    }

    /// An executor that samples the WebAssembly stack of every call it runs
    /// every `interval` (a profiler; its ticker stops when it is dropped).
    /// The engine must be interruptible.
    pub fn sampling(
        engine: wasmtime::Engine,
        interval: std::time::Duration,
        sampler: std::sync::Arc<Sampler>,
    ) -> Self {
        Self { ticker: EpochTicker::new(interval), sampler: Some(sampler), ..Self::new(engine) }
    }

    pub fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    /// Runs `entry` in a fresh instance of `pre` with `context`.
    pub fn run(
        &self,
        pre: &InstancePre<WasmContext>,
        context: WasmContext,
        entry: Entry<'_>,
        budget: Budget,
    ) -> Result<Execution, ExecError> {
        if context.stop.is_set() && !self.interruptible {
            return Err(ExecError::NotInterruptible);
        }
        let mut store = self.prepare(context, budget.timed);
        let mut results = Vec::new();
        let mut timing = Timing::default();
        let result = self.execute(&mut store, pre, entry, budget, &mut results, &mut timing);
        let gas_left = match store.data().gas {
            Some(global) => global.get(&mut store).i64().unwrap_or(0).max(0) as u64,
            None => 0,
        };
        let context = store.data_mut();
        let (status, error, backtrace) = match result {
            Ok(()) => (Status::Ok, None, Vec::new()),
            Err(Fault::Run(error)) => {
                let (status, message) = classify(context, &error)?;
                let frames =
                    if status == Status::Trap { backtrace(&error, entry.name()) } else { Vec::new() };
                (status, message, frames)
            }
            Err(Fault::Setup(error)) => return Err(error),
        };
        context.state = if status == Status::Ok { ExecutionState::Finished } else { ExecutionState::Failed };
        let gas_used = if status.costs_whole_limit() {
            budget.gas_limit
        } else {
            budget.gas_limit - gas_left.min(budget.gas_limit)
        };
        let outcome = Outcome {
            status,
            gas_used,
            gas_limit: budget.gas_limit,
            return_data: if status == Status::Ok {
                std::mem::take(&mut context.return_data)
            } else {
                Vec::new()
            },
            events: if status == Status::Ok { std::mem::take(&mut context.events) } else { Vec::new() },
            logs: std::mem::take(&mut context.logs),
            error,
            host_gas: context.host_gas,
            address: None,
            backtrace,
        };
        if status != Status::Ok {
            results.clear();
        }
        Ok(Execution { outcome, store, results, timing, gas_left: gas_left.min(budget.gas_limit) })
    }

    /// A fresh store with the call's resource caps and wall-clock bounds;
    /// fuel is set after instantiation (instantiation may consume fuel that
    /// depends on copy-on-write, wasmtime #14331).
    fn prepare(&self, mut context: WasmContext, timed: bool) -> Store<WasmContext> {
        context.state = ExecutionState::Running;
        if timed {
            context.host_timing = Some(xwasm_store::HostTiming::default());
        }
        let stop = context.stop.clone();
        let mut store = Store::new(&self.engine, context);
        if self.limited {
            store.limiter(|context| &mut context.resources);
        }
        if timed {
            store.call_hook(|mut context, hook| {
                match hook {
                    wasmtime::CallHook::CallingHost => context.data_mut().host_entered(),
                    wasmtime::CallHook::ReturningFromHost => context.data_mut().host_returned(),
                    _ => {}
                }
                Ok(())
            });
        }
        if self.interruptible && (stop.is_set() || self.sampler.is_some()) {
            // On every epoch tick: sample the stack when profiling, and
            // check the deadline and the interrupt handle of the call (and
            // of the calls around it).
            self.ticker.ensure_running(&self.engine);
            store.set_epoch_deadline(1);
            let sampler = self.sampler.clone();
            store.epoch_deadline_callback(move |context| {
                if let Some(sampler) = &sampler {
                    sampler.sample(&wasmtime::WasmBacktrace::capture(&context));
                }
                Ok(if stop.should_stop() { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(1) })
            });
        } else if self.interruptible {
            store.set_epoch_deadline(NO_DEADLINE);
        }
        store
    }

    fn execute(
        &self,
        store: &mut Store<WasmContext>,
        pre: &InstancePre<WasmContext>,
        entry: Entry<'_>,
        budget: Budget,
        results: &mut Vec<Val>,
        timing: &mut Timing,
    ) -> Result<(), Fault> {
        // Instantiation runs no contract code under the xwasm policy (no
        // start function); a start function (permissive profile) runs on
        // the gas global's initial value, and what it used is taken from
        // the call's gas below.
        let started = budget.timed.then(Instant::now);
        let instantiated = pre.instantiate(&mut *store);
        if let Some(started) = started {
            timing.instantiate = started.elapsed();
        }
        let instance = match instantiated {
            Ok(instance) => {
                store.data_mut().instance = Some(instance);
                instance
            }
            // A start function that trapped or that a host function halted.
            Err(error) if error.downcast_ref::<Trap>().is_some() || store.data().halt.is_some() => {
                return Err(Fault::Run(error));
            }
            Err(error) => {
                return Err(Fault::Setup(ExecError::Instantiate { reason: format!("{error:#}") }));
            }
        };
        let memory = match entry {
            Entry::Resolved(_, resolved) => resolved
                .memory
                .and_then(|export| instance.get_module_export(&mut *store, &export))
                .and_then(wasmtime::Extern::into_memory),
            Entry::Method(_) | Entry::Driven { .. } => instance.get_memory(&mut *store, "memory"),
            // A plain function (`Vm::run_function`): the module's memory
            // under whatever name it exports it (there is at most one).
            Entry::Function { .. } => instance.get_memory(&mut *store, "memory").or_else(|| {
                let exported: Vec<wasmtime::Extern> =
                    instance.exports(&mut *store).map(|e| e.into_extern()).collect();
                exported.into_iter().find_map(wasmtime::Extern::into_memory)
            }),
        };
        store.data_mut().memory = memory;
        let gas = match entry {
            Entry::Resolved(_, resolved) => resolved
                .gas
                .and_then(|export| instance.get_module_export(&mut *store, &export))
                .and_then(wasmtime::Extern::into_global),
            _ => instance.get_global(&mut *store, xwasm_store::GAS_GLOBAL_EXPORT),
        };
        let Some(gas) = gas else {
            return Err(Fault::Setup(ExecError::Instantiate {
                reason: "the module is not metered (no gas global: it was not preprocessed)".into(),
            }));
        };
        store.data_mut().gas = Some(gas);
        let start_used = match entry {
            Entry::Resolved(_, resolved) if !resolved.start => 0,
            _ => {
                let at_start = gas.get(&mut *store).i64().unwrap_or(0);
                (xwasm_store::GAS_AT_INSTANTIATION - at_start).max(0) as u64
            }
        };
        let limit = budget.gas_limit.min(i64::MAX as u64);
        if start_used > limit {
            store.data_mut().halt = Some(Halt::OutOfGas);
            return Err(Fault::Run(wasmtime::Error::msg("out of gas in the start function")));
        }
        gas.set(&mut *store, Val::I64((limit - start_used) as i64)).map_err(setup)?;
        let base = store.data().stack_base;
        if base > 0
            && let Ok(stack) = instance.get_typed_func::<i32, i32>(&mut *store, xwasm_store::STACK_EXPORT)
        {
            stack.call(&mut *store, base as i32).map_err(setup)?;
        }
        let started = budget.timed.then(Instant::now);
        let result = self.call_entry(store, &instance, entry, results);
        if result.is_err() && store.data().halt.is_none() {
            if stack_exhausted(store, &instance) {
                store.data_mut().halt = Some(Halt::StackExhausted);
            } else if gas.get(&mut *store).i64().is_some_and(|left| left < 0) {
                // A basic block's charge found too little gas.
                store.data_mut().halt = Some(Halt::OutOfGas);
            }
        }
        if let Some(started) = started {
            timing.execute = started.elapsed();
        }
        timing.peak_memory_pages = memory.map_or(0, |memory| memory.size(&*store));
        result
    }

    fn call_entry(
        &self,
        store: &mut Store<WasmContext>,
        instance: &wasmtime::Instance,
        entry: Entry<'_>,
        results: &mut Vec<Val>,
    ) -> Result<(), Fault> {
        let unknown = || Fault::Setup(ExecError::UnknownMethod { method: entry.name().to_owned() });
        if xwasm_store::RESERVED_EXPORTS.contains(&entry.name()) {
            // The rewrite's own exports.
            return Err(unknown());
        }
        match entry {
            Entry::Method(name) => {
                let func = instance.get_typed_func::<(), ()>(&mut *store, name).map_err(|_| unknown())?;
                func.call(&mut *store, ()).map_err(Fault::Run)
            }
            Entry::Resolved(_, resolved) => {
                let func = instance
                    .get_module_export(&mut *store, &resolved.func)
                    .and_then(wasmtime::Extern::into_func)
                    .ok_or_else(unknown)?;
                let func = func.typed::<(), ()>(&*store).map_err(|_| unknown())?;
                func.call(&mut *store, ()).map_err(Fault::Run)
            }
            Entry::Function { name, params } => {
                let func = instance.get_func(&mut *store, name).ok_or_else(unknown)?;
                let ty = func.ty(&*store);
                if ty.params().len() != params.len() {
                    return Err(Fault::Setup(ExecError::BadArguments {
                        function: name.to_owned(),
                        expected: ty.params().len(),
                        found: params.len(),
                    }));
                }
                results.resize(ty.results().len(), Val::I32(0));
                func.call(&mut *store, params, results).map_err(Fault::Run)
            }
            Entry::Driven { driver, .. } => driver.drive(store, instance).map_err(Fault::Run),
        }
    }
}

/// Whether the preprocessed code marked its stack global: the trap that
/// ended the call was the deterministic stack limit.
fn stack_exhausted(store: &mut Store<WasmContext>, instance: &wasmtime::Instance) -> bool {
    instance
        .get_typed_func::<i32, i32>(&mut *store, xwasm_store::STACK_EXPORT)
        .and_then(|stack| stack.call(&mut *store, xwasm_store::STACK_READ))
        .ok()
        == Some(xwasm_store::STACK_EXHAUSTED_MARK)
}

enum Fault {
    /// The contract ran and failed.
    Run(wasmtime::Error),
    /// The call could not be set up.
    Setup(ExecError),
}

fn setup(error: wasmtime::Error) -> Fault {
    Fault::Setup(ExecError::Instantiate { reason: format!("{error:#}") })
}

/// The status of a failed call and its one-line message. A host function
/// that halted the call says why in the context (left there for the
/// caller); anything else is a trap raised by the engine.
fn classify(
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
fn backtrace(error: &wasmtime::Error, entry: &str) -> Vec<String> {
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

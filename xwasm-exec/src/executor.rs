//! The [`Executor`]: a fresh store per call, instantiation, the call
//! itself, and its [`Outcome`].

use crate::classify::{Fault, backtrace, classify, setup, stack_exhausted};
use crate::{Budget, Entry, EpochTicker, ExecError, Execution, Outcome, Sampler, Status, Timing};
use std::time::Instant;
use wasmtime::{InstancePre, Store, Trap, UpdateDeadline, Val};
use xwasm_store::{ExecutionState, Halt, WasmContext};

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
            if gas.get(&mut *store).i64().is_some_and(|left| left < 0) {
                // A charge found too little gas: the trap, or whatever
                // trapped after a charge that does not check (the
                // cosmwasm meter), came after the gas ran out.
                store.data_mut().halt = Some(Halt::OutOfGas);
            } else if stack_exhausted(store, &instance) {
                store.data_mut().halt = Some(Halt::StackExhausted);
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

//! The per-execution context every host function sees: [`WasmContext`].

use crate::{Address, CodeHash, Journal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The block a transaction runs in. Consensus-relevant: contracts read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainContext {
    pub block_height: u64,
    /// Milliseconds since the Unix epoch.
    pub block_time_ms: u64,
}

/// What a caller asks of a deployment or a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The account that signed the transaction.
    pub sender: Address,
    /// Gas available to the whole transaction, nested calls included.
    pub gas_limit: u64,
    /// Input bytes, read by the contract with `input_read`.
    pub input: Vec<u8>,
}

impl Transaction {
    pub fn new(sender: Address, gas_limit: u64, input: impl Into<Vec<u8>>) -> Self {
        Self { sender, gas_limit, input: input.into() }
    }
}

/// An event a contract emitted. Kept only if the whole transaction succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The contract that emitted it.
    pub contract: Address,
    pub topic: Vec<u8>,
    pub data: Vec<u8>,
}

/// What the state backend records of a deployed contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractRecord {
    pub code_hash: CodeHash,
    pub owner: Address,
}

impl ContractRecord {
    /// `code_hash || owner`: 64 bytes. Consensus-relevant layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        [self.code_hash.as_slice(), &self.owner.0].concat()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (hash, owner) = (bytes.get(..32)?, bytes.get(32..64)?);
        (bytes.len() == 64).then(|| Self {
            code_hash: hash.try_into().expect("32 bytes"),
            owner: Address(owner.try_into().expect("32 bytes")),
        })
    }
}

/// Configured limits a host function enforces; exceeding one ends the call
/// with status `limit`. Consensus-relevant: all nodes must agree on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CallLimits {
    pub max_key_len: u32,
    pub max_value_len: u32,
    pub max_call_depth: u32,
    pub max_logs: u32,
    pub max_log_bytes: u32,
    pub max_events: u32,
    pub max_event_bytes: u32,
    pub max_return_len: u32,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            max_key_len: 1_024,
            max_value_len: 65_536,
            max_call_depth: 16,
            max_logs: 1_024,
            max_log_bytes: 64 << 10,
            max_events: 1_024,
            max_event_bytes: 256 << 10,
            max_return_len: 1 << 20,
        }
    }
}

/// Why a host function ended a call before the contract returned. The
/// executor turns it into the outcome's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The contract called `abort` with this (lossily decoded) message.
    Abort(String),
    /// A configured limit was exceeded; the message names it.
    Limit(String),
    /// A host function was not given enough gas for its work.
    OutOfGas,
    /// A pointer or length handed to a host function was out of bounds.
    BadPointer(String),
    /// The state backend failed: an infrastructure fault, not the
    /// contract's.
    Backend(String),
    /// A host function with side effects was used in a read-only call; the
    /// message names it.
    Permission(String),
    /// A nested call hit the wall-clock deadline or was interrupted.
    Interrupted,
    /// The deterministic call-stack limit was reached.
    StackExhausted,
}

/// The exports preprocessed code gains
/// (`xwasm_security::preprocess::RESERVED_NAMES`): no call enters one.
pub const RESERVED_EXPORTS: [&str; 2] = [GAS_GLOBAL_EXPORT, STACK_EXPORT];
/// The exported function `(i32) -> i32` that returns the stack units
/// preprocessed code has claimed and, given a count that is not negative,
/// sets them to it (`xwasm_security::preprocess::STACK_EXPORT`).
pub const STACK_EXPORT: &str = "__xwasm_stack";
/// The argument of that function that only reads the count.
pub const STACK_READ: i32 = -1;

/// The stack units the code calling host function `caller` has claimed (0
/// for code the rewrite did not touch): where a nested call's count
/// starts.
pub fn stack_used(caller: &mut wasmtime::Caller<'_, WasmContext>) -> wasmtime::Result<u32> {
    let stack = caller
        .get_export(STACK_EXPORT)
        .and_then(|e| e.into_func())
        .and_then(|f| f.typed::<i32, i32>(&*caller).ok());
    Ok(match stack {
        Some(stack) => stack.call(&mut *caller, STACK_READ)?.max(0) as u32,
        None => 0,
    })
}
/// What the count holds once the deterministic stack limit ended the
/// call (`xwasm_security::preprocess::STACK_EXHAUSTED_MARK`).
pub const STACK_EXHAUSTED_MARK: i32 = -1;
/// The exported global in which preprocessed code keeps the gas left
/// (`xwasm_security::preprocess::GAS_GLOBAL`).
pub const GAS_GLOBAL_EXPORT: &str = "__xwasm_gas";
/// Its value after instantiation, less what a start function used
/// (`xwasm_security::preprocess::GAS_AT_INSTANTIATION`).
pub const GAS_AT_INSTANTIATION: i64 = 10_000_000;

/// Where the VM is in running a call (the seed's `ExecutionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionState {
    #[default]
    Idle,
    Running,
    Finished,
    Failed,
}

impl ExecutionState {
    const ALL: [ExecutionState; 4] =
        [ExecutionState::Idle, ExecutionState::Running, ExecutionState::Finished, ExecutionState::Failed];
}

/// The last [`ExecutionState`], shared between threads.
#[derive(Debug, Default)]
pub struct StateCell(std::sync::atomic::AtomicU8);

impl StateCell {
    pub fn set(&self, state: ExecutionState) {
        let index = ExecutionState::ALL.iter().position(|s| *s == state).expect("every state is listed");
        self.0.store(index as u8, Ordering::Relaxed);
    }

    pub fn get(&self) -> ExecutionState {
        ExecutionState::ALL[self.0.load(Ordering::Relaxed) as usize]
    }
}

/// The data of one execution: the `T` of its `wasmtime::Store`.
///
/// Host functions read the chain context and transaction from it, buffer
/// state through its [`Journal`], and append events and logs. Gas itself is
/// the store's fuel (one counter); `host_gas` only records how much of it
/// host functions charged.
#[derive(Debug)]
pub struct WasmContext {
    pub chain: ChainContext,
    /// The account that signed the transaction.
    pub origin: Address,
    /// Who made this call: the origin, or the calling contract.
    pub caller: Address,
    pub contract: Address,
    pub owner: Address,
    pub input: Vec<u8>,
    pub journal: Journal,
    pub limits: CallLimits,
    pub return_data: Vec<u8>,
    pub events: Vec<Event>,
    pub event_bytes: u64,
    pub logs: Vec<String>,
    pub log_bytes: u64,
    /// Set by a host function that ends the call; read by the executor.
    pub halt: Option<Halt>,
    /// Gas charged by host functions in this execution (nested calls'
    /// gas included).
    pub host_gas: u64,
    pub state: ExecutionState,
    /// Nesting depth: 0 for a transaction's own call.
    pub depth: u32,
    /// A read-only call: host functions with side effects are refused.
    pub read_only: bool,
    /// The return bytes (or failure message) of the last nested `call`.
    pub last_result: Vec<u8>,
    /// How this execution reaches other contracts, if it may.
    pub contracts: Option<Arc<dyn ContractCaller>>,
    /// Memory, table and instance caps, enforced by wasmtime through
    /// `Store::limiter`.
    pub resources: wasmtime::StoreLimits,
    /// When to stop regardless of gas (node-level, not consensus).
    pub stop: StopSignal,
    /// Stack units the calling contracts already use: a nested call starts
    /// counting from there, so the limit covers the whole call chain.
    /// Consensus-relevant.
    pub stack_base: u32,
    /// Calls and gas per host function, in order of first use, on calls
    /// observed in detail (for the monitor; not consensus-relevant).
    pub host_calls: Vec<HostCallStat>,
    /// The instance's exported `memory`, resolved once after instantiation
    /// so host functions need not look it up by name.
    pub memory: Option<wasmtime::Memory>,
    /// The instance's exported gas global (`__xwasm_gas`), resolved once
    /// after instantiation: the call's gas left.
    pub gas: Option<wasmtime::Global>,
    /// The instance the call runs in, once instantiated.
    pub instance: Option<wasmtime::Instance>,
    /// Set when host calls are timed (the executor's call hook feeds it).
    pub host_timing: Option<HostTiming>,
    /// The state of another profile's host functions for this call (the
    /// `cosmwasm` profile keeps its environment and iterators here); the
    /// native profile has none.
    pub extension: Option<Extension>,
}

/// A profile's own per-call state in a [`WasmContext`]: the profile's
/// crate puts it there and downcasts it back.
pub struct Extension(pub Box<dyn std::any::Any + Send>);

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Extension")
    }
}

/// The host call in progress, for timing host functions.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostTiming {
    entered: Option<std::time::Instant>,
    /// The host function running now (it names itself when it charges).
    current: Option<&'static str>,
}

/// How often one host function was called in an execution, and the gas it
/// charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCallStat {
    pub name: &'static str,
    pub calls: u32,
    pub gas: u64,
    /// Wall time inside the function (only when host calls are timed).
    pub nanos: u64,
}

/// Stops a running call from another thread: [`InterruptHandle::interrupt`]
/// ends it with status `timeout` within one epoch tick.
#[derive(Debug, Clone, Default)]
pub struct InterruptHandle(Arc<AtomicBool>);

impl InterruptHandle {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_interrupted(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The wall-clock bounds of a call: a deadline and an interrupt handle.
/// Nested calls inherit their caller's.
#[derive(Debug, Clone, Default)]
pub struct StopSignal {
    pub deadline: Option<Instant>,
    pub interrupt: Option<InterruptHandle>,
}

impl StopSignal {
    /// A signal at `timeout` from now, if any, and no interrupt.
    pub fn after(timeout: Option<std::time::Duration>) -> Self {
        Self { deadline: timeout.map(|t| Instant::now() + t), interrupt: None }
    }

    pub fn is_set(&self) -> bool {
        self.deadline.is_some() || self.interrupt.is_some()
    }

    /// Whether the call must stop now.
    pub fn should_stop(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
            || self.interrupt.as_ref().is_some_and(InterruptHandle::is_interrupted)
    }
}

/// A nested call a contract makes with the `call` host function.
#[derive(Debug)]
pub struct NestedCall {
    pub chain: ChainContext,
    pub origin: Address,
    /// The calling contract.
    pub caller: Address,
    pub callee: Address,
    pub method: String,
    pub input: Vec<u8>,
    pub gas_limit: u64,
    /// The callee's depth (the caller's plus one).
    pub depth: u32,
    pub read_only: bool,
    pub stop: StopSignal,
    /// Stack units in use in the calling contracts.
    pub stack_used: u32,
    /// The transaction's journal, with the caller's pending writes.
    pub journal: Journal,
}

/// How a nested call ended.
#[derive(Debug)]
pub struct NestedOutcome {
    pub success: bool,
    /// Whether the callee ran out of wall-clock time (the caller must stop
    /// too).
    pub interrupted: bool,
    /// A host function the callee was refused in a read-only call (the
    /// caller is refused too).
    pub denied: Option<String>,
    pub gas_used: u64,
    /// Return bytes on success; the error message on failure.
    pub result: Vec<u8>,
    pub events: Vec<Event>,
    pub logs: Vec<String>,
    /// The journal handed in: with the callee's writes on success, as it
    /// was on failure.
    pub journal: Journal,
}

impl NestedOutcome {
    /// A call the callee could not even start (no such contract or
    /// method): its failure with `message`, at no gas, `journal` untouched.
    pub fn refused(journal: Journal, message: String) -> Self {
        Self {
            success: false,
            interrupted: false,
            denied: None,
            gas_used: 0,
            result: message.into_bytes(),
            events: Vec::new(),
            logs: Vec::new(),
            journal,
        }
    }
}

/// Runs nested calls for the `call` host function. Implemented by the
/// layer that can execute contracts (the facade), so that host functions
/// need not depend on it.
pub trait ContractCaller: Send + Sync {
    /// Runs `call`. An `Err` is an infrastructure fault (the state backend
    /// failed, no instance could be had), described in one line: the whole
    /// transaction fails with it. Every contract-level failure is an
    /// unsuccessful outcome instead.
    fn call(&self, call: NestedCall) -> Result<NestedOutcome, String>;
}

impl std::fmt::Debug for dyn ContractCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContractCaller")
    }
}

/// Who is calling what, to build a [`WasmContext`].
#[derive(Debug, Clone)]
pub struct CallFrame {
    pub chain: ChainContext,
    pub origin: Address,
    pub caller: Address,
    pub contract: Address,
    pub owner: Address,
    pub input: Vec<u8>,
}

impl CallFrame {
    /// A transaction's own call of `contract` (deployed by `owner`): its
    /// sender is the origin and the caller, its input the call's.
    pub fn transaction(
        chain: ChainContext,
        tx: &crate::Transaction,
        contract: Address,
        owner: Address,
    ) -> Self {
        Self { chain, origin: tx.sender, caller: tx.sender, contract, owner, input: tx.input.clone() }
    }
}

impl NestedCall {
    /// The callee's frame (`owner` deployed it); the input moves into it.
    pub fn frame(&mut self, owner: Address) -> CallFrame {
        CallFrame {
            chain: self.chain,
            origin: self.origin,
            caller: self.caller,
            contract: self.callee,
            owner,
            input: std::mem::take(&mut self.input),
        }
    }
}

impl WasmContext {
    pub fn new(frame: CallFrame, journal: Journal, limits: CallLimits) -> Self {
        Self {
            chain: frame.chain,
            origin: frame.origin,
            caller: frame.caller,
            contract: frame.contract,
            owner: frame.owner,
            input: frame.input,
            journal,
            limits,
            return_data: Vec::new(),
            events: Vec::new(),
            event_bytes: 0,
            logs: Vec::new(),
            log_bytes: 0,
            halt: None,
            host_gas: 0,
            state: ExecutionState::Idle,
            depth: 0,
            read_only: false,
            last_result: Vec::new(),
            contracts: None,
            resources: wasmtime::StoreLimits::default(),
            stop: StopSignal::default(),
            stack_base: 0,
            host_calls: Vec::new(),
            memory: None,
            gas: None,
            instance: None,
            host_timing: None,
            extension: None,
        }
    }

    /// Records `gas` charged by host function `name`, as a new call or as
    /// more of the current one. Only calls observed in detail (host calls
    /// timed) keep these figures: the others skip the bookkeeping.
    pub fn record_host_call(&mut self, name: &'static str, gas: u64, new_call: bool) {
        let Some(timing) = &mut self.host_timing else { return };
        timing.current = Some(name);
        match self.host_calls.iter_mut().find(|stat| std::ptr::eq(stat.name, name) || stat.name == name) {
            Some(stat) => {
                stat.calls += new_call as u32;
                stat.gas += gas;
            }
            None => self.host_calls.push(HostCallStat { name, calls: new_call as u32, gas, nanos: 0 }),
        }
    }

    /// The guest called into the host.
    pub fn host_entered(&mut self) {
        if let Some(timing) = &mut self.host_timing {
            *timing = HostTiming { entered: Some(std::time::Instant::now()), current: None };
        }
    }

    /// The host returned to the guest: the time since [`Self::host_entered`]
    /// goes to the host function that ran (the one that charged gas).
    pub fn host_returned(&mut self) {
        let Some(timing) = &mut self.host_timing else { return };
        let (Some(entered), Some(name)) = (timing.entered.take(), timing.current.take()) else { return };
        let nanos = entered.elapsed().as_nanos() as u64;
        if let Some(stat) = self.host_calls.iter_mut().find(|s| s.name == name) {
            stat.nanos += nanos;
        }
    }
}

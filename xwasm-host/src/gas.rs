//! The gas schedule of host functions and how a host function charges it.

use wasmtime::Caller;
use xwasm_store::{Halt, WasmContext};

/// The gas price of every host function of ABI.md, in one value.
///
/// Consensus-relevant: every node must use the same schedule. The defaults
/// are ABI.md's table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GasSchedule {
    /// `input_len`, `caller`, `self_address`, `owner`, `block_height`,
    /// `block_time`, `gas_left`, `result_len`.
    pub simple: u64,
    /// `input_read`, `result_read`, `return_data`: base and per byte.
    pub copy_base: u64,
    pub copy_per_byte: u64,
    pub log_base: u64,
    pub log_per_byte: u64,
    pub storage_read_base: u64,
    pub storage_read_per_key_byte: u64,
    pub storage_read_per_value_byte: u64,
    pub storage_write_base: u64,
    /// Per byte of key and value together.
    pub storage_write_per_byte: u64,
    pub storage_remove_base: u64,
    pub storage_remove_per_key_byte: u64,
    pub event_base: u64,
    /// Per byte of topic and data together.
    pub event_per_byte: u64,
    pub sha256_base: u64,
    pub sha256_per_byte: u64,
    pub keccak256_base: u64,
    pub keccak256_per_byte: u64,
    pub call_base: u64,
    /// Per byte of method name and input together.
    pub call_per_byte: u64,
    /// Per byte or element touched by `memory.copy`, `memory.fill`,
    /// `memory.init` and the bulk `table.*` instructions.
    pub bulk_per_byte: u64,
    /// A deployment of code not yet stored on chain: a fixed part (the
    /// default pays for the 0.3-0.5 ms any compile takes on the build
    /// machine, about 450 bytes' worth), per byte stored (the code is state
    /// like any value, priced as `storage_write_per_byte`) and per byte
    /// compiled ([`DEPLOY_PER_BYTE_COMPILED`]). Charged before the bytes are
    /// parsed (see [`GasSchedule::deployment`]).
    pub deploy_base: u64,
    pub deploy_per_byte_stored: u64,
    pub deploy_per_byte_compiled: u64,
    /// A deployment of new code also pays, once the bytes are validated and
    /// before they are compiled, per function defined and per local
    /// declared: compilers spend a fixed amount of work on each however
    /// few bytes declare it (see [`GasSchedule::deployment_items`]).
    pub deploy_per_function: u64,
    pub deploy_per_local: u64,
    /// A deployment of code whose hash is already stored on chain: no new
    /// bytes, and every node has compiled it already.
    pub deploy_stored_code: u64,
}

impl Default for GasSchedule {
    fn default() -> Self {
        Self {
            simple: 20,
            copy_base: 20,
            copy_per_byte: 1,
            log_base: 50,
            log_per_byte: 1,
            storage_read_base: 500,
            storage_read_per_key_byte: 2,
            storage_read_per_value_byte: 1,
            storage_write_base: 1_000,
            storage_write_per_byte: 10,
            storage_remove_base: 500,
            storage_remove_per_key_byte: 2,
            event_base: 200,
            event_per_byte: 2,
            sha256_base: 100,
            sha256_per_byte: 3,
            keccak256_base: 100,
            keccak256_per_byte: 4,
            call_base: 5_000,
            call_per_byte: 1,
            bulk_per_byte: 1,
            deploy_base: 1_000_000,
            deploy_per_byte_stored: 10,
            deploy_per_byte_compiled: DEPLOY_PER_BYTE_COMPILED,
            deploy_per_function: 50_000,
            deploy_per_local: 200,
            deploy_stored_code: 50_000,
        }
    }
}

/// The default price of compiling one byte of code: 2,000 gas.
///
/// Anchors: NEAR charges a deployment about 225,000 of its wasm
/// instructions (`deploy_contract_cost` + `contract_compile_base`, over
/// `regular_op_cost`) and about 100 per byte (`deploy_contract_cost_per_byte`
/// and `contract_compile_bytes` together), for a single-pass compiler; wasmd charges
/// 3 SDK gas per byte compiled on top of the SDK's 30 per byte stored, on a
/// scale where a whole contract execution costs a fraction of one SDK gas.
/// xwasm compiles with Cranelift, an optimizing compiler: measured on the
/// 2-core build machine (`benches/examples/compile_probe.rs`), the corpus
/// contracts take 0.5-0.6 µs per byte on two threads, about 1 µs of core
/// time, and the worst module the default limits accept 0.9 µs per byte.
/// Metered register-only code runs at 0.03 ns per gas there; code that
/// works memory, calls and host functions is one to two orders of
/// magnitude slower per gas. At 2,000 gas a byte compiled costs what
/// 0.5 ns of that slower code per gas would run in 1 µs: compile work is
/// never cheaper than the execution it displaces from a block, except on
/// the tightest register loops.
pub const DEPLOY_PER_BYTE_COMPILED: u64 = 2_000;

impl GasSchedule {
    /// The gas a deployment of `code_bytes` bytes costs before anything is
    /// parsed: `deploy_stored_code` when code with the same hash is already
    /// stored on chain, else the base plus the bytes stored and compiled.
    ///
    /// Consensus-relevant: it depends only on committed state and the
    /// bytes' length, never on what this node's caches hold.
    pub fn deployment(&self, code_bytes: usize, already_stored: bool) -> u64 {
        if already_stored {
            return self.deploy_stored_code;
        }
        let per_byte = self.deploy_per_byte_stored.saturating_add(self.deploy_per_byte_compiled);
        linear(self.deploy_base, per_byte, code_bytes as u64)
    }

    /// What a deployment of new code pays on top of
    /// [`GasSchedule::deployment`] once its bytes are validated, before
    /// they are compiled: per function defined and per local declared.
    /// Measured on the build machine, Cranelift spends about 25 µs on each
    /// function however small and about 0.1 µs on each local; at the
    /// per-byte price's rate (2,000 gas for about 1 µs) that is 50,000 and
    /// 200 gas. The corpus contracts pay about 3% of their price for them.
    pub fn deployment_items(&self, functions: u64, locals: u64) -> u64 {
        self.deploy_per_function
            .saturating_mul(functions)
            .saturating_add(self.deploy_per_local.saturating_mul(locals))
    }
}

/// What a deployment's gas limit bought of its code: the price, as far as
/// the limit paid for the work of finding it out.
#[derive(Debug)]
pub enum CodePrice<C> {
    /// The limit pays `gas`. `checked` is what checking new code found;
    /// `None` for code already stored on chain, which is not checked.
    Paid { gas: u64, checked: Option<C> },
    /// The limit cannot pay `price` for `what`; nothing past what was paid
    /// for was done.
    Unpaid { price: u64, what: String },
}

/// What checking new code counted of it, for
/// [`GasSchedule::deployment_items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeItems {
    pub functions: u64,
    pub locals: u64,
}

impl GasSchedule {
    /// Prices deploying `code_bytes` bytes of code against `gas_limit`, at
    /// `per_unit` gas per unit of this schedule (1 for native code; a
    /// profile's multiplier for CosmWasm gas): the bytes first, before
    /// anything is parsed (code `already_stored` pays the fixed price and
    /// is done); then, for new code, its functions and locals, which
    /// `check` counts (linear work the bytes paid for), before any
    /// compile. A refusal by `check` is its error.
    ///
    /// Consensus-relevant: the price depends on chain state and the bytes,
    /// never on a node's caches.
    pub fn price_code<C, E>(
        &self,
        code_bytes: usize,
        already_stored: bool,
        per_unit: u64,
        gas_limit: u64,
        check: impl FnOnce() -> Result<(C, CodeItems), E>,
    ) -> Result<CodePrice<C>, E> {
        let mut gas = self.deployment(code_bytes, already_stored).saturating_mul(per_unit);
        if gas > gas_limit {
            return Ok(CodePrice::Unpaid { price: gas, what: format!("{code_bytes} bytes of code") });
        }
        if already_stored {
            return Ok(CodePrice::Paid { gas, checked: None });
        }
        let (checked, items) = check()?;
        let item_gas = self.deployment_items(items.functions, items.locals);
        gas = gas.saturating_add(item_gas.saturating_mul(per_unit));
        if gas > gas_limit {
            let what = format!(
                "{code_bytes} bytes of code with {} functions and {} locals",
                items.functions, items.locals
            );
            return Ok(CodePrice::Unpaid { price: gas, what });
        }
        Ok(CodePrice::Paid { gas, checked: Some(checked) })
    }
}

/// `base + per_unit * units`, saturating (so a cost can never wrap).
pub fn linear(base: u64, per_unit: u64, units: u64) -> u64 {
    base.saturating_add(per_unit.saturating_mul(units))
}

/// Ends the call with `halt`: records the reason for the executor and
/// returns the error that unwinds the guest.
pub fn halt(caller: &mut Caller<'_, WasmContext>, halt: Halt) -> wasmtime::Error {
    let message = match &halt {
        Halt::Abort(message) => format!("contract aborted: {message}"),
        Halt::Limit(message) => format!("limit exceeded: {message}"),
        Halt::OutOfGas => "out of gas".to_owned(),
        Halt::BadPointer(message) => format!("out of bounds: {message}"),
        Halt::Backend(message) => format!("state backend failed: {message}"),
        Halt::Permission(message) => format!("permission denied: {message}"),
        Halt::Interrupted => "interrupted".to_owned(),
        Halt::StackExhausted => "call stack exhausted".to_owned(),
    };
    caller.data_mut().halt = Some(halt);
    wasmtime::Error::msg(message)
}

/// [`charge`], recorded as one call of host function `name`.
pub fn charge_as(caller: &mut Caller<'_, WasmContext>, name: &'static str, gas: u64) -> wasmtime::Result<()> {
    charge(caller, gas)?;
    caller.data_mut().record_host_call(name, gas, true);
    Ok(())
}

/// [`charge`], recorded as more gas of the current call of `name`.
pub fn charge_more(
    caller: &mut Caller<'_, WasmContext>,
    name: &'static str,
    gas: u64,
) -> wasmtime::Result<()> {
    charge(caller, gas)?;
    caller.data_mut().record_host_call(name, gas, false);
    Ok(())
}

/// Takes `gas` from the call's gas, or ends the call as out of gas
/// (leaving none) when there is not enough.
pub fn charge(caller: &mut Caller<'_, WasmContext>, gas: u64) -> wasmtime::Result<()> {
    let left = gas_left(caller)?;
    if left < gas {
        set_gas_left(caller, 0)?;
        return Err(halt(caller, Halt::OutOfGas));
    }
    set_gas_left(caller, left - gas)?;
    caller.data_mut().host_gas += gas;
    Ok(())
}

/// The gas the call has left: the instance's gas global, which its code
/// charges per basic block (the load-time rewrite put it there).
pub fn gas_left(caller: &mut Caller<'_, WasmContext>) -> wasmtime::Result<u64> {
    let global = gas_global(caller)?;
    Ok(global.get(&mut *caller).i64().unwrap_or(0).max(0) as u64)
}

/// Sets the gas the call has left.
pub fn set_gas_left(caller: &mut Caller<'_, WasmContext>, gas: u64) -> wasmtime::Result<()> {
    let global = gas_global(caller)?;
    global.set(&mut *caller, wasmtime::Val::I64(gas.min(i64::MAX as u64) as i64))
}

fn gas_global(caller: &mut Caller<'_, WasmContext>) -> wasmtime::Result<wasmtime::Global> {
    caller.data().gas.ok_or_else(|| wasmtime::Error::msg("the module has no gas global (not preprocessed)"))
}

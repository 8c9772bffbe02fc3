//! The seed's `VirtualMachine` trait, implemented by [`Vm`].

use crate::{Vm, VmBuilder, VmConfig, VmError};
use std::sync::Arc;
use wasmtime::Val;
use xwasm_exec::Status;
use xwasm_loader::LoadedCode;
use xwasm_store::ExecutionState;

/// A module loaded with [`VirtualMachine::load_module`].
#[derive(Debug, Clone)]
pub struct ModuleHandle {
    pub code_hash: [u8; 32],
    code: Arc<LoadedCode>,
}

impl ModuleHandle {
    pub fn info(&self) -> &xwasm_security::ModuleInfo {
        &self.code.info
    }
}

/// An instance made with [`VirtualMachine::instantiate_module`]: a module
/// and the gas each [`VirtualMachine::execute_function`] on it may use.
/// Every execution runs in a fresh instance with empty, discarded state,
/// as contract calls do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceHandle(pub u64);

/// The seed's low-level VM interface: load, instantiate, execute.
///
/// The chain-facing API ([`Vm::deploy`], [`Vm::call`]) is built on the same
/// pipeline; this trait serves embedders that run plain functions.
pub trait VirtualMachine {
    /// Replaces the VM with one built from `config` (same state backend).
    fn initialize(&mut self, config: VmConfig) -> Result<(), VmError>;
    /// Checks and compiles a module (cached by code hash).
    fn load_module(&mut self, wasm_bytes: &[u8]) -> Result<ModuleHandle, VmError>;
    fn instantiate_module(&mut self, module: &ModuleHandle) -> Result<InstanceHandle, VmError>;
    /// Runs an exported function with `params`, metered by the default
    /// gas limit.
    fn execute_function(
        &mut self,
        instance: &InstanceHandle,
        function_name: &str,
        params: &[Val],
    ) -> Result<Vec<Val>, VmError>;
    fn get_execution_state(&self) -> ExecutionState;
    /// Drops every instance handle and compiled module.
    fn reset(&mut self) -> Result<(), VmError>;
}

/// Gas for one [`VirtualMachine::execute_function`].
pub const DEFAULT_FUNCTION_GAS: u64 = 100_000_000;

impl VirtualMachine for Vm {
    fn initialize(&mut self, config: VmConfig) -> Result<(), VmError> {
        let backend = self.inner.backend.clone();
        self.reset()?;
        *self = VmBuilder::new().config(config).backend(backend).build()?;
        Ok(())
    }

    fn load_module(&mut self, wasm_bytes: &[u8]) -> Result<ModuleHandle, VmError> {
        let code_hash = xwasm_security::code_hash(wasm_bytes);
        let code = self.load_code(wasm_bytes)?;
        Ok(ModuleHandle { code_hash, code })
    }

    fn instantiate_module(&mut self, module: &ModuleHandle) -> Result<InstanceHandle, VmError> {
        let code = module.code.clone();
        let mut table = self.inner.instances.lock();
        table.next += 1;
        let handle = table.next;
        table.modules.insert(handle, code);
        Ok(InstanceHandle(handle))
    }

    fn execute_function(
        &mut self,
        instance: &InstanceHandle,
        function_name: &str,
        params: &[Val],
    ) -> Result<Vec<Val>, VmError> {
        let code = self
            .inner
            .instances
            .lock()
            .modules
            .get(&instance.0)
            .cloned()
            .ok_or(VmError::UnknownInstance(instance.0))?;
        let run = self.run_in_empty_state(&code, function_name, params, DEFAULT_FUNCTION_GAS)?.into_run();
        match run.outcome.status {
            Status::Ok => Ok(run.results),
            status => Err(VmError::Execution {
                function: function_name.to_owned(),
                status,
                message: run.outcome.error.unwrap_or_default(),
            }),
        }
    }

    fn get_execution_state(&self) -> ExecutionState {
        self.inner.state.get()
    }

    fn reset(&mut self) -> Result<(), VmError> {
        self.inner.instances.lock().modules.clear();
        self.inner.loader.clear();
        self.inner.state.set(ExecutionState::Idle);
        Ok(())
    }
}

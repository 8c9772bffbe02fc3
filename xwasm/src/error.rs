//! [`VmError`]: why the VM could not deploy or call at all.

use xwasm_store::Address;

/// Why a deployment or call could not run. A call that ran and failed is
/// not an error: it is an [`Outcome`](crate::Outcome) with its status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmError {
    #[error("module refused: {0}")]
    Policy(#[from] xwasm_security::PolicyViolation),
    #[error(transparent)]
    Compile(#[from] xwasm_aot::AotError),
    #[error("cannot link the module: {reason}")]
    Link { reason: String },
    #[error(transparent)]
    Engine(#[from] xwasm_engine::EngineError),
    #[error(transparent)]
    Cache(#[from] xwasm_cache::CacheError),
    #[error(transparent)]
    Linker(#[from] xwasm_linker::LinkerError),
    #[error(transparent)]
    State(#[from] xwasm_store::StateError),
    #[error("no contract at address {address}")]
    NoContract { address: Address },
    #[error("contract {address} has no method `{method}`; its methods: {available}")]
    UnknownMethod { address: Address, method: String, available: String },
    #[error("`init` runs only when a contract is deployed")]
    InitNotCallable,
    #[error("the code of contract {address} is missing from state")]
    MissingCode { address: Address },
    #[error(transparent)]
    Exec(#[from] xwasm_exec::ExecError),
    #[error("unknown instance handle {0}")]
    UnknownInstance(u64),
    #[error("{function} failed with status {status}: {message}")]
    Execution { function: String, status: xwasm_exec::Status, message: String },
    /// A CosmWasm contract cosmwasm-vm's upload checks refuse.
    #[error("{0}")]
    Cosmwasm(#[from] xwasm_cosmwasm::CheckError),
    /// A call of the wrong profile: a CosmWasm entry point on a native
    /// contract, a native method on a CosmWasm one.
    #[error("{0}")]
    Profile(String),
    /// Input a call cannot be made with (a sender that is not an
    /// address, a message that is not JSON, a sender who may not migrate).
    #[error("{0}")]
    BadInput(String),
}

impl VmError {
    /// Whether the module itself was refused by the policy.
    pub fn is_policy_violation(&self) -> bool {
        matches!(self, VmError::Policy(_) | VmError::Cosmwasm(_))
    }
}

impl From<xwasm_loader::LoadError> for VmError {
    fn from(error: xwasm_loader::LoadError) -> Self {
        use xwasm_loader::LoadError;
        match error {
            LoadError::Policy(e) => VmError::Policy(e),
            LoadError::Cosmwasm(e) => VmError::Cosmwasm(e),
            LoadError::Compile(e) => VmError::Compile(e),
            LoadError::Link { reason } => VmError::Link { reason },
            LoadError::Engine(e) => VmError::Engine(e),
            LoadError::Linker(e) => VmError::Linker(e),
            LoadError::Cache(e) => VmError::Cache(e),
            LoadError::Optimize(reason) => VmError::BadInput(reason),
            other => VmError::Link { reason: other.to_string() },
        }
    }
}

impl From<xwasm_chain::ChainError> for VmError {
    fn from(error: xwasm_chain::ChainError) -> Self {
        use xwasm_chain::ChainError;
        match error {
            ChainError::NoContract { address } => VmError::NoContract { address },
            ChainError::MissingCode { address } => VmError::MissingCode { address },
            ChainError::State(e) => VmError::State(e),
            ChainError::BadInput(reason) => VmError::BadInput(reason),
            other => VmError::BadInput(other.to_string()),
        }
    }
}

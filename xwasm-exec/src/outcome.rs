//! How a call ended: [`Status`] and [`Outcome`].

use xwasm_store::{Address, Event};

/// The one status every call ends in (ABI.md, "Outcome of a call").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The method returned: state committed, events kept.
    Ok,
    /// The contract called `abort`.
    Abort,
    /// A host function refused a configured limit.
    Limit,
    /// A WebAssembly trap, including a bad pointer handed to a host function.
    Trap,
    /// Gas ran out.
    OutOfGas,
    /// Wall-clock deadline or interrupt: a node-level verdict, not consensus.
    Timeout,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Abort => "abort",
            Status::Limit => "limit",
            Status::Trap => "trap",
            Status::OutOfGas => "out_of_gas",
            Status::Timeout => "timeout",
        }
    }

    /// Whether the call is charged its whole gas limit (ABI.md: a trap,
    /// running out of gas and a timeout are).
    pub fn costs_whole_limit(self) -> bool {
        matches!(self, Status::Trap | Status::OutOfGas | Status::Timeout)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a caller learns of a finished call.
///
/// Consensus-relevant: `status` (except `Timeout`), `gas_used`,
/// `return_data` and `events` are identical on every node. `logs` and
/// `error` are for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub gas_used: u64,
    pub gas_limit: u64,
    pub return_data: Vec<u8>,
    /// Empty unless the status is `Ok`.
    pub events: Vec<Event>,
    /// Kept whatever the status.
    pub logs: Vec<String>,
    /// What went wrong, in one line, when the status is not `Ok`.
    pub error: Option<String>,
    /// Of `gas_used`, how much host functions charged.
    pub host_gas: u64,
    /// The new contract's address, for a deployment that succeeded.
    pub address: Option<Address>,
    /// For a trap: the WebAssembly frames, innermost first, by function
    /// name where the module has a name section (`func[N]` otherwise).
    pub backtrace: Vec<String>,
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// A deployment without `init` whose price, `gas_used`, was paid.
    pub fn paid_deployment(gas_limit: u64, gas_used: u64) -> Self {
        Self {
            status: Status::Ok,
            gas_used,
            gas_limit,
            return_data: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            error: None,
            host_gas: 0,
            address: None,
            backtrace: Vec::new(),
        }
    }

    /// A deployment of `what` whose gas limit cannot pay its price: out of
    /// gas before any compile work, the whole limit used.
    pub fn unpaid_deployment(gas_limit: u64, price: u64, what: &str) -> Self {
        Self {
            status: Status::OutOfGas,
            gas_used: gas_limit,
            error: Some(format!("out of gas: deploying {what} costs {price} gas, the limit is {gas_limit}")),
            ..Self::paid_deployment(gas_limit, gas_limit)
        }
    }
}

//! xwasm and cosmwasm-vm side by side: one contract deployed in both, the
//! same scripted messages through both ([`Pair`]), each step's result
//! bytes, debug messages and the final storage compared.
//!
//! cosmwasm-vm runs as its own tests run it: `MockApi`, `MockStorage` and
//! `MockQuerier` (the bank balances mirrored from xwasm's), a fresh
//! instance per message as wasmd makes one, the 16 MiB memory limit.

#[path = "../../xwasm-wasmvm/tests/harness/mod.rs"]
pub mod harness;
pub mod wasmvm;

use cosmwasm_std::{Coin, Order};
use cosmwasm_vm::testing::{MockApi, MockQuerier, MockStorage};
use cosmwasm_vm::{Backend, Instance, InstanceOptions, Size, Storage};
use std::collections::HashSet;
use xwasm::cosmwasm::{BlockEnv, EntryPoint};
use xwasm::{Address, CosmwasmMessage, Status, Vm};

/// Gas of one message, in CosmWasm gas: cosmwasm-vm's testing default.
pub const CW_GAS: u64 = 2_000_000_000;
/// The same for xwasm: a CosmWasm call's gas is CosmWasm gas.
pub const GAS: u64 = CW_GAS;
/// Deployments also pay for storing and compiling the code (about 70
/// billion for hackatom).
pub const DEPLOY_GAS: u64 = 1_000_000_000_000;

/// How a message ended in one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The contract returned this `ContractResult` JSON (ok or error).
    Returned(Vec<u8>),
    /// The VM stopped it (a trap, out of gas, an abort): the message.
    Failed(String),
}

impl Ended {
    pub fn text(&self) -> String {
        match self {
            Ended::Returned(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Ended::Failed(message) => format!("failed: {message}"),
        }
    }

    /// Whether both VMs ended the same way: the same bytes, or both
    /// failed.
    pub fn agrees(&self, other: &Ended) -> bool {
        match (self, other) {
            (Ended::Returned(a), Ended::Returned(b)) => a == b,
            (Ended::Failed(_), Ended::Failed(_)) => true,
            _ => false,
        }
    }
}

/// One step's outcome in both VMs.
#[derive(Debug, Clone)]
pub struct Compared {
    pub xwasm: Ended,
    pub peer: Ended,
    pub xwasm_debug: Vec<String>,
    pub peer_debug: Vec<String>,
    pub xwasm_status: Status,
    /// Gas used (internally, externally) in CosmWasm gas.
    pub xwasm_gas: (u64, u64),
    pub peer_gas: (u64, u64),
}

impl Compared {
    /// Panics naming `step` unless both VMs agree.
    pub fn assert_agree(&self, step: &str) -> &Self {
        assert!(
            self.xwasm.agrees(&self.peer),
            "{step}: xwasm and cosmwasm-vm differ\n  xwasm:       {}\n  cosmwasm-vm: {}",
            self.xwasm.text(),
            self.peer.text()
        );
        assert_eq!(self.xwasm_debug, self.peer_debug, "{step}: debug messages differ");
        // xwasm refuses a call of an export the contract lacks before
        // running anything (an error, no gas); cosmwasm-vm copies the
        // arguments in first and fails after: only the failure is compared.
        let refused = self.xwasm_status == Status::Trap && self.xwasm_gas == (0, 0);
        assert!(
            refused || self.xwasm_gas == self.peer_gas,
            "{step}: gas (used internally, externally) differs: xwasm {:?}, cosmwasm-vm {:?} ({})",
            self.xwasm_gas,
            self.peer_gas,
            self.xwasm.text()
        );
        self
    }

    /// Panics unless both contracts returned (so that agreeing compared
    /// bytes, not two failures).
    pub fn returned(&self) -> &Self {
        assert!(matches!(self.xwasm, Ended::Returned(_)), "expected a result, xwasm {}", self.xwasm.text());
        self
    }

    /// Panics unless both VMs stopped the contract.
    pub fn failed(&self) -> &Self {
        assert!(
            matches!(self.xwasm, Ended::Failed(_)),
            "expected a failure, xwasm gave {}",
            self.xwasm.text()
        );
        self
    }
}

type PeerBackend = Backend<MockApi, MockStorage, MockQuerier>;

/// A contract deployed in an xwasm VM and in cosmwasm-vm.
pub struct Pair {
    pub vm: Vm,
    pub address: Address,
    /// The contract's bech32 address, the same in both.
    pub contract: String,
    wasm: Vec<u8>,
    backend: Option<PeerBackend>,
    pub env: BlockEnv,
    /// The gas limit of each later call, in both (CosmWasm gas).
    pub gas: u64,
}

/// The VM of the differential tests: the defaults, whose capabilities
/// are cosmwasm-vm's as it is built here (with `stargate`).
pub fn vm() -> Vm {
    Vm::builder().build().expect("a VM")
}

fn capabilities() -> HashSet<String> {
    cosmwasm_vm::capabilities_from_csv(
        "ibc2,iterator,staking,stargate,cosmwasm_1_1,cosmwasm_1_2,cosmwasm_1_3,cosmwasm_1_4,cosmwasm_2_0,cosmwasm_2_1,cosmwasm_2_2,cosmwasm_3_0",
    )
}

impl Pair {
    /// Deploys `wasm` in both: `instantiate` with `msg` from `sender` with
    /// `funds`.
    pub fn instantiate(wasm: &[u8], sender: &str, msg: &str, funds: &[Coin]) -> (Pair, Compared) {
        let vm = vm();
        let mut message = CosmwasmMessage::new(sender, msg.as_bytes(), DEPLOY_GAS);
        message.funds = funds.to_vec();
        let deployed = vm.cosmwasm_instantiate(wasm, &message, None).expect("xwasm deploys the contract");
        // The address xwasm derived: known only after the deployment, so
        // the peer's run uses it too (contracts see their own address).
        let contract = deployed.contract.clone();
        let address = vm.parse_cosmwasm_address(&contract).expect("a bech32 address");
        cosmwasm_vm::internals::check_wasm(
            wasm,
            &capabilities(),
            &cosmwasm_vm::WasmLimits::default(),
            cosmwasm_vm::internals::Logger::Off,
        )
        .expect("cosmwasm-vm accepts the contract");
        let backend = Backend {
            api: MockApi::default(),
            storage: MockStorage::default(),
            querier: MockQuerier::new(&[]),
        };
        let mut pair = Pair {
            vm,
            address,
            contract,
            wasm: wasm.to_vec(),
            backend: Some(backend),
            env: BlockEnv::default(),
            gas: GAS,
        };
        pair.credit(funds);
        let env = pair.env_json();
        let info = xwasm::cosmwasm::info_json(sender, funds);
        let (peer, peer_debug, peer_gas) =
            pair.peer(|instance| cosmwasm_vm::call_instantiate_raw(instance, &env, &info, msg.as_bytes()));
        let compared = compared(&deployed, peer, peer_debug, peer_gas);
        (pair, compared)
    }

    fn env_json(&self) -> Vec<u8> {
        xwasm::cosmwasm::env_json(&self.env.env(&self.contract))
    }

    /// Mirrors funds sent to the contract into the peer's bank (xwasm's
    /// bank module credits them itself).
    fn credit(&mut self, funds: &[Coin]) {
        if funds.is_empty() {
            return;
        }
        let journal = xwasm::store::Journal::new(self.vm.backend().clone());
        let mut balances = xwasm::cosmwasm::bank::balances(&journal, &self.contract).expect("balances");
        // Before the call xwasm has not credited them yet: add them here.
        for coin in funds {
            match balances.iter_mut().find(|c| c.denom == coin.denom) {
                Some(held) => held.amount += coin.amount,
                None => balances.push(coin.clone()),
            }
        }
        let contract = self.contract.clone();
        if let Some(backend) = &mut self.backend {
            backend.querier.update_balance(contract, balances);
        }
    }

    /// Runs `call` on a fresh cosmwasm-vm instance over the pair's
    /// backend, with a fresh gas limit.
    fn peer(
        &mut self,
        call: impl FnOnce(&mut Instance<MockApi, MockStorage, MockQuerier>) -> cosmwasm_vm::VmResult<Vec<u8>>,
    ) -> (Ended, Vec<String>, (u64, u64)) {
        let mut backend = self.backend.take().expect("the peer's backend");
        // cosmwasm-vm's testing storage keeps the writes of a call that
        // failed; a chain (wasmd's cached context) drops them, as xwasm
        // does. The harness does what the chain would.
        let before = records(&mut backend.storage);
        let options = InstanceOptions { gas_limit: self.gas };
        let mut instance = Instance::from_code(&self.wasm, backend, options, Some(Size::mebi(16)))
            .expect("cosmwasm-vm instantiates the contract");
        let debug = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let sink = debug.clone();
        instance.set_debug_handler(move |message, _| sink.borrow_mut().push(message.to_owned()));
        let result = call(&mut instance);
        let report = instance.create_gas_report();
        let gas = (report.used_internally, report.used_externally);
        self.backend = instance.recycle();
        let failed = match &result {
            Ok(bytes) => xwasm::cosmwasm::contract_error(bytes).is_some(),
            Err(_) => true,
        };
        if failed && let Some(backend) = &mut self.backend {
            let mut storage = MockStorage::default();
            for (key, value) in before {
                let _ = storage.set(&key, &value);
            }
            backend.storage = storage;
        }
        let ended = match result {
            Ok(bytes) => Ended::Returned(bytes),
            Err(error) => Ended::Failed(error.to_string()),
        };
        let debug = debug.borrow().clone();
        (ended, debug, gas)
    }

    /// `execute` with `msg` from `sender` with `funds`.
    pub fn execute(&mut self, sender: &str, msg: &str, funds: &[Coin]) -> Compared {
        self.execute_bytes(sender, msg.as_bytes(), funds)
    }

    /// `execute` with any bytes as the message (both VMs pass them on).
    pub fn execute_bytes(&mut self, sender: &str, msg: &[u8], funds: &[Coin]) -> Compared {
        self.credit(funds);
        let env = self.env_json();
        let info = xwasm::cosmwasm::info_json(sender, funds);
        let (peer, peer_debug, peer_gas) = self.peer(|i| cosmwasm_vm::call_execute_raw(i, &env, &info, msg));
        let mut message = CosmwasmMessage::new(sender, msg, self.gas);
        message.env = self.env.clone();
        message.funds = funds.to_vec();
        let done =
            self.vm.cosmwasm_call(&self.address, EntryPoint::Execute, &message).unwrap_or_else(refused);
        compared(&done, peer, peer_debug, peer_gas)
    }

    /// `query` with `msg`.
    pub fn query(&mut self, msg: &str) -> Compared {
        let env = self.env_json();
        let (peer, peer_debug, peer_gas) =
            self.peer(|i| cosmwasm_vm::call_query_raw(i, &env, msg.as_bytes()));
        let done = self
            .vm
            .cosmwasm_query(&self.address, msg.as_bytes(), &self.env, self.gas)
            .unwrap_or_else(refused);
        compared(&done, peer, peer_debug, peer_gas)
    }

    /// `sudo` with `msg`.
    pub fn sudo(&mut self, msg: &str) -> Compared {
        let env = self.env_json();
        let (peer, peer_debug, peer_gas) = self.peer(|i| cosmwasm_vm::call_sudo_raw(i, &env, msg.as_bytes()));
        let message = self.message(&self.contract.clone(), msg);
        let done = self.vm.cosmwasm_call(&self.address, EntryPoint::Sudo, &message).unwrap_or_else(refused);
        compared(&done, peer, peer_debug, peer_gas)
    }

    /// `migrate` of the current code with `msg` from `sender` (the admin),
    /// with MigrateInfo where the export takes it.
    pub fn migrate(&mut self, sender: &str, msg: &str) -> Compared {
        let env = self.env_json();
        let version = xwasm::cosmwasm::migrate_version(&self.wasm);
        let info = xwasm::cosmwasm::migrate_info_json(sender, version);
        let arity = self.vm.function_type(&self.wasm, "migrate").ok().flatten().map(|ty| ty.params().len());
        let three = arity == Some(3);
        let (peer, peer_debug, peer_gas) = self.peer(|i| {
            if three {
                cosmwasm_vm::call_migrate_with_info_raw(i, &env, msg.as_bytes(), &info)
            } else {
                cosmwasm_vm::call_migrate_raw(i, &env, msg.as_bytes())
            }
        });
        let message = self.message(sender, msg);
        let done =
            self.vm.cosmwasm_call(&self.address, EntryPoint::Migrate, &message).unwrap_or_else(refused);
        compared(&done, peer, peer_debug, peer_gas)
    }

    /// Any other export with `(env, msg)` (the IBC entry points).
    pub fn call_export(&mut self, export: &str, msg: &str) -> Compared {
        let env = self.env_json();
        let name = export.to_owned();
        let (peer, peer_debug, peer_gas) = self.peer(|i| match name.as_str() {
            "ibc_channel_open" => cosmwasm_vm::call_ibc_channel_open_raw(i, &env, msg.as_bytes()),
            "ibc_channel_connect" => cosmwasm_vm::call_ibc_channel_connect_raw(i, &env, msg.as_bytes()),
            "ibc_channel_close" => cosmwasm_vm::call_ibc_channel_close_raw(i, &env, msg.as_bytes()),
            "ibc_packet_receive" => cosmwasm_vm::call_ibc_packet_receive_raw(i, &env, msg.as_bytes()),
            "ibc_packet_ack" => cosmwasm_vm::call_ibc_packet_ack_raw(i, &env, msg.as_bytes()),
            "ibc_packet_timeout" => cosmwasm_vm::call_ibc_packet_timeout_raw(i, &env, msg.as_bytes()),
            "reply" => cosmwasm_vm::call_reply_raw(i, &env, msg.as_bytes()),
            other => panic!("no raw call for {other}"),
        });
        let message = self.message(&self.contract.clone(), msg);
        let done = self.vm.cosmwasm_call_export(&self.address, export, &message).unwrap_or_else(refused);
        compared(&done, peer, peer_debug, peer_gas)
    }

    fn message(&self, sender: &str, msg: &str) -> CosmwasmMessage {
        let mut message = CosmwasmMessage::new(sender, msg.as_bytes(), self.gas);
        message.env = self.env.clone();
        message
    }

    /// The contract's storage in xwasm and in cosmwasm-vm, which must be
    /// equal.
    pub fn assert_storage_equal(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let ours = self.vm.storage(&self.address).expect("xwasm's storage");
        let theirs = records(&mut self.backend.as_mut().expect("the peer's backend").storage);
        assert_eq!(ours, theirs, "the contract's storage differs");
        ours
    }
}

/// Every record of a cosmwasm-vm testing storage, in key order.
pub fn records(storage: &mut MockStorage) -> Vec<(Vec<u8>, Vec<u8>)> {
    let (id, _) = storage.scan(None, None, Order::Ascending);
    let id = id.expect("a scan");
    let mut all = Vec::new();
    while let (Ok(Some(record)), _) = storage.next(id) {
        all.push(record);
    }
    all
}

/// A call xwasm refused outright (an export the contract lacks, say):
/// cosmwasm-vm fails those too.
fn refused(error: xwasm::VmError) -> xwasm::CosmwasmOutcome {
    let outcome = xwasm::Outcome {
        status: Status::Trap,
        error: Some(error.to_string()),
        ..xwasm::Outcome::unpaid_deployment(0, 0, "")
    };
    xwasm::CosmwasmOutcome {
        outcome,
        result: None,
        gas_report: Default::default(),
        debug: Vec::new(),
        code_gas: 0,
        contract: String::new(),
        out_of_gas_in_import: false,
    }
}

fn ended(done: &xwasm::CosmwasmOutcome) -> Ended {
    match &done.result {
        Some(bytes) => Ended::Returned(bytes.clone()),
        None => Ended::Failed(done.outcome.error.clone().unwrap_or_default()),
    }
}

fn compared(
    done: &xwasm::CosmwasmOutcome,
    peer: Ended,
    peer_debug: Vec<String>,
    peer_gas: (u64, u64),
) -> Compared {
    Compared {
        xwasm: ended(done),
        xwasm_debug: done.debug.clone(),
        xwasm_status: done.outcome.status,
        xwasm_gas: (done.gas_report.used_internally, done.gas_report.used_externally),
        peer,
        peer_debug,
        peer_gas,
    }
}

//! The `cosmwasm` profile wired into the pipeline: CosmWasm contracts
//! deploy and run on the same policy, rewrite, caches, journal and
//! monitor as native ones, with cosmwasm-vm's imports and entry points
//! (`xwasm-cosmwasm`).
//!
//! The contract's `Response` is returned, not dispatched: sending funds,
//! running sub-messages and replies is the chain's job.

use crate::calls::Frame;
use crate::trace::Trace;
use crate::{Vm, VmError};
use cosmwasm_std::{Binary, Coin, ContractResult};
use std::sync::{Arc, Weak};
use xwasm_cosmwasm::{AddressApi, BlockEnv, CallState, EntryCall, EntryPoint, QueryContext, SmartQuerier};
use xwasm_exec::{Budget, Entry, Outcome, Status};
use xwasm_linker::HostRegistry;
use xwasm_security::{AuditKind, FuncSig, ImportSpec, ModulePolicy, Profile};
use xwasm_store::{Address, ChainContext, ContractRecord, Journal, Transaction, WasmContext, keys};

/// The profile's policy, linkers and chain services, built once per VM.
pub(crate) struct Layer {
    pub(crate) policy: ModulePolicy,
    pub(crate) linker: wasmtime::Linker<WasmContext>,
    /// The linker of the baseline tier's engine, in a tiered VM.
    pub(crate) baseline_linker: Option<wasmtime::Linker<WasmContext>>,
    pub(crate) config: Arc<xwasm_cosmwasm::CosmwasmConfig>,
    pub(crate) bech32: xwasm_cosmwasm::Bech32Api,
    pub(crate) api: Arc<dyn AddressApi>,
    pub(crate) querier: Arc<dyn xwasm_cosmwasm::Querier>,
}

impl Layer {
    pub(crate) fn build(
        config: &crate::VmConfig,
        native: &ModulePolicy,
        engine: &wasmtime::Engine,
        baseline: Option<&wasmtime::Engine>,
        api: Option<Arc<dyn AddressApi>>,
        querier: Option<Arc<dyn xwasm_cosmwasm::Querier>>,
    ) -> Result<Self, VmError> {
        let mut registry = HostRegistry::new();
        for function in xwasm_cosmwasm::imports() {
            registry.add(function);
        }
        // The load-time rewrite's own import, for modules that use bulk
        // instructions (cosmwasm-vm refuses those, but the rewrite is the
        // same for every profile).
        for function in xwasm_host::internal_functions(Arc::new(config.gas.clone())) {
            registry.add(function);
        }
        let all = |_: &xwasm_linker::HostFnDescriptor| true;
        let linker = registry.build_linker(engine, &all)?;
        let baseline_linker = baseline.map(|engine| registry.build_linker(engine, &all)).transpose()?;
        let allowed = registry
            .descriptors()
            .filter(|d| d.namespace == xwasm_cosmwasm::NAMESPACE)
            .map(|d| ImportSpec {
                module: d.namespace.to_owned(),
                name: d.name.to_owned(),
                signature: FuncSig::new(&crate::vm::val_types(d.params), &crate::vm::val_types(d.results)),
            })
            .collect();
        let mut policy = ModulePolicy::new(Profile::Cosmwasm, allowed);
        policy.limits = native.limits.clone();
        policy.allow_floats = true;
        policy.stack_limit = native.stack_limit;
        // cosmwasm-vm's meter: its gas, charged where it charges.
        policy.rewrite = xwasm_security::preprocess::RewriteOptions {
            meter: xwasm_security::preprocess::Meter::Cosmwasm,
            ..native.rewrite
        };
        let cw = Arc::new(config.cosmwasm.clone());
        let bech32 = xwasm_cosmwasm::Bech32Api::new(cw.bech32_prefix.clone())
            .with_costs(cw.gas.canonicalize, cw.gas.humanize);
        let api = api.unwrap_or_else(|| Arc::new(bech32.clone()));
        let querier =
            querier.unwrap_or_else(|| Arc::new(xwasm_cosmwasm::DefaultQuerier::new(bech32.clone(), &cw.gas)));
        Ok(Self { policy, linker, baseline_linker, config: cw, bech32, api, querier })
    }
}

/// A message to a CosmWasm contract: who sends it, with what funds, in
/// which block.
#[derive(Debug, Clone)]
pub struct CosmwasmMessage {
    /// The sender's address: bech32 with the VM's prefix, or 64 hex
    /// characters (an xwasm address).
    pub sender: String,
    pub funds: Vec<Coin>,
    /// The message, JSON. Passed to the contract as it is, as cosmwasm-vm
    /// does (the contract's own parse error answers bytes that are not
    /// JSON); a chain checks it first, as the CLI does.
    pub msg: Vec<u8>,
    pub env: BlockEnv,
    /// Gas for the call, in xwasm gas.
    pub gas_limit: u64,
}

impl CosmwasmMessage {
    /// `msg` from `sender`, no funds, in the default block.
    pub fn new(sender: impl Into<String>, msg: impl Into<Vec<u8>>, gas_limit: u64) -> Self {
        Self {
            sender: sender.into(),
            funds: Vec::new(),
            msg: msg.into(),
            env: BlockEnv::default(),
            gas_limit,
        }
    }
}

/// cosmwasm-vm's `GasReport` of a call, in CosmWasm gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GasReport {
    pub limit: u64,
    pub remaining: u64,
    pub used_externally: u64,
    pub used_internally: u64,
}

/// How a CosmWasm call ended.
#[derive(Debug, Clone)]
pub struct CosmwasmOutcome {
    /// The status and gas as for any call. A contract that returns
    /// `{"error": ...}` ends with status `abort` and its error string, and
    /// nothing it wrote is kept.
    pub outcome: Outcome,
    /// The contract's `ContractResult` JSON, as it returned it (none when
    /// it did not return: a trap, out of gas, an abort).
    pub result: Option<Vec<u8>>,
    pub gas_report: GasReport,
    /// What the contract passed to `debug`, in order.
    pub debug: Vec<String>,
    /// The price of storing and compiling new code (a deployment only),
    /// apart from the call's gas.
    pub code_gas: u64,
    /// The contract's bech32 address.
    pub contract: String,
}

impl CosmwasmOutcome {
    /// The `ok` payload of the result, if the contract succeeded.
    pub fn ok(&self) -> Option<serde_json::Value> {
        let value: serde_json::Value = serde_json::from_slice(self.result.as_ref()?).ok()?;
        value.get("ok").cloned()
    }
}

use xwasm_cosmwasm::bank::admin_key;

impl Vm {
    /// The bech32 address of `address` under this VM's prefix.
    pub fn cosmwasm_address(&self, address: &Address) -> String {
        self.inner.cosmwasm.bech32.encode(&address.0).unwrap_or_else(|_| address.to_string())
    }

    /// An address given as bech32 (this VM's prefix, 32 bytes) or as 64
    /// hex characters.
    pub fn parse_cosmwasm_address(&self, text: &str) -> Result<Address, VmError> {
        if text.len() == 64
            && let Ok(address) = text.parse::<Address>()
        {
            return Ok(address);
        }
        let (canonical, _) = self.inner.cosmwasm.bech32.canonicalize(text);
        let canonical = canonical.map_err(|error| {
            let reason = match error {
                xwasm_cosmwasm::ApiError::User(m) | xwasm_cosmwasm::ApiError::Backend(m) => m,
            };
            VmError::BadInput(format!(
                "`{text}` is not an address (bech32 with prefix `{}`, or 64 hex characters): {reason}",
                self.inner.cosmwasm.bech32.prefix()
            ))
        })?;
        let bytes: [u8; 32] = canonical.as_slice().try_into().map_err(|_| {
            VmError::BadInput(format!("`{text}` holds {} bytes, not an xwasm address of 32", canonical.len()))
        })?;
        Ok(Address(bytes))
    }

    /// Deploys a CosmWasm contract and runs its `instantiate` with
    /// `message`. The deployment is priced as any (`code_gas`, charged
    /// first); `instantiate` runs on what is left. `admin` may migrate the
    /// contract (default: the sender). Funds are credited to the new
    /// contract's balance before the call.
    pub fn cosmwasm_instantiate(
        &self,
        wasm: &[u8],
        message: &CosmwasmMessage,
        admin: Option<&str>,
    ) -> Result<CosmwasmOutcome, VmError> {
        self.instantiate_on(self.inner.backend.clone(), wasm, message, admin)
    }

    /// [`Vm::cosmwasm_instantiate`] of code already stored on chain, named
    /// by its hash (as wasmd instantiates a code id): nothing is hashed,
    /// checked or compiled again.
    pub fn cosmwasm_instantiate_stored(
        &self,
        code_hash: &xwasm_store::CodeHash,
        message: &CosmwasmMessage,
        admin: Option<&str>,
    ) -> Result<CosmwasmOutcome, VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        if !journal.contains(&keys::code(code_hash))? {
            return Err(VmError::BadInput(format!("no code with hash {} is stored", hex::encode(code_hash))));
        }
        // Stored code's bytes are read only if the memory tier misses.
        self.instantiate_with_hash(self.inner.backend.clone(), *code_hash, &[], message, admin)
    }

    pub(crate) fn instantiate_on(
        &self,
        backend: Arc<dyn xwasm_store::StateBackend>,
        wasm: &[u8],
        message: &CosmwasmMessage,
        admin: Option<&str>,
    ) -> Result<CosmwasmOutcome, VmError> {
        self.instantiate_with_hash(backend, xwasm_security::code_hash(wasm), wasm, message, admin)
    }

    fn instantiate_with_hash(
        &self,
        backend: Arc<dyn xwasm_store::StateBackend>,
        code_hash: xwasm_store::CodeHash,
        wasm: &[u8],
        message: &CosmwasmMessage,
        admin: Option<&str>,
    ) -> Result<CosmwasmOutcome, VmError> {
        let sender = self.parse_cosmwasm_address(&message.sender)?;
        let admin = admin.map(|admin| self.parse_cosmwasm_address(admin)).transpose()?.unwrap_or(sender);
        let mut trace = Trace::start("deploy", self.detailed());
        let mut journal = Journal::new(backend);
        let tx = Transaction::new(sender, message.gas_limit, message.msg.clone());
        let refused = |error: VmError| {
            if error.is_policy_violation() {
                self.audit(AuditKind::PolicyRefusal, None, "", &tx, "refused", 0, Some(error.to_string()));
            }
            error
        };
        let price = self
            .price_code(&journal, &code_hash, wasm, message.gas_limit, crate::code::CodeProfile::Cosmwasm)
            .map_err(refused)?;
        let code_stored = price.stored();
        let (code_gas, checked) = match price {
            crate::code::CodePrice::Paid { gas, checked } => (gas, checked),
            crate::code::CodePrice::Unpaid { price, what } => {
                let outcome = Outcome::unpaid_deployment(message.gas_limit, price, &what);
                self.report(trace, AuditKind::Deploy, &Address([0; 32]), "instantiate", &tx, &outcome);
                return Ok(self.unpaid_outcome(outcome, price, String::new()));
            }
        };
        let stored = |journal: &Journal| -> Result<Arc<[u8]>, VmError> {
            let missing =
                || VmError::BadInput(format!("no code with hash {} is stored", hex::encode(code_hash)));
            Ok(Arc::from(journal.get(&keys::code(&code_hash))?.ok_or_else(missing)?))
        };
        let bytes = || if wasm.is_empty() { stored(&journal) } else { Ok(Arc::from(wasm)) };
        let (code, source) = self.load_checked_code(code_hash, bytes, checked)?;
        trace.loaded(source, &code);
        if !code.is_cosmwasm() {
            return Err(VmError::Profile(
                "the code is not a CosmWasm contract (no interface_version_8 export)".into(),
            ));
        }
        let new_code = (!code_stored).then_some(wasm);
        let (address, _) = crate::calls::record_deployment(&mut journal, &sender, code_hash, new_code)?;
        journal.set(admin_key(&address), admin.0.to_vec());
        let mut run = message.clone();
        run.gas_limit = message.gas_limit - code_gas;
        let mut done =
            self.run_entry(&mut trace, journal, &code, address, EntryPoint::Instantiate.name(), &run, false)?;
        done.code_gas = code_gas;
        done.outcome.gas_used = done.outcome.gas_used.saturating_add(code_gas);
        done.outcome.gas_limit = message.gas_limit;
        if done.outcome.is_ok() {
            done.outcome.address = Some(address);
        }
        self.report(trace, AuditKind::Deploy, &address, "instantiate", &tx, &done.outcome);
        Ok(done)
    }

    /// Runs `entry` (`execute`, `sudo`, `reply`, `migrate` without new
    /// code, or `query`) of the CosmWasm contract at `address`.
    pub fn cosmwasm_call(
        &self,
        address: &Address,
        entry: EntryPoint,
        message: &CosmwasmMessage,
    ) -> Result<CosmwasmOutcome, VmError> {
        match entry {
            EntryPoint::Instantiate => {
                Err(VmError::BadInput("`instantiate` runs only when a contract is deployed".into()))
            }
            EntryPoint::Migrate => self.cosmwasm_migrate(address, None, message),
            other => self.cosmwasm_call_export(address, other.name(), message),
        }
    }

    /// Runs the CosmWasm contract's export `export` with `(env, info, msg)`
    /// for `execute`, `(env, msg)` for every other entry point (`sudo`,
    /// `reply`, `query`, the IBC ones): JSON in, JSON out.
    pub fn cosmwasm_call_export(
        &self,
        address: &Address,
        export: &str,
        message: &CosmwasmMessage,
    ) -> Result<CosmwasmOutcome, VmError> {
        let read_only = export == "query";
        let mut trace = Trace::start(if read_only { "query" } else { "call" }, self.detailed());
        let journal = Journal::new(self.inner.backend.clone());
        let (record, code) = self.cosmwasm_code(&journal, address, &mut trace)?;
        let info = code.cosmwasm.as_ref().expect("checked by cosmwasm_code");
        if !info.entry_points.iter().any(|e| e == export) && code.info.export(export).is_none() {
            return Err(VmError::UnknownMethod {
                address: *address,
                method: export.to_owned(),
                available: info.entry_points.join(", "),
            });
        }
        let sender = self.parse_cosmwasm_address(&message.sender)?;
        let tx = Transaction::new(sender, message.gas_limit, message.msg.clone());
        let done = self.run_entry(&mut trace, journal, &code, *address, export, message, read_only)?;
        let kind = if read_only { AuditKind::Query } else { AuditKind::Call };
        let _ = record;
        self.report(trace, kind, address, export, &tx, &done.outcome);
        Ok(done)
    }

    /// Queries the CosmWasm contract at `address` with `msg` (read-only:
    /// a write traps, as in cosmwasm-vm).
    pub fn cosmwasm_query(
        &self,
        address: &Address,
        msg: &[u8],
        env: &BlockEnv,
        gas_limit: u64,
    ) -> Result<CosmwasmOutcome, VmError> {
        let sender = self.cosmwasm_address(address);
        let message =
            CosmwasmMessage { sender, funds: Vec::new(), msg: msg.to_vec(), env: env.clone(), gas_limit };
        self.cosmwasm_call_export(address, "query", &message)
    }

    /// The outcome of a deployment whose gas limit could not pay `price`
    /// for its code.
    fn unpaid_outcome(&self, outcome: Outcome, price: u64, contract: String) -> CosmwasmOutcome {
        CosmwasmOutcome {
            gas_report: gas_report(&self.inner.cosmwasm.config, &outcome, 0),
            outcome,
            result: None,
            debug: Vec::new(),
            code_gas: price,
            contract,
        }
    }

    /// A contract upgrade, as on a CosmWasm chain: runs the `migrate`
    /// entry point of `new_code` (or of the current code) and switches the
    /// contract to that code when it returns ok. Only the contract's admin
    /// may migrate. `MigrateInfo` carries the sender and the current
    /// code's `cw_migrate_version`, as wasmd passes it.
    pub fn cosmwasm_migrate(
        &self,
        address: &Address,
        new_code: Option<&[u8]>,
        message: &CosmwasmMessage,
    ) -> Result<CosmwasmOutcome, VmError> {
        let sender = self.parse_cosmwasm_address(&message.sender)?;
        let mut trace = Trace::start("call", self.detailed());
        let mut journal = Journal::new(self.inner.backend.clone());
        let (record, current) = self.cosmwasm_code(&journal, address, &mut trace)?;
        let admin = journal.get(&admin_key(address))?.unwrap_or_else(|| record.owner.0.to_vec());
        if admin != sender.0 {
            return Err(VmError::BadInput(format!(
                "{} may not migrate contract {}: only its admin may",
                message.sender,
                self.cosmwasm_address(address)
            )));
        }
        let old_wasm =
            journal.get(&keys::code(&record.code_hash))?.ok_or(VmError::MissingCode { address: *address })?;
        let old_version = xwasm_cosmwasm::migrate_version(&old_wasm);
        let mut code_gas = 0;
        let code = match new_code {
            None => current,
            Some(wasm) => {
                let code_hash = xwasm_security::code_hash(wasm);
                let price = self.price_code(
                    &journal,
                    &code_hash,
                    wasm,
                    message.gas_limit,
                    crate::code::CodeProfile::Cosmwasm,
                )?;
                let stored = price.stored();
                let checked = match price {
                    crate::code::CodePrice::Paid { gas, checked } => {
                        code_gas = gas;
                        checked
                    }
                    crate::code::CodePrice::Unpaid { price, what } => {
                        let outcome = Outcome::unpaid_deployment(message.gas_limit, price, &what);
                        return Ok(self.unpaid_outcome(outcome, price, self.cosmwasm_address(address)));
                    }
                };
                if !stored {
                    journal.set(keys::code(&code_hash), wasm.to_vec());
                }
                let (code, source) = self.load_checked_code(code_hash, || Ok(Arc::from(wasm)), checked)?;
                trace.loaded(source, &code);
                if !code.is_cosmwasm() {
                    return Err(VmError::Profile("the new code is not a CosmWasm contract".into()));
                }
                journal.set(
                    keys::contract(address),
                    ContractRecord { code_hash, owner: record.owner }.to_bytes(),
                );
                code
            }
        };
        let info = xwasm_cosmwasm::migrate_info_json(&message.sender, old_version);
        let mut run = message.clone();
        run.gas_limit = message.gas_limit - code_gas;
        let migrate = MigrateCall { info };
        let mut done = self.run_entry_with(
            &mut trace,
            journal,
            &code,
            *address,
            "migrate",
            &run,
            EntryRun { migrate: Some(&migrate), ..EntryRun::default() },
        )?;
        done.code_gas = code_gas;
        done.outcome.gas_used = done.outcome.gas_used.saturating_add(code_gas);
        done.outcome.gas_limit = message.gas_limit;
        if done.outcome.is_ok() {
            // The record changed: forget the cached one.
            self.inner.contracts.remove(address);
        }
        let tx = Transaction::new(sender, message.gas_limit, message.msg.clone());
        self.report(trace, AuditKind::Call, address, "migrate", &tx, &done.outcome);
        Ok(done)
    }

    /// A fresh instance of the CosmWasm contract at `address`, set up as
    /// every call sets one up (store, instance, memory and gas resolved),
    /// and dropped without running an entry point: what instance creation
    /// costs, for measurements.
    pub fn cosmwasm_instance(&self, address: &Address) -> Result<(), VmError> {
        struct Nothing;
        impl xwasm_exec::Driver for Nothing {
            fn drive(
                &self,
                _: &mut wasmtime::Store<WasmContext>,
                _: &wasmtime::Instance,
            ) -> wasmtime::Result<()> {
                Ok(())
            }
        }
        let journal = Journal::new(self.inner.backend.clone());
        let mut trace = Trace::start("call", false);
        let (_, code) = self.cosmwasm_code(&journal, address, &mut trace)?;
        let layer = &self.inner.cosmwasm;
        let state = CallState::new(layer.config.clone(), layer.api.clone(), layer.querier.clone());
        let frame =
            Frame::cosmwasm(&code, *address, ChainContext::default(), *address, journal, true, state, None);
        let entry = Entry::Driven { name: "instance", driver: &Nothing };
        self.execute_frame(frame, entry, Budget::gas(1))?;
        Ok(())
    }

    /// Whether the contract at `address` is a CosmWasm contract (its code
    /// exports `interface_version_8`, or an older marker).
    pub fn is_cosmwasm_contract(&self, address: &Address) -> Result<bool, VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        let key = keys::contract(address);
        let bytes = journal.get(&key)?.ok_or(VmError::NoContract { address: *address })?;
        let record = ContractRecord::from_bytes(&bytes).ok_or(xwasm_store::StateError::CorruptRecord {
            key_hex: hex::encode(&key),
            what: "contract record",
        })?;
        let wasm =
            journal.get(&keys::code(&record.code_hash))?.ok_or(VmError::MissingCode { address: *address })?;
        Ok(xwasm_cosmwasm::detect(&wasm).is_some())
    }

    /// Sets `holder`'s bank balances of `coins`' denoms (the default
    /// querier answers from them; other denoms are kept).
    pub fn cosmwasm_set_balances(&self, holder: &str, coins: &[Coin]) -> Result<(), VmError> {
        let mut journal = Journal::new(self.inner.backend.clone());
        for coin in coins {
            xwasm_cosmwasm::bank::set_balance(&mut journal, holder, coin)
                .map_err(|e| VmError::BadInput(format!("cannot set the balance: {e}")))?;
        }
        Ok(journal.commit()?)
    }

    /// `holder`'s bank balances, by denom.
    pub fn cosmwasm_balances(&self, holder: &str) -> Result<Vec<Coin>, VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        Ok(xwasm_cosmwasm::bank::balances(&journal, holder)?)
    }

    /// The contract at `address` and its code, which must be CosmWasm's.
    fn cosmwasm_code(
        &self,
        journal: &Journal,
        address: &Address,
        trace: &mut Trace,
    ) -> Result<(ContractRecord, Arc<crate::LoadedCode>), VmError> {
        let record = self.record(journal, address)?;
        let (code, source) = self.stored_code(journal, address, &record)?;
        trace.loaded(source, &code);
        if !code.is_cosmwasm() {
            return Err(VmError::Profile(format!(
                "contract {address} is not a CosmWasm contract: call its methods with `call`"
            )));
        }
        Ok((record, code))
    }

    #[allow(clippy::too_many_arguments)]
    fn run_entry(
        &self,
        trace: &mut Trace,
        journal: Journal,
        code: &crate::LoadedCode,
        address: Address,
        export: &str,
        message: &CosmwasmMessage,
        read_only: bool,
    ) -> Result<CosmwasmOutcome, VmError> {
        let how = EntryRun { read_only, ..EntryRun::default() };
        self.run_entry_with(trace, journal, code, address, export, message, how)
    }

    /// Runs `export` of the CosmWasm contract at `address` on `executor`
    /// (the profiler's sampling one) and commits nothing.
    pub(crate) fn cosmwasm_dry_run(
        &self,
        executor: &xwasm_exec::Executor,
        address: &Address,
        export: &str,
        message: &CosmwasmMessage,
    ) -> Result<(CosmwasmOutcome, Arc<crate::LoadedCode>), VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        let mut trace = Trace::start("call", false);
        let (_, code) = self.cosmwasm_code(&journal, address, &mut trace)?;
        let how = EntryRun {
            read_only: export == "query",
            executor: Some(executor),
            dry_run: true,
            ..EntryRun::default()
        };
        let done = self.run_entry_with(&mut trace, journal, &code, *address, export, message, how)?;
        Ok((done, code))
    }

    /// The code of the CosmWasm contract at `address`.
    pub(crate) fn cosmwasm_loaded(&self, address: &Address) -> Result<Arc<crate::LoadedCode>, VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        Ok(self.cosmwasm_code(&journal, address, &mut Trace::start("call", false))?.1)
    }

    /// Runs one entry point in a fresh instance and settles it: commits
    /// only an `ok` result of a call that may write.
    #[allow(clippy::too_many_arguments)]
    fn run_entry_with(
        &self,
        trace: &mut Trace,
        mut journal: Journal,
        code: &crate::LoadedCode,
        address: Address,
        export: &str,
        message: &CosmwasmMessage,
        how: EntryRun<'_>,
    ) -> Result<CosmwasmOutcome, VmError> {
        let EntryRun { read_only, migrate, executor, dry_run, nested } = how;
        let layer = &self.inner.cosmwasm;
        let contract = self.cosmwasm_address(&address);
        if !message.funds.is_empty() {
            xwasm_cosmwasm::bank::credit(&mut journal, &contract, &message.funds)
                .map_err(|e| VmError::BadInput(format!("cannot credit the funds: {e}")))?;
        }
        let env = xwasm_cosmwasm::env_json(&message.env.env(&contract));
        let args = match export {
            "instantiate" | "execute" => {
                vec![env, xwasm_cosmwasm::info_json(&message.sender, &message.funds), message.msg.clone()]
            }
            "migrate" => {
                let mut args = vec![env, message.msg.clone()];
                // A 3-argument migrate gets MigrateInfo (std 2.2+).
                let arity = code
                    .module
                    .get_export("migrate")
                    .and_then(|e| e.func().map(|f| f.params().len()))
                    .unwrap_or(2);
                if arity == 3
                    && let Some(migrate) = migrate
                {
                    args.push(migrate.info.clone());
                }
                args
            }
            _ => vec![env, message.msg.clone()],
        };
        let mut state = CallState::new(layer.config.clone(), layer.api.clone(), layer.querier.clone());
        state.smart = Some(Arc::new(SmartQueries(Arc::downgrade(&self.inner))));
        let frame = Frame::cosmwasm(
            code,
            address,
            ChainContext {
                block_height: message.env.height,
                block_time_ms: message.env.time_nanos / 1_000_000,
            },
            self.parse_cosmwasm_address(&message.sender).unwrap_or(address),
            journal,
            read_only,
            state,
            self.inner.config.timeout_ms,
        );
        let frame = match nested {
            Some((depth, stack_base, stop)) => frame.nested(depth, stack_base, stop),
            None => frame,
        };
        let driver = EntryCall { export: export.to_owned(), args };
        let entry = Entry::Driven { name: export, driver: &driver };
        let budget = Budget { gas_limit: message.gas_limit, timed: trace.detailed() };
        let execution = match executor {
            Some(executor) => self.execute_on(executor, frame, entry, budget)?,
            None => self.execute_frame(frame, entry, budget)?,
        };
        trace.ran(&execution);
        let gas_left = execution.gas_left;
        let (mut outcome, mut context) = execution.into_parts();
        // As cosmwasm-vm: a call uses what ran, a trap included (out of
        // gas leaves none).
        outcome.gas_used = outcome.gas_limit - gas_left;
        let state = context
            .extension
            .take()
            .and_then(|e| e.0.downcast::<CallState>().ok())
            .map(|state| *state)
            .ok_or_else(|| VmError::Link { reason: "the cosmwasm call state went missing".into() })?;
        if let Some(xwasm_store::Halt::Abort(message)) = &context.halt {
            // As cosmwasm-vm words it (std's panic handler calls `abort`).
            outcome.error = Some(format!("Aborted: {message}"));
        }
        let result = if outcome.status == Status::Ok { state.result.clone() } else { None };
        if let Some(result) = &result {
            if let Some(error) = xwasm_cosmwasm::contract_error(result) {
                outcome.status = Status::Abort;
                outcome.error = Some(error);
                outcome.events.clear();
            }
            outcome.return_data = result.clone();
        }
        if outcome.status == Status::Ok && !read_only && !dry_run {
            trace.commit(|| context.journal.commit())?;
        }
        Ok(CosmwasmOutcome {
            gas_report: gas_report(&layer.config, &outcome, state.used_externally),
            outcome,
            result,
            debug: state.debug,
            code_gas: 0,
            contract,
        })
    }
}

/// How an entry point runs.
#[derive(Default, Clone)]
struct EntryRun<'a> {
    read_only: bool,
    migrate: Option<&'a MigrateCall>,
    /// Another executor than the code's tier's (the profiler's).
    executor: Option<&'a xwasm_exec::Executor>,
    /// Commit nothing, whatever the outcome.
    dry_run: bool,
    /// A nested query's depth, the stack units its callers use and their
    /// deadline and interrupt.
    nested: Option<(u32, u32, xwasm_store::StopSignal)>,
}

/// The `MigrateInfo` a migration passes (as JSON).
struct MigrateCall {
    info: Vec<u8>,
}

fn gas_report(config: &xwasm_cosmwasm::CosmwasmConfig, outcome: &Outcome, used_externally: u64) -> GasReport {
    let limit = config.to_cw_gas(outcome.gas_limit);
    let remaining = match outcome.status {
        Status::OutOfGas => 0,
        _ => config.to_cw_gas(outcome.gas_limit.saturating_sub(outcome.gas_used)),
    };
    GasReport {
        limit,
        remaining,
        used_externally,
        used_internally: limit.saturating_sub(used_externally).saturating_sub(remaining),
    }
}

/// `wasm` smart queries of CosmWasm contracts against the contracts of
/// this VM: a nested, read-only `query` over the calling transaction's
/// state.
struct SmartQueries(Weak<crate::vm::Inner>);

impl SmartQuerier for SmartQueries {
    fn smart(
        &self,
        contract: &Address,
        msg: &[u8],
        context: &QueryContext<'_>,
    ) -> Option<(Result<ContractResult<Binary>, String>, u64)> {
        let vm = Vm { inner: self.0.upgrade()? };
        if context.depth + 1 >= vm.inner.config.limits.max_call_depth {
            return Some((Err("query depth exceeds the limit".into()), 0));
        }
        let journal = context.journal.fork();
        let mut trace = Trace::start("nested", false);
        let (_, code) = vm.cosmwasm_code(&journal, contract, &mut trace).ok()?;
        let config = &vm.inner.cosmwasm.config;
        let message = CosmwasmMessage {
            sender: vm.cosmwasm_address(contract),
            funds: Vec::new(),
            msg: msg.to_vec(),
            env: BlockEnv {
                height: context.chain.block_height,
                time_nanos: context.chain.block_time_ms.saturating_mul(1_000_000),
                ..BlockEnv::default()
            },
            gas_limit: context.gas_limit / config.cw_gas_per_gas.max(1),
        };
        let how = EntryRun {
            read_only: true,
            nested: Some((context.depth + 1, context.stack_used, context.stop.clone())),
            ..EntryRun::default()
        };
        let done = match vm.run_entry_with(&mut trace, journal, &code, *contract, "query", &message, how) {
            Ok(done) => done,
            Err(error) => return Some((Err(error.to_string()), 0)),
        };
        let used = config.to_cw_gas(done.outcome.gas_used);
        let answer = match (&done.result, done.outcome.status) {
            (Some(result), _) => match serde_json::from_slice::<ContractResult<Binary>>(result) {
                Ok(result) => Ok(result),
                Err(e) => Err(format!("the contract's query result is not a ContractResult: {e}")),
            },
            (None, Status::OutOfGas) => Err("Ran out of gas during contract execution".into()),
            (None, _) => Ok(ContractResult::Err(done.outcome.error.unwrap_or_default())),
        };
        Some((answer, used))
    }
}

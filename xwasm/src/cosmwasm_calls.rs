//! The `cosmwasm` profile's calls: CosmWasm contracts deploy and run on the
//! same policy, rewrite, caches, journal and monitor as native ones, with
//! cosmwasm-vm's imports and entry points (`xwasm-cosmwasm`). The chain's
//! records (`xwasm-chain`) say which contract runs which code and who may
//! migrate it.

use crate::code::Deployable;
use crate::entry::EntryRun;
use crate::{Vm, VmError};
use cosmwasm_std::Coin;
use std::sync::Arc;
use xwasm_cosmwasm::{CosmwasmMessage, CosmwasmOutcome, EntryPoint};
use xwasm_exec::{Budget, Entry, Trace};
use xwasm_security::AuditKind;
use xwasm_store::{Address, Journal, StateBackend, Transaction, keys};

impl Vm {
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
        self.instantiate_on(self.inner.backend.clone(), None, wasm, message, admin)
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
        self.instantiate_on(self.inner.backend.clone(), Some(*code_hash), &[], message, admin)
    }

    pub(crate) fn instantiate_on(
        &self,
        backend: Arc<dyn StateBackend>,
        code_hash: Option<xwasm_store::CodeHash>,
        wasm: &[u8],
        message: &CosmwasmMessage,
        admin: Option<&str>,
    ) -> Result<CosmwasmOutcome, VmError> {
        let code_hash = code_hash.unwrap_or_else(|| xwasm_security::code_hash(wasm));
        let sender = self.parse_cosmwasm_address(&message.sender)?;
        let admin = admin.map(|admin| self.parse_cosmwasm_address(admin)).transpose()?.unwrap_or(sender);
        let mut trace = self.inner.observers.start("deploy");
        let mut journal = Journal::new(backend);
        let tx = Transaction::new(sender, message.gas_limit, message.msg.clone());
        let deployable = self.deployable(&journal, code_hash, wasm, message.gas_limit, true, &mut trace);
        let (code, code_gas, code_stored) = match deployable.map_err(|e| self.refused(e, &tx))? {
            Deployable::Loaded { code, gas, stored } => (code, gas, stored),
            Deployable::Unpaid { price, what } => {
                let config = &self.inner.cosmwasm.config;
                let unpaid = CosmwasmOutcome::unpaid(config, message.gas_limit, price, &what, String::new());
                self.report(trace, AuditKind::Deploy, &Address([0; 32]), "instantiate", &tx, &unpaid.outcome);
                return Ok(unpaid);
            }
        };
        if !code.is_cosmwasm() {
            return Err(VmError::Profile(
                "the code is not a CosmWasm contract (no interface_version_8 export)".into(),
            ));
        }
        let new_code = (!code_stored).then_some(wasm);
        let (address, _) = xwasm_chain::record_deployment(&mut journal, &sender, code_hash, new_code)?;
        xwasm_chain::set_admin(&mut journal, &address, &admin);
        let run = CosmwasmMessage { gas_limit: message.gas_limit - code_gas, ..message.clone() };
        let how = EntryRun::default();
        let mut done = self.run_entry(&mut trace, journal, &code, address, "instantiate", &run, how)?;
        done.charge_code(code_gas, message.gas_limit);
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
        self.cosmwasm_call_export(address, entry.name(), message)
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
        self.call_export_on(self.inner.backend.clone(), address, export, message)
    }

    /// [`Vm::cosmwasm_call_export`] against `backend`; `migrate` (without
    /// new code) goes to [`Vm::cosmwasm_migrate`].
    pub(crate) fn call_export_on(
        &self,
        backend: Arc<dyn StateBackend>,
        address: &Address,
        export: &str,
        message: &CosmwasmMessage,
    ) -> Result<CosmwasmOutcome, VmError> {
        if export == "migrate" {
            return self.migrate_on(backend, address, None, message);
        } else if export == "instantiate" {
            return Err(VmError::BadInput("`instantiate` runs only when a contract is deployed".into()));
        }
        let read_only = export == "query";
        let mut trace = self.inner.observers.start(if read_only { "query" } else { "call" });
        let journal = Journal::new(backend);
        let (_, code) = self.cosmwasm_code(&journal, address, &mut trace)?;
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
        let how = EntryRun { read_only, ..EntryRun::default() };
        let done = self.run_entry(&mut trace, journal, &code, *address, export, message, how)?;
        let kind = if read_only { AuditKind::Query } else { AuditKind::Call };
        self.report(trace, kind, address, export, &tx, &done.outcome);
        Ok(done)
    }

    /// Queries the CosmWasm contract at `address` with `msg` (read-only:
    /// a write traps, as in cosmwasm-vm).
    pub fn cosmwasm_query(
        &self,
        address: &Address,
        msg: &[u8],
        env: &xwasm_cosmwasm::BlockEnv,
        gas_limit: u64,
    ) -> Result<CosmwasmOutcome, VmError> {
        let mut message = CosmwasmMessage::new(self.cosmwasm_address(address), msg, gas_limit);
        message.env = env.clone();
        self.cosmwasm_call_export(address, "query", &message)
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
        self.migrate_on(self.inner.backend.clone(), address, new_code, message)
    }

    pub(crate) fn migrate_on(
        &self,
        backend: Arc<dyn StateBackend>,
        address: &Address,
        new_code: Option<&[u8]>,
        message: &CosmwasmMessage,
    ) -> Result<CosmwasmOutcome, VmError> {
        let sender = self.parse_cosmwasm_address(&message.sender)?;
        let mut trace = self.inner.observers.start("call");
        let mut journal = Journal::new(backend);
        let (record, current) = self.cosmwasm_code(&journal, address, &mut trace)?;
        let (contract, sender_text) = ((address, &record), (&sender, message.sender.as_str()));
        xwasm_chain::check_admin(&journal, contract, sender_text, &self.inner.addresses)?;
        let old_version = xwasm_cosmwasm::migrate_version(&xwasm_chain::code(&journal, address, &record)?);
        let mut code_gas = 0;
        let code = match new_code {
            None => current,
            Some(wasm) => {
                let code_hash = xwasm_security::code_hash(wasm);
                let gas_limit = message.gas_limit;
                let (code, gas, stored) =
                    match self.deployable(&journal, code_hash, wasm, gas_limit, true, &mut trace)? {
                        Deployable::Loaded { code, gas, stored } => (code, gas, stored),
                        Deployable::Unpaid { price, what } => {
                            let (config, contract) =
                                (&self.inner.cosmwasm.config, self.cosmwasm_address(address));
                            return Ok(CosmwasmOutcome::unpaid(config, gas_limit, price, &what, contract));
                        }
                    };
                code_gas = gas;
                xwasm_chain::switch_code(
                    &mut journal,
                    (address, &record),
                    code_hash,
                    (!stored).then_some(wasm),
                );
                if !code.is_cosmwasm() {
                    return Err(VmError::Profile("the new code is not a CosmWasm contract".into()));
                }
                code
            }
        };
        let info = xwasm_cosmwasm::migrate_info_json(&message.sender, old_version);
        let run = CosmwasmMessage { gas_limit: message.gas_limit - code_gas, ..message.clone() };
        let how = EntryRun { migrate_info: Some(&info), ..EntryRun::default() };
        let mut done = self.run_entry(&mut trace, journal, &code, *address, "migrate", &run, how)?;
        done.charge_code(code_gas, message.gas_limit);
        if done.outcome.is_ok() {
            // The record changed: forget the cached one. In a block, the
            // cache keeps committed records only, and the block's commit
            // forgets those it changes.
            self.inner.records.forget(address);
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
        let journal = Journal::new(self.inner.backend.clone());
        let (_, code) = self.cosmwasm_code(&journal, address, &mut Trace::start("call", false))?;
        let mut context = self.empty_context(1, true);
        context.extension = Some(self.call_state().into_extension());
        let entry = Entry::Driven { name: "instance", driver: &xwasm_exec::NoEntry };
        self.execute(&code, context, entry, Budget::gas(1))?;
        Ok(())
    }

    /// Whether the contract at `address` is a CosmWasm contract (its code
    /// exports `interface_version_8`, or an older marker).
    pub fn is_cosmwasm_contract(&self, address: &Address) -> Result<bool, VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        let record = self.inner.records.record(&journal, address)?;
        Ok(xwasm_cosmwasm::detect(&xwasm_chain::code(&journal, address, &record)?).is_some())
    }

    /// Sets `holder`'s bank balances of `coins`' denoms (the default
    /// querier answers from them; other denoms are kept).
    pub fn cosmwasm_set_balances(&self, holder: &str, coins: &[Coin]) -> Result<(), VmError> {
        let mut journal = Journal::new(self.inner.backend.clone());
        xwasm_chain::set_balances(&mut journal, holder, coins)?;
        Ok(journal.commit()?)
    }

    /// `holder`'s bank balances, by denom.
    pub fn cosmwasm_balances(&self, holder: &str) -> Result<Vec<Coin>, VmError> {
        let journal = Journal::new(self.inner.backend.clone());
        Ok(xwasm_cosmwasm::bank::balances(&journal, holder)?)
    }
}

//! The chain's own records, kept in state beside the contracts' storage:
//! which contract lives at an address and runs which code ([`Records`]),
//! how a deployment derives its address ([`record_deployment`]), and, for
//! CosmWasm contracts, who may migrate them ([`admin`]), how addresses are
//! written ([`Addresses`]) and the funds a message brings ([`credit`]).
//!
//! These are a chain's job, not the VM's: a call of the VM is handed the
//! contract's code, state and message; this layer finds them and keeps the
//! records up to date. It knows nothing of compilation or execution.
//!
//! Consensus-relevant: the key layout (`xwasm_store::keys`), the address
//! derivation and the admin rule.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use xwasm_chain::{Records, record_deployment};
//! use xwasm_store::{Address, Journal, MemoryBackend};
//!
//! let mut journal = Journal::new(Arc::new(MemoryBackend::new()));
//! let sender = Address([1; 32]);
//! let (address, record) = record_deployment(&mut journal, &sender, [7; 32], Some(b"code")).unwrap();
//! assert_eq!(address, Address::derive_contract(&sender, 0, &[7; 32]));
//! assert_eq!(Records::default().record(&journal, &address).unwrap(), record);
//! ```

mod addresses;
mod block;
mod records;

pub use addresses::Addresses;
pub use block::{BlockView, Committed};
pub use records::{Records, code_hashes, contract, record_deployment, storage};

use cosmwasm_std::Coin;
use xwasm_store::{Address, ContractRecord, Journal, StateError};

/// Why the chain's records cannot answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    #[error("no contract at address {address}")]
    NoContract { address: Address },
    #[error("the code of contract {address} is missing from state")]
    MissingCode { address: Address },
    #[error(transparent)]
    State(#[from] StateError),
    /// Input the records refuse: an address that is not one, a sender who
    /// may not migrate, funds that cannot be credited.
    #[error("{0}")]
    BadInput(String),
}

/// Stores `admin` as the CosmWasm contract at `address`'s admin.
pub fn set_admin(journal: &mut Journal, address: &Address, admin: &Address) {
    journal.set(xwasm_cosmwasm::bank::admin_key(address), admin.0.to_vec());
}

/// The admin of the CosmWasm contract at `address` (its deployer unless
/// another was named): the one sender who may migrate it.
pub fn admin(journal: &Journal, address: &Address, record: &ContractRecord) -> Result<Address, ChainError> {
    let stored = journal.get(&xwasm_cosmwasm::bank::admin_key(address))?;
    let Some(bytes) = stored else { return Ok(record.owner) };
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| StateError::CorruptRecord {
        key_hex: hex::encode(xwasm_cosmwasm::bank::admin_key(address)),
        what: "contract admin",
    })?;
    Ok(Address(bytes))
}

/// Whether `sender` (written `sender_text`) may migrate the CosmWasm
/// contract at `address`: only its admin may.
pub fn check_admin(
    journal: &Journal,
    (address, record): (&Address, &ContractRecord),
    (sender, sender_text): (&Address, &str),
    addresses: &Addresses,
) -> Result<(), ChainError> {
    if admin(journal, address, record)? == *sender {
        return Ok(());
    }
    let contract = addresses.format(address);
    Err(ChainError::BadInput(format!(
        "{sender_text} may not migrate contract {contract}: only its admin may"
    )))
}

/// Switches the contract at `address` (whose record is `record`) to the
/// code `code_hash`, storing `new_code` if it is not stored yet.
pub fn switch_code(
    journal: &mut Journal,
    (address, record): (&Address, &ContractRecord),
    code_hash: xwasm_store::CodeHash,
    new_code: Option<&[u8]>,
) {
    if let Some(wasm) = new_code {
        journal.set(xwasm_store::keys::code(&code_hash), wasm.to_vec());
    }
    journal.set(
        xwasm_store::keys::contract(address),
        ContractRecord { code_hash, owner: record.owner }.to_bytes(),
    );
}

/// The code of the contract at `address`, whose record is `record`.
pub fn code(journal: &Journal, address: &Address, record: &ContractRecord) -> Result<Vec<u8>, ChainError> {
    let code = journal.get(&xwasm_store::keys::code(&record.code_hash))?;
    code.ok_or(ChainError::MissingCode { address: *address })
}

/// Sets `holder`'s bank balances of `coins`' denoms (other denoms are
/// kept).
pub fn set_balances(journal: &mut Journal, holder: &str, coins: &[Coin]) -> Result<(), ChainError> {
    for coin in coins {
        xwasm_cosmwasm::bank::set_balance(journal, holder, coin)
            .map_err(|e| ChainError::BadInput(format!("cannot set the balance: {e}")))?;
    }
    Ok(())
}

/// Credits `funds` to `holder`'s bank balances, as a message's funds reach
/// the contract before it runs.
pub fn credit(journal: &mut Journal, holder: &str, funds: &[Coin]) -> Result<(), ChainError> {
    xwasm_cosmwasm::bank::credit(journal, holder, funds)
        .map_err(|e| ChainError::BadInput(format!("cannot credit the funds: {e}")))
}

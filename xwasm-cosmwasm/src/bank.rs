//! Bank balances the default querier answers from, kept in state as a
//! chain's bank module would keep them.
//!
//! Layout (consensus-relevant): the balance of `denom` held by the human
//! address `holder` lives at `b/ ++ len(holder) as u8 ++ holder ++ denom`,
//! and the supply of `denom` at `B/ ++ denom`; both as decimal strings.
//! Addresses are human strings (bech32 for xwasm accounts and contracts),
//! as cosmwasm-vm's MockQuerier keys them.

use cosmwasm_std::{Coin, Uint256};
use std::str::FromStr;
use xwasm_store::{Journal, StateError};

/// Where the admin of CosmWasm contract `address` (who may migrate it) is
/// kept: `a/ ++ address`, its 32 bytes. Consensus-relevant.
pub fn admin_key(address: &xwasm_store::Address) -> Vec<u8> {
    [b"a/".as_slice(), &address.0].concat()
}

fn balance_key(holder: &str, denom: &str) -> Option<Vec<u8>> {
    let len = u8::try_from(holder.len()).ok()?;
    Some([b"b/".as_slice(), &[len], holder.as_bytes(), denom.as_bytes()].concat())
}

fn supply_key(denom: &str) -> Vec<u8> {
    [b"B/".as_slice(), denom.as_bytes()].concat()
}

fn amount_at(journal: &Journal, key: &[u8]) -> Result<Uint256, StateError> {
    let value = journal.get(key)?;
    Ok(value.and_then(|v| Uint256::from_str(std::str::from_utf8(&v).ok()?).ok()).unwrap_or_default())
}

/// `holder`'s balance of `denom` (zero when it has none).
pub fn balance(journal: &Journal, holder: &str, denom: &str) -> Result<Uint256, StateError> {
    match balance_key(holder, denom) {
        Some(key) => amount_at(journal, &key),
        None => Ok(Uint256::zero()),
    }
}

/// The sum of every balance of `denom`.
pub fn supply(journal: &Journal, denom: &str) -> Result<Uint256, StateError> {
    amount_at(journal, &supply_key(denom))
}

/// Why a balance could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum BankError {
    #[error("an address of {0} bytes is too long to hold a balance (at most 255)")]
    AddressTooLong(usize),
    #[error("the supply of {0} would overflow")]
    Overflow(String),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Sets `holder`'s balance of `coin.denom` to `coin.amount`, keeping the
/// supply the sum of all balances.
pub fn set_balance(journal: &mut Journal, holder: &str, coin: &Coin) -> Result<(), BankError> {
    let key = balance_key(holder, &coin.denom).ok_or(BankError::AddressTooLong(holder.len()))?;
    let old = amount_at(journal, &key)?;
    let supply = supply(journal, &coin.denom)?;
    let supply =
        (supply - old).checked_add(coin.amount).map_err(|_| BankError::Overflow(coin.denom.clone()))?;
    journal.set(supply_key(&coin.denom), supply.to_string().into_bytes());
    if coin.amount.is_zero() {
        journal.remove(key);
    } else {
        journal.set(key, coin.amount.to_string().into_bytes());
    }
    Ok(())
}

/// Adds `coins` to `holder`'s balances (funds sent with a message).
pub fn credit(journal: &mut Journal, holder: &str, coins: &[Coin]) -> Result<(), BankError> {
    for coin in coins {
        let old = balance(journal, holder, &coin.denom)?;
        let amount = old.checked_add(coin.amount).map_err(|_| BankError::Overflow(coin.denom.clone()))?;
        set_balance(journal, holder, &Coin { denom: coin.denom.clone(), amount })?;
    }
    Ok(())
}

/// `holder`'s balances, by denom.
pub fn balances(journal: &Journal, holder: &str) -> Result<Vec<Coin>, StateError> {
    let Ok(len) = u8::try_from(holder.len()) else { return Ok(Vec::new()) };
    let prefix = [b"b/".as_slice(), &[len], holder.as_bytes()].concat();
    let mut coins = Vec::new();
    let mut range = xwasm_store::KeyRange::prefix(prefix.clone());
    while let Some((key, value)) = journal.first_in(&range, false)? {
        let denom = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        let amount =
            std::str::from_utf8(&value).ok().and_then(|v| Uint256::from_str(v).ok()).unwrap_or_default();
        coins.push(Coin { denom, amount });
        range.start = std::ops::Bound::Excluded(key);
    }
    Ok(coins)
}

/// Coins from `1000earth,5uatom` (the CLI's and wasmd's notation).
pub fn parse_coins(text: &str) -> Result<Vec<Coin>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|coin| {
            let split = coin.find(|c: char| !c.is_ascii_digit()).unwrap_or(coin.len());
            let (amount, denom) = coin.split_at(split);
            if amount.is_empty() || denom.is_empty() {
                return Err(format!("`{coin}` is not a coin (an amount then a denom, like 1000earth)"));
            }
            let valid = denom.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && denom.chars().all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c));
            if !valid {
                return Err(format!("`{denom}` is not a valid denom"));
            }
            let amount = Uint256::from_str(amount).map_err(|e| format!("amount of `{coin}`: {e}"))?;
            Ok(Coin { denom: denom.to_owned(), amount })
        })
        .collect()
}

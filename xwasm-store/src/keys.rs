//! The layout of xwasm's records in the flat key space of a
//! [`StateBackend`](crate::StateBackend).
//!
//! Consensus-relevant: every node must lay state out the same way, and a
//! change here is a state-format change (bump
//! [`STATE_FORMAT`](crate::STATE_FORMAT)).

use crate::{Address, CodeHash};

/// Prefix of contract `address`'s own storage; its key `k` lives at
/// `storage_prefix(address) ++ k`.
pub fn storage_prefix(address: &Address) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + 32);
    key.extend_from_slice(b"s/");
    key.extend_from_slice(&address.0);
    key
}

/// Where contract `address` keeps `key`.
pub fn storage(address: &Address, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(2 + 32 + key.len());
    full.extend_from_slice(b"s/");
    full.extend_from_slice(&address.0);
    full.extend_from_slice(key);
    full
}

/// The [`ContractRecord`](crate::ContractRecord) of `address`.
pub fn contract(address: &Address) -> Vec<u8> {
    [b"c/".as_slice(), &address.0].concat()
}

/// The address whose contract record `key` is, if it is one.
pub fn contract_address(key: &[u8]) -> Option<Address> {
    Some(Address(key.strip_prefix(b"c/")?.try_into().ok()?))
}

/// The original WebAssembly bytes with this code hash.
pub fn code(hash: &CodeHash) -> Vec<u8> {
    [CODE_PREFIX, hash].concat()
}

/// The prefix of every [`code`] key.
pub const CODE_PREFIX: &[u8] = b"k/";

/// How many contracts `deployer` has deployed (u64, big-endian).
pub fn deploy_count(deployer: &Address) -> Vec<u8> {
    [b"n/".as_slice(), &deployer.0].concat()
}

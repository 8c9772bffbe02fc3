//! Contract records: where each contract's code is, read once and cached,
//! and the deploy counts addresses are derived from.

use crate::ChainError;
use xwasm_store::{
    Address, CodeHash, ContractRecord, Entries, Journal, StateBackend, StateError, Writes, keys,
};

/// Committed contract records by address, read once. A sharded map
/// (dashmap): calls on many threads read it at once, and a new record
/// locks one shard, not the whole map. Bounded: past `CAPACITY` entries it
/// starts over.
#[derive(Debug, Default)]
pub struct Records {
    cached: dashmap::DashMap<Address, ContractRecord, foldhash::fast::RandomState>,
}

impl Records {
    const CAPACITY: usize = 100_000;

    /// The record of the contract at `address`, from the cache or the
    /// journal. Uncommitted state is always read (a block's view: the read
    /// is part of what the block validates, and an earlier transaction of
    /// the block may have migrated the contract), except where it holds no
    /// write for the record (a block's view records that as a read).
    pub fn record(&self, journal: &Journal, address: &Address) -> Result<ContractRecord, ChainError> {
        let key = keys::contract(address);
        let committed = journal.backend().is_committed_at(&key) && !journal.changes().contains_key(&key);
        if committed && let Some(record) = self.cached.get(address) {
            return Ok(*record);
        }
        let record = match journal.get(&key)? {
            None => return Err(ChainError::NoContract { address: *address }),
            Some(bytes) => parse(&key, &bytes)?,
        };
        // Records change only by a migration, which forgets the cached one
        // once it commits; one in the journal (or in a block's uncommitted
        // writes) may still be rolled back, so only committed ones are
        // remembered.
        if committed {
            if self.cached.len() >= Self::CAPACITY {
                self.cached.clear();
            }
            self.cached.insert(*address, record);
        }
        Ok(record)
    }

    /// Forgets `address`'s record (a migration changed it).
    pub fn forget(&self, address: &Address) {
        self.cached.remove(address);
    }

    /// Commits `changes` (a block's writes) to `backend` and forgets the
    /// records they change: a read while they were pending may have cached
    /// the old one.
    pub fn commit(&self, backend: &dyn StateBackend, changes: Writes) -> Result<(), ChainError> {
        let changed: Vec<Address> =
            changes.iter().filter_map(|(key, _)| keys::contract_address(key)).collect();
        backend.apply_unordered(changes)?;
        changed.iter().for_each(|address| self.forget(address));
        Ok(())
    }

    /// [`Records::commit`], while `meanwhile` runs on another core (rayon):
    /// a parallel block's end, where committing its writes and moving its
    /// outputs apart each take as long as the block.
    pub fn commit_during<T: Send>(
        &self,
        backend: &dyn StateBackend,
        changes: Writes,
        meanwhile: impl FnOnce() -> T + Send,
    ) -> Result<T, ChainError> {
        if changes.is_empty() {
            return Ok(meanwhile());
        }
        let (value, committed) = rayon::join(meanwhile, || self.commit(backend, changes));
        committed.map(|()| value)
    }
}

/// The committed record of the contract at `address`, if there is one.
pub fn contract(backend: &dyn StateBackend, address: &Address) -> Result<Option<ContractRecord>, ChainError> {
    let key = keys::contract(address);
    backend.get(&key)?.map(|bytes| parse(&key, &bytes)).transpose()
}

/// The committed storage of the contract at `address`, sorted by key
/// bytes (consensus-relevant order).
/// The hashes of all code stored on chain, in key order.
pub fn code_hashes(backend: &dyn StateBackend) -> Result<Vec<xwasm_store::CodeHash>, ChainError> {
    let entries = backend.scan_prefix(keys::CODE_PREFIX)?;
    Ok(entries.into_iter().filter_map(|(key, _)| key[keys::CODE_PREFIX.len()..].try_into().ok()).collect())
}

pub fn storage(backend: &dyn StateBackend, address: &Address) -> Result<Entries, ChainError> {
    if contract(backend, address)?.is_none() {
        return Err(ChainError::NoContract { address: *address });
    }
    let prefix = keys::storage_prefix(address);
    let entries = backend.scan_prefix(&prefix)?;
    Ok(entries.into_iter().map(|(k, v)| (k[prefix.len()..].to_vec(), v)).collect())
}

fn parse(key: &[u8], bytes: &[u8]) -> Result<ContractRecord, ChainError> {
    ContractRecord::from_bytes(bytes).ok_or_else(|| {
        StateError::CorruptRecord { key_hex: hex::encode(key), what: "contract record" }.into()
    })
}

/// Records a deployment in `journal`: the sender's deploy count, the new
/// contract's record and, for code not stored yet, the code. Returns the
/// contract's address, `Address::derive_contract(sender, count, code hash)`.
///
/// Consensus-relevant: the address and every key written.
pub fn record_deployment(
    journal: &mut Journal,
    sender: &Address,
    code_hash: CodeHash,
    new_code: Option<&[u8]>,
) -> Result<(Address, ContractRecord), ChainError> {
    let count_key = keys::deploy_count(sender);
    let count = match journal.get(&count_key)? {
        Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
            StateError::CorruptRecord { key_hex: hex::encode(&count_key), what: "deploy count" }
        })?),
        None => 0,
    };
    let address = Address::derive_contract(sender, count, &code_hash);
    journal.set(count_key, (count + 1).to_be_bytes().to_vec());
    if let Some(wasm) = new_code {
        journal.set(keys::code(&code_hash), wasm.to_vec());
    }
    let record = ContractRecord { code_hash, owner: *sender };
    journal.set(keys::contract(&address), record.to_bytes());
    Ok((address, record))
}

//! The Go side of the drop-in `libwasmvm`, answered by cosmwasm-vm's
//! testing services: what the differential test and the race hand the
//! library's callbacks, and the storage cosmwasm-vm runs on beside it.

use crate::harness::{GO_USER, Services};
use cosmwasm_std::{Coin, Order, Record};
use cosmwasm_vm::testing::{MockApi, MockQuerier, MockStorage};
use cosmwasm_vm::{BackendApi, BackendError, BackendResult, GasInfo, Querier, Storage};

/// cosmwasm-vm's testing storage, its gas all reported as used
/// externally: what a Go `Db` reports (the harness prices the same way).
pub struct GoPricedStorage(pub MockStorage);

fn external<T>((result, gas): BackendResult<T>) -> BackendResult<T> {
    (result, GasInfo::with_externally_used(gas.cost + gas.externally_used))
}

impl Storage for GoPricedStorage {
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn scan(&mut self, start: Option<&[u8]>, end: Option<&[u8]>, order: Order) -> BackendResult<u32> {
        self.0.scan(start, end, order)
    }
    fn next(&mut self, iterator_id: u32) -> BackendResult<Option<Record>> {
        external(self.0.next(iterator_id))
    }
    fn set(&mut self, key: &[u8], value: &[u8]) -> BackendResult<()> {
        self.0.set(key, value)
    }
    fn remove(&mut self, key: &[u8]) -> BackendResult<()> {
        self.0.remove(key)
    }
}

/// The Go side's address API and querier: cosmwasm-vm's testing ones.
pub struct PeerServices {
    pub api: MockApi,
    pub balances: Vec<(String, Vec<Coin>)>,
}

impl PeerServices {
    pub fn querier(&self) -> MockQuerier {
        let mut querier = MockQuerier::new(&[]);
        for (holder, coins) in &self.balances {
            querier.update_balance(holder.clone(), coins.clone());
        }
        querier
    }
}

fn go<T>((result, gas): BackendResult<T>) -> (Result<T, (i32, String)>, u64) {
    let result = result.map_err(|e| match e {
        BackendError::UserErr { msg } => (GO_USER, msg),
        other => (-1, other.to_string()),
    });
    (result, gas.cost + gas.externally_used)
}

impl Services for PeerServices {
    fn canonicalize(&self, human: &str) -> (Result<Vec<u8>, (i32, String)>, u64) {
        go(self.api.addr_canonicalize(human))
    }
    fn humanize(&self, canonical: &[u8]) -> (Result<String, (i32, String)>, u64) {
        go(self.api.addr_humanize(canonical))
    }
    fn validate(&self, human: &str) -> (Result<(), (i32, String)>, u64) {
        go(self.api.addr_validate(human))
    }
    fn query(&self, request: &[u8], gas_limit: u64) -> (Result<Vec<u8>, (i32, String)>, u64) {
        let (answer, gas) = go(self.querier().query_raw(request, gas_limit));
        (answer.map(|answer| serde_json::to_vec(&answer).expect("JSON")), gas)
    }
}

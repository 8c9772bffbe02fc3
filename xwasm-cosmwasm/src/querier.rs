//! `query_chain`'s chain services: the [`Querier`] trait the embedder may
//! implement, and [`DefaultQuerier`], which answers as cosmwasm-vm's
//! testing `MockQuerier` does, with bank balances from state and `wasm`
//! queries against the contracts of this VM.

use crate::bank;
use cosmwasm_std::Querier as _;
use cosmwasm_std::{
    BalanceResponse, BankQuery, Binary, Coin, ContractResult, Empty, QueryRequest, SupplyResponse,
    SystemError, SystemResult, WasmQuery, to_json_binary, to_json_vec,
};
use xwasm_store::{Address, ChainContext, Journal, keys};

/// What a query may see: the calling transaction's state (its own writes
/// included) and the gas it has left.
pub struct QueryContext<'a> {
    pub journal: &'a Journal,
    /// CosmWasm gas left to the calling contract.
    pub gas_limit: u64,
    pub chain: ChainContext,
    /// Runs smart queries against contracts of this VM, if the VM offers it.
    pub smart: Option<&'a dyn SmartQuerier>,
    /// The calling contract's nesting depth.
    pub depth: u32,
    /// The stack units the calling contracts use: a nested query starts
    /// counting there, so the deterministic stack limit covers the whole
    /// chain of queries (each nested instance runs on the same thread).
    pub stack_used: u32,
    /// The calling contract's deadline and interrupt: a nested query
    /// stops with its callers.
    pub stop: xwasm_store::StopSignal,
}

/// The JSON of a `SystemResult<ContractResult<Binary>>`, or a fault that
/// traps the calling contract (out of gas, a failed backend); and the
/// CosmWasm gas the query used (charged as used externally).
pub type QueryAnswer = (Result<Vec<u8>, String>, u64);

/// Answers a contract's `query_chain` requests.
pub trait Querier: Send + Sync {
    fn query(&self, request: &[u8], context: &mut QueryContext<'_>) -> QueryAnswer;
}

/// Runs a `wasm` smart query against a contract of this VM (read-only,
/// nested); implemented by the layer that executes contracts.
pub trait SmartQuerier: Send + Sync {
    /// `None` when no contract of this profile lives at `contract`.
    /// Otherwise the contract's answer and the CosmWasm gas it used.
    fn smart(
        &self,
        contract: &Address,
        msg: &[u8],
        context: &QueryContext<'_>,
    ) -> Option<(Result<ContractResult<Binary>, String>, u64)>;
}

/// cosmwasm-vm's testing querier (`MockQuerier`, wrapping cosmwasm-std's)
/// over this VM: bank balances and supplies from state, `wasm` raw and
/// smart queries against contracts deployed here, everything else as the
/// mock answers it (staking and distribution empty, custom, stargate and
/// gRPC unsupported, unparseable requests invalid), with its gas: 100,000
/// plus 100 per byte of the JSON response, plus, for a smart query, the
/// gas the queried contract used, as a chain charges it (the mock cannot
/// run contracts). Without that, each query of 100,000 gas could run a
/// contract on all the gas its caller had left, again and again.
#[derive(Debug, Clone)]
pub struct DefaultQuerier {
    /// Addresses in queries: the bech32 prefix of this chain.
    pub api: crate::api::Bech32Api,
    pub flat_cost: u64,
    pub per_response_byte: u64,
}

impl DefaultQuerier {
    pub fn new(api: crate::api::Bech32Api, gas: &crate::GasConfig) -> Self {
        Self { api, flat_cost: gas.query_flat, per_response_byte: gas.query_per_response_byte }
    }

    /// The answer to `request`; `nested` gets the CosmWasm gas a smart
    /// query's contract used, also when it failed.
    fn answer(
        &self,
        request: &[u8],
        context: &mut QueryContext<'_>,
        nested: &mut Option<u64>,
    ) -> Result<SystemResult<ContractResult<Binary>>, String> {
        let Ok(parsed) = cosmwasm_std::from_json::<QueryRequest<Empty>>(request) else {
            return Ok(cosmwasm_std::testing::MockQuerier::<Empty>::new(&[]).raw_query(request));
        };
        let ok = |value: Result<Binary, cosmwasm_std::StdError>| {
            SystemResult::Ok(ContractResult::from(value.map_err(|e| e.to_string())))
        };
        Ok(match &parsed {
            QueryRequest::Bank(BankQuery::Balance { address, denom }) => {
                let amount = bank::balance(context.journal, address, denom).map_err(|e| e.to_string())?;
                ok(to_json_binary(&BalanceResponse::new(Coin { denom: denom.clone(), amount })))
            }
            QueryRequest::Bank(BankQuery::Supply { denom }) => {
                let amount = bank::supply(context.journal, denom).map_err(|e| e.to_string())?;
                ok(to_json_binary(&SupplyResponse::new(Coin { denom: denom.clone(), amount })))
            }
            QueryRequest::Wasm(WasmQuery::Raw { contract_addr, key }) => {
                match self.contract(context, contract_addr) {
                    Some(address) => {
                        let full = keys::storage(&address, key);
                        let value = context.journal.get(&full).map_err(|e| e.to_string())?;
                        SystemResult::Ok(ContractResult::Ok(Binary::from(value.unwrap_or_default())))
                    }
                    None => SystemResult::Err(SystemError::NoSuchContract { addr: contract_addr.clone() }),
                }
            }
            QueryRequest::Wasm(WasmQuery::ContractInfo { contract_addr }) => {
                match self.contract(context, contract_addr) {
                    Some(address) => ok(self.contract_info(context.journal, &address)),
                    None => SystemResult::Err(SystemError::NoSuchContract { addr: contract_addr.clone() }),
                }
            }
            QueryRequest::Wasm(WasmQuery::Smart { contract_addr, msg }) => {
                let answer = self
                    .contract(context, contract_addr)
                    .and_then(|address| context.smart?.smart(&address, msg, context));
                match answer {
                    Some((answer, used)) => {
                        *nested = Some(used);
                        SystemResult::Ok(answer?)
                    }
                    None => SystemResult::Err(SystemError::NoSuchContract { addr: contract_addr.clone() }),
                }
            }
            _ => cosmwasm_std::testing::MockQuerier::<Empty>::new(&[]).raw_query(request),
        })
    }

    /// `ContractInfoResponse` of a contract of this VM. xwasm names code by
    /// its hash: the code id reported is the hash's first 8 bytes
    /// (big-endian). Nothing is pinned and no IBC port is bound.
    fn contract_info(&self, journal: &Journal, address: &Address) -> Result<Binary, cosmwasm_std::StdError> {
        let fault = |e: xwasm_store::StateError| cosmwasm_std::StdError::msg(e.to_string());
        let record = journal.get(&keys::contract(address)).map_err(fault)?.unwrap_or_default();
        let record = xwasm_store::ContractRecord::from_bytes(&record)
            .ok_or_else(|| cosmwasm_std::StdError::msg("corrupt contract record"))?;
        let human = |bytes: &[u8]| self.api.encode(bytes).map(cosmwasm_std::Addr::unchecked);
        let admin = journal.get(&bank::admin_key(address)).map_err(fault)?;
        let admin = admin.map(|a| human(&a)).transpose().map_err(cosmwasm_std::StdError::msg)?;
        let creator = human(&record.owner.0).map_err(cosmwasm_std::StdError::msg)?;
        let code_id = u64::from_be_bytes(record.code_hash[..8].try_into().expect("8 bytes"));
        to_json_binary(&cosmwasm_std::ContractInfoResponse::new(code_id, creator, admin, false, None, None))
    }

    /// The address of a contract deployed in this VM, named in bech32.
    fn contract(&self, context: &QueryContext<'_>, human: &str) -> Option<Address> {
        use crate::api::AddressApi;
        let canonical = self.api.canonicalize(human).0.ok()?;
        let address = Address(canonical.try_into().ok()?);
        context.journal.contains(&keys::contract(&address)).ok()?.then_some(address)
    }
}

impl Default for DefaultQuerier {
    fn default() -> Self {
        Self::new(crate::api::Bech32Api::default(), &crate::GasConfig::default())
    }
}

impl Querier for DefaultQuerier {
    fn query(&self, request: &[u8], context: &mut QueryContext<'_>) -> QueryAnswer {
        let mut nested = None;
        let response = match self.answer(request, context, &mut nested) {
            Ok(response) => response,
            // A smart query that failed (out of gas: it had all its
            // caller's gas) still costs its price and its work.
            Err(fault) => return (Err(fault), nested.map_or(0, |work| self.flat_cost.saturating_add(work))),
        };
        let json = to_json_vec(&response).expect("a SystemResult serializes");
        let used = self
            .flat_cost
            .saturating_add(self.per_response_byte.saturating_mul(json.len() as u64))
            .saturating_add(nested.unwrap_or(0));
        if used > context.gas_limit {
            return (Err("Ran out of gas during contract execution".into()), used);
        }
        (Ok(json), used)
    }
}

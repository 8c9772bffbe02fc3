//! The address API behind `addr_validate`, `addr_canonicalize` and
//! `addr_humanize`: a trait the embedder may implement, and the default,
//! which behaves exactly as cosmwasm-vm's testing `MockApi`.

use bech32::Checksum;
use bech32::Hrp;
use sha2::{Digest, Sha256};

/// How an address API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The input is not an address: the contract gets this message back.
    User(String),
    /// The API itself failed: the call traps.
    Backend(String),
}

/// An API call's answer and the CosmWasm gas its work cost (charged as
/// the VM's own work, as cosmwasm-vm's MockApi reports it).
pub type ApiResult<T> = (Result<T, ApiError>, u64);

/// Addresses as the chain knows them.
pub trait AddressApi: Send + Sync {
    fn canonicalize(&self, human: &str) -> ApiResult<Vec<u8>>;
    fn humanize(&self, canonical: &[u8]) -> ApiResult<String>;

    /// Canonicalize, then humanize: the address must come back byte for
    /// byte.
    fn validate(&self, human: &str) -> ApiResult<()> {
        let (canonical, gas) = self.canonicalize(human);
        let canonical = match canonical {
            Ok(canonical) => canonical,
            Err(error) => return (Err(error), gas),
        };
        let (normalized, more) = self.humanize(&canonical);
        let gas = gas.saturating_add(more);
        match normalized {
            Ok(normalized) if normalized == human => (Ok(()), gas),
            Ok(_) => (Err(ApiError::User("Invalid input: address not normalized".into())), gas),
            Err(error) => (Err(error), gas),
        }
    }
}

/// Bech32 (not bech32m) addresses with one prefix: cosmwasm-vm's
/// `MockApi` (`packages/vm/src/testing/mock.rs`), its messages and costs.
#[derive(Debug, Clone)]
pub struct Bech32Api {
    prefix: String,
    canonicalize_cost: u64,
    humanize_cost: u64,
}

impl Bech32Api {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into(), canonicalize_cost: 700_000, humanize_cost: 560_000 }
    }

    /// With the costs of a gas table.
    pub fn with_costs(mut self, canonicalize: u64, humanize: u64) -> Self {
        self.canonicalize_cost = canonicalize;
        self.humanize_cost = humanize;
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The bech32 address of `canonical` bytes.
    pub fn encode(&self, canonical: &[u8]) -> Result<String, String> {
        Hrp::parse(&self.prefix).map_err(|_| "Invalid bech32 prefix".to_owned())?;
        let encoded = crate::bech32_codec::encode(&self.prefix, canonical);
        if encoded.len() > bech32::Bech32::CODE_LENGTH {
            return Err("Invalid data to be encoded to bech32".to_owned());
        }
        Ok(encoded)
    }

    /// cosmwasm's `addr_make`: the address of `sha256(name)`.
    pub fn addr_make(&self, name: &str) -> String {
        self.encode(&Sha256::digest(name.as_bytes())).expect("32 bytes encode under a valid prefix")
    }
}

impl Default for Bech32Api {
    fn default() -> Self {
        Self::new("cosmwasm")
    }
}

fn validate_length(bytes: &[u8]) -> Result<(), ApiError> {
    match bytes.len() {
        1..=255 => Ok(()),
        _ => Err(ApiError::User("Invalid canonical address length".into())),
    }
}

impl AddressApi for Bech32Api {
    fn canonicalize(&self, human: &str) -> ApiResult<Vec<u8>> {
        let gas = self.canonicalize_cost;
        let Some((hrp, bytes)) = crate::bech32_codec::decode(human) else {
            return (Err(ApiError::User("Error decoding bech32".into())), gas);
        };
        if !hrp.eq_ignore_ascii_case(&self.prefix) {
            return (Err(ApiError::User("Wrong bech32 prefix".into())), gas);
        }
        (validate_length(&bytes).map(|()| bytes), gas)
    }

    fn humanize(&self, canonical: &[u8]) -> ApiResult<String> {
        let gas = self.humanize_cost;
        if let Err(error) = validate_length(canonical) {
            return (Err(error), gas);
        }
        (self.encode(canonical).map_err(ApiError::User), gas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_make_gives_cosmwasm_vm_addresses() {
        let api = Bech32Api::default();
        assert_eq!(
            api.addr_make("creator"),
            "cosmwasm1h34lmpywh4upnjdg90cjf4j70aee6z8qqfspugamjp42e4q28kqs8s7vcp"
        );
        assert_eq!(
            api.addr_make("cosmos2contract"),
            "cosmwasm1jpev2csrppg792t22rn8z8uew8h3sjcpglcd0qv9g8gj8ky922tscp8avs"
        );
    }

    #[test]
    fn validation_refuses_as_the_mock_api_does() {
        let api = Bech32Api::default();
        let user = |m: &str| Err(ApiError::User(m.into()));
        assert_eq!(api.validate("").0, user("Error decoding bech32"));
        assert_eq!(
            api.validate(&api.addr_make("x").to_uppercase()).0,
            user("Invalid input: address not normalized")
        );
        assert_eq!(api.validate(&Bech32Api::new("other").addr_make("x")).0, user("Wrong bech32 prefix"));
        assert_eq!(api.humanize(&[]).0, Err(ApiError::User("Invalid canonical address length".into())));
        assert_eq!(api.validate(&api.addr_make("x")), (Ok(()), 1_260_000));
    }
}

//! Addresses as a CosmWasm chain writes them: bech32 with the chain's
//! prefix, over xwasm's 32-byte addresses.

use crate::ChainError;
use xwasm_cosmwasm::{AddressApi, ApiError, Bech32Api};
use xwasm_store::Address;

/// Writes and reads addresses in bech32 with one prefix.
#[derive(Debug, Clone)]
pub struct Addresses {
    bech32: Bech32Api,
}

impl Addresses {
    pub fn new(bech32: Bech32Api) -> Self {
        Self { bech32 }
    }

    /// `address` in bech32 (its hex form if it cannot be encoded).
    pub fn format(&self, address: &Address) -> String {
        self.bech32.encode(&address.0).unwrap_or_else(|_| address.to_string())
    }

    /// An address given as bech32 (this prefix, 32 bytes) or as 64 hex
    /// characters.
    pub fn parse(&self, text: &str) -> Result<Address, ChainError> {
        if text.len() == 64
            && let Ok(address) = text.parse::<Address>()
        {
            return Ok(address);
        }
        let (canonical, _) = self.bech32.canonicalize(text);
        let canonical = canonical.map_err(|error| {
            let reason = match error {
                ApiError::User(m) | ApiError::Backend(m) => m,
            };
            ChainError::BadInput(format!(
                "`{text}` is not an address (bech32 with prefix `{}`, or 64 hex characters): {reason}",
                self.bech32.prefix()
            ))
        })?;
        let bytes: [u8; 32] = canonical.as_slice().try_into().map_err(|_| {
            ChainError::BadInput(format!(
                "`{text}` holds {} bytes, not an xwasm address of 32",
                canonical.len()
            ))
        })?;
        Ok(Address(bytes))
    }
}

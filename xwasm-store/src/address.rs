//! 32-byte account and contract addresses.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A 32-byte address: an account that signs transactions, or a contract.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 32]);

/// The SHA-256 of a contract's original WebAssembly bytes.
pub type CodeHash = [u8; 32];

impl Address {
    /// The address of a contract deployed by `deployer` as its
    /// `deploy_count`-th deployment (counting from 0) of code `code_hash`:
    ///
    /// `sha256("xwasm/contract-address/v1" || deployer || deploy_count as u64 big-endian || code_hash)`
    ///
    /// Consensus-relevant: it depends on nothing but its arguments.
    pub fn derive_contract(deployer: &Address, deploy_count: u64, code_hash: &CodeHash) -> Address {
        let mut hasher = Sha256::new();
        hasher.update(b"xwasm/contract-address/v1");
        hasher.update(deployer.0);
        hasher.update(deploy_count.to_be_bytes());
        hasher.update(code_hash);
        Address(hasher.finalize().into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    #[error("an address is 64 hex characters, got {len} characters")]
    WrongLength { len: usize },
    #[error("an address is 64 hex characters, got a non-hex character in {text:?}")]
    NotHex { text: String },
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.strip_prefix("0x").unwrap_or(text);
        if text.len() != 64 {
            return Err(AddressError::WrongLength { len: text.chars().count() });
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| AddressError::NotHex { text: text.to_owned() })?;
        Ok(Address(bytes))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_hex() {
        let text = "ab".repeat(32);
        let address: Address = text.parse().unwrap();
        assert_eq!(address.to_string(), text);
        assert_eq!(format!("0x{text}").parse::<Address>().unwrap(), address);
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!("abc".parse::<Address>(), Err(AddressError::WrongLength { len: 3 }));
        assert!(matches!("zz".repeat(32).parse::<Address>(), Err(AddressError::NotHex { .. })));
    }

    #[test]
    fn derivation_depends_on_every_input() {
        let a = Address([1; 32]);
        let base = Address::derive_contract(&a, 0, &[7; 32]);
        assert_eq!(base, Address::derive_contract(&a, 0, &[7; 32]));
        assert_ne!(base, Address::derive_contract(&Address([2; 32]), 0, &[7; 32]));
        assert_ne!(base, Address::derive_contract(&a, 1, &[7; 32]));
        assert_ne!(base, Address::derive_contract(&a, 0, &[8; 32]));
    }
}

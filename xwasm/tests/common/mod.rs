//! What the block tests share: a deterministic random sequence and the
//! accounts of their blocks.

use xwasm::Address;

/// A deterministic pseudo-random sequence.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Account `i` of a block.
pub fn account(i: u64) -> Address {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
    Address(bytes)
}

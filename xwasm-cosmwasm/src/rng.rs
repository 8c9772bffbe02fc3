//! The randomness of `ed25519_batch_verify`, made deterministic.
//!
//! Batch verification weighs each signature with a random coefficient that
//! the signer must not predict; cosmwasm-vm draws them from the operating
//! system. Here they come from SHA-256 over the whole batch (Fiat-Shamir):
//! as unpredictable to whoever builds the batch, and the same on every
//! node, so that a node never depends on its entropy for a verdict.

use sha2::{Digest, Sha256};

pub(crate) struct TranscriptRng {
    seed: [u8; 32],
    counter: u64,
    buffer: [u8; 32],
    used: usize,
}

impl TranscriptRng {
    /// Seeded by every section of every list.
    pub(crate) fn new(lists: &[&[Vec<u8>]]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"xwasm ed25519_batch_verify coefficients");
        for list in lists {
            hasher.update((list.len() as u64).to_be_bytes());
            for section in *list {
                hasher.update((section.len() as u64).to_be_bytes());
                hasher.update(section);
            }
        }
        Self { seed: hasher.finalize().into(), counter: 0, buffer: [0; 32], used: 32 }
    }

    fn refill(&mut self) {
        let mut hasher = Sha256::new();
        hasher.update(self.seed);
        hasher.update(self.counter.to_be_bytes());
        self.buffer = hasher.finalize().into();
        self.counter += 1;
        self.used = 0;
    }
}

impl rand_core::RngCore for TranscriptRng {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.buffer.len() {
                self.refill();
            }
            *byte = self.buffer[self.used];
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for TranscriptRng {}

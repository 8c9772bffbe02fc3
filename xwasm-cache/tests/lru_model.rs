//! The memory tier against a model LRU: the same entries survive, in the
//! same recency order, with the same statistics.

use proptest::prelude::*;
use xwasm_cache::{MemoryTier, MemoryTierConfig};

#[derive(Debug, Clone)]
enum Op {
    Get(u8),
    Insert(u8, usize),
    Remove(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..10).prop_map(Op::Get),
        3 => (0u8..10, 1usize..40).prop_map(|(k, b)| Op::Insert(k, b)),
        1 => (0u8..10).prop_map(Op::Remove),
    ]
}

/// Least recently used first.
#[derive(Default)]
struct Model {
    entries: Vec<(u8, usize)>,
    hits: u64,
    misses: u64,
    inserts: u64,
    evictions: u64,
}

impl Model {
    fn bytes(&self) -> usize {
        self.entries.iter().map(|(_, b)| b).sum()
    }

    fn apply(&mut self, op: &Op, max_entries: usize, max_bytes: usize) {
        match *op {
            Op::Get(k) => match self.entries.iter().position(|(key, _)| *key == k) {
                Some(i) => {
                    let entry = self.entries.remove(i);
                    self.entries.push(entry);
                    self.hits += 1;
                }
                None => self.misses += 1,
            },
            Op::Insert(k, bytes) => {
                self.entries.retain(|(key, _)| *key != k);
                if bytes > max_bytes {
                    return;
                }
                while self.entries.len() >= max_entries || self.bytes() + bytes > max_bytes {
                    self.entries.remove(0);
                    self.evictions += 1;
                }
                self.entries.push((k, bytes));
                self.inserts += 1;
            }
            Op::Remove(k) => self.entries.retain(|(key, _)| *key != k),
        }
    }
}

proptest! {
    #[test]
    fn memory_tier_matches_the_model(
        ops in proptest::collection::vec(op(), 0..120),
        max_entries in 1usize..6,
        max_bytes in 20usize..100,
    ) {
        let tier = MemoryTier::new(MemoryTierConfig { max_entries, max_bytes });
        let mut model = Model::default();
        for op in &ops {
            match *op {
                Op::Get(k) => { tier.get(&k); }
                Op::Insert(k, bytes) => tier.insert(k, k as u32 * 1000 + bytes as u32, bytes),
                Op::Remove(k) => { tier.remove(&k); }
            }
            model.apply(op, max_entries, max_bytes);
            let keys: Vec<u8> = model.entries.iter().map(|(k, _)| *k).collect();
            prop_assert_eq!(tier.keys_by_recency(), keys, "after {:?}", op);
            prop_assert_eq!(tier.bytes(), model.bytes());
        }
        let stats = tier.stats();
        prop_assert_eq!((stats.memory_hits, stats.misses, stats.inserts, stats.evictions),
            (model.hits, model.misses, model.inserts, model.evictions));
    }
}

//! `Journal::first_in`, the step of a contract's storage iterator, against
//! a model `BTreeMap`: both orders, bounds, writes and removals of the
//! transaction over committed entries, several iterators open at once and
//! writes between their steps.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use xwasm_store::{ChangeSet, Journal, KeyRange, MemoryBackend, StateBackend};

const PREFIX: &[u8] = b"s/p";

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// One step of iterator `n % 2`.
    Step(usize),
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    // Short keys over a small alphabet collide often; some lie outside
    // the prefix (and just past it: the prefix's successor).
    prop_oneof![
        8 => prop::collection::vec(0u8..4, 0..3).prop_map(|k| [PREFIX, &k].concat()),
        1 => prop::collection::vec(0u8..4, 0..3).prop_map(|k| [b"s/q".as_slice(), &k].concat()),
        1 => prop::collection::vec(0u8..4, 0..3).prop_map(|k| [b"s/o".as_slice(), &k].concat()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (key(), prop::collection::vec(any::<u8>(), 0..3)).prop_map(|(k, v)| Op::Set(k, v)),
        2 => key().prop_map(Op::Remove),
        4 => (0usize..2).prop_map(Op::Step),
    ]
}

fn bound() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(prop::collection::vec(0u8..4, 0..3).prop_map(|k| [PREFIX, &k].concat()))
}

/// The first entry of the model in the range, in the order.
fn model_first(
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    range: &KeyRange,
    descending: bool,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut found = model.iter().filter(|(k, _)| range.contains(k));
    let entry = if descending { found.next_back() } else { found.next() };
    entry.map(|(k, v)| (k.clone(), v.clone()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn iteration_over_the_journal_matches_a_model(
        committed in prop::collection::btree_map(key(), prop::collection::vec(any::<u8>(), 0..3), 0..12),
        ops in prop::collection::vec(op(), 0..40),
        ranges in prop::collection::vec((bound(), bound(), any::<bool>()), 2),
    ) {
        let backend = Arc::new(MemoryBackend::new());
        let changes: ChangeSet = committed.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
        backend.apply(&changes).unwrap();
        let mut model = committed.clone();
        let mut journal = Journal::new(backend.clone() as Arc<dyn StateBackend>);
        let mut iterators: Vec<(KeyRange, bool)> = ranges
            .into_iter()
            .map(|(start, end, descending)| {
                let range = KeyRange {
                    prefix: PREFIX.to_vec(),
                    start: start.map_or(Bound::Unbounded, Bound::Included),
                    end: end.map_or(Bound::Unbounded, Bound::Excluded),
                };
                (range, descending)
            })
            .collect();
        for op in ops {
            match op {
                Op::Set(k, v) => {
                    model.insert(k.clone(), v.clone());
                    journal.set(k, v);
                }
                Op::Remove(k) => {
                    model.remove(&k);
                    journal.remove(k);
                }
                Op::Step(n) => {
                    let (range, descending) = &mut iterators[n];
                    let expected = model_first(&model, range, *descending);
                    let found = journal.first_in(range, *descending).unwrap();
                    prop_assert_eq!(&found, &expected);
                    if let Some((key, _)) = found {
                        let past = Bound::Excluded(key);
                        if *descending { range.end = past } else { range.start = past }
                    }
                }
            }
        }
        // The committed backend alone answers as the committed model does.
        for (range, descending) in &iterators {
            prop_assert_eq!(backend.first_in(range, *descending).unwrap(), model_first(&committed, range, *descending));
        }
    }
}

//! The journal against a model: random writes, removes, checkpoints,
//! reverts, releases and commits give the model's state, on the memory and
//! the redb backend.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use xwasm_store::{Checkpoint, Journal, MemoryBackend, RedbBackend, StateBackend};

#[derive(Debug, Clone)]
enum Op {
    Set(u8, u8),
    Remove(u8),
    Checkpoint,
    Revert,
    Release,
    Commit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..6, any::<u8>()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => (0u8..6).prop_map(Op::Remove),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Revert),
        1 => Just(Op::Release),
        1 => Just(Op::Commit),
    ]
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn run(backend: Arc<dyn StateBackend>, ops: &[Op]) {
    let mut committed = Model::new();
    let mut current = Model::new();
    let mut snapshots: Vec<(Checkpoint, Model)> = Vec::new();
    let mut journal = Journal::new(backend.clone());
    for op in ops {
        match op {
            Op::Set(k, v) => {
                journal.set(vec![*k], vec![*v]);
                current.insert(vec![*k], vec![*v]);
            }
            Op::Remove(k) => {
                journal.remove(vec![*k]);
                current.remove(&vec![*k]);
            }
            Op::Checkpoint => snapshots.push((journal.checkpoint(), current.clone())),
            Op::Revert => {
                if let Some((checkpoint, snapshot)) = snapshots.pop() {
                    journal.revert_to(checkpoint);
                    current = snapshot;
                }
            }
            Op::Release => {
                if let Some((checkpoint, _)) = snapshots.pop() {
                    journal.release(checkpoint);
                }
            }
            Op::Commit => {
                journal.commit().unwrap();
                journal = Journal::new(backend.clone());
                snapshots.clear();
                committed = current.clone();
            }
        }
        for k in 0u8..6 {
            assert_eq!(journal.get(&[k]).unwrap(), current.get(&vec![k]).cloned(), "after {op:?}");
            assert_eq!(journal.contains(&[k]).unwrap(), current.contains_key(&vec![k]), "after {op:?}");
        }
    }
    let stored: Model = backend.scan_prefix(&[]).unwrap().into_iter().collect();
    assert_eq!(stored, committed, "only commits reach the backend");
}

proptest! {
    #[test]
    fn journal_matches_the_model_in_memory(ops in proptest::collection::vec(op(), 0..80)) {
        run(Arc::new(MemoryBackend::new()), &ops);
    }

    #[test]
    fn journal_matches_the_model_on_redb(ops in proptest::collection::vec(op(), 0..40)) {
        let dir = tempfile::tempdir().unwrap();
        run(Arc::new(RedbBackend::open(dir.path().join("s.redb")).unwrap()), &ops);
    }
}

//! Random blocks of small programs over a few keys, run on 1 to 8
//! threads, against a plain sequential run: the same outputs and the same
//! final writes, every time.

use parking_lot::RwLock;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use xwasm_block::{BaseState, TxView, ViewError, execute, execute_committing, execute_until_contended};

/// Committed state: a few keys.
struct Base(BTreeMap<Vec<u8>, Vec<u8>>);

impl BaseState for Base {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.get(key).cloned())
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        Ok(self
            .0
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// Committed state that takes a block's writes as it commits them
/// ([`execute_committing`]).
struct Shared(RwLock<Base>);

impl BaseState for Shared {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.0.read().get(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
        self.0.read().scan_prefix(prefix)
    }
}

/// A whole state.
type State = BTreeMap<Vec<u8>, Vec<u8>>;

/// `base` after `writes`.
fn applied(base: &Base, writes: &Writes) -> State {
    let mut state = base.0.clone();
    for (key, value) in writes {
        match value {
            Some(value) => state.insert(key.clone(), value.clone()),
            None => state.remove(key),
        };
    }
    state
}

/// One transaction: read `from` (and optionally scan the `r` prefix),
/// then write to `to` a value derived from what it read, or remove it; a
/// transaction whose read value is odd "fails" and writes nothing (as a
/// rolled-back call).
#[derive(Debug, Clone)]
struct Program {
    from: u8,
    to: u8,
    scan: bool,
    remove: bool,
    spin: u16,
}

fn key(k: u8) -> Vec<u8> {
    if k.is_multiple_of(3) { vec![b'r', k] } else { vec![b'k', k] }
}

type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;
type Get<'a> = &'a dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, ViewError>;
type Scan<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, ViewError>;
type Contains<'a> = &'a dyn Fn(&[u8]) -> Result<bool, ViewError>;

/// Runs `p` against any reader/writer; the output says what it saw.
fn run(
    p: &Program,
    get: Get<'_>,
    scan: Scan<'_>,
    contains: Contains<'_>,
) -> Result<(u64, Writes), ViewError> {
    let value = get(&key(p.from))?.map_or(0, |v| v.iter().map(|&b| b as u64).sum::<u64>());
    let mut seen = value;
    if p.spin.is_multiple_of(3) {
        // Whether the key it writes is there already (removed keys are not).
        seen = seen.wrapping_mul(7).wrapping_add(u64::from(contains(&key(p.to))?));
    }
    if p.scan {
        seen = seen.wrapping_mul(31).wrapping_add(scan(b"r")?.len() as u64);
    }
    // Some work, so that threads interleave.
    let mut x = seen;
    for _ in 0..p.spin {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    if value % 2 == 1 && !p.remove {
        return Ok((seen, BTreeMap::new()));
    }
    let written = if p.remove { None } else { Some(vec![(seen % 251) as u8, p.to]) };
    Ok((seen, BTreeMap::from([(key(p.to), written)])))
}

fn sequential(base: &Base, block: &[Program]) -> (Vec<Result<u64, String>>, Writes) {
    in_order(base, Writes::new(), block)
}

/// Runs `block` in order over `base` and the writes before it, `state`.
fn in_order(base: &Base, mut state: Writes, block: &[Program]) -> (Vec<Result<u64, String>>, Writes) {
    let mut outputs = Vec::new();
    for p in block {
        let get = |k: &[u8]| Ok(state.get(k).cloned().unwrap_or_else(|| base.0.get(k).cloned()));
        let scan = |prefix: &[u8]| {
            let mut all: BTreeMap<Vec<u8>, Vec<u8>> = base.scan_prefix(prefix).unwrap().into_iter().collect();
            for (k, v) in state.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix)) {
                match v {
                    Some(v) => all.insert(k.clone(), v.clone()),
                    None => all.remove(k),
                };
            }
            Ok(all.into_iter().collect())
        };
        let contains = |k: &[u8]| get(k).map(|v| v.is_some());
        let (output, writes) = run(p, &get, &scan, &contains).unwrap();
        outputs.push(Ok(output));
        state.extend(writes);
    }
    (outputs, state)
}

fn parallel(
    base: &Arc<Base>,
    block: &[Program],
    threads: usize,
) -> (Vec<Result<u64, String>>, Writes, usize) {
    let result = execute(base.clone(), block.len(), threads, |i, view: &Arc<TxView>| {
        match run(&block[i], &|k| view.get(k), &|p| view.scan_prefix(p), &|k| view.contains(k)) {
            Ok((output, writes)) => {
                view.apply(writes);
                Ok(output)
            }
            Err(e) => Err(e.to_string()),
        }
    });
    (result.outputs, result.writes.into_iter().collect(), result.re_executions)
}

/// [`execute_until_contended`], then the rest of the block in order over
/// the writes of its validated prefix, as a caller with its own in-order
/// path runs it.
fn until_contended(
    base: &Arc<Base>,
    block: &[Program],
    threads: usize,
) -> (Vec<Result<u64, String>>, Writes) {
    let prefix =
        execute_until_contended(base.clone(), block.len(), threads, |i, view: &Arc<TxView>| {
            match run(&block[i], &|k| view.get(k), &|p| view.scan_prefix(p), &|k| view.contains(k)) {
                Ok((output, writes)) => {
                    view.apply(writes);
                    Ok(output)
                }
                Err(e) => Err(e.to_string()),
            }
        });
    let mut outputs = prefix.outputs;
    let (rest, writes) = in_order(base, prefix.writes.into_iter().collect(), &block[outputs.len()..]);
    outputs.extend(rest);
    (outputs, writes)
}

/// [`execute_committing`] into a copy of `base` that the block reads while
/// it commits to it, then the rest in order over it; the outputs and the
/// final state.
fn committing(base: &Base, block: &[Program], threads: usize) -> (Vec<Result<u64, String>>, State) {
    let shared = Arc::new(Shared(RwLock::new(Base(base.0.clone()))));
    let commit = |writes: Vec<(Vec<u8>, Option<Vec<u8>>)>| {
        let mut state = shared.0.write();
        state.0 = applied(&state, &writes.into_iter().collect());
    };
    let prefix = execute_committing(
        shared.clone(),
        block.len(),
        threads,
        |i, view: &Arc<TxView>| match run(&block[i], &|k| view.get(k), &|p| view.scan_prefix(p), &|k| {
            view.contains(k)
        }) {
            Ok((output, writes)) => {
                view.apply(writes);
                Ok(output)
            }
            Err(e) => Err(e.to_string()),
        },
        commit,
    );
    assert!(prefix.writes.is_empty(), "every write of the prefix was committed");
    let mut outputs = prefix.outputs;
    let committed = Base(shared.0.read().0.clone());
    let (rest, writes) = in_order(&committed, Writes::new(), &block[outputs.len()..]);
    outputs.extend(rest);
    (outputs, applied(&committed, &writes))
}

fn program(keys: u8) -> impl Strategy<Value = Program> {
    (0..keys, 0..keys, any::<bool>(), prop::bool::weighted(0.1), 0u16..400)
        .prop_map(|(from, to, scan, remove, spin)| Program { from, to, scan, remove, spin })
}

fn base_state() -> Base {
    Base((0..4u8).map(|k| (key(k), vec![k])).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn parallel_blocks_equal_the_sequential_run(
        keys in prop::sample::select(vec![2u8, 10, 200]),
        block in prop::collection::vec(program(200), 1..120),
    ) {
        let block: Vec<Program> =
            block.into_iter().map(|p| Program { from: p.from % keys, to: p.to % keys, ..p }).collect();
        let base = Arc::new(base_state());
        let (outputs, writes) = sequential(&base, &block);
        let state = applied(&base, &writes);
        for threads in [1, 2, 3, 4, 8] {
            for _ in 0..2 {
                let (got, got_writes, _) = parallel(&base, &block, threads);
                prop_assert_eq!(&got, &outputs, "outputs with {} threads", threads);
                prop_assert_eq!(&got_writes, &writes, "writes with {} threads", threads);
                let (got, got_writes) = until_contended(&base, &block, threads);
                prop_assert_eq!(&got, &outputs, "outputs until contended, {} threads", threads);
                prop_assert_eq!(&got_writes, &writes, "writes until contended, {} threads", threads);
                let (got, got_state) = committing(&base, &block, threads);
                prop_assert_eq!(&got, &outputs, "outputs committing, {} threads", threads);
                prop_assert_eq!(&got_state, &state, "state committing, {} threads", threads);
            }
        }
    }
}

#[test]
fn a_block_where_every_transaction_conflicts_re_executes_and_still_agrees() {
    // Every transaction reads and writes key 1: a chain.
    let block: Vec<Program> =
        (0..200).map(|i| Program { from: 1, to: 1, scan: i % 7 == 0, remove: false, spin: 200 }).collect();
    let base = Arc::new(base_state());
    let (outputs, writes) = sequential(&base, &block);
    let (got, got_writes, _) = parallel(&base, &block, 4);
    assert_eq!(got, outputs);
    assert_eq!(got_writes, writes);
    let (got, got_writes) = until_contended(&base, &block, 4);
    assert_eq!(got, outputs);
    assert_eq!(got_writes, writes);
    let (got, got_state) = committing(&base, &block, 4);
    assert_eq!(got, outputs);
    assert_eq!(got_state, applied(&base, &writes));
}

/// A transaction that panics on a worker: the panic reaches the caller,
/// and the other workers do not wait for it forever.
#[test]
fn a_panicking_transaction_panics_the_block_instead_of_hanging_it() {
    let base = Arc::new(base_state());
    for threads in [2, 4] {
        let result = std::panic::catch_unwind(|| {
            execute(base.clone(), 50, threads, |i, view: &Arc<TxView>| {
                assert!(i != 20, "transaction 20 panics");
                let _ = view.get(&key(1));
            })
        });
        assert!(result.is_err(), "{threads} threads");
    }
}

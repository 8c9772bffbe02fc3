//! The multi-version store: every key's writes by transaction index, and
//! the view one incarnation of a transaction reads through.

use crate::{BaseState, Key, TxIndex, Value, Writes};
use dashmap::DashMap;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Which execution of a transaction: its index and incarnation.
pub type Version = (TxIndex, usize);

/// One transaction's write to one key.
#[derive(Debug, Clone)]
enum Cell {
    /// Written by this incarnation (`None`: removed).
    Write(usize, Option<Value>),
    /// Written by an incarnation that was aborted: a later transaction
    /// reading it waits for the re-execution instead of reading stale data.
    Estimate,
}

/// One key's writes, by transaction index: a sorted vector, since a key
/// is written by few transactions of a block (a `BTreeMap` node would cost
/// half a kilobyte per key), and most keys by one: its first write is kept
/// inline, with no allocation.
#[derive(Debug, Default)]
struct Versions(smallvec::SmallVec<[(TxIndex, Cell); 1]>);

impl Versions {
    fn insert(&mut self, index: TxIndex, cell: Cell) {
        match self.0.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => self.0[at].1 = cell,
            Err(at) => self.0.insert(at, (index, cell)),
        }
    }

    fn remove(&mut self, index: TxIndex) {
        if let Ok(at) = self.0.binary_search_by_key(&index, |(i, _)| *i) {
            self.0.remove(at);
        }
    }

    /// The write of the highest index below `reader`.
    fn below(&self, reader: TxIndex) -> Option<&(TxIndex, Cell)> {
        let end = self.0.partition_point(|(i, _)| *i < reader);
        end.checked_sub(1).map(|at| &self.0[at])
    }
}

/// Where a read's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// No transaction before the reader wrote the key: committed state.
    Storage,
    /// Written by this version.
    Version(Version),
}

/// What an incarnation read, to be validated once it has run.
#[derive(Debug, Default)]
pub(crate) struct ReadSet {
    /// The keys read, one after another: no allocation per read.
    keys: Vec<u8>,
    /// Where each read's key ends in `keys`, and what it saw.
    points: Vec<(usize, Origin)>,
    /// A scanned prefix and every block-written key under it that the scan
    /// saw, with its origin: an insertion into the range is a conflict.
    ranges: Vec<(Key, Vec<(Key, Origin)>)>,
}

impl ReadSet {
    /// Room for a typical transaction's reads (a few keys of a few dozen
    /// bytes), so that recording them rarely grows the vectors.
    pub(crate) fn with_room() -> Self {
        Self { keys: Vec::with_capacity(256), points: Vec::with_capacity(8), ranges: Vec::new() }
    }

    /// Keeps this read set, emptied, in `spare` for a later execution, if
    /// it has room and `spare` holds fewer than `most`.
    pub(crate) fn recycle(mut self, spare: &mut Vec<ReadSet>, most: usize) {
        if self.keys.capacity() > 0 && spare.len() < most {
            self.keys.clear();
            self.points.clear();
            self.ranges.clear();
            spare.push(self);
        }
    }

    fn push(&mut self, key: &[u8], origin: Origin) {
        self.keys.extend_from_slice(key);
        self.points.push((self.keys.len(), origin));
    }

    /// Each read's key and what it saw, in order.
    fn points(&self) -> impl Iterator<Item = (&[u8], &Origin)> {
        let mut start = 0;
        self.points.iter().map(move |(end, origin)| {
            let key = &self.keys[start..*end];
            start = *end;
            (key, origin)
        })
    }
}

/// The block's writes, by key and transaction index.
pub(crate) struct MvMemory {
    /// Seeded fast hashing: keys are looked up on every read.
    cells: DashMap<Key, Versions, foldhash::fast::RandomState>,
    /// The keys each transaction's latest incarnation wrote.
    /// (Most write one or two: kept inline.)
    last_written: Vec<Mutex<smallvec::SmallVec<[Key; 2]>>>,
}

/// The latest write to a key before a reader: who wrote it, and what
/// (`None`: removed).
type Found = Option<(Version, Option<Value>)>;

/// A read that met an aborted transaction's write: the reader depends on
/// that transaction's re-execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dependency(pub TxIndex);

impl MvMemory {
    pub(crate) fn new(transactions: usize) -> Self {
        Self {
            // Transactions usually write a few keys each.
            cells: DashMap::with_capacity_and_hasher(transactions * 2, Default::default()),
            last_written: (0..transactions).map(|_| Mutex::default()).collect(),
        }
    }

    /// The latest write to `key` by a transaction before `reader`.
    fn read(&self, key: &[u8], reader: TxIndex) -> Result<Found, Dependency> {
        self.read_with(key, reader, Option::clone)
    }

    /// The version of the latest write to `key` by a transaction before
    /// `reader`, and what `look` makes of its value (without copying it).
    fn read_with<T>(
        &self,
        key: &[u8],
        reader: TxIndex,
        look: impl FnOnce(&Option<Value>) -> T,
    ) -> Result<Option<(Version, T)>, Dependency> {
        let Some(cells) = self.cells.get(key) else { return Ok(None) };
        match cells.below(reader) {
            None => Ok(None),
            Some((writer, Cell::Estimate)) => Err(Dependency(*writer)),
            Some((writer, Cell::Write(incarnation, value))) => {
                Ok(Some(((*writer, *incarnation), look(value))))
            }
        }
    }

    /// The origin of every block-written key under `prefix`, as `reader`
    /// sees them.
    ///
    /// It walks every key the block wrote: scans are rare (the native ABI
    /// has none) and keeping an ordered index would cost every write.
    fn scan(&self, prefix: &[u8], reader: TxIndex) -> Result<Vec<(Key, Found)>, Dependency> {
        let mut keys: Vec<Key> =
            self.cells.iter().map(|entry| entry.key().clone()).filter(|k| k.starts_with(prefix)).collect();
        keys.sort_unstable();
        keys.into_iter().map(|key| Ok((key.clone(), self.read(&key, reader)?))).collect()
    }

    /// Records what `version` wrote; returns whether it wrote a key its
    /// previous incarnation did not (later transactions must then be
    /// validated again).
    pub(crate) fn record(&self, version: Version, writes: BTreeMap<Key, Option<Value>>) -> bool {
        let (index, incarnation) = version;
        let mut last = self.last_written[index].lock();
        let previous: BTreeSet<Key> = last.drain(..).collect();
        let mut new_location = false;
        for key in previous.iter().filter(|k| !writes.contains_key(*k)) {
            if let Some(mut cells) = self.cells.get_mut(key) {
                cells.remove(index);
            }
        }
        for (key, value) in writes {
            if !previous.contains(&key) {
                new_location = true;
            }
            let mut cells = self.cells.entry(key.clone()).or_default();
            cells.insert(index, Cell::Write(incarnation, value));
            drop(cells);
            last.push(key);
        }
        new_location
    }

    /// Marks what `index` wrote as estimates: its incarnation was aborted.
    pub(crate) fn convert_writes_to_estimates(&self, index: TxIndex) {
        for key in self.last_written[index].lock().iter() {
            if let Some(mut cells) = self.cells.get_mut(key) {
                cells.insert(index, Cell::Estimate);
            }
        }
    }

    /// Whether everything `index` read is still what it would read now.
    pub(crate) fn validate(&self, index: TxIndex, reads: &ReadSet) -> bool {
        let origin = |found: Found| match found {
            None => Origin::Storage,
            Some((version, _)) => Origin::Version(version),
        };
        let points_hold = reads.points().all(|(key, seen)| match self.read_with(key, index, |_| ()) {
            Ok(None) => *seen == Origin::Storage,
            Ok(Some((version, ()))) => *seen == Origin::Version(version),
            Err(Dependency(_)) => false,
        });
        points_hold
            && reads.ranges.iter().all(|(prefix, seen)| match self.scan(prefix, index) {
                Ok(found) => {
                    let now: Vec<(Key, Origin)> =
                        found.into_iter().filter(|(_, f)| f.is_some()).map(|(k, f)| (k, origin(f))).collect();
                    now == *seen
                }
                Err(Dependency(_)) => false,
            })
    }

    /// What the transactions in `range` (final: they are committed) wrote:
    /// each key's last write among theirs. Their lists of written keys are
    /// taken (a committed transaction is never aborted), so that the keys
    /// are moved, not copied.
    pub(crate) fn take_writes(&self, range: std::ops::Range<TxIndex>) -> Writes {
        let mut writes = Writes::new();
        for index in range.clone() {
            for key in std::mem::take(&mut *self.last_written[index].lock()) {
                let Some(cells) = self.cells.get(&key) else { continue };
                if let Some((writer, Cell::Write(_, value))) = cells.below(range.end)
                    && *writer == index
                {
                    let value = value.clone();
                    drop(cells);
                    writes.push((key, value));
                }
            }
        }
        writes
    }

    /// Every key's value after the transactions below `end`: the last
    /// write to it among theirs (all final: they have been validated).
    pub(crate) fn writes_below(&self, end: TxIndex) -> Writes {
        self.cells
            .iter()
            .filter_map(|entry| match entry.value().below(end) {
                Some((_, Cell::Write(_, value))) => Some((entry.key().clone(), value.clone())),
                Some((writer, Cell::Estimate)) => {
                    unreachable!("transaction {writer} of the validated prefix was aborted")
                }
                None => None,
            })
            .collect()
    }

    /// Every key's final value: the last transaction's write to it (for a
    /// store still shared).
    pub(crate) fn writes(&self) -> Writes {
        self.cells
            .iter()
            .filter_map(|entry| match entry.value().0.last() {
                Some((_, Cell::Write(_, value))) => Some((entry.key().clone(), value.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every key's final value: the last transaction's write to it.
    /// Gathered on every core (rayon): otherwise one thread's work, as long
    /// as the block's writes, after the workers are done. (Sorting them
    /// too, for a `BTreeMap` to insert down paths still in the cache, cost
    /// as much as it saved.)
    pub(crate) fn into_writes(self) -> Writes {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        self.cells
            .into_par_iter()
            .filter_map(|(key, mut versions)| match versions.0.pop() {
                Some((_, Cell::Write(_, value))) => Some((key, value)),
                _ => None,
            })
            .collect()
    }
}

/// Why a view could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewError {
    /// An earlier transaction of the block is being executed again: this
    /// incarnation is stopped and resumed after it.
    Dependency,
    /// The committed state could not be read.
    Base(String),
}

impl std::fmt::Display for ViewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ViewError::Dependency => f.write_str("waiting for an earlier transaction of the block"),
            ViewError::Base(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ViewError {}

/// The state one incarnation of a transaction sees: the writes of the
/// block's earlier transactions over the committed state. It records what
/// it reads, and takes the transaction's writes instead of committing
/// them.
pub struct TxView {
    pub(crate) index: TxIndex,
    memory: Arc<MvMemory>,
    base: Arc<dyn BaseState>,
    /// Whether reads are recorded (not on one thread: nothing to validate).
    track: bool,
    pub(crate) reads: Mutex<ReadSet>,
    pub(crate) writes: Mutex<BTreeMap<Key, Option<Value>>>,
    pub(crate) blocked: Mutex<Option<TxIndex>>,
}

impl TxView {
    pub(crate) fn new(index: TxIndex, memory: Arc<MvMemory>, base: Arc<dyn BaseState>, track: bool) -> Self {
        Self {
            index,
            memory,
            base,
            track,
            reads: Mutex::new(if track { ReadSet::with_room() } else { ReadSet::default() }),
            writes: Mutex::default(),
            blocked: Mutex::default(),
        }
    }

    /// Makes this view, no longer shared, the view of an execution of
    /// `index`, recording into `reads` (empty).
    pub(crate) fn reuse(&mut self, index: TxIndex, reads: ReadSet) {
        self.index = index;
        *self.reads.get_mut() = reads;
        self.writes.get_mut().clear();
        *self.blocked.get_mut() = None;
    }

    /// The transaction's position in the block.
    pub fn index(&self) -> TxIndex {
        self.index
    }

    fn blocked_on(&self, Dependency(writer): Dependency) -> ViewError {
        self.blocked.lock().get_or_insert(writer);
        ViewError::Dependency
    }

    fn record_read(&self, key: &[u8], origin: Origin) {
        if self.track {
            self.reads.lock().push(key, origin);
        }
    }

    /// The value of `key` before this transaction.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>, ViewError> {
        match self.memory.read(key, self.index).map_err(|d| self.blocked_on(d))? {
            Some((version, value)) => {
                self.record_read(key, Origin::Version(version));
                Ok(value)
            }
            None => {
                self.record_read(key, Origin::Storage);
                self.base.get(key).map_err(ViewError::Base)
            }
        }
    }

    /// Whether this transaction sees `key`'s committed value: no earlier
    /// transaction of the block has written it, as the block stands now.
    /// If so, that is recorded as a read of the committed value, so that
    /// validation catches an earlier write that comes later (a caller may
    /// then use a copy of the committed value it keeps); if not, the read
    /// that follows records what it finds.
    pub fn sees_committed(&self, key: &[u8]) -> bool {
        let unwritten = matches!(self.memory.read_with(key, self.index, |_| ()), Ok(None));
        if unwritten {
            self.record_read(key, Origin::Storage);
        }
        unwritten
    }

    /// Whether `key` has a value before this transaction (validated as a
    /// read of it, without copying a committed value).
    pub fn contains(&self, key: &[u8]) -> Result<bool, ViewError> {
        match self.memory.read_with(key, self.index, Option::is_some).map_err(|d| self.blocked_on(d))? {
            Some((version, exists)) => {
                self.record_read(key, Origin::Version(version));
                Ok(exists)
            }
            None => {
                self.record_read(key, Origin::Storage);
                self.base.contains(key).map_err(ViewError::Base)
            }
        }
    }

    /// Every key under `prefix` and its value before this transaction, in
    /// key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Key, Value)>, ViewError> {
        let written = self.memory.scan(prefix, self.index).map_err(|d| self.blocked_on(d))?;
        let mut entries: BTreeMap<Key, Value> =
            self.base.scan_prefix(prefix).map_err(ViewError::Base)?.into_iter().collect();
        let mut seen = Vec::new();
        for (key, found) in written {
            if let Some((version, value)) = found {
                seen.push((key.clone(), Origin::Version(version)));
                match value {
                    Some(value) => entries.insert(key, value),
                    None => entries.remove(&key),
                };
            }
        }
        if self.track {
            self.reads.lock().ranges.push((prefix.to_vec(), seen));
        }
        Ok(entries.into_iter().collect())
    }

    /// Takes the transaction's changes (what a commit would apply): kept
    /// as they come when they are the first (a transaction commits once),
    /// with no new map built for them.
    pub fn apply(&self, changes: BTreeMap<Key, Option<Value>>) {
        let mut writes = self.writes.lock();
        if writes.is_empty() {
            *writes = changes;
        } else {
            writes.extend(changes);
        }
    }
}

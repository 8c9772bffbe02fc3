//! Executes a block of transactions on several threads with exactly the
//! result of running them one after another in block order: Block-STM
//! (Gelashvili et al., PPoPP 2023).
//!
//! Every transaction runs optimistically against a [`TxView`]: the writes
//! of the block's earlier transactions (a multi-version store, per key and
//! transaction index) over the committed state. The view records what the
//! transaction read and takes its writes. Once it has run, its reads are
//! validated against what it would read now; a transaction whose reads
//! changed is executed again, its old writes turned into estimates that
//! make later readers wait for it instead of reading stale data. A
//! collaborative scheduler hands out the lowest-index task first. At the
//! end, every key's last write is the block's result.
//!
//! [`execute`] runs the whole block, the rest in order through views when
//! re-executions dominate; [`execute_until_contended`] leaves that rest
//! to a caller with a faster in-order path (xwasm's facade runs it over
//! its `Overlay`), and is what xwasm uses.
//!
//! This crate knows nothing of WebAssembly or of xwasm's state: the caller
//! hands it a function that runs transaction `i` against a view, and the
//! committed state as a [`BaseState`].
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use xwasm_block::{BaseState, execute};
//!
//! struct Empty;
//! impl BaseState for Empty {
//!     fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>, String> { Ok(None) }
//!     fn scan_prefix(&self, _: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> { Ok(vec![]) }
//! }
//!
//! // Ten transactions, each adding one to a shared counter.
//! let block = execute(Arc::new(Empty), 10, 4, |_, view| {
//!     let n = view.get(b"n").ok().flatten().map_or(0, |v| v[0]);
//!     view.apply(BTreeMap::from([(b"n".to_vec(), Some(vec![n + 1]))]));
//!     n
//! });
//! assert_eq!(block.outputs, (0..10).collect::<Vec<u8>>());
//! assert_eq!(block.writes, vec![(b"n".to_vec(), Some(vec![10]))]);
//! ```

mod memory;
mod scheduler;

pub use memory::{TxView, ViewError};

use memory::MvMemory;
use parking_lot::Mutex;
use scheduler::{Scheduler, Task};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub type Key = Vec<u8>;
pub type Value = Vec<u8>;
/// A block's effect on the state: each key it wrote once, with its last
/// write (`None`: removed), in no particular order.
pub type Writes = Vec<(Key, Option<Value>)>;
/// A transaction's position in its block.
pub type TxIndex = usize;

/// The committed state a block starts from. It does not change while the
/// block runs, but by the writes [`execute_committing`] hands over.
pub trait BaseState: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Value>, String>;
    /// Whether `key` has a value. Provided; a state that can answer
    /// without copying the value should.
    fn contains(&self, key: &[u8]) -> Result<bool, String> {
        Ok(self.get(key)?.is_some())
    }
    /// Every key under `prefix` and its value, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Key, Value)>, String>;
}

/// What a block's execution produced.
#[derive(Debug)]
pub struct Block<O> {
    /// Each transaction's output, in block order: the one of its last
    /// incarnation, which saw exactly the effects of those before it.
    pub outputs: Vec<O>,
    /// The effect on the state of the transactions in `outputs` (the
    /// whole block from [`execute`]; the validated prefix from
    /// [`execute_until_contended`]): each key's last write (`None`:
    /// removed), to be committed at once.
    pub writes: Writes,
    /// Executions beyond the first of each transaction.
    pub re_executions: usize,
}

/// The block's final writes, moved out once every view is gone (copied if
/// `run` kept one).
fn into_writes(memory: Arc<MvMemory>) -> Writes {
    Arc::try_unwrap(memory).map_or_else(|shared| shared.writes(), MvMemory::into_writes)
}

/// The worker threads `requested` threads means: 0 is one per core.
pub fn worker_count(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Sets its flag if dropped by a panic.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether `executions`, of which `first` were first incarnations, spent
/// so much on re-executions (a third of the first ones, once each worker
/// had a few) that the rest of the block should run in order: the lowest
/// pending transaction first, one at a time.
fn wasteful(executions: usize, first: usize, threads: usize) -> bool {
    first >= 4 * threads && executions.saturating_sub(first) * 3 > first
}

/// Runs transactions `0..count` with `threads` workers (at least one).
/// `run(i, view)` executes transaction `i` against `view`: it reads
/// through [`TxView::get`] and [`TxView::scan_prefix`] and hands its writes
/// to [`TxView::apply`]. When a read returns [`ViewError::Dependency`] the
/// incarnation is abandoned, whatever `run` returns, and run again later;
/// `run` must give up promptly then (an error through its own error path
/// is enough). The result equals running `0..count` in order, each seeing
/// the writes of all before it, for any thread count and schedule.
///
/// When re-executions dominate, the workers stop and the rest of the block
/// runs in order here, through views. A caller with a faster way to run
/// transactions in order uses [`execute_until_contended`] instead.
pub fn execute<O: Send>(
    base: Arc<dyn BaseState>,
    count: usize,
    threads: usize,
    run: impl Fn(TxIndex, &Arc<TxView>) -> O + Sync,
) -> Block<O> {
    let memory = Arc::new(MvMemory::new(count));
    let (mut outputs, re_executions) = speculate(&memory, &base, count, threads, &run, None);
    // The rest in order, each seeing the final writes of all before it
    // (stale writes of a speculative execution are replaced as they run),
    // with nothing to validate.
    for index in outputs.len()..count {
        let view = Arc::new(TxView::new(index, memory.clone(), base.clone(), false));
        outputs.push(run(index, &view));
        memory.record((index, usize::MAX), std::mem::take(&mut *view.writes.lock()));
    }
    Block { outputs, writes: into_writes(memory), re_executions }
}

/// [`execute`], except that it leaves running the rest of the block in
/// order to the caller: when re-executions dominate (or with one worker,
/// from the start) it returns the outputs of the validated prefix
/// `0..outputs.len()` and the writes of those transactions alone. The
/// caller runs the others in order over these writes, each seeing those
/// before it, which gives the block's result. `re_executions` then counts
/// the executions that running each of the rest once will have repeated.
pub fn execute_until_contended<O: Send>(
    base: Arc<dyn BaseState>,
    count: usize,
    threads: usize,
    run: impl Fn(TxIndex, &Arc<TxView>) -> O + Sync,
) -> Block<O> {
    if threads <= 1 {
        return Block { outputs: Vec::new(), writes: Writes::new(), re_executions: 0 };
    }
    let memory = Arc::new(MvMemory::new(count));
    let (outputs, re_executions) = speculate(&memory, &base, count, threads, &run, None);
    let writes =
        if outputs.len() == count { into_writes(memory) } else { memory.writes_below(outputs.len()) };
    Block { outputs, writes, re_executions }
}

/// [`execute_until_contended`], committing as the block runs: `commit`
/// receives the writes of the transactions that have become final (each
/// key's last write among them), a batch at a time, in block order, one
/// batch after another, while the workers go on (Block-STM's rolling
/// commit). The base state may take them as they come: a transaction that
/// could read one of them from it reads the block's own write first. The
/// block's end then has little left to commit: the returned `writes` are
/// empty, every write of `outputs`' transactions having gone to `commit`.
pub fn execute_committing<O: Send>(
    base: Arc<dyn BaseState>,
    count: usize,
    threads: usize,
    run: impl Fn(TxIndex, &Arc<TxView>) -> O + Sync,
    commit: impl Fn(Writes) + Sync,
) -> Block<O> {
    if threads <= 1 {
        return Block { outputs: Vec::new(), writes: Writes::new(), re_executions: 0 };
    }
    let memory = Arc::new(MvMemory::new(count));
    let (outputs, re_executions) = speculate(&memory, &base, count, threads, &run, Some(&commit));
    // The store's versions are many small allocations: freed on another
    // thread, not on the block's path.
    rayon::spawn(move || drop(memory));
    Block { outputs, writes: Writes::new(), re_executions }
}

/// The most read sets a worker keeps for its next executions.
const SPARE_READ_SETS: usize = 64;

/// The most final transactions a worker waits for before it hands them to
/// `commit`: a batch takes the state's write lock once. A small block
/// hands smaller ones, so that most of it is committed while it runs.
const COMMIT_BATCH: usize = 64;

/// Block-STM on `threads` workers (none with one thread: nothing is
/// gained by speculating then). Returns the outputs of the validated
/// prefix (the whole block unless the workers stopped early) and the
/// executions beyond one each that the block will have cost once the rest
/// has run in order once each. With `commit`, the workers hand it the
/// writes of final transactions as they go, and the rest of the prefix's
/// at the end.
fn speculate<O: Send>(
    memory: &Arc<MvMemory>,
    base: &Arc<dyn BaseState>,
    count: usize,
    threads: usize,
    run: &(impl Fn(TxIndex, &Arc<TxView>) -> O + Sync),
    commit: Option<&(dyn Fn(Writes) + Sync)>,
) -> (Vec<O>, usize) {
    if threads <= 1 {
        return (Vec::new(), 0);
    }
    // A worker's view, and the read sets of committed transactions, serve
    // its next executions: no allocation, and no count of the shared
    // store's and state's references touched, per execution.
    let view = |index, spare: &mut Option<Arc<TxView>>, reads: &mut Vec<memory::ReadSet>| {
        if let Some(mut view) = spare.take()
            && let Some(unshared) = Arc::get_mut(&mut view)
        {
            unshared.reuse(index, reads.pop().unwrap_or_else(memory::ReadSet::with_room));
            return view;
        }
        Arc::new(TxView::new(index, memory.clone(), base.clone(), true))
    };
    let scheduler = Scheduler::new(count);
    let batch = (count / (8 * threads)).clamp(1, COMMIT_BATCH);
    let outputs: Vec<Mutex<Option<O>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let reads: Vec<Mutex<memory::ReadSet>> = (0..count).map(|_| Mutex::default()).collect();
    let executions = AtomicUsize::new(0);
    let first_executions = AtomicUsize::new(0);
    // Set when re-executions dominate: the workers stop taking new tasks
    // and the rest of the block runs in order (see below).
    let contended = AtomicBool::new(false);
    let worker = || {
        // A worker that panics stops the others (the panic then reaches the
        // caller) instead of leaving them waiting for its task forever.
        let _stop_on_panic = StopOnPanic(&contended);
        let mut task = None;
        // Whether a task ended since this worker last tried to commit.
        let mut worked = false;
        let (mut spare_view, mut spare_reads) = (None, Vec::new());
        loop {
            if task.is_none()
                && std::mem::take(&mut worked)
                && let Some(commit) = commit
            {
                scheduler.try_commit(batch, |range| {
                    // Nothing validates a committed transaction's reads
                    // again: their memory serves the next ones.
                    for read in &reads[range.clone()] {
                        std::mem::take(&mut *read.lock()).recycle(&mut spare_reads, SPARE_READ_SETS);
                    }
                    commit(memory.take_writes(range))
                });
            }
            if task.is_none() {
                // A follow-up task is always finished, so that the tasks
                // handed out leave the scheduler consistent.
                if scheduler.done() || contended.load(Ordering::Relaxed) {
                    break;
                }
                task = scheduler.next_task();
            }
            worked |= task.is_some();
            task = match task.take() {
                None => {
                    std::hint::spin_loop();
                    None
                }
                Some(Task::Execute(version)) => {
                    let (index, incarnation) = version;
                    if incarnation == 0 {
                        first_executions.fetch_add(1, Ordering::Relaxed);
                    }
                    loop {
                        let executed = executions.fetch_add(1, Ordering::Relaxed) + 1;
                        if wasteful(executed, first_executions.load(Ordering::Relaxed), threads) {
                            contended.store(true, Ordering::Relaxed);
                        }
                        let view = view(index, &mut spare_view, &mut spare_reads);
                        let output = run(index, &view);
                        if let Some(blocking) = *view.blocked.lock() {
                            if scheduler.add_dependency(index, blocking) {
                                break None;
                            }
                            continue; // the dependency resolved meanwhile
                        }
                        *outputs[index].lock() = Some(output);
                        let previous = std::mem::replace(
                            &mut *reads[index].lock(),
                            std::mem::take(&mut *view.reads.lock()),
                        );
                        previous.recycle(&mut spare_reads, SPARE_READ_SETS);
                        let wrote_new = memory.record(version, std::mem::take(&mut *view.writes.lock()));
                        spare_view = Some(view);
                        break scheduler.finish_execution(version, wrote_new);
                    }
                }
                Some(Task::Validate(version, wave)) => {
                    let (index, _) = version;
                    let valid = memory.validate(index, &reads[index].lock());
                    let aborted = !valid && scheduler.try_validation_abort(version);
                    if aborted {
                        memory.convert_writes_to_estimates(index);
                    }
                    scheduler.finish_validation(version, wave, aborted)
                }
            };
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(worker);
        }
        worker();
    });
    // Stopped early: every transaction below both indices has executed and
    // been validated; it holds the outputs that running in order gives.
    // The rest run in order after it: it only saves the work conflicts
    // would have wasted.
    let validated = if scheduler.done() { count } else { scheduler.validated_prefix() };
    if let Some(commit) = commit {
        let rest = scheduler.hand_rest(validated);
        if !rest.is_empty() {
            commit(memory.take_writes(rest));
        }
    }
    let outputs = outputs
        .into_iter()
        .take(validated)
        .map(|output| output.into_inner().expect("every validated transaction has run"))
        .collect();
    (outputs, executions.into_inner().saturating_sub(validated))
}

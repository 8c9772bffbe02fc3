//! Block-STM's collaborative scheduler (Gelashvili et al., "Block-STM",
//! PPoPP 2023): execution and validation tasks, always the lowest index
//! first, shared by every worker thread.
//!
//! Each task holds one count of `active` from the moment it is handed out
//! until it ends without a follow-up task; the block is done when both
//! indices are past the end, no task is active, and no index was lowered
//! while that was being checked.
//!
//! # Rolling commit
//!
//! Transactions are committed in order while the block runs, as Aptos's
//! Block-STM does. Each lowering of the validation index starts a new
//! *wave*, and a validation task carries the wave in which the index
//! passed it (both are one atomic word, so a task cannot carry a wave
//! older than the lowering it follows). A lowering is recorded on the
//! transaction that caused it (it wrote a new location, or it was
//! aborted), under its status lock. Transaction `i` is final, and
//! committed, when every transaction before it is, it has executed, and
//! its latest incarnation passed a validation of a wave at least as recent
//! as every wave the committed transactions and itself caused: that
//! validation read every change they made. A later change by an earlier
//! transaction is impossible (they are final), and one of its own
//! re-executions would have needed an abort first.

use crate::TxIndex;
use crate::memory::Version;
use parking_lot::Mutex;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};

/// A validation wave: how many times the validation index was lowered.
pub(crate) type Wave = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    ReadyToExecute,
    Executing,
    Executed,
    Aborting,
}

/// What a worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    Execute(Version),
    /// A validation, and the wave the validation index passed it in.
    Validate(Version, Wave),
}

/// One transaction's state.
#[derive(Debug, Clone, Copy)]
struct TxState {
    incarnation: usize,
    status: Status,
    /// The most recent wave of a validation that this incarnation passed.
    validated: Option<Wave>,
    /// The most recent wave this transaction started.
    triggered: Wave,
    /// Whether its execution's end has decided on a wave: until then it
    /// is not committed.
    settled: bool,
}

/// How far the block is committed.
#[derive(Debug, Default)]
struct Commit {
    /// Every transaction below it is final.
    committed: TxIndex,
    /// The most recent wave the committed transactions started.
    wave: Wave,
    /// Every transaction below it has had its writes handed over.
    handed: TxIndex,
}

/// The validation index (low half) and its wave (high half), one word.
fn unpack(word: u64) -> (TxIndex, Wave) {
    ((word & u64::from(u32::MAX)) as TxIndex, (word >> 32) as Wave)
}

fn pack(index: TxIndex, wave: Wave) -> u64 {
    (u64::from(wave) << 32) | index as u64
}

pub(crate) struct Scheduler {
    size: usize,
    execution_idx: AtomicUsize,
    /// The validation index and its wave ([`pack`]).
    validation: AtomicU64,
    decrease_cnt: AtomicUsize,
    active: AtomicUsize,
    done: AtomicBool,
    /// Per transaction: its incarnation, status and waves.
    status: Vec<Mutex<TxState>>,
    /// Per transaction: the transactions waiting for its next execution.
    dependents: Vec<Mutex<Vec<TxIndex>>>,
    commit: Mutex<Commit>,
    /// `commit.committed`, for an assertion that needs no lock.
    committed: AtomicUsize,
}

impl Scheduler {
    pub(crate) fn new(size: usize) -> Self {
        // The validation index shares a word with its wave.
        assert!(size < u32::MAX as usize / 2, "a block of {size} transactions is too large");
        let ready = TxState {
            incarnation: 0,
            status: Status::ReadyToExecute,
            validated: None,
            triggered: 0,
            settled: false,
        };
        Self {
            size,
            execution_idx: AtomicUsize::new(0),
            validation: AtomicU64::new(0),
            decrease_cnt: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            done: AtomicBool::new(size == 0),
            status: (0..size).map(|_| Mutex::new(ready)).collect(),
            dependents: (0..size).map(|_| Mutex::default()).collect(),
            commit: Mutex::default(),
            committed: AtomicUsize::new(0),
        }
    }

    fn validation_idx(&self) -> TxIndex {
        unpack(self.validation.load(SeqCst)).0
    }

    pub(crate) fn done(&self) -> bool {
        self.done.load(SeqCst)
    }

    /// Once no task is active: the transactions below this index have
    /// executed and been validated.
    pub(crate) fn validated_prefix(&self) -> TxIndex {
        let validated = self.execution_idx.load(SeqCst).min(self.validation_idx()).min(self.size);
        validated.max(self.commit.lock().committed)
    }

    fn decrease_execution_idx(&self, target: TxIndex) {
        self.execution_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    /// Lowers the validation index to `target`, for the transaction whose
    /// state is `cause` (locked): a new wave, recorded on it, if the index
    /// was above `target`.
    fn decrease_validation_idx(&self, target: TxIndex, cause: &mut TxState) {
        let lowered = self.validation.fetch_update(SeqCst, SeqCst, |word| {
            let (index, wave) = unpack(word);
            (index > target).then(|| pack(target, wave + 1))
        });
        if let Ok(word) = lowered {
            cause.triggered = unpack(word).1 + 1;
        }
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    fn check_done(&self) {
        let observed = self.decrease_cnt.load(SeqCst);
        if self.execution_idx.load(SeqCst).min(self.validation_idx()) >= self.size
            && self.active.load(SeqCst) == 0
            && observed == self.decrease_cnt.load(SeqCst)
        {
            self.done.store(true, SeqCst);
        }
    }

    /// Starts the next incarnation of `index` if it is ready to execute.
    fn try_incarnate(&self, index: TxIndex) -> Option<Version> {
        if index >= self.size {
            return None;
        }
        let mut state = self.status[index].lock();
        if state.status == Status::ReadyToExecute {
            state.status = Status::Executing;
            return Some((index, state.incarnation));
        }
        None
    }

    fn next_version_to_execute(&self) -> Option<Version> {
        if self.execution_idx.load(SeqCst) >= self.size {
            self.check_done();
            return None;
        }
        self.active.fetch_add(1, SeqCst);
        let index = self.execution_idx.fetch_add(1, SeqCst);
        let version = self.try_incarnate(index);
        if version.is_none() {
            self.active.fetch_sub(1, SeqCst);
        }
        version
    }

    fn next_version_to_validate(&self) -> Option<Task> {
        if self.validation_idx() >= self.size {
            self.check_done();
            return None;
        }
        self.active.fetch_add(1, SeqCst);
        let (index, wave) = unpack(self.validation.fetch_add(1, SeqCst));
        if index < self.size {
            let state = *self.status[index].lock();
            if state.status == Status::Executed {
                return Some(Task::Validate((index, state.incarnation), wave));
            }
        }
        self.active.fetch_sub(1, SeqCst);
        None
    }

    /// The lowest-index task available, if any (none does not mean done).
    pub(crate) fn next_task(&self) -> Option<Task> {
        if self.validation_idx() < self.execution_idx.load(SeqCst) {
            self.next_version_to_validate()
        } else {
            self.next_version_to_execute().map(Task::Execute)
        }
    }

    /// `index` read an estimate written by `blocking`: it waits for
    /// `blocking`'s next execution. False if that already finished (the
    /// read can be retried at once).
    pub(crate) fn add_dependency(&self, index: TxIndex, blocking: TxIndex) -> bool {
        let mut dependents = self.dependents[blocking].lock();
        if self.status[blocking].lock().status == Status::Executed {
            return false;
        }
        self.status[index].lock().status = Status::Aborting;
        dependents.push(index);
        drop(dependents);
        self.active.fetch_sub(1, SeqCst);
        true
    }

    /// `index`'s aborted incarnation is replaced by the next one.
    fn set_ready_status(&self, index: TxIndex) {
        let mut state = self.status[index].lock();
        state.incarnation += 1;
        state.status = Status::ReadyToExecute;
        state.validated = None;
    }

    /// `version` executed; the follow-up task, if this worker takes one.
    pub(crate) fn finish_execution(
        &self,
        (index, incarnation): Version,
        wrote_new_location: bool,
    ) -> Option<Task> {
        {
            let mut state = self.status[index].lock();
            state.incarnation = incarnation;
            state.status = Status::Executed;
            state.validated = None;
            state.settled = false;
        }
        let waiting = std::mem::take(&mut *self.dependents[index].lock());
        if let Some(&lowest) = waiting.iter().min() {
            for &dependent in &waiting {
                self.set_ready_status(dependent);
            }
            self.decrease_execution_idx(lowest);
        }
        let (validation_idx, wave) = unpack(self.validation.load(SeqCst));
        let mut state = self.status[index].lock();
        let mut task = None;
        if validation_idx > index {
            if wrote_new_location {
                self.decrease_validation_idx(index, &mut state);
            } else {
                // Only this transaction needs validating again.
                task = Some(Task::Validate((index, incarnation), wave));
            }
        }
        state.settled = true;
        drop(state);
        if task.is_none() {
            self.active.fetch_sub(1, SeqCst);
        }
        task
    }

    /// Claims the abort of `version` after a failed validation: false if
    /// another worker already did, or a newer incarnation exists.
    pub(crate) fn try_validation_abort(&self, (index, incarnation): Version) -> bool {
        let mut state = self.status[index].lock();
        if (state.incarnation, state.status) == (incarnation, Status::Executed) {
            debug_assert!(index >= self.committed.load(SeqCst), "committed transaction {index} aborted");
            state.status = Status::Aborting;
            return true;
        }
        false
    }

    /// `version` was validated in `wave` (and aborted, if `aborted`); the
    /// follow-up task, if this worker takes one.
    pub(crate) fn finish_validation(
        &self,
        (index, incarnation): Version,
        wave: Wave,
        aborted: bool,
    ) -> Option<Task> {
        if aborted {
            self.set_ready_status(index);
            self.decrease_validation_idx(index + 1, &mut self.status[index].lock());
            if self.execution_idx.load(SeqCst) > index
                && let Some(version) = self.try_incarnate(index)
            {
                return Some(Task::Execute(version));
            }
        } else {
            let mut state = self.status[index].lock();
            if (state.incarnation, state.status) == (incarnation, Status::Executed) {
                state.validated = state.validated.max(Some(wave));
            }
        }
        self.active.fetch_sub(1, SeqCst);
        None
    }

    /// Commits the transactions that have become final, if no other worker
    /// is committing; once at least `batch` of them have not been handed
    /// over, hands them to `hand` (a range, in order, under the commit's
    /// lock: ranges are handed one after another).
    pub(crate) fn try_commit(&self, batch: usize, hand: impl FnOnce(Range<TxIndex>)) {
        let Some(mut commit) = self.commit.try_lock() else { return };
        while commit.committed < self.size {
            let state = *self.status[commit.committed].lock();
            if state.status != Status::Executed || !state.settled {
                break;
            }
            commit.wave = commit.wave.max(state.triggered);
            if state.validated.is_none_or(|validated| validated < commit.wave) {
                break;
            }
            commit.committed += 1;
        }
        self.committed.store(commit.committed, SeqCst);
        if commit.committed - commit.handed >= batch.max(1) {
            let range = commit.handed..commit.committed;
            commit.handed = commit.committed;
            hand(range);
        }
    }

    /// Marks every transaction below `end` (final: the workers are done)
    /// as handed over; returns those that had not been.
    pub(crate) fn hand_rest(&self, end: TxIndex) -> Range<TxIndex> {
        let mut commit = self.commit.lock();
        let start = commit.handed.min(end);
        commit.handed = commit.handed.max(end);
        commit.committed = commit.committed.max(end);
        start..end
    }
}

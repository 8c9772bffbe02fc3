//! Block-STM's collaborative scheduler (Gelashvili et al., "Block-STM",
//! PPoPP 2023): execution and validation tasks, always the lowest index
//! first, shared by every worker thread.
//!
//! Each task holds one count of `active` from the moment it is handed out
//! until it ends without a follow-up task; the block is done when both
//! indices are past the end, no task is active, and no index was lowered
//! while that was being checked.

use crate::TxIndex;
use crate::memory::Version;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

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
    Validate(Version),
}

pub(crate) struct Scheduler {
    size: usize,
    execution_idx: AtomicUsize,
    validation_idx: AtomicUsize,
    decrease_cnt: AtomicUsize,
    active: AtomicUsize,
    done: AtomicBool,
    /// Per transaction: its incarnation and status.
    status: Vec<Mutex<(usize, Status)>>,
    /// Per transaction: the transactions waiting for its next execution.
    dependents: Vec<Mutex<Vec<TxIndex>>>,
}

impl Scheduler {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            size,
            execution_idx: AtomicUsize::new(0),
            validation_idx: AtomicUsize::new(0),
            decrease_cnt: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            done: AtomicBool::new(size == 0),
            status: (0..size).map(|_| Mutex::new((0, Status::ReadyToExecute))).collect(),
            dependents: (0..size).map(|_| Mutex::default()).collect(),
        }
    }

    pub(crate) fn done(&self) -> bool {
        self.done.load(SeqCst)
    }

    /// Once no task is active: the transactions below this index have
    /// executed and been validated.
    pub(crate) fn validated_prefix(&self) -> TxIndex {
        self.execution_idx.load(SeqCst).min(self.validation_idx.load(SeqCst)).min(self.size)
    }

    fn decrease_execution_idx(&self, target: TxIndex) {
        self.execution_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    fn decrease_validation_idx(&self, target: TxIndex) {
        self.validation_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    fn check_done(&self) {
        let observed = self.decrease_cnt.load(SeqCst);
        if self.execution_idx.load(SeqCst).min(self.validation_idx.load(SeqCst)) >= self.size
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
        let mut status = self.status[index].lock();
        if status.1 == Status::ReadyToExecute {
            status.1 = Status::Executing;
            return Some((index, status.0));
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

    fn next_version_to_validate(&self) -> Option<Version> {
        if self.validation_idx.load(SeqCst) >= self.size {
            self.check_done();
            return None;
        }
        self.active.fetch_add(1, SeqCst);
        let index = self.validation_idx.fetch_add(1, SeqCst);
        if index < self.size {
            let (incarnation, status) = *self.status[index].lock();
            if status == Status::Executed {
                return Some((index, incarnation));
            }
        }
        self.active.fetch_sub(1, SeqCst);
        None
    }

    /// The lowest-index task available, if any (none does not mean done).
    pub(crate) fn next_task(&self) -> Option<Task> {
        if self.validation_idx.load(SeqCst) < self.execution_idx.load(SeqCst) {
            self.next_version_to_validate().map(Task::Validate)
        } else {
            self.next_version_to_execute().map(Task::Execute)
        }
    }

    /// `index` read an estimate written by `blocking`: it waits for
    /// `blocking`'s next execution. False if that already finished (the
    /// read can be retried at once).
    pub(crate) fn add_dependency(&self, index: TxIndex, blocking: TxIndex) -> bool {
        let mut dependents = self.dependents[blocking].lock();
        if self.status[blocking].lock().1 == Status::Executed {
            return false;
        }
        self.status[index].lock().1 = Status::Aborting;
        dependents.push(index);
        drop(dependents);
        self.active.fetch_sub(1, SeqCst);
        true
    }

    /// `index`'s aborted incarnation is replaced by the next one.
    fn set_ready_status(&self, index: TxIndex) {
        let mut status = self.status[index].lock();
        *status = (status.0 + 1, Status::ReadyToExecute);
    }

    /// `version` executed; the follow-up task, if this worker takes one.
    pub(crate) fn finish_execution(
        &self,
        (index, incarnation): Version,
        wrote_new_location: bool,
    ) -> Option<Task> {
        *self.status[index].lock() = (incarnation, Status::Executed);
        let waiting = std::mem::take(&mut *self.dependents[index].lock());
        if let Some(&lowest) = waiting.iter().min() {
            for &dependent in &waiting {
                self.set_ready_status(dependent);
            }
            self.decrease_execution_idx(lowest);
        }
        if self.validation_idx.load(SeqCst) > index {
            if !wrote_new_location {
                // Only this transaction needs validating again.
                return Some(Task::Validate((index, incarnation)));
            }
            self.decrease_validation_idx(index);
        }
        self.active.fetch_sub(1, SeqCst);
        None
    }

    /// Claims the abort of `version` after a failed validation: false if
    /// another worker already did, or a newer incarnation exists.
    pub(crate) fn try_validation_abort(&self, (index, incarnation): Version) -> bool {
        let mut status = self.status[index].lock();
        if *status == (incarnation, Status::Executed) {
            status.1 = Status::Aborting;
            return true;
        }
        false
    }

    /// `version` was validated (and aborted, if `aborted`); the follow-up
    /// task, if this worker takes one.
    pub(crate) fn finish_validation(&self, (index, _): Version, aborted: bool) -> Option<Task> {
        if aborted {
            self.set_ready_status(index);
            self.decrease_validation_idx(index + 1);
            if self.execution_idx.load(SeqCst) > index
                && let Some(version) = self.try_incarnate(index)
            {
                return Some(Task::Execute(version));
            }
        }
        self.active.fetch_sub(1, SeqCst);
        None
    }
}

//! The epoch ticker: the clock behind wall-clock deadlines and sampling.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the engine's epoch advances by default.
pub const TICK: Duration = Duration::from_millis(2);

/// Starts, on first use, a thread that advances the engine's epoch every
/// `interval`; the thread ends when the ticker or the engine is dropped.
#[derive(Debug)]
pub struct EpochTicker {
    interval: Duration,
    started: OnceLock<Arc<AtomicBool>>,
}

impl Default for EpochTicker {
    fn default() -> Self {
        Self::new(TICK)
    }
}

impl EpochTicker {
    pub fn new(interval: Duration) -> Self {
        Self { interval, started: OnceLock::new() }
    }

    pub fn ensure_running(&self, engine: &wasmtime::Engine) {
        self.started.get_or_init(|| {
            let alive = Arc::new(AtomicBool::new(true));
            let (weak, running, interval) = (engine.weak(), alive.clone(), self.interval);
            std::thread::Builder::new()
                .name("xwasm-epoch".into())
                .spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        let Some(engine) = weak.upgrade() else { break };
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(interval);
                    }
                })
                .expect("spawning the epoch ticker thread");
            alive
        });
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        if let Some(alive) = self.started.get() {
            alive.store(false, Ordering::Relaxed);
        }
    }
}

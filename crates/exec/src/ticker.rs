//! One epoch ticker per engine: the clock behind wall-clock deadlines.

use std::sync::OnceLock;
use std::time::Duration;

/// How often the engine's epoch advances.
pub const TICK: Duration = Duration::from_millis(2);

/// Starts, on first use, a thread that advances the engine's epoch every
/// [`TICK`]; the thread ends once the engine is dropped.
#[derive(Debug, Default)]
pub struct EpochTicker {
    started: OnceLock<()>,
}

impl EpochTicker {
    pub fn ensure_running(&self, engine: &wasmtime::Engine) {
        self.started.get_or_init(|| {
            let weak = engine.weak();
            std::thread::Builder::new()
                .name("xwasm-epoch".into())
                .spawn(move || {
                    while let Some(engine) = weak.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(TICK);
                    }
                })
                .expect("spawning the epoch ticker thread");
        });
    }
}

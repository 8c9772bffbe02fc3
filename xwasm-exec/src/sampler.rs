//! A sampling profiler of guest code: on every epoch tick, the WebAssembly
//! stack of the running call is captured and counted.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Samples of WebAssembly stacks, as collapsed stacks
/// (`outer;middle;inner` → count), the input format of flame graph tools.
#[derive(Debug, Default)]
pub struct Sampler {
    stacks: Mutex<BTreeMap<String, u64>>,
}

impl Sampler {
    /// A fresh sampler for an engine that is `interruptible`, and the time
    /// profiling started: only such an engine has the checks samples are
    /// taken at.
    pub fn start(
        interruptible: bool,
    ) -> Result<(std::sync::Arc<Sampler>, std::time::Instant), crate::ExecError> {
        if !interruptible {
            return Err(crate::ExecError::NotInterruptible);
        }
        Ok((std::sync::Arc::new(Sampler::new()), std::time::Instant::now()))
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the stack of `backtrace` (innermost frame first, as wasmtime
    /// gives it). Unnamed functions are `func[N]`.
    pub fn sample(&self, backtrace: &wasmtime::WasmBacktrace) {
        let frames = backtrace.frames();
        if frames.is_empty() {
            return;
        }
        let stack = frames
            .iter()
            .rev()
            .map(|f| f.func_name().map_or_else(|| format!("func[{}]", f.func_index()), str::to_owned))
            .collect::<Vec<_>>()
            .join(";");
        *self.stacks.lock().unwrap_or_else(|e| e.into_inner()).entry(stack).or_default() += 1;
    }

    /// Every stack sampled, with its count.
    pub fn stacks(&self) -> BTreeMap<String, u64> {
        self.stacks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The collapsed-stacks text: one `stack count` line per stack.
    pub fn collapsed(&self) -> String {
        self.stacks().iter().map(|(stack, count)| format!("{stack} {count}\n")).collect()
    }

    /// Per function: samples in which it was running (self) and on the
    /// stack at all (total), busiest self first.
    pub fn functions(&self) -> Vec<FunctionSamples> {
        let mut by_name: BTreeMap<String, FunctionSamples> = BTreeMap::new();
        for (stack, count) in self.stacks() {
            let frames: Vec<&str> = stack.split(';').collect();
            let mut seen = std::collections::BTreeSet::new();
            for (i, frame) in frames.iter().enumerate() {
                let entry = by_name.entry((*frame).to_owned()).or_insert_with(|| FunctionSamples {
                    name: (*frame).to_owned(),
                    self_samples: 0,
                    total_samples: 0,
                });
                if seen.insert(*frame) {
                    entry.total_samples += count;
                }
                if i + 1 == frames.len() {
                    entry.self_samples += count;
                }
            }
        }
        let mut functions: Vec<_> = by_name.into_values().collect();
        functions.sort_by(|a, b| b.self_samples.cmp(&a.self_samples).then(a.name.cmp(&b.name)));
        functions
    }
}

/// One function's share of the samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSamples {
    pub name: String,
    pub self_samples: u64,
    pub total_samples: u64,
}

//! A profile's samples as a report: [`ProfileReport`].

use crate::{FunctionSamples, Outcome, Sampler};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What profiling a method found.
#[derive(Debug, Clone)]
pub struct ProfileReport {
    /// The outcome of the last run (nothing was committed).
    pub outcome: Outcome,
    pub runs: u32,
    pub wall_time: Duration,
    pub samples: u64,
    /// Per function, busiest first (self samples).
    pub functions: Vec<FunctionSamples>,
    /// The samples as collapsed stacks (`outer;inner count` lines), for
    /// flame graph tools such as inferno, flamegraph.pl or speedscope.
    pub collapsed: String,
}

impl ProfileReport {
    /// `sampler`'s samples since `started`, over `runs` runs of which the
    /// last ended as `outcome`, with frames renamed by `names` (a compiled
    /// module's `func[N]` to its export name).
    pub fn new(
        sampler: &Sampler,
        names: &HashMap<String, String>,
        outcome: Outcome,
        runs: u32,
        started: Instant,
    ) -> Self {
        let mut functions = sampler.functions();
        for function in &mut functions {
            if let Some(name) = names.get(&function.name) {
                function.name = name.clone();
            }
        }
        let collapsed = sampler
            .stacks()
            .iter()
            .map(|(stack, count)| {
                let frames: Vec<&str> =
                    stack.split(';').map(|f| names.get(f).map_or(f, String::as_str)).collect();
                format!("{} {count}\n", frames.join(";"))
            })
            .collect();
        ProfileReport {
            outcome,
            runs,
            wall_time: started.elapsed(),
            samples: sampler.stacks().values().sum(),
            collapsed,
            functions,
        }
    }
}

//! Timing a workload: medians of batches, two workloads in alternation,
//! and a time as people read it.

use std::time::Instant;

/// The median time of one call of `f`, in nanoseconds, over `samples`
/// batches of `batch` calls.
pub(crate) fn median_ns(samples: usize, batch: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..batch {
        f();
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                f();
            }
            started.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Two workloads measured in alternation, `a` then `b` then `b` then `a`
/// and so on, so that the machine's drift hits both alike: the median
/// time of each per call, and the median of the per-round ratios a / b.
pub(crate) fn paired_ns(
    samples: usize,
    batch: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..batch {
            f();
        }
        started.elapsed().as_nanos() as f64 / batch as f64
    };
    time(&mut a);
    time(&mut b);
    let mut rounds: Vec<(f64, f64)> = (0..samples)
        .map(|round| {
            if round % 2 == 0 {
                let ta = time(&mut a);
                (ta, time(&mut b))
            } else {
                let tb = time(&mut b);
                (time(&mut a), tb)
            }
        })
        .collect();
    let ratio = median(rounds.iter().map(|(ta, tb)| ta / tb).collect());
    rounds.sort_by(|x, y| x.0.total_cmp(&y.0));
    let ta = rounds[rounds.len() / 2].0;
    let tb = median(rounds.iter().map(|r| r.1).collect());
    (ta, tb, ratio)
}

/// The median of `values` (the upper one of an even count).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub(crate) fn human_ns(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

//! A histogram of fixed size, whatever the number of values.

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two: bucket bounds grow by 2^(1/4), about 19%,
/// so a percentile read from a bucket is within 19% of the true value.
const STEPS: f64 = 4.0;
/// Enough buckets for any `u64`.
pub const BUCKETS: usize = 257;

/// Counts of values in logarithmic buckets: constant memory (257 counters)
/// for any number of values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHistogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS], total: 0, max: 0 }
    }
}

impl LogHistogram {
    /// The bucket of `value`: 0 holds 0, bucket `i > 0` holds values up to
    /// [`LogHistogram::upper_bound`]`(i)`.
    pub fn bucket(value: u64) -> usize {
        if value == 0 {
            return 0;
        }
        (((value as f64).log2() * STEPS).ceil() as usize + 1).min(BUCKETS - 1)
    }

    /// The largest value bucket `index` holds.
    pub fn upper_bound(index: usize) -> f64 {
        if index == 0 { 0.0 } else { 2f64.powf((index - 1) as f64 / STEPS) }
    }

    pub fn add(&mut self, value: u64) {
        self.counts[Self::bucket(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1), as its bucket's upper bound
    /// (capped at the largest value seen); 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = (q.clamp(0.0, 1.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::upper_bound(index).min(self.max as f64);
            }
        }
        self.max as f64
    }

    /// Non-empty buckets as `(upper bound, count)`.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (Self::upper_bound(i), *c))
    }

    /// How many values are at most `bound`, counting whole buckets whose
    /// upper bound is at most `bound` (for cumulative exposition buckets).
    pub fn count_at_most(&self, bound: f64) -> u64 {
        self.counts.iter().enumerate().filter(|(i, _)| Self::upper_bound(*i) <= bound).map(|(_, c)| c).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_bucket() {
        let mut h = LogHistogram::default();
        for v in 1..=1000u64 {
            h.add(v);
        }
        for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q);
            assert!(got >= exact && got <= exact * 1.19 + 1.0, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 1000.0);
        assert_eq!(h.count(), 1000);
    }

    #[test]
    fn size_does_not_grow() {
        let mut h = LogHistogram::default();
        for v in [0, 1, u64::MAX, 12345] {
            h.add(v);
        }
        assert_eq!(h.counts.len(), BUCKETS);
        assert_eq!(h.count_at_most(f64::MAX), 4);
        assert_eq!(h.count_at_most(0.0), 1);
    }
}

//! How long an actor takes to handle its messages, as a histogram cheap
//! enough to record every message.
//!
//! Buckets are log-linear, as in `HdrHistogram`: each power of two is split
//! into eight equal buckets, so a value is known within 1/8 of itself and
//! a reported percentile (the bucket's midpoint) within 1/16. Values below
//! 16 ns are exact. The last bucket, from about 258 seconds, holds whatever
//! is longer. Only the actor's own thread records, so recording is a relaxed
//! load and store on the bucket and on the running sum: no lock, no locked
//! instruction, no allocation, and readers never stop the actor. A reader sees each bucket as some moment left it, so a percentile
//! read during a burst may miss the last few messages; it is never made up.
//!
//! Rejected: a lock around an exact list of samples (unbounded memory, a
//! lock per message), decaying reservoirs (a random number per message, and
//! percentiles that change while nothing happens), and `HdrHistogram` itself
//! (its recorder takes `&mut self`, so the actor and readers would need a
//! lock or a double buffer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// log2 of the buckets per power of two.
const SUB_BITS: u32 = 3;
/// Buckets per power of two.
const SUBS: usize = 1 << SUB_BITS;
/// Every bucket: 36 powers of two of 8 buckets each, the first exact.
pub const BUCKETS: usize = SUBS * 36;

/// The bucket a value (in nanoseconds) falls in.
pub fn bucket(nanos: u64) -> usize {
    if nanos < SUBS as u64 {
        return nanos as usize;
    }
    let top = nanos.ilog2();
    let octave = (top - SUB_BITS + 1) as usize;
    let sub = (nanos >> (top - SUB_BITS)) as usize & (SUBS - 1);
    (octave * SUBS + sub).min(BUCKETS - 1)
}

/// The values a bucket holds: from `.0` up to, not including, `.1`.
pub fn bounds(index: usize) -> (u64, u64) {
    if index < SUBS {
        return (index as u64, index as u64 + 1);
    }
    let octave = (index / SUBS) as u32;
    let sub = (index % SUBS) as u64;
    let low = (SUBS as u64 + sub) << (octave - 1);
    (low, low + (1 << (octave - 1)))
}

/// The value a percentile falling in a bucket is reported as: its midpoint.
fn representative(index: usize) -> u64 {
    let (low, high) = bounds(index);
    low + (high - low - 1) / 2
}

/// Handling times, recorded by one actor and readable by anyone.
#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

/// What a histogram says at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// How many values were recorded.
    pub count: u64,
    /// Their sum, in nanoseconds.
    pub sum_nanos: u64,
    /// The median, in nanoseconds; `None` with nothing recorded.
    pub p50: Option<u64>,
    /// The 90th percentile, in nanoseconds.
    pub p90: Option<u64>,
    /// The 99th percentile, in nanoseconds.
    pub p99: Option<u64>,
}

impl Histogram {
    /// Records one value. One thread records (the actor's), so a plain
    /// load and store suffice: no locked instruction, and readers on other
    /// threads still see each counter whole.
    pub fn record(&self, value: Duration) {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        let count = &self.counts[bucket(nanos)];
        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let sum = self.sum_nanos.load(Ordering::Relaxed);
        self.sum_nanos
            .store(sum.saturating_add(nanos), Ordering::Relaxed);
    }

    /// The count, the sum and three percentiles, from one pass over the buckets.
    pub fn summary(&self) -> Summary {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let [p50, p90, p99] = percentiles(&counts, total, [0.5, 0.9, 0.99]);
        Summary {
            count: total,
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
            p50,
            p90,
            p99,
        }
    }
}

/// The values below which fractions `wanted` (ascending) of `total` recorded
/// values fall, given the count of each bucket.
fn percentiles<const N: usize>(counts: &[u64], total: u64, wanted: [f64; N]) -> [Option<u64>; N] {
    let mut found = [None; N];
    if total == 0 {
        return found;
    }
    // `q` is a fraction and `total` positive: the product is never negative.
    #[allow(clippy::cast_sign_loss)]
    let ranks = wanted.map(|q| ((q * total as f64).ceil() as u64).clamp(1, total));
    let mut seen = 0;
    let mut next = 0;
    for (index, count) in counts.iter().enumerate() {
        seen += count;
        while next < N && seen >= ranks[next] {
            found[next] = Some(representative(index));
            next += 1;
        }
        if next == N {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_have_buckets_of_their_own() {
        for nanos in 0..16 {
            assert_eq!(bounds(bucket(nanos)), (nanos, nanos + 1));
        }
    }

    #[test]
    fn every_value_falls_within_its_buckets_bounds_an_eighth_wide() {
        let mut nanos = 16u64;
        while nanos < 200_000_000_000 {
            let (low, high) = bounds(bucket(nanos));
            assert!(
                low <= nanos && nanos < high,
                "{nanos} not in [{low}, {high})"
            );
            assert!((high - low) * 8 <= low, "bucket of {nanos} too wide");
            nanos = nanos * 9 / 8 + 1;
        }
    }

    #[test]
    fn buckets_tile_the_line_without_gaps() {
        for index in 1..BUCKETS {
            assert_eq!(bounds(index - 1).1, bounds(index).0, "gap before {index}");
        }
    }

    #[test]
    fn values_beyond_the_range_land_in_the_last_bucket() {
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket(bounds(BUCKETS - 1).0), BUCKETS - 1);
    }

    #[test]
    fn percentiles_are_within_a_sixteenth_of_the_exact_ones() {
        let histogram = Histogram::default();
        // 1 µs to 1000 µs, one each: p50 is 500 µs, p90 900 µs, p99 990 µs.
        for micros in 1..=1000 {
            histogram.record(Duration::from_micros(micros));
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.sum_nanos, 500_500_000);
        for (got, exact) in [
            (summary.p50, 500_000.0),
            (summary.p90, 900_000.0),
            (summary.p99, 990_000.0),
        ] {
            let got = got.unwrap() as f64;
            assert!((got - exact).abs() <= exact / 16.0, "{got} vs {exact}");
        }
    }

    #[test]
    fn an_empty_histogram_has_no_percentiles() {
        let summary = Histogram::default().summary();
        assert_eq!(summary, Summary::default());
    }

    #[test]
    fn one_slow_message_in_a_hundred_shows_at_the_99th_percentile_only() {
        let histogram = Histogram::default();
        for _ in 0..99 {
            histogram.record(Duration::from_micros(10));
        }
        histogram.record(Duration::from_millis(50));
        let summary = histogram.summary();
        assert!(summary.p90.unwrap() < 11_000);
        assert!(
            summary.p99.unwrap() < 11_000,
            "rank 99 of 100 is still fast"
        );
        histogram.record(Duration::from_millis(50));
        assert!(histogram.summary().p99.unwrap() > 45_000_000);
    }
}

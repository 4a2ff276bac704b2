//! Exponential backoff with jitter, for supervisors that should not restart
//! a crashing child at once (OTP restarts at once; this is an option on top).
//!
//! The delay before a child's restart number `n` (counted from 0 since the
//! child last ran for `reset_after` or longer) is
//!
//! ```text
//! min(max, min_delay * 2^n) * (1 + jitter * r)      r uniform in [0, 1)
//! ```
//!
//! as Akka's backoff supervisor computes it: the jitter spreads restarts of
//! children that failed together, and may take a delay up to `jitter` past
//! `max`. The randomness comes from a [`Random`] source so tests choose `r`
//! and get exact delays; [`SplitMix64`] is the default, seeded from the
//! process's hash keys, or from a given seed for reproducible runs.
//!
//! Rejected: the `rand` crate, for one float per restart; "full jitter"
//! (a delay anywhere between 0 and the exponential one), which can restart
//! a child at once however often it crashed.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::time::Duration;

/// A source of numbers uniform in `[0, 1)`.
pub trait Random {
    /// The next number, in `[0, 1)`.
    fn next_unit(&mut self) -> f64;
}

/// Any closure returning floats is a source: tests pass `|| 0.5`.
impl<F: FnMut() -> f64> Random for F {
    fn next_unit(&mut self) -> f64 {
        self()
    }
}

/// Steele, Lea and Flood's `SplitMix64` generator: small, fast, and good
/// enough for spreading restarts. Not for anything secret.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that always produces the same sequence for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the random keys the standard library draws
    /// for hash maps, so two supervisors do not jitter in step.
    pub fn from_entropy() -> Self {
        Self::new(RandomState::new().hash_one(0x5eed_u64))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        // The top 53 bits, as a fraction of 2^53: exact in an f64.
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// The highest doubling applied; 2^64 times any delay is beyond `max`.
const MAX_DOUBLINGS: i32 = 64;

/// A backoff setting that cannot work; says which part.
#[derive(Debug, Clone, PartialEq)]
pub enum BackoffError {
    /// The first delay must be more than zero.
    MinNotPositive,
    /// The longest delay must be at least the first.
    MaxBelowMin,
    /// The jitter must be a finite number, zero or more; carries it.
    BadJitter(f64),
}

impl fmt::Display for BackoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MinNotPositive => f.write_str("the backoff's min delay must be more than zero"),
            Self::MaxBelowMin => {
                f.write_str("the backoff's max delay must be at least its min delay")
            }
            Self::BadJitter(jitter) => write!(
                f,
                "the backoff's jitter must be a finite number, zero or more, not {jitter}"
            ),
        }
    }
}

impl std::error::Error for BackoffError {}

/// How long to wait before restarting a child that keeps failing.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    jitter: f64,
    reset_after: Duration,
}

impl Backoff {
    /// Delays from `min` doubling up to `max`, each stretched by up to
    /// `jitter` times itself. A child that ran for `max` or longer before it
    /// exited starts again from `min` (see [`Backoff::with_reset_after`]).
    ///
    /// # Errors
    /// [`BackoffError`] naming the setting that cannot work.
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Result<Self, BackoffError> {
        if min.is_zero() {
            return Err(BackoffError::MinNotPositive);
        }
        if max < min {
            return Err(BackoffError::MaxBelowMin);
        }
        if !jitter.is_finite() || jitter < 0.0 {
            return Err(BackoffError::BadJitter(jitter));
        }
        Ok(Self {
            min,
            max,
            jitter,
            reset_after: max,
        })
    }

    /// The same backoff, but a child that ran for `reset_after` or longer
    /// starts again from the first delay.
    #[must_use]
    pub fn with_reset_after(self, reset_after: Duration) -> Self {
        Self {
            reset_after,
            ..self
        }
    }

    /// The first delay.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest delay before jitter.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// How much of a delay jitter may add, as a fraction of it.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// How long a child must have run for its next restart to wait only the
    /// first delay again.
    pub fn reset_after(&self) -> Duration {
        self.reset_after
    }

    /// The delay before restart number `attempt` (0 for the first since the
    /// last reset), drawing one number from `random`.
    pub fn delay(&self, attempt: u32, random: &mut dyn Random) -> Duration {
        let doublings = i32::try_from(attempt).map_or(MAX_DOUBLINGS, |n| n.min(MAX_DOUBLINGS));
        let exponential =
            (self.min.as_secs_f64() * 2_f64.powi(doublings)).min(self.max.as_secs_f64());
        let stretch = 1.0 + self.jitter * random.next_unit().clamp(0.0, 1.0);
        Duration::try_from_secs_f64(exponential * stretch).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds)
    }

    fn no_jitter(min: f64, max: f64) -> Backoff {
        Backoff::new(secs(min), secs(max), 0.0).unwrap()
    }

    #[test]
    fn delays_double_from_min_up_to_max() {
        let backoff = no_jitter(0.1, 1.0);
        let mut random = || 0.0;
        let delays: Vec<Duration> = (0..6).map(|n| backoff.delay(n, &mut random)).collect();
        let expected = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0].map(secs);
        for (got, want) in delays.iter().zip(expected) {
            assert!(
                got.abs_diff(want) < Duration::from_nanos(2),
                "{got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn jitter_stretches_a_delay_by_the_drawn_fraction() {
        let backoff = Backoff::new(secs(1.0), secs(10.0), 0.5).unwrap();
        assert_eq!(backoff.delay(0, &mut || 0.0), secs(1.0));
        assert_eq!(backoff.delay(0, &mut || 0.5), secs(1.25));
        assert_eq!(backoff.delay(1, &mut || 0.5), secs(2.5));
    }

    #[test]
    fn jitter_may_take_a_delay_past_max() {
        let backoff = Backoff::new(secs(1.0), secs(2.0), 1.0).unwrap();
        assert_eq!(backoff.delay(5, &mut || 0.5), secs(3.0));
    }

    #[test]
    fn each_delay_draws_exactly_one_number() {
        let backoff = Backoff::new(secs(1.0), secs(8.0), 0.1).unwrap();
        let mut draws = 0;
        let mut random = || {
            draws += 1;
            0.0
        };
        backoff.delay(0, &mut random);
        backoff.delay(3, &mut random);
        assert_eq!(draws, 2);
    }

    #[test]
    fn a_huge_attempt_number_stays_at_max() {
        let backoff = no_jitter(0.001, 30.0);
        assert_eq!(backoff.delay(u32::MAX, &mut || 0.0), secs(30.0));
    }

    #[test]
    fn a_source_outside_the_unit_interval_is_clamped() {
        let backoff = Backoff::new(secs(1.0), secs(1.0), 1.0).unwrap();
        assert_eq!(backoff.delay(0, &mut || 7.0), secs(2.0));
        assert_eq!(backoff.delay(0, &mut || -3.0), secs(1.0));
    }

    #[test]
    fn the_reset_time_defaults_to_max_and_can_be_set() {
        let backoff = no_jitter(0.5, 4.0);
        assert_eq!(backoff.reset_after(), secs(4.0));
        let backoff = backoff.with_reset_after(secs(60.0));
        assert_eq!(backoff.reset_after(), secs(60.0));
        assert_eq!(backoff.min(), secs(0.5));
        assert_eq!(backoff.max(), secs(4.0));
        assert!(backoff.jitter().abs() < f64::EPSILON);
    }

    #[test]
    fn settings_that_cannot_work_are_refused_with_the_reason() {
        assert_eq!(
            Backoff::new(Duration::ZERO, secs(1.0), 0.0),
            Err(BackoffError::MinNotPositive)
        );
        assert_eq!(
            Backoff::new(secs(2.0), secs(1.0), 0.0),
            Err(BackoffError::MaxBelowMin)
        );
        assert!(matches!(
            Backoff::new(secs(1.0), secs(1.0), -0.1),
            Err(BackoffError::BadJitter(_))
        ));
        let err = Backoff::new(secs(1.0), secs(1.0), f64::NAN).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the backoff's jitter must be a finite number, zero or more, not NaN"
        );
    }

    #[test]
    fn splitmix_repeats_its_sequence_for_a_seed() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        let mut c = SplitMix64::new(43);
        assert_ne!(first[0], c.next_u64());
    }

    #[test]
    fn splitmix_matches_the_reference_output() {
        // The first outputs for seed 0 published with the algorithm.
        let mut random = SplitMix64::new(0);
        assert_eq!(random.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(random.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn splitmix_units_stay_in_the_unit_interval() {
        let mut random = SplitMix64::from_entropy();
        for _ in 0..10_000 {
            let unit = random.next_unit();
            assert!((0.0..1.0).contains(&unit), "{unit}");
        }
    }
}

//! The restart intensity: at most `max_restarts` restarts within `within`;
//! one more and the supervisor gives up (OTP's `intensity` and `period`,
//! defaults 1 and 5 seconds).
//!
//! Like OTP's `add_restart`, the window keeps the times of recent restarts,
//! drops those older than `within` each time a restart is recorded, and
//! refuses the restart once it holds more than `max_restarts`. A restart
//! exactly `within` ago still counts, as in OTP. OTP reads its clock in
//! whole seconds; this one reads a [`Clock`] to the nanosecond.
//!
//! Time is read through the [`Clock`] trait so that tests (ours and the
//! Python state machine's) move it by hand with a [`FakeClock`] instead of
//! sleeping. Rejected: passing the time into every call, which would let
//! each caller choose its own clock and make the window's answers depend on
//! who called.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of monotonic time: how long since some fixed origin.
pub trait Clock {
    /// The time since the clock's origin; never decreases.
    fn now(&self) -> Duration;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// The system's monotonic clock, counted from when this value was made.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to; starts at zero.
///
/// Shared by reference or through an `Arc`, it lets a test hold the time
/// that a window or a supervisor reads.
#[derive(Debug, Default)]
pub struct FakeClock {
    nanos: AtomicU64,
}

impl FakeClock {
    /// Moves the clock forward by `by`, saturating at about 584 years.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // One writer at a time is all a test has; fetch_update keeps
        // concurrent advances from losing time anyway.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(by))
            });
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

/// The answer when a restart would exceed the intensity: the supervisor
/// must stop its children and fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalate;

/// The restart window: the times of the restarts that still count.
#[derive(Debug)]
pub struct Intensity<C> {
    max_restarts: u32,
    within: Duration,
    /// Clock readings of the restarts within the window, oldest first.
    restarts: VecDeque<Duration>,
    clock: C,
}

impl<C: Clock> Intensity<C> {
    /// A window allowing `max_restarts` restarts within `within`, reading
    /// `clock`. With `max_restarts` zero, the first restart escalates.
    pub fn new(max_restarts: u32, within: Duration, clock: C) -> Self {
        Self {
            max_restarts,
            within,
            restarts: VecDeque::new(),
            clock,
        }
    }

    /// The number of restarts allowed within the window.
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The length of the window.
    pub fn within(&self) -> Duration {
        self.within
    }

    /// The clock the window reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Records a restart now.
    ///
    /// # Errors
    /// [`Escalate`] if, with this one, more than `max_restarts` restarts
    /// fall within the window. The restart is recorded either way.
    pub fn record_restart(&mut self) -> Result<(), Escalate> {
        let now = self.clock.now();
        while let Some(&oldest) = self.restarts.front() {
            if now.saturating_sub(oldest) > self.within {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        self.restarts.push_back(now);
        if self.restarts.len() > self.max_restarts as usize {
            Err(Escalate)
        } else {
            Ok(())
        }
    }

    /// How many recorded restarts fall within the window now.
    pub fn recent(&self) -> usize {
        let now = self.clock.now();
        self.restarts
            .iter()
            .filter(|&&at| now.saturating_sub(at) <= self.within)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn second_restart_within_the_window_escalates() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(1, Duration::from_secs(5), &clock);
        assert_eq!(window.record_restart(), Ok(()));
        clock.advance(SECOND);
        assert_eq!(window.record_restart(), Err(Escalate));
    }

    #[test]
    fn restarts_spread_wider_than_the_window_never_escalate() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(1, Duration::from_secs(5), &clock);
        for _ in 0..10 {
            assert_eq!(window.record_restart(), Ok(()));
            clock.advance(Duration::from_secs(5) + Duration::from_nanos(1));
        }
    }

    #[test]
    fn a_restart_exactly_one_window_ago_still_counts() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(1, Duration::from_secs(5), &clock);
        assert_eq!(window.record_restart(), Ok(()));
        clock.advance(Duration::from_secs(5));
        assert_eq!(window.record_restart(), Err(Escalate));
    }

    #[test]
    fn zero_restarts_allowed_escalates_on_the_first() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(0, Duration::from_secs(1), &clock);
        assert_eq!(window.record_restart(), Err(Escalate));
    }

    #[test]
    fn up_to_max_restarts_at_the_same_instant_are_allowed() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(3, SECOND, &clock);
        for _ in 0..3 {
            assert_eq!(window.record_restart(), Ok(()));
        }
        assert_eq!(window.record_restart(), Err(Escalate));
    }

    #[test]
    fn old_restarts_leave_the_window_one_by_one() {
        // OTP's multiple_restarts: restarts spaced just over the period apart
        // never add up.
        let clock = FakeClock::default();
        let mut window = Intensity::new(2, Duration::from_secs(10), &clock);
        assert_eq!(window.record_restart(), Ok(())); // t = 0
        clock.advance(Duration::from_secs(6));
        assert_eq!(window.record_restart(), Ok(())); // t = 6
        clock.advance(Duration::from_secs(5));
        // t = 11: the restart at 0 has left, the one at 6 counts.
        assert_eq!(window.record_restart(), Ok(()));
        assert_eq!(window.recent(), 2);
        clock.advance(Duration::from_secs(1));
        // t = 12: 6 and 11 still count, so this is the third.
        assert_eq!(window.record_restart(), Err(Escalate));
    }

    #[test]
    fn recent_counts_only_restarts_inside_the_window() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(5, Duration::from_secs(2), &clock);
        window.record_restart().unwrap();
        clock.advance(SECOND);
        window.record_restart().unwrap();
        assert_eq!(window.recent(), 2);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(window.recent(), 1);
        clock.advance(SECOND);
        assert_eq!(window.recent(), 0);
    }

    #[test]
    fn a_refused_restart_is_still_recorded() {
        let clock = FakeClock::default();
        let mut window = Intensity::new(1, Duration::from_secs(5), &clock);
        window.record_restart().unwrap();
        assert_eq!(window.record_restart(), Err(Escalate));
        assert_eq!(window.recent(), 2);
    }

    #[test]
    fn the_fake_clock_moves_only_when_advanced() {
        let clock = FakeClock::default();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(250));
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), Duration::from_millis(500));
        assert_eq!(clock.now(), Duration::from_millis(500));
    }

    #[test]
    fn the_fake_clock_saturates_instead_of_wrapping() {
        let clock = FakeClock::default();
        clock.advance(Duration::MAX);
        clock.advance(SECOND);
        assert_eq!(clock.now(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn a_shared_fake_clock_is_read_through_an_arc() {
        let clock = Arc::new(FakeClock::default());
        let mut window = Intensity::new(1, SECOND, Arc::clone(&clock));
        window.record_restart().unwrap();
        clock.advance(Duration::from_secs(2));
        assert_eq!(window.record_restart(), Ok(()));
        assert_eq!(window.clock().now(), Duration::from_secs(2));
    }

    #[test]
    fn the_system_clock_never_goes_back() {
        let clock = SystemClock::new();
        let first = clock.now();
        let second = clock.now();
        assert!(second >= first);
    }

    #[test]
    fn the_window_reports_its_settings() {
        let window = Intensity::new(3, Duration::from_secs(7), SystemClock::new());
        assert_eq!(window.max_restarts(), 3);
        assert_eq!(window.within(), Duration::from_secs(7));
    }
}

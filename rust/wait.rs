//! How the core waits: spin for a moment, then sleep.
//!
//! On the small virtual machines pykka_rs runs on, waking a thread that sleeps
//! on another CPU costs tens of microseconds, several times the work an actor
//! does for a typical message. A round trip between two threads costs two such
//! wake-ups. So a waiter first polls for a short while with the CPU still its
//! own, and only then parks; a reply that comes within the spin costs no
//! wake-up at all.
//!
//! Spinning only pays when the thread that will answer runs on another CPU.
//! The number of threads spinning at once is therefore capped at one less than
//! the CPUs this process may use (none on a single CPU), so spinners never
//! take the CPU away from the thread they are waiting for. The spin lasts
//! about as long as a wake-up costs: the classic bound that makes spinning
//! never cost more than twice the best choice made in hindsight.
//!
//! Rejected: spinning without a cap (starves the producer when actors
//! outnumber CPUs), and `yield_now` loops (a yield is a system call that can
//! still put the CPU to sleep).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Default spin before parking, about the cost of a cross-CPU wake-up.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

static SPINNERS: AtomicUsize = AtomicUsize::new(0);
static SPIN_NANOS: AtomicU64 = AtomicU64::new(DEFAULT_SPIN.as_nanos() as u64);
static MAX_SPINNERS: OnceLock<usize> = OnceLock::new();

/// How many threads may spin at once: the CPUs this process may run on, less one.
pub fn max_spinners() -> usize {
    *MAX_SPINNERS.get_or_init(|| {
        std::thread::available_parallelism().map_or(0, |n| n.get().saturating_sub(1))
    })
}

/// Sets how long a waiter spins before it parks; zero turns spinning off.
pub fn set_spin(spin: Duration) {
    SPIN_NANOS.store(
        u64::try_from(spin.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// How long a waiter spins before it parks.
pub fn spin() -> Duration {
    Duration::from_nanos(SPIN_NANOS.load(Ordering::Relaxed))
}

/// A place among the spinning threads; leaving it on drop frees it.
struct SpinPlace;

impl SpinPlace {
    fn take() -> Option<Self> {
        let max = max_spinners();
        SPINNERS
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| SpinPlace)
    }
}

impl Drop for SpinPlace {
    fn drop(&mut self) {
        SPINNERS.fetch_sub(1, Ordering::Release);
    }
}

/// Polls `poll` until it yields a value, for at most the spin time and never
/// past `deadline`. Returns `None` when the caller should park instead: the
/// spin ran out, spinning is off, or every spinning place is taken.
pub fn spin_for<T>(deadline: Option<Instant>, mut poll: impl FnMut() -> Option<T>) -> Option<T> {
    let budget = spin();
    if budget.is_zero() {
        return None;
    }
    let _place = SpinPlace::take()?;
    let start = Instant::now();
    let until = deadline.map_or(start + budget, |d| d.min(start + budget));
    loop {
        // Reading the clock costs more than a poll, so poll a few times per read.
        for _ in 0..16 {
            if let Some(value) = poll() {
                return Some(value);
            }
            std::hint::spin_loop();
        }
        if Instant::now() >= until {
            return None;
        }
    }
}

/// The instant `timeout` from now, or `None` (wait forever) when there is none
/// or it is too large to represent.
pub fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_returns_the_value_as_soon_as_it_is_there() {
        let mut polls = 0;
        let got = spin_for(None, || {
            polls += 1;
            (polls == 3).then_some("ready")
        });
        // On a single CPU nobody may spin, and the caller parks instead.
        if max_spinners() > 0 {
            assert_eq!(got, Some("ready"));
            assert_eq!(polls, 3);
        } else {
            assert_eq!(got, None);
        }
    }

    #[test]
    fn spin_gives_up_at_a_deadline_in_the_past() {
        let started = Instant::now();
        let got: Option<()> = spin_for(Some(started), || None);
        assert_eq!(got, None);
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn spin_places_are_capped_and_given_back() {
        let max = max_spinners();
        let places: Vec<_> = (0..max).filter_map(|_| SpinPlace::take()).collect();
        // Other tests may hold places meanwhile, so only the cap is exact.
        assert!(places.len() <= max);
        assert!(SpinPlace::take().is_none() || places.len() < max);
        drop(places);
    }

    #[test]
    fn no_deadline_means_forever() {
        assert_eq!(deadline_after(None), None);
        assert_eq!(deadline_after(Some(Duration::MAX)), None);
        assert!(deadline_after(Some(Duration::from_secs(1))).is_some());
    }
}

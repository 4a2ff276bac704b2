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
//! take the CPU away from the thread they are waiting for.
//!
//! Whether to spin is learnt per place that waits (a mailbox, or a thread
//! waiting on futures; see [`Budget`]). A spin ends as soon as what it waits
//! for arrives, so spinning the whole allowance ([`set_spin`]) costs nothing
//! extra when waits are short, while stopping short risks a sleep and a
//! wake-up, which cost more than any spin. So a place whose waits end within
//! the allowance spins it all; a place whose waits outlast it (a quiet actor)
//! stops spinning, and costs no CPU. When both ends of an exchange spin,
//! neither ever sleeps.
//!
//! A spinning thread can also make itself useful: a process with sockets to
//! other processes installs a helper ([`set_helper`]) that spinners call
//! between polls to read those sockets without waiting. A reply from another
//! process is then read by the very thread that waits for it, and no thread
//! has to be woken for it.
//!
//! The cap counts this process's spinners only; other processes of the
//! system spin too. So a spinner also yields its CPU every few microseconds:
//! a thread queued for that CPU, often the one being waited for, then runs at
//! once instead of after the whole spin, and with nobody queued the yield
//! returns at once.
//!
//! A thread that must sleep can still save a wake-up: a process with
//! sockets to other processes installs a reader ([`set_reader`]), and a
//! thread parks in `poll` on those sockets and on a wake-up of its own
//! ([`park_reading`]), reading what arrives itself. A reply or a message
//! from another process then wakes the very thread that wants it, and not a
//! link's thread that would wake it in turn: on one CPU, where nobody spins,
//! that halves the thread switches of a round trip between processes.
//! Whoever could make the thread's wait end by other means (setting its
//! future, sending to its mailbox) is told its [`Wakeup`] to write to.
//!
//! Rejected: spinning without a cap (starves the producer when actors
//! outnumber CPUs), and spinning by yielding alone (a system call per poll,
//! where a poll should cost nanoseconds).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Default longest spin before parking: a few cross-CPU wake-ups, so that a
/// round trip between processes, which costs several of them, fits in it.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(500);

/// Budgets below this do not spin at all.
const SHORTEST_SPIN: Duration = Duration::from_micros(1);

/// How long a waiter polls for a spinning place before it sleeps instead.
const PLACE_PATIENCE: Duration = Duration::from_micros(20);

/// How often a spinning thread offers its CPU to threads queued for it.
const YIELD_EVERY: Duration = Duration::from_micros(20);

static SPINNERS: AtomicUsize = AtomicUsize::new(0);
static SPIN_NANOS: AtomicU64 = AtomicU64::new(DEFAULT_SPIN.as_nanos() as u64);
static MAX_SPINNERS: OnceLock<usize> = OnceLock::new();
static HELPER: OnceLock<fn() -> bool> = OnceLock::new();
static READER: OnceLock<(fn() -> bool, Reader)> = OnceLock::new();

/// Parks the calling thread reading this process's links, and waking when
/// its [`Wakeup`] (the first argument) is written to, until the last
/// argument holds (`Some(true)`) or the deadline passes (`Some(false)`).
/// `None` when it cannot read them: the caller parks as usual.
pub type Reader = fn(Wakeup, Option<Instant>, &dyn Fn() -> bool) -> Option<bool>;

/// Lets threads park reading the links (see [`park_reading`]) whenever
/// `readable()` says there are links to read; only the first reader
/// installed counts.
pub fn set_reader(readable: fn() -> bool, reader: Reader) {
    let _ = READER.set((readable, reader));
}

/// How to wake a thread parked in [`park_reading`]: a handle to its eventfd.
#[derive(Clone, Copy, Debug)]
pub struct Wakeup(BorrowedFd<'static>);

impl PartialEq for Wakeup {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_raw_fd() == other.0.as_raw_fd()
    }
}

impl Wakeup {
    /// Wakes the thread, unless it is the calling thread, which is not
    /// parked (a reader handing itself what it waited for). A thread that is
    /// no longer parked wakes at once from its next park, finds nothing and
    /// parks again.
    pub fn wake(self) {
        let own = WAKEUP.try_with(|wakeup| wakeup.borrow().0).ok().flatten();
        if own.is_some_and(|own| own.as_raw_fd() == self.0.as_raw_fd()) {
            return;
        }
        let _ = rustix::io::write(self.0, &1u64.to_ne_bytes());
    }

    /// The calling thread's wake-up; `None` if no eventfd can be made.
    pub fn of_this_thread() -> Option<Self> {
        WAKEUP
            .try_with(|wakeup| wakeup.borrow_mut().get())
            .ok()
            .flatten()
            .map(Self)
    }

    /// The eventfd, to `poll` for.
    pub fn fd(self) -> BorrowedFd<'static> {
        self.0
    }

    /// Takes the wake-ups written so far, so `poll` waits again.
    pub fn clear(self) {
        let mut count = [0u8; 8];
        let _ = rustix::io::read(self.0, &mut count);
    }
}

/// Eventfds of threads that have ended, for the next threads. They are never
/// closed: a waker that took a thread's [`Wakeup`] just before the thread
/// ended then wakes nobody, instead of writing to an unrelated descriptor
/// that reused the number.
static SPARE_WAKEUPS: Mutex<Vec<BorrowedFd<'static>>> = Mutex::new(Vec::new());

/// This thread's eventfd, given back to the spares when the thread ends.
struct ThreadWakeup(Option<BorrowedFd<'static>>);

impl ThreadWakeup {
    fn get(&mut self) -> Option<BorrowedFd<'static>> {
        if self.0.is_none() {
            let spare = crate::sync::lock(&SPARE_WAKEUPS).pop();
            self.0 = spare.or_else(|| {
                let flags =
                    rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK;
                let fd: OwnedFd = rustix::event::eventfd(0, flags).ok()?;
                let leaked: &'static OwnedFd = Box::leak(Box::new(fd));
                Some(leaked.as_fd())
            });
        }
        self.0
    }
}

impl Drop for ThreadWakeup {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            crate::sync::lock(&SPARE_WAKEUPS).push(fd);
        }
    }
}

thread_local! {
    static WAKEUP: std::cell::RefCell<ThreadWakeup> = const { std::cell::RefCell::new(ThreadWakeup(None)) };
}

/// Parks reading the links (see [`Reader`]) until `done()` holds or
/// `deadline` passes. `watch` is given this thread's [`Wakeup`] before, and
/// `unwatch` after; in between, whoever makes `done()` hold must
/// wake it. `None` when no reader is installed or it cannot read: the
/// caller parks as usual.
pub fn park_reading(
    deadline: Option<Instant>,
    done: &dyn Fn() -> bool,
    watch: impl FnOnce(Wakeup),
    unwatch: impl FnOnce(Wakeup),
) -> Option<bool> {
    let (readable, reader) = READER.get()?;
    if !readable() {
        return None;
    }
    let wakeup = Wakeup::of_this_thread()?;
    watch(wakeup);
    let parked = reader(wakeup, deadline, done);
    unwatch(wakeup);
    // A wake-up written after the reader returned stays: it only ends the
    // next park's first `poll` early, which costs less than clearing it
    // after every park.
    parked
}

/// Gives spinning threads work to do between polls; it returns whether it
/// did any. Only the first helper installed counts.
pub fn set_helper(helper: fn() -> bool) {
    let _ = HELPER.set(helper);
}

/// How many threads may spin at once: the CPUs this process may run on, less one.
pub fn max_spinners() -> usize {
    *MAX_SPINNERS.get_or_init(|| {
        std::thread::available_parallelism().map_or(0, |n| n.get().saturating_sub(1))
    })
}

/// Sets the longest a waiter spins before it parks; zero turns spinning off.
pub fn set_spin(spin: Duration) {
    SPIN_NANOS.store(
        u64::try_from(spin.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// The longest a waiter spins before it parks.
pub fn spin() -> Duration {
    Duration::from_nanos(SPIN_NANOS.load(Ordering::Relaxed))
}

/// How long waiting at one place should spin, learnt from how long the
/// waits there last.
#[derive(Debug)]
pub struct Budget {
    nanos: AtomicU64,
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

impl Budget {
    /// A budget that starts at the longest spin.
    pub const fn new() -> Self {
        Self {
            nanos: AtomicU64::new(u64::MAX),
        }
    }

    /// How long to spin now.
    pub fn current(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed)).min(spin())
    }

    /// Learns from a wait that lasted `waited`: one the longest spin would
    /// have caught argues for spinning it all, a longer one for not spinning.
    /// The budget moves halfway that way, so one odd wait does not swing it.
    pub fn learn(&self, waited: Duration) {
        let longest = spin();
        let target = if waited <= longest {
            longest
        } else {
            Duration::ZERO
        };
        let next = (self.current() + target) / 2;
        self.nanos.store(
            u64::try_from(next.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
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

/// Polls `poll` until it yields a value, for at most `budget`'s spin and
/// never past `deadline`. Returns `None` when the caller should park instead:
/// the spin ran out, the budget is nil, or every spinning place is taken.
pub fn spin_for<T>(
    budget: &Budget,
    deadline: Option<Instant>,
    mut poll: impl FnMut() -> Option<T>,
) -> Option<T> {
    let budget = budget.current();
    if budget < SHORTEST_SPIN || max_spinners() == 0 {
        return None;
    }
    let start = Instant::now();
    // The thread holding the place is often about to leave it: it is the
    // one that will answer, and it is just seeing the message. Wait a
    // moment for the place rather than sleep at once.
    let _place = loop {
        if let Some(place) = SpinPlace::take() {
            break place;
        }
        if let Some(value) = poll() {
            return Some(value);
        }
        if start.elapsed() >= PLACE_PATIENCE {
            return None;
        }
        std::hint::spin_loop();
    };
    let until = deadline.map_or(start + budget, |d| d.min(start + budget));
    let helper = HELPER.get();
    let mut yielded = start;
    loop {
        // Reading the clock costs more than a poll, so poll a few times per read.
        for _ in 0..16 {
            if let Some(value) = poll() {
                return Some(value);
            }
            std::hint::spin_loop();
        }
        if let Some(help) = helper {
            if help() {
                continue; // it may have brought what we wait for
            }
        }
        let now = Instant::now();
        if now >= until {
            return None;
        }
        if now.duration_since(yielded) >= YIELD_EVERY {
            // A thread queued for this CPU (often the very one we wait for,
            // when another process spins on the other CPU) runs now instead
            // of when the spin runs out. With nobody queued, this returns at once.
            std::thread::yield_now();
            yielded = Instant::now();
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
        let got = spin_for(&Budget::new(), None, || {
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
        let got: Option<()> = spin_for(&Budget::new(), Some(started), || None);
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
    fn a_budget_spins_fully_for_short_waits_and_not_for_long_ones() {
        let budget = Budget::new();
        assert_eq!(budget.current(), spin());
        budget.learn(Duration::from_micros(20));
        assert_eq!(budget.current(), spin());
        budget.learn(spin() * 2);
        assert_eq!(budget.current(), spin() / 2);
        for _ in 0..40 {
            budget.learn(spin() * 2);
        }
        assert!(budget.current() < SHORTEST_SPIN);
        // One short wait brings spinning back, halfway.
        budget.learn(Duration::from_micros(20));
        assert!(budget.current() + Duration::from_micros(1) >= spin() / 2);
    }

    #[test]
    fn a_nil_budget_does_not_spin() {
        let budget = Budget::new();
        for _ in 0..40 {
            budget.learn(Duration::from_secs(1));
        }
        let mut polled = false;
        let got: Option<()> = spin_for(&budget, None, || {
            polled = true;
            None
        });
        assert_eq!(got, None);
        assert!(!polled);
    }

    #[test]
    fn no_deadline_means_forever() {
        assert_eq!(deadline_after(None), None);
        assert_eq!(deadline_after(Some(Duration::MAX)), None);
        assert!(deadline_after(Some(Duration::from_secs(1))).is_some());
    }
}

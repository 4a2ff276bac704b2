//! What the core counts and times, readable at any time without locks or
//! the GIL: per-mailbox counters and handling times (here and in
//! [`histogram`]), the live actors of this process with their identity
//! ([`census`]), and this process's CPU time and memory ([`process`]).
//!
//! Writers are the senders and the one actor that drains the mailbox; each
//! counter is a relaxed atomic, so counting costs a few nanoseconds and a
//! snapshot may be a message or two out of step between counters, never
//! wrong about any single one.
//!
//! Metrics can be turned off process-wide ([`set_enabled`]): the actor loop
//! then stops timing handlers, and outcomes and peaks are no longer
//! counted. What the mailbox needs for itself (messages sent and taken,
//! whose difference is its depth) is always kept.

pub mod census;
pub mod histogram;
pub mod process;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use histogram::Histogram;

static ENABLED: AtomicBool = AtomicBool::new(true);
static DEAD_LETTERS: AtomicU64 = AtomicU64::new(0);

/// Whether handling times, outcomes and peaks are recorded (by default, yes).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Turns the recording of handling times, outcomes and peaks on or off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Counts a message that reached no actor (its actor was gone, or the
/// mailbox or channel it was for refused it for good).
pub fn record_dead_letter() {
    DEAD_LETTERS.fetch_add(1, Ordering::Relaxed);
}

/// Messages that reached no actor in this process, since it started.
pub fn dead_letters() -> u64 {
    DEAD_LETTERS.load(Ordering::Relaxed)
}

/// Adds one to a counter that only one thread writes: a plain load and
/// store, which readers on other threads still see whole.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Live counters of one mailbox.
///
/// Senders write one counter, on a cache line of its own; everything else
/// is written by the actor's thread, on another, so senders and the actor
/// do not take a line from each other for every metric. The peak is kept
/// by the actor too: the depth only falls when the actor takes a message,
/// so its peaks are the depths just before each take, or the depth now.
#[derive(Debug, Default)]
pub struct MailboxStats {
    senders: SendersLine,
    actor: ActorLine,
    handling: Histogram,
}

#[derive(Debug, Default)]
#[repr(align(64))]
struct SendersLine {
    sent: AtomicU64,
}

#[derive(Debug, Default)]
#[repr(align(64))]
struct ActorLine {
    received: AtomicU64,
    processed: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    high_water: AtomicU64,
    busy_nanos: AtomicU64,
}

/// A copy of a mailbox's counters at one moment. It travels between
/// processes (see `docs/protocol.md`), hence the serde derive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxSnapshot {
    /// Messages accepted and not yet taken by the actor.
    pub waiting: u64,
    /// Messages accepted since the mailbox was made.
    pub sent: u64,
    /// Messages the actor handled without an exception.
    pub processed: u64,
    /// Messages whose handling raised an exception.
    pub failed: u64,
    /// Messages told (not asked) that were accepted but never handled,
    /// because the actor stopped first. Asks left over get an error reply.
    pub dropped: u64,
    /// The most messages ever waiting at once.
    pub high_water: u64,
    /// Time spent handling messages, all of them, in nanoseconds.
    pub busy_nanos: u64,
    /// Messages whose handling was timed one by one, for the percentiles.
    pub timed: u64,
    /// Time spent handling those, in nanoseconds.
    pub timed_nanos: u64,
    /// Median handling time, in nanoseconds; `None` before the first.
    pub p50_nanos: Option<u64>,
    /// 90th percentile of the handling time, in nanoseconds.
    pub p90_nanos: Option<u64>,
    /// 99th percentile of the handling time, in nanoseconds.
    pub p99_nanos: Option<u64>,
}

impl MailboxStats {
    /// Counts a message accepted into the mailbox.
    pub fn record_sent(&self) {
        self.senders.sent.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a message taken out of the mailbox (by its one consumer),
    /// noting the depth it had as a peak.
    pub fn record_received(&self) {
        let before = self.actor.received.fetch_add(1, Ordering::AcqRel);
        if enabled() {
            let waiting = self
                .senders
                .sent
                .load(Ordering::Acquire)
                .saturating_sub(before);
            if waiting > self.actor.high_water.load(Ordering::Relaxed) {
                self.actor.high_water.fetch_max(waiting, Ordering::Relaxed);
            }
        }
    }

    /// Counts a message handled without an exception. Only the actor's own
    /// thread may call it: as the one writer, it needs no locked instruction.
    pub fn record_processed(&self) {
        if enabled() {
            bump(&self.actor.processed);
        }
    }

    /// Counts a message whose handler raised. Only the actor's own thread
    /// may call it.
    pub fn record_failed(&self) {
        if enabled() {
            bump(&self.actor.failed);
        }
    }

    /// Counts `count` messages that will never be handled.
    pub fn record_dropped(&self, count: u64) {
        self.actor.dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// Records how long the actor took to handle one message. Only the
    /// actor's own thread may call it (see [`Histogram::record`]).
    pub fn record_handling(&self, took: Duration) {
        self.handling.record(took);
    }

    /// Adds the time the actor spent handling a run of messages. Only the
    /// actor's own thread may call it.
    pub fn record_busy(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let busy = &self.actor.busy_nanos;
        busy.store(
            busy.load(Ordering::Relaxed).saturating_add(nanos),
            Ordering::Relaxed,
        );
    }

    /// Messages accepted since the mailbox was made.
    pub fn sent(&self) -> u64 {
        self.senders.sent.load(Ordering::Acquire)
    }

    /// Messages accepted and not yet taken out.
    pub fn waiting(&self) -> u64 {
        let received = self.actor.received.load(Ordering::Acquire);
        self.senders
            .sent
            .load(Ordering::Acquire)
            .saturating_sub(received)
    }

    /// A copy of every counter, with the handling-time percentiles.
    pub fn snapshot(&self) -> MailboxSnapshot {
        let handling = self.handling.summary();
        let waiting = self.waiting();
        let peak = self.actor.high_water.load(Ordering::Relaxed);
        MailboxSnapshot {
            waiting,
            sent: self.senders.sent.load(Ordering::Relaxed),
            processed: self.actor.processed.load(Ordering::Relaxed),
            failed: self.actor.failed.load(Ordering::Relaxed),
            dropped: self.actor.dropped.load(Ordering::Relaxed),
            high_water: if enabled() { peak.max(waiting) } else { peak },
            busy_nanos: self.actor.busy_nanos.load(Ordering::Relaxed),
            timed: handling.count,
            timed_nanos: handling.sum_nanos,
            p50_nanos: handling.p50,
            p90_nanos: handling.p90,
            p99_nanos: handling.p99,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_is_sent_minus_received_and_high_water_remembers_the_peak() {
        let stats = MailboxStats::default();
        for _ in 0..3 {
            stats.record_sent();
        }
        stats.record_received();
        stats.record_received();
        stats.record_sent();
        let snap = stats.snapshot();
        assert_eq!(snap.waiting, 2);
        assert_eq!(snap.sent, 4);
        assert_eq!(snap.high_water, 3);
    }

    #[test]
    fn outcomes_are_counted_apart() {
        let stats = MailboxStats::default();
        stats.record_processed();
        stats.record_failed();
        stats.record_failed();
        stats.record_dropped(5);
        let snap = stats.snapshot();
        assert_eq!((snap.processed, snap.failed, snap.dropped), (1, 2, 5));
    }

    #[test]
    fn handling_times_show_as_count_sum_and_percentiles() {
        let stats = MailboxStats::default();
        assert_eq!(stats.snapshot().p50_nanos, None);
        stats.record_handling(Duration::from_micros(3));
        stats.record_handling(Duration::from_micros(5));
        let snap = stats.snapshot();
        assert_eq!((snap.timed, snap.timed_nanos), (2, 8_000));
        stats.record_busy(Duration::from_micros(9));
        assert_eq!(stats.snapshot().busy_nanos, 9_000);
        let p99 = snap.p99_nanos.unwrap();
        assert!((4_700..=5_300).contains(&p99), "{p99}");
    }

    #[test]
    fn high_water_is_kept_under_concurrent_senders() {
        let stats = std::sync::Arc::new(MailboxStats::default());
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let stats = std::sync::Arc::clone(&stats);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        stats.record_sent();
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        // Nothing was taken out: the peak is every message.
        assert_eq!(stats.snapshot().high_water, 4000);
        // Taken out, the peak stays.
        for _ in 0..4000 {
            stats.record_received();
        }
        assert_eq!(stats.snapshot().high_water, 4000);
    }

    #[test]
    fn a_peak_between_takes_is_the_depth_before_the_next_take() {
        let stats = MailboxStats::default();
        for burst in [3, 7, 2] {
            for _ in 0..burst {
                stats.record_sent();
            }
            for _ in 0..burst {
                stats.record_received();
            }
        }
        assert_eq!(stats.snapshot().high_water, 7);
    }
}

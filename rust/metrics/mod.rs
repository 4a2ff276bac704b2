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

/// Live counters of one mailbox.
#[derive(Debug, Default)]
pub struct MailboxStats {
    sent: AtomicU64,
    received: AtomicU64,
    processed: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    high_water: AtomicU64,
    handling: Histogram,
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
    /// Messages whose handling was timed.
    pub timed: u64,
    /// Time spent handling them, in nanoseconds.
    pub busy_nanos: u64,
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
        let sent = self.sent.fetch_add(1, Ordering::AcqRel) + 1;
        if enabled() {
            let waiting = sent.saturating_sub(self.received.load(Ordering::Acquire));
            // A plain load first: the read-modify-write only at a new peak.
            if waiting > self.high_water.load(Ordering::Relaxed) {
                self.high_water.fetch_max(waiting, Ordering::Relaxed);
            }
        }
    }

    /// Counts a message taken out of the mailbox.
    pub fn record_received(&self) {
        self.received.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a message handled without an exception.
    pub fn record_processed(&self) {
        if enabled() {
            self.processed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a message whose handler raised.
    pub fn record_failed(&self) {
        if enabled() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts `count` messages that will never be handled.
    pub fn record_dropped(&self, count: u64) {
        self.dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// Records how long the actor took to handle one message. Only the
    /// actor's own thread may call it (see [`Histogram::record`]).
    pub fn record_handling(&self, took: Duration) {
        self.handling.record(took);
    }

    /// Messages accepted and not yet taken out.
    pub fn waiting(&self) -> u64 {
        let received = self.received.load(Ordering::Acquire);
        self.sent.load(Ordering::Acquire).saturating_sub(received)
    }

    /// A copy of every counter, with the handling-time percentiles.
    pub fn snapshot(&self) -> MailboxSnapshot {
        let handling = self.handling.summary();
        MailboxSnapshot {
            waiting: self.waiting(),
            sent: self.sent.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            high_water: self.high_water.load(Ordering::Relaxed),
            timed: handling.count,
            busy_nanos: handling.sum_nanos,
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
        assert_eq!((snap.timed, snap.busy_nanos), (2, 8_000));
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
    }
}

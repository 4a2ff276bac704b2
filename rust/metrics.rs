//! Counters kept per mailbox, readable at any time without locks or the GIL.
//!
//! Writers are the senders and the one actor that drains the mailbox; each
//! counter is a relaxed atomic, so counting costs a few nanoseconds and a
//! snapshot may be a message or two out of step between counters, never
//! wrong about any single one.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one mailbox.
#[derive(Debug, Default)]
pub struct MailboxStats {
    sent: AtomicU64,
    received: AtomicU64,
    processed: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    high_water: AtomicU64,
}

/// A copy of a mailbox's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}

impl MailboxStats {
    /// Counts a message accepted into the mailbox.
    pub fn record_sent(&self) {
        let sent = self.sent.fetch_add(1, Ordering::AcqRel) + 1;
        let waiting = sent.saturating_sub(self.received.load(Ordering::Acquire));
        self.high_water.fetch_max(waiting, Ordering::Relaxed);
    }

    /// Counts a message taken out of the mailbox.
    pub fn record_received(&self) {
        self.received.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a message handled without an exception.
    pub fn record_processed(&self) {
        self.processed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a message whose handler raised.
    pub fn record_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `count` messages that will never be handled.
    pub fn record_dropped(&self, count: u64) {
        self.dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// Messages accepted and not yet taken out.
    pub fn waiting(&self) -> u64 {
        let received = self.received.load(Ordering::Acquire);
        self.sent.load(Ordering::Acquire).saturating_sub(received)
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> MailboxSnapshot {
        MailboxSnapshot {
            waiting: self.waiting(),
            sent: self.sent.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            high_water: self.high_water.load(Ordering::Relaxed),
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
}

//! The dead-letter log: the messages that reached no actor, most recent
//! last, in a ring of bounded size.
//!
//! Every place that refuses a message for good records it here: a mailbox
//! whose actor has stopped, a full bounded mailbox (`fail` and `drop`), a
//! stop that ends a sender's wait for room, leftovers of a stopped actor,
//! and the node for messages from other processes that find no actor or no
//! room. Recording also counts the letter in [`crate::metrics`], the one
//! counter `stats()` reports, so the log and the count never disagree.
//!
//! The ring keeps text, not the messages: a dead letter must not keep a
//! message (and what it holds) alive, and the node, which records letters
//! from other processes, sees only pickled bytes and no interpreter.
//!
//! Rejected: an unbounded log (a `drop` mailbox under a flood would grow it
//! as fast as the mailbox was meant not to), a log per process reached over
//! the wire (each process keeps its own; `stats()` sums the counts).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sync::lock;

/// How many letters the ring keeps unless told otherwise.
pub const DEFAULT_KEPT: usize = 1000;

/// One message that reached no actor.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Who it was for: `"Class (urn:uuid:...)"`, or an address.
    pub receiver: String,
    /// What it was: the message's `repr()`, shortened, or a description.
    pub message: String,
    /// Why it was not delivered.
    pub reason: String,
    /// When, in seconds since the epoch.
    pub time: f64,
}

static RING: Mutex<VecDeque<DeadLetter>> = Mutex::new(VecDeque::new());
static KEPT: AtomicUsize = AtomicUsize::new(DEFAULT_KEPT);

/// Records a letter: counts it and keeps it in the ring.
pub fn record(receiver: String, message: String, reason: String) {
    crate::metrics::record_dead_letter();
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    let kept = KEPT.load(Ordering::Relaxed);
    let mut ring = lock(&RING);
    while ring.len() >= kept.max(1) {
        ring.pop_front();
    }
    if kept > 0 {
        ring.push_back(DeadLetter {
            receiver,
            message,
            reason,
            time,
        });
    }
}

/// The letters kept, oldest first.
pub fn recent() -> Vec<DeadLetter> {
    lock(&RING).iter().cloned().collect()
}

/// Keeps at most `kept` letters from now on (0 keeps none; they are
/// still counted), forgetting the oldest beyond it.
pub fn set_kept(kept: usize) {
    KEPT.store(kept, Ordering::Relaxed);
    let mut ring = lock(&RING);
    while ring.len() > kept {
        ring.pop_front();
    }
}

/// Forgets every letter kept (the count stays).
pub fn clear() {
    lock(&RING).clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the ring is the process's, and tests run in parallel.
    #[test]
    fn the_ring_keeps_the_latest_letters_and_every_one_is_counted() {
        let before = crate::metrics::dead_letters();
        set_kept(3);
        clear();
        for i in 0..5 {
            record(format!("actor {i}"), format!("m{i}"), "gone".to_owned());
        }
        let kept: Vec<String> = recent().into_iter().map(|l| l.message).collect();
        assert_eq!(kept, ["m2", "m3", "m4"]);
        assert!(crate::metrics::dead_letters() >= before + 5);
        set_kept(0);
        record("a".into(), "b".into(), "c".into());
        assert!(recent().is_empty());
        set_kept(DEFAULT_KEPT);
    }
}

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

/// The latest letters, at most `kept` of them.
#[derive(Debug)]
struct Ring {
    letters: VecDeque<DeadLetter>,
    kept: usize,
}

impl Ring {
    const fn new() -> Self {
        Self {
            letters: VecDeque::new(),
            kept: DEFAULT_KEPT,
        }
    }

    fn push(&mut self, letter: DeadLetter) {
        if self.kept == 0 {
            return;
        }
        while self.letters.len() >= self.kept {
            self.letters.pop_front();
        }
        self.letters.push_back(letter);
    }

    fn keep(&mut self, kept: usize) {
        self.kept = kept;
        while self.letters.len() > kept {
            self.letters.pop_front();
        }
    }
}

static RING: Mutex<Ring> = Mutex::new(Ring::new());

/// Records a letter: counts it and keeps it in the ring.
pub fn record(receiver: String, message: String, reason: String) {
    crate::metrics::record_dead_letter();
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    lock(&RING).push(DeadLetter {
        receiver,
        message,
        reason,
        time,
    });
}

/// The letters kept, oldest first.
pub fn recent() -> Vec<DeadLetter> {
    lock(&RING).letters.iter().cloned().collect()
}

/// Keeps at most `kept` letters from now on (0 keeps none; they are
/// still counted), forgetting the oldest beyond it.
pub fn set_kept(kept: usize) {
    lock(&RING).keep(kept);
}

/// Forgets every letter kept (the count stays).
pub fn clear() {
    lock(&RING).letters.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(message: &str) -> DeadLetter {
        DeadLetter {
            receiver: "actor 1 of process 0".into(),
            message: message.into(),
            reason: "gone".into(),
            time: 0.0,
        }
    }

    fn messages(ring: &Ring) -> Vec<&str> {
        ring.letters.iter().map(|l| l.message.as_str()).collect()
    }

    #[test]
    fn the_ring_keeps_the_latest_letters() {
        let mut ring = Ring::new();
        ring.keep(3);
        for i in 0..5 {
            ring.push(letter(&format!("m{i}")));
        }
        assert_eq!(messages(&ring), ["m2", "m3", "m4"]);
        ring.keep(1);
        assert_eq!(messages(&ring), ["m4"]);
        ring.keep(0);
        ring.push(letter("m5"));
        assert!(ring.letters.is_empty());
    }

    #[test]
    fn every_letter_recorded_is_counted() {
        let before = crate::metrics::dead_letters();
        record("a".into(), "b".into(), "c".into());
        assert!(crate::metrics::dead_letters() > before);
    }
}

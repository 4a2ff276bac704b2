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
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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

/// The latest letters, at most `kept` of them, each with its number
/// (letters are numbered from 1, in the order recorded).
#[derive(Debug)]
struct Ring {
    letters: VecDeque<(u64, DeadLetter)>,
    kept: usize,
    /// The number of the latest letter recorded, kept or not.
    last: u64,
}

impl Ring {
    const fn new() -> Self {
        Self {
            letters: VecDeque::new(),
            kept: DEFAULT_KEPT,
            last: 0,
        }
    }

    fn push(&mut self, letter: DeadLetter) {
        self.last += 1;
        if self.kept == 0 {
            return;
        }
        while self.letters.len() >= self.kept {
            self.letters.pop_front();
        }
        self.letters.push_back((self.last, letter));
    }

    /// The letters kept that are newer than letter `after`.
    fn after(&self, after: u64) -> Vec<DeadLetter> {
        self.letters
            .iter()
            .filter(|(number, _)| *number > after)
            .map(|(_, letter)| letter.clone())
            .collect()
    }

    fn keep(&mut self, kept: usize) {
        self.kept = kept;
        while self.letters.len() > kept {
            self.letters.pop_front();
        }
    }
}

static RING: Mutex<Ring> = Mutex::new(Ring::new());
/// Wakes whoever waits for newer letters ([`newer`]).
static RECORDED: Condvar = Condvar::new();

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
    RECORDED.notify_all();
}

/// Waits until `deadline` for letters newer than letter number `after`;
/// returns the number of the latest letter recorded, and the newer ones
/// still kept (fewer than the difference in numbers when the ring dropped
/// some before they were read). Letter numbers start at 1; 0 is before any.
pub fn newer(after: u64, deadline: Instant) -> (u64, Vec<DeadLetter>) {
    let mut ring = lock(&RING);
    while ring.last <= after {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        ring = RECORDED
            .wait_timeout(ring, deadline - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    (ring.last, ring.after(after))
}

/// The number of the latest letter recorded (0 before any).
pub fn last() -> u64 {
    lock(&RING).last
}

/// The letters kept, oldest first.
pub fn recent() -> Vec<DeadLetter> {
    lock(&RING)
        .letters
        .iter()
        .map(|(_, letter)| letter.clone())
        .collect()
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
        ring.letters
            .iter()
            .map(|(_, l)| l.message.as_str())
            .collect()
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
        assert_eq!(ring.last, 6);
    }

    #[test]
    fn letters_newer_than_a_number_are_those_after_it_still_kept() {
        let mut ring = Ring::new();
        ring.keep(2);
        for i in 1..=4 {
            ring.push(letter(&format!("m{i}")));
        }
        let newer: Vec<String> = ring.after(1).into_iter().map(|l| l.message).collect();
        // m2 was dropped from the ring: only m3 and m4 are left to read.
        assert_eq!(newer, ["m3", "m4"]);
        assert!(ring.after(4).is_empty());
    }

    #[test]
    fn a_wait_for_newer_letters_ends_with_the_next_one_recorded() {
        let after = last();
        let waiter = std::thread::spawn(move || {
            newer(after, Instant::now() + std::time::Duration::from_secs(5))
        });
        record("actor 9".into(), "wake".into(), "test".into());
        let (latest, letters) = waiter.join().unwrap();
        assert!(latest > after);
        assert!(letters.iter().any(|l| l.message == "wake"));
    }

    #[test]
    fn every_letter_recorded_is_counted() {
        let before = crate::metrics::dead_letters();
        record("a".into(), "b".into(), "c".into());
        assert!(crate::metrics::dead_letters() > before);
    }
}

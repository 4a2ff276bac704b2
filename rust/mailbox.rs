//! An actor's mailbox: a flume channel, an atomic view of its depth, and the
//! actor's "stopped" flag, which closes it.
//!
//! Any thread may send; one actor receives. Sending never blocks and costs a
//! push plus a few atomic operations. A receiver that finds the mailbox empty
//! spins on the depth counter (not on the channel's lock, which senders need)
//! before it sleeps; see [`crate::wait`].
//!
//! Closing is the delicate part. Once the actor's stopped flag is set, a send
//! must either fail or be seen by the final drain, or a reply would be owed
//! forever. Senders announce themselves in an atomic count before checking the
//! flag; the drain waits for that count to reach zero after the flag is set.
//! Both sides use sequentially consistent operations, so at least one of them
//! sees the other.
//!
//! Rejected: `std::sync::mpsc` (slower under contention, no drain without a
//! receiver loop), a mutex around send (every send would contend with the
//! drain check), dropping the receiver to close (messages sent in the gap are
//! lost without a trace).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::event::Event;
use crate::metrics::MailboxStats;
use crate::wait;

/// A multi-producer, single-consumer queue of envelopes of type `T`.
#[derive(Debug)]
pub struct Mailbox<T> {
    tx: flume::Sender<T>,
    rx: flume::Receiver<T>,
    stopped: Arc<Event>,
    sends_in_progress: AtomicUsize,
    stats: MailboxStats,
    spin: wait::Budget,
}

/// A message the mailbox refused because its actor has stopped; carries the message back.
#[derive(Debug, PartialEq, Eq)]
pub struct Stopped<T>(pub T);

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Self::new(Arc::new(Event::new()))
    }
}

impl<T> Mailbox<T> {
    /// An empty mailbox that refuses messages once `stopped` is set.
    pub fn new(stopped: Arc<Event>) -> Self {
        let (tx, rx) = flume::unbounded();
        Self {
            tx,
            rx,
            stopped,
            sends_in_progress: AtomicUsize::new(0),
            stats: MailboxStats::default(),
            spin: wait::Budget::new(),
        }
    }

    /// The flag that closes this mailbox.
    pub fn stopped(&self) -> &Arc<Event> {
        &self.stopped
    }

    /// The mailbox's counters.
    pub fn stats(&self) -> &MailboxStats {
        &self.stats
    }

    /// Queues `item` for the actor.
    ///
    /// # Panics
    /// Never: the mailbox owns the receiving end, so the channel cannot be closed.
    ///
    /// # Errors
    /// [`Stopped`] with the item when the actor's stopped flag is set.
    pub fn send(&self, item: T) -> Result<(), Stopped<T>> {
        self.sends_in_progress.fetch_add(1, Ordering::SeqCst);
        let result = if self.stopped.is_set() {
            Err(Stopped(item))
        } else {
            if self.tx.send(item).is_err() {
                unreachable!("a mailbox owns its receiving end for its whole life");
            }
            self.stats.record_sent();
            Ok(())
        };
        self.sends_in_progress.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Takes the next envelope if one is waiting.
    pub fn try_recv(&self) -> Option<T> {
        let item = self.rx.try_recv().ok()?;
        self.stats.record_received();
        Some(item)
    }

    /// Takes the next envelope, waiting until `deadline` (forever if `None`).
    /// Returns `None` if the deadline passed first.
    pub fn recv(&self, deadline: Option<Instant>) -> Option<T> {
        if let Some(item) = self.try_recv() {
            return Some(item);
        }
        let started = Instant::now();
        let item = wait::spin_for(&self.spin, deadline, || {
            if self.stats.waiting() > 0 {
                self.try_recv()
            } else {
                None
            }
        })
        .or_else(|| {
            let item = match deadline {
                None => self.rx.recv().ok(),
                Some(deadline) => self.rx.recv_deadline(deadline).ok(),
            }?;
            self.stats.record_received();
            Some(item)
        });
        self.spin.learn(started.elapsed());
        item
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        usize::try_from(self.stats.waiting()).unwrap_or(usize::MAX)
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.stats.waiting() == 0
    }

    /// Takes every envelope left once the actor has stopped, including any
    /// whose send was under way when the flag was set. After this returns,
    /// every send fails until the flag is cleared.
    ///
    /// # Panics
    /// If the stopped flag is not set: draining a live mailbox would race
    /// with its actor.
    pub fn drain_stopped(&self) -> Vec<T> {
        assert!(
            self.stopped.is_set(),
            "drain_stopped is only for a stopped mailbox"
        );
        // A sender between its check and its push may have been preempted:
        // yield the CPU to it rather than spin against it (on one CPU, a spin
        // would last the whole time slice).
        while self.sends_in_progress.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        let left: Vec<T> = self.rx.drain().collect();
        for _ in &left {
            self.stats.record_received();
        }
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn messages_come_out_in_the_order_they_went_in() {
        let mailbox = Mailbox::default();
        for i in 0..5 {
            mailbox.send(i).unwrap();
        }
        let got: Vec<_> = std::iter::from_fn(|| mailbox.try_recv()).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_stopped_mailbox_gives_the_message_back() {
        let mailbox = Mailbox::default();
        mailbox.stopped().set();
        assert_eq!(mailbox.send("hello"), Err(Stopped("hello")));
    }

    #[test]
    fn recv_times_out_on_an_empty_mailbox() {
        let mailbox: Mailbox<u8> = Mailbox::default();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert_eq!(mailbox.recv(Some(deadline)), None);
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn recv_wakes_for_a_message_sent_from_another_thread() {
        let mailbox = Arc::new(Mailbox::default());
        let sender = {
            let mailbox = Arc::clone(&mailbox);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                mailbox.send(7).unwrap();
            })
        };
        assert_eq!(mailbox.recv(None), Some(7));
        sender.join().unwrap();
    }

    #[test]
    fn depth_counts_what_is_waiting() {
        let mailbox = Mailbox::default();
        assert!(mailbox.is_empty());
        mailbox.send(1).unwrap();
        mailbox.send(2).unwrap();
        assert_eq!(mailbox.len(), 2);
        mailbox.try_recv();
        assert_eq!(mailbox.len(), 1);
        assert_eq!(mailbox.stats().snapshot().high_water, 2);
    }

    #[test]
    fn every_accepted_message_is_drained_or_refused_while_stopping() {
        // Four senders race against the stop; whatever they were told was
        // accepted must come out of the drain, and nothing else.
        for _ in 0..50 {
            let mailbox = Arc::new(Mailbox::default());
            let senders: Vec<_> = (0..4)
                .map(|s| {
                    let mailbox = Arc::clone(&mailbox);
                    std::thread::spawn(move || {
                        (0..200).filter(|i| mailbox.send((s, *i)).is_ok()).count()
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_micros(50));
            mailbox.stopped().set();
            let taken = mailbox.drain_stopped().len();
            let accepted: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
            assert_eq!(taken, accepted);
            // Once drained, a stopped mailbox accepts nothing more.
            assert_eq!(mailbox.try_recv(), None);
            assert!(mailbox.drain_stopped().is_empty());
        }
    }
}

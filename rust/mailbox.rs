//! An actor's mailbox: a flume channel, an atomic view of its depth, and the
//! actor's "stopped" flag, which closes it.
//!
//! Any thread may send; one actor receives. Sending never blocks and costs a
//! push plus a few atomic operations. A receiver that finds the mailbox empty
//! spins on the depth counter (not on the channel's lock, which senders need)
//! before it sleeps; see [`crate::wait`]. It may sleep reading the links
//! ([`wait::park_reading`]); a sender then wakes it through its
//! [`wait::Wakeup`], which it looks up only while a receiver sleeps so.
//!
//! Closing is the delicate part. Once the actor's stopped flag is set, a send
//! must either fail or be seen by the final drain, or a reply would be owed
//! forever. Senders announce themselves in an atomic count before checking the
//! flag; the drain waits for that count to reach zero after the flag is set.
//! Both sides use sequentially consistent operations, so at least one of them
//! sees the other.
//!
//! A mailbox may be bounded ([`Bound`]): senders then reserve a slot (a
//! compare-and-swap on a count of slots taken) before they push, so the
//! depth never passes the capacity however many senders race, and the
//! actor gives the slot back when it takes the message. What a sender does
//! when no slot is free is the bound's [`Overflow`] policy: wait for room
//! ([`Mailbox::send_waiting`]), or be refused at once ([`Refused::Full`]). A sender
//! waiting for room waits on a condition variable that the actor signals
//! when it frees a slot, and that the stopped flag wakes, so a stop ends
//! every wait. Control messages (a stop request, say) take a slot without
//! waiting for one ([`Mailbox::send_control`]): an actor must stay
//! stoppable when its mailbox is full. An unbounded mailbox keeps no count
//! of slots and costs nothing more.
//!
//! Rejected for the bound: flume's own bounded channel (its waiting senders
//! cannot be woken by our stopped flag, and control messages could not pass
//! the bound), checking the depth before pushing (two senders that both see
//! one free slot would both push).
//!
//! Rejected: `std::sync::mpsc` (slower under contention, no drain without a
//! receiver loop), a mutex around send (every send would contend with the
//! drain check), dropping the receiver to close (messages sent in the gap are
//! lost without a trace).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use crate::event::Event;
use crate::metrics::MailboxStats;
use crate::sync::lock;
use crate::wait;

/// What a bounded mailbox does with a message that finds it full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// The sender waits until there is room.
    Block,
    /// The send is refused and the sender told so.
    Fail,
    /// The message is refused and goes to the dead-letter log; a sender
    /// waiting for a reply is told so.
    Drop,
}

impl Overflow {
    /// The policy's name, as Python spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Fail => "fail",
            Self::Drop => "drop",
        }
    }

    /// The policy called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "block" => Some(Self::Block),
            "fail" => Some(Self::Fail),
            "drop" => Some(Self::Drop),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Self::Block => 0,
            Self::Fail => 1,
            Self::Drop => 2,
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Fail,
            2 => Self::Drop,
            _ => Self::Block,
        }
    }
}

/// A mailbox's capacity and what happens beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The most messages that may wait at once (at least 1).
    pub capacity: usize,
    /// What a send to a full mailbox does.
    pub overflow: Overflow,
}

/// No capacity set: the mailbox is unbounded.
const UNBOUNDED: usize = usize::MAX;

/// Where senders wait for room in a bounded mailbox.
#[derive(Debug, Default)]
struct Room {
    lock: Mutex<()>,
    freed: Condvar,
    waiters: AtomicUsize,
}

impl Room {
    fn wake_all(&self) {
        // Taking the lock orders the change before a waiter's next check.
        drop(lock(&self.lock));
        self.freed.notify_all();
    }
}

/// A multi-producer, single-consumer queue of envelopes of type `T`.
#[derive(Debug)]
pub struct Mailbox<T> {
    tx: flume::Sender<T>,
    rx: flume::Receiver<T>,
    stopped: Arc<Event>,
    sends_in_progress: AtomicUsize,
    stats: MailboxStats,
    spin: wait::Budget,
    /// Whether the receiver is parked reading the links, and how to wake it.
    reading: AtomicBool,
    reader: Mutex<Option<wait::Wakeup>>,
    /// The capacity, or [`UNBOUNDED`]; set once, before the first message.
    capacity: AtomicUsize,
    overflow: AtomicU8,
    /// Slots taken: messages queued, or about to be, in a bounded mailbox.
    taken: AtomicUsize,
    room: Arc<Room>,
}

/// A message the mailbox refused because its actor has stopped; carries the message back.
#[derive(Debug, PartialEq, Eq)]
pub struct Stopped<T>(pub T);

/// Why a bounded send did not queue its message; carries the message back.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused<T> {
    /// The actor has stopped.
    Stopped(T),
    /// The mailbox is full: at once for the `fail` and `drop` policies and
    /// for a send that may not wait, at the deadline for a waiting one.
    Full(T),
}

/// The bound of a mailbox could not be set.
#[derive(Debug, PartialEq, Eq)]
pub enum BoundError {
    /// A capacity of 0 could never take a message.
    ZeroCapacity,
    /// Messages were sent already: slots would be miscounted.
    InUse,
}

impl std::fmt::Display for BoundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("a mailbox's capacity must be at least 1"),
            Self::InUse => f.write_str("a mailbox's bound must be set before its first message"),
        }
    }
}

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
            reading: AtomicBool::new(false),
            reader: Mutex::new(None),
            capacity: AtomicUsize::new(UNBOUNDED),
            overflow: AtomicU8::new(Overflow::Block.code()),
            taken: AtomicUsize::new(0),
            room: Arc::new(Room::default()),
        }
    }

    /// An empty mailbox with `bound`, refusing messages once `stopped` is set.
    ///
    /// # Errors
    /// [`BoundError::ZeroCapacity`] for a capacity of 0.
    pub fn bounded(stopped: Arc<Event>, bound: Bound) -> Result<Self, BoundError> {
        let mailbox = Self::new(stopped);
        mailbox.set_bound(bound)?;
        Ok(mailbox)
    }

    /// Bounds this mailbox, which must not have had a message yet.
    ///
    /// # Errors
    /// [`BoundError::ZeroCapacity`] for a capacity of 0,
    /// [`BoundError::InUse`] once a message was sent.
    pub fn set_bound(&self, bound: Bound) -> Result<(), BoundError> {
        if bound.capacity == 0 {
            return Err(BoundError::ZeroCapacity);
        }
        if self.stats.sent() != 0 {
            return Err(BoundError::InUse);
        }
        self.overflow.store(bound.overflow.code(), Ordering::SeqCst);
        self.capacity.store(bound.capacity, Ordering::SeqCst);
        // A stop wakes every sender waiting for room (the flag is checked
        // again after each wake).
        let room = Arc::clone(&self.room);
        self.stopped.on_set(move || room.wake_all());
        Ok(())
    }

    /// The mailbox's bound, if it has one.
    pub fn bound(&self) -> Option<Bound> {
        let capacity = self.capacity.load(Ordering::SeqCst);
        (capacity != UNBOUNDED).then(|| Bound {
            capacity,
            overflow: Overflow::from_code(self.overflow.load(Ordering::SeqCst)),
        })
    }

    /// Whether a bounded mailbox has no free slot now (never, unbounded).
    pub fn is_full(&self) -> bool {
        let capacity = self.capacity.load(Ordering::Relaxed);
        capacity != UNBOUNDED && self.taken.load(Ordering::SeqCst) >= capacity
    }

    /// Takes a free slot, if there is one.
    fn reserve(&self, capacity: usize) -> bool {
        self.taken
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |taken| {
                (taken < capacity).then_some(taken + 1)
            })
            .is_ok()
    }

    /// Gives back the slots of `count` messages taken out; wakes a sender
    /// waiting for room.
    fn release(&self, count: usize) {
        if count == 0 || self.capacity.load(Ordering::Relaxed) == UNBOUNDED {
            return;
        }
        self.taken.fetch_sub(count, Ordering::SeqCst);
        if self.room.waiters.load(Ordering::SeqCst) > 0 {
            self.room.wake_all();
        }
    }

    /// Counts a message taken out.
    fn took(&self) {
        self.stats.record_received();
        self.release(1);
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
    ///
    /// Unbounded mailboxes only, or messages that must pass a bound: in a
    /// bounded mailbox this is [`Mailbox::send_control`].
    pub fn send(&self, item: T) -> Result<(), Stopped<T>> {
        self.sends_in_progress.fetch_add(1, Ordering::SeqCst);
        let result = if self.stopped.is_set() {
            Err(Stopped(item))
        } else {
            if self.capacity.load(Ordering::Relaxed) != UNBOUNDED {
                // Counted, so the slot given back when it is taken is its own.
                self.taken.fetch_add(1, Ordering::SeqCst);
            }
            self.push(item);
            Ok(())
        };
        self.sends_in_progress.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Queues a control message (a stop request, a link's exit signal)
    /// even into a full mailbox: it takes a slot beyond the capacity.
    ///
    /// # Errors
    /// [`Stopped`] with the item when the actor's stopped flag is set.
    pub fn send_control(&self, item: T) -> Result<(), Stopped<T>> {
        self.send(item)
    }

    fn push(&self, item: T) {
        if self.tx.send(item).is_err() {
            unreachable!("a mailbox owns its receiving end for its whole life");
        }
        self.stats.record_sent();
        // Paired with the fence in `park`: the receiver sees the message,
        // or this sees the receiver reading.
        fence(Ordering::SeqCst);
        if self.reading.load(Ordering::Relaxed) {
            if let Some(reader) = *lock(&self.reader) {
                reader.wake();
            }
        }
    }

    /// Queues `item` if there is room now, whatever the bound's policy.
    ///
    /// # Errors
    /// [`Refused::Stopped`] once the actor stopped, [`Refused::Full`]
    /// when a bounded mailbox has no free slot.
    pub fn try_send(&self, item: T) -> Result<(), Refused<T>> {
        let capacity = self.capacity.load(Ordering::Relaxed);
        if capacity == UNBOUNDED {
            return self
                .send(item)
                .map_err(|Stopped(item)| Refused::Stopped(item));
        }
        self.sends_in_progress.fetch_add(1, Ordering::SeqCst);
        let result = if self.stopped.is_set() {
            Err(Refused::Stopped(item))
        } else if self.reserve(capacity) {
            self.push(item);
            Ok(())
        } else {
            Err(Refused::Full(item))
        };
        self.sends_in_progress.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Queues `item` as the bound's policy says: a `block` mailbox waits for
    /// room until `deadline`, the others refuse at once when full. An
    /// unbounded mailbox takes it at once.
    ///
    /// # Errors
    /// As [`Mailbox::try_send`] and [`Mailbox::send_waiting`].
    pub fn offer(&self, item: T, deadline: Option<Instant>) -> Result<(), Refused<T>> {
        match self.bound() {
            Some(Bound {
                overflow: Overflow::Block,
                ..
            }) => self.send_waiting(item, deadline),
            _ => self.try_send(item),
        }
    }

    /// Queues `item`, waiting for room until `deadline` (forever if
    /// `None`) when the mailbox is full, whatever the bound's policy. A stop
    /// ends the wait.
    ///
    /// # Errors
    /// [`Refused::Stopped`] once the actor stopped (also while waiting),
    /// [`Refused::Full`] if the deadline passed with no room.
    pub fn send_waiting(&self, item: T, deadline: Option<Instant>) -> Result<(), Refused<T>> {
        let mut item = match self.try_send(item) {
            Err(Refused::Full(item)) => item,
            done => return done,
        };
        let room = &self.room;
        loop {
            room.waiters.fetch_add(1, Ordering::SeqCst);
            {
                let mut guard = lock(&room.lock);
                // Checked under the lock a waker takes first: no wake is missed.
                while self.is_full() && !self.stopped.is_set() {
                    let now = Instant::now();
                    guard = match deadline {
                        None => room
                            .freed
                            .wait(guard)
                            .unwrap_or_else(PoisonError::into_inner),
                        Some(deadline) if deadline > now => {
                            room.freed
                                .wait_timeout(guard, deadline - now)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0
                        }
                        Some(_) => break,
                    };
                }
            }
            room.waiters.fetch_sub(1, Ordering::SeqCst);
            item = match self.try_send(item) {
                Err(Refused::Full(item)) => item,
                done => return done,
            };
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(Refused::Full(item));
            }
        }
    }

    /// Takes the next envelope if one is waiting.
    pub fn try_recv(&self) -> Option<T> {
        let item = self.rx.try_recv().ok()?;
        self.took();
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
        .or_else(|| self.park(deadline));
        self.spin.learn(started.elapsed());
        item
    }

    fn park(&self, deadline: Option<Instant>) -> Option<T> {
        let read = wait::park_reading(
            deadline,
            &|| !self.rx.is_empty(),
            |wakeup| {
                *lock(&self.reader) = Some(wakeup);
                self.reading.store(true, Ordering::Relaxed);
                fence(Ordering::SeqCst);
            },
            |_| self.reading.store(false, Ordering::Relaxed),
        );
        // After a park that read, a message is there, or the deadline has
        // passed and the wait below ends at once.
        let item = match read.and_then(|_| self.rx.try_recv().ok()) {
            Some(item) => item,
            None => match deadline {
                None => self.rx.recv().ok(),
                Some(deadline) => self.rx.recv_deadline(deadline).ok(),
            }?,
        };
        self.took();
        Some(item)
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
        self.release(left.len());
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

    fn bounded(capacity: usize, overflow: Overflow) -> Mailbox<u32> {
        Mailbox::bounded(Arc::new(Event::new()), Bound { capacity, overflow }).unwrap()
    }

    #[test]
    fn a_bound_of_zero_or_after_the_first_message_is_refused() {
        let mailbox: Mailbox<u32> = Mailbox::default();
        let bound = Bound {
            capacity: 0,
            overflow: Overflow::Fail,
        };
        assert_eq!(mailbox.set_bound(bound), Err(BoundError::ZeroCapacity));
        mailbox.send(1).unwrap();
        let bound = Bound {
            capacity: 2,
            overflow: Overflow::Fail,
        };
        assert_eq!(mailbox.set_bound(bound), Err(BoundError::InUse));
        assert_eq!(mailbox.bound(), None);
    }

    #[test]
    fn a_full_fail_mailbox_refuses_and_queues_nothing() {
        let mailbox = bounded(2, Overflow::Fail);
        mailbox.offer(1, None).unwrap();
        mailbox.offer(2, None).unwrap();
        assert!(mailbox.is_full());
        assert_eq!(mailbox.offer(3, None), Err(Refused::Full(3)));
        assert_eq!(mailbox.len(), 2);
        assert_eq!(mailbox.try_recv(), Some(1));
        mailbox.offer(4, None).unwrap();
        let got: Vec<_> = std::iter::from_fn(|| mailbox.try_recv()).collect();
        assert_eq!(got, vec![2, 4]);
        assert_eq!(mailbox.stats().snapshot().sent, 3);
    }

    #[test]
    fn a_full_drop_mailbox_gives_the_message_back_at_once() {
        let mailbox = bounded(1, Overflow::Drop);
        mailbox.offer(1, None).unwrap();
        let started = Instant::now();
        assert_eq!(mailbox.offer(2, None), Err(Refused::Full(2)));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(mailbox.len(), 1);
    }

    #[test]
    fn a_blocked_sender_goes_on_when_the_actor_takes_a_message() {
        let mailbox = Arc::new(bounded(1, Overflow::Block));
        mailbox.offer(1, None).unwrap();
        let sender = {
            let mailbox = Arc::clone(&mailbox);
            std::thread::spawn(move || mailbox.offer(2, None))
        };
        // The sender stays blocked while the mailbox is full.
        while mailbox.room.waiters.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        assert_eq!(mailbox.len(), 1);
        assert_eq!(mailbox.recv(None), Some(1));
        sender.join().unwrap().unwrap();
        assert_eq!(mailbox.recv(None), Some(2));
    }

    #[test]
    fn a_blocked_send_gives_up_at_its_deadline() {
        let mailbox = bounded(1, Overflow::Block);
        mailbox.offer(1, None).unwrap();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert_eq!(mailbox.offer(2, Some(deadline)), Err(Refused::Full(2)));
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn a_stop_ends_the_wait_of_a_blocked_sender() {
        let mailbox = Arc::new(bounded(1, Overflow::Block));
        mailbox.offer(1, None).unwrap();
        let sender = {
            let mailbox = Arc::clone(&mailbox);
            std::thread::spawn(move || mailbox.offer(2, None))
        };
        while mailbox.room.waiters.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        mailbox.stopped().set();
        assert_eq!(sender.join().unwrap(), Err(Refused::Stopped(2)));
        assert_eq!(mailbox.drain_stopped(), vec![1]);
    }

    #[test]
    fn control_messages_pass_a_full_mailbox() {
        let mailbox = bounded(1, Overflow::Fail);
        mailbox.offer(1, None).unwrap();
        mailbox.send_control(99).unwrap();
        assert_eq!(mailbox.len(), 2);
        assert_eq!(mailbox.try_recv(), Some(1));
        // The control message still holds its slot.
        assert_eq!(mailbox.offer(3, None), Err(Refused::Full(3)));
        assert_eq!(mailbox.try_recv(), Some(99));
        mailbox.offer(3, None).unwrap();
    }

    #[test]
    fn racing_senders_never_pass_the_bound_and_lose_nothing() {
        let mailbox = Arc::new(bounded(4, Overflow::Block));
        let senders: Vec<_> = (0..4u32)
            .map(|s| {
                let mailbox = Arc::clone(&mailbox);
                std::thread::spawn(move || {
                    for i in 0..500 {
                        mailbox.offer(s * 1000 + i, None).unwrap();
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < 2000 {
            assert!(mailbox.len() <= 4);
            got.push(mailbox.recv(None).unwrap());
        }
        for sender in senders {
            sender.join().unwrap();
        }
        assert!(mailbox.stats().snapshot().high_water <= 4);
        got.sort_unstable();
        let expected: Vec<u32> = (0..4)
            .flat_map(|s| (0..500).map(move |i| s * 1000 + i))
            .collect();
        assert_eq!(got, expected);
    }
}

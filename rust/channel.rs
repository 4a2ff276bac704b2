//! A bounded channel between any number of senders and receivers: what
//! `pykka_rs.Channel` holds in the process that made it.
//!
//! A full channel makes a sender wait (until a deadline) or refuses it at
//! once; it never grows past its capacity. An empty one makes a receiver
//! wait, woken by the send that gives it an item, never by a timer. Closing
//! refuses every later send, while receivers still take what was queued;
//! only then are they told the channel is closed.
//!
//! Waiters of two kinds are woken: threads blocked in [`Channel::send`] or
//! [`Channel::recv`] (condition variables), and one-shot callbacks
//! registered with [`Channel::when_readable`] / [`Channel::when_writable`],
//! which an event loop or the process's channel servant use to learn that a
//! try may now succeed. Callbacks run on the thread whose operation made
//! the channel ready, after the channel's lock is released, so they may
//! call back into the channel.
//!
//! A waiter first spins for a moment, as a mailbox's receiver does (see
//! [`crate::wait`]): on the small machines pykka_rs runs on, waking a
//! sleeping thread costs tens of microseconds, more than a round trip's
//! other work. It spins on an atomic copy of the depth, not on the lock.
//!
//! Every channel enters a process-wide registry of weak references, from
//! which [`records`] reads the counters `stats()` reports.
//!
//! Rejected: `flume::bounded` (no close that keeps queued items for
//! receivers while refusing senders, and its async side wants a runtime),
//! and a lock-free ring (the counters, the close and the callbacks all need
//! one consistent view; one short lock gives it, and is not what a round
//! trip between processes waits for).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::sync::lock;
use crate::wait;

/// A one-shot readiness callback.
pub type Callback = Box<dyn FnOnce() + Send>;

/// Why an item was not sent; each carries the item back.
#[derive(PartialEq, Eq)]
pub enum SendError<T> {
    /// The channel was full and the sender chose not to wait.
    Full(T),
    /// The channel stayed full until the deadline.
    TimedOut(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> SendError<T> {
    /// The item that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::TimedOut(item) | Self::Closed(item) => item,
        }
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "Full(..)",
            Self::TimedOut(_) => "TimedOut(..)",
            Self::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full(_) => "the channel is full",
            Self::TimedOut(_) => "the channel stayed full until the timeout",
            Self::Closed(_) => "the channel is closed",
        })
    }
}

/// Why nothing was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// The channel was empty and the receiver chose not to wait.
    Empty,
    /// The channel stayed empty until the deadline.
    TimedOut,
    /// The channel is closed and everything queued was taken.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the channel is empty",
            Self::TimedOut => "the channel stayed empty until the timeout",
            Self::Closed => "the channel is closed and empty",
        })
    }
}

/// Capacity zero: a channel must be able to hold at least one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroCapacity;

impl fmt::Display for ZeroCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a channel's capacity must be at least 1")
    }
}

/// A channel's counters at one moment, as `stats()` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// The channel's number in its process.
    pub number: u64,
    /// What the channel is called.
    pub name: String,
    /// The most items it holds.
    pub capacity: u64,
    /// Items in it, not yet received.
    pub waiting: u64,
    /// Items it accepted.
    pub sent: u64,
    /// Items taken out.
    pub received: u64,
    /// The most items ever in it at once.
    pub high_water: u64,
    /// Whether it was closed.
    pub closed: bool,
}

#[derive(Default)]
struct State<T> {
    items: VecDeque<T>,
    closed: bool,
    sent: u64,
    received: u64,
    high_water: u64,
    on_readable: Vec<Callback>,
    on_writable: Vec<Callback>,
}

/// A bounded multi-producer, multi-consumer queue of `T` that can be closed.
pub struct Channel<T> {
    number: u64,
    name: String,
    capacity: usize,
    state: Mutex<State<T>>,
    readable: Condvar,
    writable: Condvar,
    /// The depth and the close, copied out of `state` for spinning waiters.
    depth: AtomicUsize,
    closed: AtomicBool,
    recv_spin: wait::Budget,
    send_spin: wait::Budget,
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// What the registry needs of a channel, whatever its item type.
trait Recorded: Send + Sync {
    fn record(&self) -> ChannelRecord;
}

impl<T: Send> Recorded for Channel<T> {
    fn record(&self) -> ChannelRecord {
        Channel::record(self)
    }
}

fn registry() -> &'static Mutex<Vec<Weak<dyn Recorded>>> {
    static REGISTRY: OnceLock<Mutex<Vec<Weak<dyn Recorded>>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

static NUMBERS: AtomicU64 = AtomicU64::new(1);

/// The counters of every live channel of this process, oldest first.
pub fn records() -> Vec<ChannelRecord> {
    let live: Vec<Arc<dyn Recorded>> = {
        let mut registry = lock(registry());
        registry.retain(|channel| channel.strong_count() > 0);
        registry.iter().filter_map(Weak::upgrade).collect()
    };
    live.iter().map(|channel| channel.record()).collect()
}

impl<T: Send + 'static> Channel<T> {
    /// A new, empty channel that holds up to `capacity` items, registered
    /// for [`records`]; `name` is empty for one named after its number.
    ///
    /// # Errors
    /// [`ZeroCapacity`] for a capacity of zero.
    pub fn new(capacity: usize, name: &str) -> Result<Arc<Self>, ZeroCapacity> {
        if capacity == 0 {
            return Err(ZeroCapacity);
        }
        let number = NUMBERS.fetch_add(1, Ordering::Relaxed);
        let name = if name.is_empty() {
            format!("channel-{number}")
        } else {
            name.to_owned()
        };
        let channel = Arc::new(Self {
            number,
            name,
            capacity,
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
                sent: 0,
                received: 0,
                high_water: 0,
                on_readable: Vec::new(),
                on_writable: Vec::new(),
            }),
            readable: Condvar::new(),
            writable: Condvar::new(),
            depth: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            recv_spin: wait::Budget::new(),
            send_spin: wait::Budget::new(),
        });
        let weak: Weak<dyn Recorded> = Arc::downgrade(&channel) as Weak<dyn Recorded>;
        let mut registry = lock(registry());
        registry.retain(|channel| channel.strong_count() > 0);
        registry.push(weak);
        drop(registry);
        Ok(channel)
    }
}

impl<T> Channel<T> {
    /// The channel's number in this process (from 1, never reused).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// What the channel is called.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The most items the channel holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        lock(&self.state).items.len()
    }

    /// Whether no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel was closed.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// The channel's counters now.
    pub fn record(&self) -> ChannelRecord {
        let state = lock(&self.state);
        ChannelRecord {
            number: self.number,
            name: self.name.clone(),
            capacity: self.capacity as u64,
            waiting: state.items.len() as u64,
            sent: state.sent,
            received: state.received,
            high_water: state.high_water,
            closed: state.closed,
        }
    }

    /// Queues `item` if there is room, without waiting.
    ///
    /// # Errors
    /// [`SendError::Full`] or [`SendError::Closed`], with the item.
    pub fn try_send(&self, item: T) -> Result<(), SendError<T>> {
        self.send_until(item, Some(Instant::now()))
            .map_err(|err| match err {
                SendError::TimedOut(item) => SendError::Full(item),
                other => other,
            })
    }

    /// Queues `item`, waiting for room until `deadline` (forever if `None`).
    ///
    /// # Errors
    /// [`SendError::TimedOut`] if the channel stayed full until the
    /// deadline, [`SendError::Closed`] if it is (or gets) closed first.
    pub fn send_until(&self, item: T, deadline: Option<Instant>) -> Result<(), SendError<T>> {
        let state = lock(&self.state);
        if state.items.len() < self.capacity || state.closed || is_past(deadline) {
            return self.send_locked(state, item, deadline);
        }
        drop(state);
        let started = Instant::now();
        wait::spin_for(&self.send_spin, deadline, || {
            (self.depth.load(Ordering::Acquire) < self.capacity
                || self.closed.load(Ordering::Acquire))
            .then_some(())
        });
        let sent = self.send_locked(lock(&self.state), item, deadline);
        // Learn from the whole wait, so a sender that usually sleeps stops spinning.
        self.send_spin.learn(started.elapsed());
        sent
    }

    fn send_locked(
        &self,
        mut state: MutexGuard<'_, State<T>>,
        item: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendError<T>> {
        loop {
            if state.closed {
                return Err(SendError::Closed(item));
            }
            if state.items.len() < self.capacity {
                state.items.push_back(item);
                state.sent += 1;
                let depth = state.items.len();
                self.depth.store(depth, Ordering::Release);
                state.high_water = state.high_water.max(depth as u64);
                let callbacks = std::mem::take(&mut state.on_readable);
                drop(state);
                self.readable.notify_one();
                run(callbacks);
                return Ok(());
            }
            state = match wait(&self.writable, state, deadline) {
                Some(state) => state,
                None => return Err(SendError::TimedOut(item)),
            };
        }
    }

    /// Takes the next item if one is queued, without waiting.
    ///
    /// # Errors
    /// [`RecvError::Empty`], or [`RecvError::Closed`] once the channel is
    /// closed and empty.
    pub fn try_recv(&self) -> Result<T, RecvError> {
        self.recv_until(Some(Instant::now()))
            .map_err(|err| match err {
                RecvError::TimedOut => RecvError::Empty,
                other => other,
            })
    }

    /// Takes the next item, waiting for one until `deadline` (forever if `None`).
    ///
    /// # Errors
    /// [`RecvError::TimedOut`] if the channel stayed empty until the
    /// deadline, [`RecvError::Closed`] once it is closed and empty.
    pub fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvError> {
        let state = lock(&self.state);
        if !state.items.is_empty() || state.closed || is_past(deadline) {
            return self.recv_locked(state, deadline);
        }
        drop(state);
        let started = Instant::now();
        wait::spin_for(&self.recv_spin, deadline, || {
            (self.depth.load(Ordering::Acquire) > 0 || self.closed.load(Ordering::Acquire))
                .then_some(())
        });
        let got = self.recv_locked(lock(&self.state), deadline);
        // Learn from the whole wait, so a receiver that usually sleeps stops spinning.
        self.recv_spin.learn(started.elapsed());
        got
    }

    fn recv_locked(
        &self,
        mut state: MutexGuard<'_, State<T>>,
        deadline: Option<Instant>,
    ) -> Result<T, RecvError> {
        loop {
            if let Some(item) = state.items.pop_front() {
                state.received += 1;
                self.depth.store(state.items.len(), Ordering::Release);
                let callbacks = std::mem::take(&mut state.on_writable);
                drop(state);
                self.writable.notify_one();
                run(callbacks);
                return Ok(item);
            }
            if state.closed {
                return Err(RecvError::Closed);
            }
            state = match wait(&self.readable, state, deadline) {
                Some(state) => state,
                None => return Err(RecvError::TimedOut),
            };
        }
    }

    /// Closes the channel: sends fail from now on, receivers take what is
    /// queued, then learn it is closed. Returns whether it was open.
    pub fn close(&self) -> bool {
        let mut state = lock(&self.state);
        if state.closed {
            return false;
        }
        state.closed = true;
        self.closed.store(true, Ordering::Release);
        let mut callbacks = std::mem::take(&mut state.on_readable);
        callbacks.append(&mut state.on_writable);
        drop(state);
        self.readable.notify_all();
        self.writable.notify_all();
        run(callbacks);
        true
    }

    /// Runs `callback` once an item is queued or the channel is closed:
    /// now, on this thread, if that is so already.
    pub fn when_readable(&self, callback: impl FnOnce() + Send + 'static) {
        let mut state = lock(&self.state);
        if state.items.is_empty() && !state.closed {
            state.on_readable.push(Box::new(callback));
            return;
        }
        drop(state);
        callback();
    }

    /// Runs `callback` once there is room or the channel is closed: now,
    /// on this thread, if that is so already.
    pub fn when_writable(&self, callback: impl FnOnce() + Send + 'static) {
        let mut state = lock(&self.state);
        if state.items.len() >= self.capacity && !state.closed {
            state.on_writable.push(Box::new(callback));
            return;
        }
        drop(state);
        callback();
    }

    /// Takes every queued item and the callbacks still registered, for a
    /// channel that is being thrown away while its owner can still dispose
    /// of them properly (the bindings drop Python objects only while
    /// attached to the interpreter).
    pub fn take_all(&self) -> (Vec<T>, Vec<Callback>) {
        let mut state = lock(&self.state);
        let items = state.items.drain(..).collect();
        self.depth.store(0, Ordering::Release);
        let mut callbacks = std::mem::take(&mut state.on_readable);
        callbacks.append(&mut state.on_writable);
        (items, callbacks)
    }
}

/// Whether `deadline` has passed: a try, or a wait that is over.
fn is_past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| d <= Instant::now())
}

/// Waits on `condvar` until notified or `deadline`; `None` if the deadline passed.
fn wait<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, State<T>>,
    deadline: Option<Instant>,
) -> Option<MutexGuard<'a, State<T>>> {
    match deadline {
        None => Some(condvar.wait(guard).unwrap_or_else(PoisonError::into_inner)),
        Some(deadline) => {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            Some(
                condvar
                    .wait_timeout(guard, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0,
            )
        }
    }
}

fn run(callbacks: Vec<Callback>) {
    for callback in callbacks {
        callback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn channel(capacity: usize) -> Arc<Channel<u32>> {
        Channel::new(capacity, "").unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(20)
    }

    #[test]
    fn zero_capacity_is_refused() {
        assert_eq!(Channel::<u8>::new(0, "x").unwrap_err(), ZeroCapacity);
    }

    #[test]
    fn items_come_out_in_the_order_they_went_in() {
        let ch = channel(8);
        for i in 0..5 {
            ch.try_send(i).unwrap();
        }
        let got: Vec<_> = std::iter::from_fn(|| ch.try_recv().ok()).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_full_channel_refuses_a_try_and_times_out_a_send() {
        let ch = channel(2);
        ch.try_send(1).unwrap();
        ch.try_send(2).unwrap();
        assert_eq!(ch.try_send(3), Err(SendError::Full(3)));
        let before = Instant::now();
        assert_eq!(ch.send_until(4, Some(soon())), Err(SendError::TimedOut(4)));
        assert!(before.elapsed() >= Duration::from_millis(19));
        assert_eq!(ch.len(), 2);
    }

    #[test]
    fn an_empty_channel_refuses_a_try_and_times_out_a_recv() {
        let ch = channel(1);
        assert_eq!(ch.try_recv(), Err(RecvError::Empty));
        assert_eq!(ch.recv_until(Some(soon())), Err(RecvError::TimedOut));
    }

    #[test]
    fn a_blocked_sender_goes_on_when_a_receiver_makes_room() {
        let ch = channel(1);
        ch.try_send(1).unwrap();
        let sender = {
            let ch = Arc::clone(&ch);
            std::thread::spawn(move || ch.send_until(2, None))
        };
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(ch.recv_until(None), Ok(1));
        assert_eq!(sender.join().unwrap(), Ok(()));
        assert_eq!(ch.recv_until(None), Ok(2));
    }

    #[test]
    fn a_blocked_receiver_is_woken_by_a_send() {
        let ch = channel(1);
        let receiver = {
            let ch = Arc::clone(&ch);
            std::thread::spawn(move || ch.recv_until(None))
        };
        std::thread::sleep(Duration::from_millis(10));
        ch.try_send(7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    }

    #[test]
    fn a_receiver_whose_waits_outlast_the_spin_stops_spinning() {
        let ch = channel(1);
        let sender = {
            let ch = Arc::clone(&ch);
            std::thread::spawn(move || {
                for i in 0..12 {
                    std::thread::sleep(wait::spin() + Duration::from_millis(2));
                    ch.try_send(i).unwrap();
                }
            })
        };
        for i in 0..12 {
            assert_eq!(ch.recv_until(None), Ok(i));
        }
        sender.join().unwrap();
        assert!(ch.recv_spin.current() < wait::spin() / 100);
    }

    #[test]
    fn close_lets_receivers_drain_then_tells_them() {
        let ch = channel(4);
        ch.try_send(1).unwrap();
        ch.try_send(2).unwrap();
        assert!(ch.close());
        assert!(!ch.close());
        assert_eq!(ch.try_send(3), Err(SendError::Closed(3)));
        assert_eq!(ch.recv_until(None), Ok(1));
        assert_eq!(ch.try_recv(), Ok(2));
        assert_eq!(ch.recv_until(None), Err(RecvError::Closed));
        assert_eq!(ch.try_recv(), Err(RecvError::Closed));
    }

    #[test]
    fn close_wakes_blocked_receivers_and_senders() {
        let empty = channel(1);
        let full = channel(1);
        full.try_send(0).unwrap();
        let receiver = {
            let ch = Arc::clone(&empty);
            std::thread::spawn(move || ch.recv_until(None))
        };
        let sender = {
            let ch = Arc::clone(&full);
            std::thread::spawn(move || ch.send_until(1, None))
        };
        std::thread::sleep(Duration::from_millis(10));
        empty.close();
        full.close();
        assert_eq!(receiver.join().unwrap(), Err(RecvError::Closed));
        assert_eq!(sender.join().unwrap(), Err(SendError::Closed(1)));
    }

    #[test]
    fn callbacks_run_once_when_the_channel_becomes_ready() {
        let ch = channel(1);
        let readable = Arc::new(AtomicUsize::new(0));
        let writable = Arc::new(AtomicUsize::new(0));
        let count = |n: &Arc<AtomicUsize>| {
            let n = Arc::clone(n);
            move || {
                n.fetch_add(1, Ordering::SeqCst);
            }
        };
        ch.when_readable(count(&readable));
        assert_eq!(readable.load(Ordering::SeqCst), 0);
        ch.try_send(1).unwrap();
        assert_eq!(readable.load(Ordering::SeqCst), 1);
        ch.try_recv().unwrap();
        ch.try_send(2).unwrap();
        assert_eq!(readable.load(Ordering::SeqCst), 1, "one-shot");
        // Full now: writable waits for a receive.
        ch.when_writable(count(&writable));
        assert_eq!(writable.load(Ordering::SeqCst), 0);
        ch.try_recv().unwrap();
        assert_eq!(writable.load(Ordering::SeqCst), 1);
        // Already ready: at once.
        ch.when_writable(count(&writable));
        assert_eq!(writable.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_callback_may_use_the_channel_that_runs_it() {
        let ch = channel(1);
        let taken = Arc::new(Mutex::new(None));
        {
            let ch2 = Arc::clone(&ch);
            let taken = Arc::clone(&taken);
            ch.when_readable(move || *lock(&taken) = ch2.try_recv().ok());
        }
        ch.try_send(5).unwrap();
        assert_eq!(*lock(&taken), Some(5));
    }

    #[test]
    fn close_runs_every_callback() {
        let ch = channel(1);
        let runs = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let runs = Arc::clone(&runs);
            ch.when_readable(move || {
                runs.fetch_add(1, Ordering::SeqCst);
            });
        }
        ch.close();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn counters_follow_the_traffic() {
        let ch = Channel::new(3, "jobs").unwrap();
        for i in 0..3 {
            ch.try_send(i).unwrap();
        }
        ch.try_recv().unwrap();
        let record = ch.record();
        assert_eq!(record.name, "jobs");
        assert_eq!(
            (
                record.capacity,
                record.waiting,
                record.sent,
                record.received
            ),
            (3, 2, 3, 1)
        );
        assert_eq!(record.high_water, 3);
        assert!(!record.closed);
        assert!(records().iter().any(|r| r.number == ch.number()));
        let number = ch.number();
        drop(ch);
        assert!(records().iter().all(|r| r.number != number));
    }

    #[test]
    fn many_senders_and_receivers_lose_and_duplicate_nothing() {
        let ch = channel(4);
        let senders: Vec<_> = (0..4)
            .map(|s| {
                let ch = Arc::clone(&ch);
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        ch.send_until(s * 10_000 + i, None).unwrap();
                    }
                })
            })
            .collect();
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let ch = Arc::clone(&ch);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(item) = ch.recv_until(None) {
                        got.push(item);
                    }
                    got
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        ch.close();
        let mut all: Vec<u32> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        all.sort_unstable();
        let mut expected: Vec<u32> = (0..4)
            .flat_map(|s| (0..2_000).map(move |i| s * 10_000 + i))
            .collect();
        expected.sort_unstable();
        assert_eq!(all, expected);
        assert!(ch.record().high_water <= 4);
    }
}

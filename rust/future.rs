//! A one-shot slot: written once, read any number of times, waited on by any
//! number of threads. It is the core of every pykka_rs future.
//!
//! The value lives in a `OnceLock`, so reading a set slot takes no lock. The
//! mutex and condition variable are only for threads that park; a waiter
//! first spins on the value (see [`crate::wait`]), which is how a reply that
//! arrives within microseconds avoids a wake-up, and may then park reading
//! the links itself ([`wait::park_reading`]), so that a reply from another
//! process wakes it directly. Callbacks registered with
//! [`Slot::on_set`] run once, on the thread that sets the value, which is
//! what lets an asyncio loop await a future without blocking.

use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use crate::sync::lock;
use crate::wait;

type Callback = Box<dyn FnOnce() + Send>;

thread_local! {
    /// How long this thread's waits on futures last: a thread tends to wait
    /// on the same kind of reply again and again.
    static SPIN: wait::Budget = const { wait::Budget::new() };
}

#[derive(Default)]
struct Waiters {
    parked: usize,
    /// Threads parked reading the links, to wake when the value arrives.
    reading: Vec<wait::Wakeup>,
    callbacks: Vec<Callback>,
}

/// A value of type `T` that arrives once.
pub struct Slot<T> {
    value: OnceLock<T>,
    waiters: Mutex<Waiters>,
    arrived: Condvar,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            value: OnceLock::new(),
            waiters: Mutex::default(),
            arrived: Condvar::new(),
        }
    }
}

impl<T> std::fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

impl<T> Slot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the value has arrived.
    pub fn is_set(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if it has arrived.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Stores the value, wakes every waiter and runs the callbacks.
    ///
    /// # Errors
    /// Gives `value` back if the slot already holds one.
    pub fn set(&self, value: T) -> Result<(), T> {
        self.value.set(value)?;
        let callbacks = {
            let mut waiters = self.lock();
            if waiters.parked > 0 {
                self.arrived.notify_all();
            }
            for wakeup in &waiters.reading {
                wakeup.wake();
            }
            std::mem::take(&mut waiters.callbacks)
        };
        for callback in callbacks {
            callback();
        }
        Ok(())
    }

    /// Waits for the value until `deadline` (forever if `None`); `None` if
    /// the deadline passed first.
    pub fn wait(&self, deadline: Option<Instant>) -> Option<&T> {
        if let Some(value) = self.value.get() {
            return Some(value);
        }
        let started = Instant::now();
        let value = SPIN
            .with(|budget| wait::spin_for(budget, deadline, || self.value.get()))
            .or_else(|| self.park(deadline));
        SPIN.with(|budget| budget.learn(started.elapsed()));
        value
    }

    fn park(&self, deadline: Option<Instant>) -> Option<&T> {
        let read = wait::park_reading(
            deadline,
            &|| self.is_set(),
            |wakeup| self.lock().reading.push(wakeup),
            |wakeup| self.lock().reading.retain(|other| *other != wakeup),
        );
        if read.is_some() {
            return self.value.get();
        }
        let mut waiters = self.lock();
        waiters.parked += 1;
        while self.value.get().is_none() {
            match deadline {
                None => {
                    waiters = self
                        .arrived
                        .wait(waiters)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    waiters = self
                        .arrived
                        .wait_timeout(waiters, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        waiters.parked -= 1;
        drop(waiters);
        self.value.get()
    }

    /// Runs `callback` once the value is there: right away if it already is,
    /// else on the thread that sets it.
    pub fn on_set(&self, callback: impl FnOnce() + Send + 'static) {
        {
            let mut waiters = self.lock();
            if self.value.get().is_none() {
                waiters.callbacks.push(Box::new(callback));
                return;
            }
        }
        callback();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        lock(&self.waiters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn the_first_value_wins_and_the_second_comes_back() {
        let slot = Slot::new();
        assert_eq!(slot.set(1), Ok(()));
        assert_eq!(slot.set(2), Err(2));
        assert_eq!(slot.get(), Some(&1));
    }

    #[test]
    fn wait_times_out_when_nothing_arrives() {
        let slot: Slot<u8> = Slot::new();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert_eq!(slot.wait(Some(deadline)), None);
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn every_waiter_gets_the_value_set_on_another_thread() {
        let slot = Arc::new(Slot::new());
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || *slot.wait(None).unwrap())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(5));
        slot.set(42).unwrap();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), 42);
        }
    }

    #[test]
    fn callbacks_run_once_whether_registered_before_or_after_the_value() {
        let slot = Slot::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let count = || {
            let runs = Arc::clone(&runs);
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        slot.on_set(count());
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        slot.set("done").unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        slot.on_set(count());
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(slot.set("again"), Err("again"));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}

//! A flag that threads can wait for, like Python's `threading.Event`.
//!
//! An actor's "stopped" state is one of these, shared between the actor's
//! mailbox (which refuses messages once it is set) and Python (which sees it
//! as `Actor.actor_stopped`). Reading the flag is a single atomic load; only
//! waiting takes the lock. Callbacks registered with [`Event::on_set`] run
//! once, when the flag goes from clear to set: that is how other processes
//! learn, in order with everything else the actor sends, that it stopped.

use crate::sync::lock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

type Callback = Box<dyn FnOnce() + Send>;

/// A settable, clearable flag with blocking waits.
#[derive(Default)]
pub struct Event {
    flag: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
    on_set: Mutex<Vec<Callback>>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sets the flag, wakes every waiter and, if the flag was clear, runs
    /// the callbacks registered with [`Event::on_set`].
    pub fn set(&self) {
        let was_set = self.flag.swap(true, Ordering::SeqCst);
        // Taking the lock orders this store before any waiter's next check,
        // so a waiter cannot miss the notification between check and sleep.
        drop(lock(&self.lock));
        self.changed.notify_all();
        if !was_set {
            let callbacks = std::mem::take(&mut *lock(&self.on_set));
            for callback in callbacks {
                callback();
            }
        }
    }

    /// Runs `callback` once the flag is set: now if it already is, else on
    /// the thread that sets it.
    pub fn on_set(&self, callback: impl FnOnce() + Send + 'static) {
        {
            let mut callbacks = lock(&self.on_set);
            if !self.is_set() {
                callbacks.push(Box::new(callback));
                return;
            }
        }
        callback();
    }

    /// Clears the flag.
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Waits until the flag is set or `deadline` passes; returns whether it is set.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_set() {
            return true;
        }
        let mut guard = lock(&self.lock);
        while !self.is_set() {
            match deadline {
                None => {
                    guard = self
                        .changed
                        .wait(guard)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return false;
                    };
                    guard = self
                        .changed
                        .wait_timeout(guard, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_new_event_is_clear_and_a_wait_on_it_times_out() {
        let event = Event::new();
        assert!(!event.is_set());
        assert!(!event.wait(Some(Instant::now() + Duration::from_millis(10))));
    }

    #[test]
    fn set_wakes_a_waiter_on_another_thread() {
        let event = Arc::new(Event::new());
        let waiter = {
            let event = Arc::clone(&event);
            std::thread::spawn(move || event.wait(None))
        };
        event.set();
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn callbacks_run_once_at_the_first_set_or_at_once_if_already_set() {
        use std::sync::atomic::AtomicUsize;
        let event = Event::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let count = || {
            let runs = Arc::clone(&runs);
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        event.on_set(count());
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        event.set();
        event.set();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        event.on_set(count());
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn clear_undoes_set() {
        let event = Event::new();
        event.set();
        assert!(event.wait(Some(Instant::now())));
        event.clear();
        assert!(!event.is_set());
    }
}

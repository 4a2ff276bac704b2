//! A flag that threads can wait for, like Python's `threading.Event`.
//!
//! An actor's "stopped" state is one of these, shared between the actor's
//! mailbox (which refuses messages once it is set) and Python (which sees it
//! as `Actor.actor_stopped`). Reading the flag is a single atomic load; only
//! waiting takes the lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

/// A settable, clearable flag with blocking waits.
#[derive(Debug, Default)]
pub struct Event {
    flag: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
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

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // Taking the lock orders this store before any waiter's next check,
        // so a waiter cannot miss the notification between check and sleep.
        drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
        self.changed.notify_all();
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
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
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
    fn clear_undoes_set() {
        let event = Event::new();
        event.set();
        assert!(event.wait(Some(Instant::now())));
        event.clear();
        assert!(!event.is_set());
    }
}

//! The actor loop: wait for an envelope with the interpreter released, then
//! hold the interpreter to handle it and whatever else is already waiting.
//!
//! Taking the interpreter (the GIL, for Python) is the expensive step, so the
//! loop handles envelopes in batches: after the first one it keeps taking
//! envelopes that are already queued, up to [`MAX_BATCH`], without letting go.
//! A batch ends early when an envelope leaves a reply to publish. Replies are
//! published only after the interpreter is released: a waiter that wakes to a
//! reply then finds the interpreter free, instead of sleeping again until the
//! actor lets go of it. The replies of the batch that stopped the actor are
//! the exception: they are published with the interpreter still held, so the
//! stopping thread finishes (drains its mailbox, ends) before whoever waited
//! for the stop runs on, as with Pykka, where the waiter needs the
//! interpreter to wake at all.
//!
//! The loop times what it handles (see [`crate::metrics`]): each batch as a
//! whole, for the time the actor is busy, and envelopes one by one for the
//! handling-time histogram: the first of each batch, and one in
//! [`TIME_ONE_IN`] after it. An actor whose messages arrive one at a time has
//! every one timed; one that works through a queue reads the clock about
//! once per eight messages, not once per message: a clock read costs about as much
//! as everything else the core does for a one-way message. With metrics off
//! it reads no clock.
//!
//! The loop is generic over a [`Host`], which knows how to hold and release
//! the interpreter and how to handle one envelope; the Python bindings are one
//! host, the tests below another.
//!
//! A loop ends when the mailbox's stopped flag is set, or when the host says
//! it has [ended](Host::ended) with the mailbox still open: a supervised
//! actor's run (an incarnation) that crashed or was stopped for a restart
//! leaves its mailbox, and the messages in it, to the next run. The host is
//! asked between envelopes only; an envelope already taken is handled.

use std::time::Instant;

use crate::mailbox::Mailbox;
use crate::metrics;

/// The most envelopes handled per hold of the interpreter. Bounds how long
/// replies and other threads wait behind a burst of one-way messages.
pub const MAX_BATCH: usize = 256;

/// In a batch, after its first envelope, one in this many is timed.
pub const TIME_ONE_IN: usize = 16;

/// What handling one envelope produced.
#[derive(Debug)]
pub enum Handled<R> {
    /// Nothing to publish.
    Done,
    /// A reply to publish once the interpreter is released.
    Reply(R),
}

/// The runtime an actor loop runs in.
pub trait Host<T> {
    /// A reply to publish with the interpreter released.
    type Reply: Send;

    /// Runs `f` with the interpreter held.
    fn hold<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R;

    /// Runs `f` with the interpreter released.
    fn release<R: Send>(&mut self, f: impl FnOnce() -> R + Send) -> R;

    /// Handles one envelope; called with the interpreter held.
    fn handle(&mut self, envelope: T) -> Handled<Self::Reply>;

    /// Delivers a reply; called with the interpreter released, except for
    /// the replies of the batch that stopped the actor (see the module).
    fn publish(reply: Self::Reply);

    /// Whether this run of the actor is over although its mailbox stays
    /// open (see the module); asked between envelopes. Never, by default.
    fn ended(&self) -> bool {
        false
    }
}

/// Runs the actor until its mailbox's stopped flag is set. Envelopes still
/// queued then are left for the caller to drain.
pub fn run<T: Send, H: Host<T>>(mailbox: &Mailbox<T>, host: &mut H) {
    let mut replies: Vec<H::Reply> = Vec::new();
    while !mailbox.stopped().is_set() && !host.ended() {
        let outbox = std::mem::take(&mut replies);
        let first = host.release(move || {
            outbox.into_iter().for_each(H::publish);
            mailbox.recv(None)
        });
        let Some(first) = first else { continue };
        replies = host.hold(|host| handle_batch(mailbox, host, first));
    }
    replies.into_iter().for_each(H::publish);
}

fn handle_batch<T, H: Host<T>>(mailbox: &Mailbox<T>, host: &mut H, first: T) -> Vec<H::Reply> {
    let timing = metrics::enabled();
    let started = timing.then(Instant::now);
    let mut last_read = started;
    let mut next = Some(first);
    let mut handled = 0;
    let mut replies = Vec::new();
    while let Some(envelope) = next.take() {
        // The first envelope of a run is timed from the run's start; after
        // it, one in TIME_ONE_IN is timed (two clock reads each).
        let since = match (timing, handled) {
            (true, 0) => started,
            (true, n) if n % TIME_ONE_IN == 0 => Some(Instant::now()),
            _ => None,
        };
        handled += 1;
        let outcome = host.handle(envelope);
        last_read = match since {
            Some(since) => {
                let now = Instant::now();
                mailbox.stats().record_handling(now - since);
                Some(now)
            }
            None => None,
        };
        if let Handled::Reply(reply) = outcome {
            replies.push(reply);
            break;
        }
        if handled < MAX_BATCH && !mailbox.stopped().is_set() && !host.ended() {
            next = mailbox.try_recv();
        }
    }
    if let Some(started) = started {
        let ended = last_read.unwrap_or_else(Instant::now);
        mailbox.stats().record_busy(ended - started);
    }
    replies
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records what happens, in order; an envelope is (id, wants_reply, stops).
    #[derive(Default)]
    struct Recorder {
        log: Arc<Mutex<Vec<String>>>,
        stopped: Option<Arc<crate::event::Event>>,
        /// Ends the run after this envelope id, leaving the mailbox open.
        end_after: Option<u32>,
        ended: bool,
    }

    impl Host<(u32, bool, bool)> for Recorder {
        type Reply = (u32, Arc<Mutex<Vec<String>>>);

        fn hold<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
            self.log.lock().unwrap().push("hold".into());
            f(self)
        }

        fn release<R: Send>(&mut self, f: impl FnOnce() -> R + Send) -> R {
            self.log.lock().unwrap().push("release".into());
            f()
        }

        fn handle(&mut self, (id, wants_reply, stops): (u32, bool, bool)) -> Handled<Self::Reply> {
            self.log.lock().unwrap().push(format!("handle {id}"));
            if self.end_after == Some(id) {
                self.ended = true;
            }
            if stops {
                self.stopped.as_ref().unwrap().set();
            }
            if wants_reply {
                Handled::Reply((id, Arc::clone(&self.log)))
            } else {
                Handled::Done
            }
        }

        fn publish((id, log): Self::Reply) {
            log.lock().unwrap().push(format!("publish {id}"));
        }

        fn ended(&self) -> bool {
            self.ended
        }
    }

    fn run_with(envelopes: &[(u32, bool, bool)]) -> Vec<String> {
        let mailbox = Mailbox::default();
        for envelope in envelopes {
            mailbox.send(*envelope).unwrap();
        }
        let mut host = Recorder {
            stopped: Some(Arc::clone(mailbox.stopped())),
            ..Recorder::default()
        };
        run(&mailbox, &mut host);
        host.log.lock().unwrap().clone()
    }

    #[test]
    fn one_way_messages_are_handled_in_one_batch() {
        let log = run_with(&[(1, false, false), (2, false, false), (3, false, true)]);
        assert_eq!(log, ["release", "hold", "handle 1", "handle 2", "handle 3"]);
    }

    #[test]
    fn a_reply_ends_the_batch_and_is_published_with_the_interpreter_released() {
        let log = run_with(&[
            (1, true, false),
            (2, false, false),
            (3, true, false),
            (4, false, true),
        ]);
        assert_eq!(
            log,
            [
                "release",
                "hold",
                "handle 1",
                "release",
                "publish 1",
                "hold",
                "handle 2",
                "handle 3",
                "release",
                "publish 3",
                "hold",
                "handle 4",
            ]
        );
    }

    #[test]
    fn the_reply_to_the_stop_is_published_with_the_interpreter_held() {
        let log = run_with(&[(1, true, false), (2, true, true)]);
        assert_eq!(
            log,
            [
                "release",
                "hold",
                "handle 1",
                "release",
                "publish 1",
                "hold",
                "handle 2",
                "publish 2",
            ]
        );
    }

    #[test]
    fn a_batch_is_capped() {
        let mut envelopes = vec![(0, false, false); MAX_BATCH + 1];
        envelopes.push((1, false, true));
        let log = run_with(&envelopes);
        let holds = log.iter().filter(|entry| *entry == "hold").count();
        assert_eq!(holds, 2);
    }

    #[test]
    fn the_first_of_each_batch_is_timed_then_one_in_sixteen() {
        let mailbox = Mailbox::default();
        // Batches: [1 (a reply ends it)], [2..=36, stop]: 1 + (1 + 2) timed.
        mailbox.send((1, true, false)).unwrap();
        for id in 2..36 {
            mailbox.send((id, false, false)).unwrap();
        }
        mailbox.send((36, false, true)).unwrap();
        let mut host = Recorder {
            stopped: Some(Arc::clone(mailbox.stopped())),
            ..Recorder::default()
        };
        run(&mailbox, &mut host);
        let snap = mailbox.stats().snapshot();
        assert_eq!(snap.timed, 4);
        assert!(snap.busy_nanos >= snap.timed_nanos);
        assert!(snap.busy_nanos > 0);
    }

    #[test]
    fn nothing_is_taken_after_the_stop() {
        let mailbox = Mailbox::default();
        mailbox.send((1, false, true)).unwrap();
        mailbox.send((2, false, false)).unwrap();
        let mut host = Recorder {
            stopped: Some(Arc::clone(mailbox.stopped())),
            ..Recorder::default()
        };
        run(&mailbox, &mut host);
        assert_eq!(mailbox.drain_stopped().len(), 1);
    }

    #[test]
    fn an_ended_run_leaves_the_rest_in_the_open_mailbox_for_the_next() {
        let mailbox = Mailbox::default();
        for id in 1..=4 {
            mailbox.send((id, false, false)).unwrap();
        }
        let mut first = Recorder {
            end_after: Some(2),
            ..Recorder::default()
        };
        run(&mailbox, &mut first);
        assert_eq!(
            *first.log.lock().unwrap(),
            ["release", "hold", "handle 1", "handle 2"]
        );
        assert!(!mailbox.stopped().is_set());
        mailbox.send((5, false, true)).unwrap();
        let mut next = Recorder {
            stopped: Some(Arc::clone(mailbox.stopped())),
            ..Recorder::default()
        };
        run(&mailbox, &mut next);
        assert_eq!(
            *next.log.lock().unwrap(),
            ["release", "hold", "handle 3", "handle 4", "handle 5"]
        );
    }
}

//! Relays: the stable address of a supervised actor that lives in another
//! process.
//!
//! A process actor's mailbox lives in its worker and dies with it. Its
//! supervisor restarts it elsewhere, with a mailbox of its own, and yet the
//! refs handed out before must go on working. So the refs of a supervised
//! process actor name a relay, which lives in the supervisor's process:
//! every message for the actor goes through it to the mailbox of the actor's
//! current run (its *target*). While there is none (the worker died and no
//! new run has started yet), the relay holds the messages, in order, and
//! hands them to the new run when the supervisor names it. A send from this
//! process costs one lock more than a send straight to the mailbox; a
//! message from another process makes the hop through the relay's process
//! that every message between two workers makes through the parent anyway.
//!
//! An ask passed on from another process is answered through the relay's
//! process (the node keeps its wait, see `Waiter::There`): if the target's
//! process dies, the node that waits on it is this one, and it tells the
//! asker why, instead of leaving it waiting for an answer that cannot come.
//!
//! A message whose target died under it is lost with the process: an ask
//! fails with `ActorDeadError`; a tell cannot be told apart from the others
//! the process took with it. A message the relay still holds when the
//! supervisor gives up on the actor (the relay is closed) is reported: an
//! ask fails, and the tells are counted for the log.
//!
//! Rejected: a forwarding thread in the supervisor's process (a thread hop
//! on every message), and telling every process where the target is (a
//! message sent during the switch could arrive after later ones, and every
//! process would have to hold messages while the actor restarts).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use super::{Answer, Host, Node, SendError, Waiter};
use crate::event::Event;
use crate::payload::Payload;
use crate::pool::frame::{Address, Frame};
use crate::sync::lock;

/// What a relay holds while its actor has no target.
struct Held<F> {
    message: Payload,
    answer: Option<Answer<F>>,
    /// For a message whose sender waits until it is queued (an offer, see
    /// `Frame::Offer`): who is told then. The sender waits meanwhile, so a
    /// relay holds at most one such message per waiting sender.
    ack: Option<Answer<F>>,
}

struct State<F> {
    target: Option<Address>,
    held: VecDeque<Held<F>>,
}

/// The stable address of a supervised actor of another process.
pub struct Relay<H: Host> {
    state: Mutex<State<H::Future>>,
    stopped: Arc<Event>,
    label: Mutex<String>,
}

/// Why a relay did not take a message; carries the message's answer back.
pub enum RelayRefused<F> {
    /// The relay is closed: its actor will not run again.
    Closed(Option<Answer<F>>),
    /// The message is over the size limits; says why.
    TooLarge(String, Option<Answer<F>>),
}

impl<H: Host> Default for Relay<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Host> Relay<H> {
    /// A relay with no target yet: it holds what it is sent.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                target: None,
                held: VecDeque::new(),
            }),
            stopped: Arc::new(Event::new()),
            label: Mutex::new("actor".to_owned()),
        }
    }

    /// Set once the relay is closed.
    pub fn stopped(&self) -> &Arc<Event> {
        &self.stopped
    }

    /// How error messages name the actor, e.g. "Worker (urn:uuid:…)".
    pub fn label(&self) -> String {
        lock(&self.label).clone()
    }

    /// Sets how error messages name the actor.
    pub fn set_label(&self, label: String) {
        *lock(&self.label) = label;
    }

    /// The mailbox the relay passes messages to now, if any.
    pub fn target(&self) -> Option<Address> {
        lock(&self.state).target
    }

    /// How many messages it holds.
    pub fn held(&self) -> usize {
        lock(&self.state).held.len()
    }
}

fn waiter_of<F>(answer: &Answer<F>) -> (Waiter<F>, Option<String>) {
    match answer {
        Answer::Here(future, label) => (Waiter::Here(Arc::clone(future)), Some(label.clone())),
        Answer::There(asker) => (Waiter::There(*asker), None),
    }
}

impl<H: Host> Node<H> {
    /// Lets other processes send to `relay`; returns its number here. Its
    /// stop is announced to them when it is closed.
    pub fn export_relay(self: &Arc<Self>, relay: &Arc<Relay<H>>) -> u64 {
        let id = self.new_id();
        if self.is_disowned() {
            return id;
        }
        lock(&self.relays).insert(id, Arc::downgrade(relay));
        let node = Arc::downgrade(self);
        relay.stopped().on_set(move || {
            if let Some(node) = node.upgrade() {
                node.announce_stopped(id);
            }
        });
        id
    }

    /// The local relay with this number, if it is still there.
    pub fn local_relay(&self, id: u64) -> Option<Arc<Relay<H>>> {
        lock(&self.relays).get(&id).and_then(Weak::upgrade)
    }

    /// Sends a pickled message through `relay`: to its target now, or held
    /// until it has one. A target found dead is dropped and the message
    /// held.
    ///
    /// # Errors
    /// [`RelayRefused`], with the answer, when the relay is closed or the
    /// message too large; nothing was sent or held.
    pub fn relay_send(
        self: &Arc<Self>,
        relay: &Relay<H>,
        message: Payload,
        answer: Option<Answer<H::Future>>,
    ) -> Result<(), RelayRefused<H::Future>> {
        self.relay_push(relay, message, answer, None)
    }

    /// As [`Node::relay_send`], for a message whose sender waits until it
    /// is queued: `ack` is told once the actor's current mailbox has taken
    /// it (as an `Offer` to it), or why it could not; while the relay holds
    /// the message, the sender waits.
    ///
    /// # Errors
    /// As [`Node::relay_send`]; `ack` was not told.
    pub fn relay_offer(
        self: &Arc<Self>,
        relay: &Relay<H>,
        message: Payload,
        answer: Option<Answer<H::Future>>,
        ack: Answer<H::Future>,
    ) -> Result<(), RelayRefused<H::Future>> {
        self.relay_push(relay, message, answer, Some(ack))
    }

    fn relay_push(
        self: &Arc<Self>,
        relay: &Relay<H>,
        message: Payload,
        answer: Option<Answer<H::Future>>,
        ack: Option<Answer<H::Future>>,
    ) -> Result<(), RelayRefused<H::Future>> {
        let mut state = lock(&relay.state);
        if relay.stopped.is_set() {
            return Err(RelayRefused::Closed(answer));
        }
        let target = match state.target {
            Some(target) if state.held.is_empty() => target,
            _ => {
                state.held.push_back(Held {
                    message,
                    answer,
                    ack,
                });
                return Ok(());
            }
        };
        match self.pass_on(relay, target, &message, answer.as_ref(), ack.as_ref()) {
            Ok(()) => Ok(()),
            Err(SendError::TooLarge(why)) => Err(RelayRefused::TooLarge(why, answer)),
            Err(_) => {
                state.target = None;
                state.held.push_back(Held {
                    message,
                    answer,
                    ack,
                });
                Ok(())
            }
        }
    }

    /// Points `relay` at `target` (or at nothing: it holds), first passing
    /// on what it holds, in order.
    ///
    /// # Errors
    /// Why `target` cannot be reached: the relay then holds again, with
    /// everything not yet passed on.
    pub fn redirect(
        self: &Arc<Self>,
        relay: &Relay<H>,
        target: Option<Address>,
    ) -> Result<(), SendError> {
        let mut state = lock(&relay.state);
        state.target = target;
        let Some(target) = target else {
            return Ok(());
        };
        while let Some(held) = state.held.front() {
            match self.pass_on(
                relay,
                target,
                &held.message,
                held.answer.as_ref(),
                held.ack.as_ref(),
            ) {
                Ok(()) => drop(state.held.pop_front()),
                Err(SendError::TooLarge(why)) => {
                    if let Some(held) = state.held.pop_front() {
                        self.refuse_held(held, &relay.label(), &format!("is unreachable: {why}"));
                    }
                }
                Err(err) => {
                    state.target = None;
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    /// Closes `relay` for good: it takes nothing more, its stop is
    /// announced, and every ask it held fails. Returns how many told
    /// messages it held, which are dropped.
    pub fn close_relay(&self, relay: &Relay<H>) -> usize {
        let held = {
            let mut state = lock(&relay.state);
            state.target = None;
            relay.stopped.set();
            std::mem::take(&mut state.held)
        };
        let label = relay.label();
        let mut told = 0;
        for held in held {
            if held.answer.is_none() {
                told += 1;
            }
            self.refuse_held(held, &label, "stopped before handling the message");
        }
        told
    }

    fn refuse_held(&self, held: Held<H::Future>, label: &str, why: &str) {
        match held.ack {
            None => {}
            Some(Answer::Here(future, _)) => {
                H::resolve(
                    &future,
                    super::Resolution::Undeliverable(format!("{label} {why}")),
                );
            }
            Some(Answer::There(sender)) => self.send_undeliverable(sender, why.to_owned()),
        }
        match held.answer {
            None => {}
            Some(Answer::Here(future, _)) => {
                H::resolve(
                    &future,
                    super::Resolution::Undeliverable(format!("{label} {why}")),
                );
            }
            Some(Answer::There(asker)) => self.send_undeliverable(asker, why.to_owned()),
        }
    }

    /// Passes one message to `target`; an ask is answered here first when
    /// its asker is in another process (see the module), and so is an
    /// offer's `ack`.
    fn pass_on(
        self: &Arc<Self>,
        relay: &Relay<H>,
        target: Address,
        message: &Payload,
        answer: Option<&Answer<H::Future>>,
        ack: Option<&Answer<H::Future>>,
    ) -> Result<(), SendError> {
        let expect = |answer: &Answer<H::Future>| {
            let (waiter, label) = waiter_of(answer);
            self.expect_for(
                waiter,
                target.process,
                label.unwrap_or_else(|| relay.label()),
            )
        };
        let reply = answer.map(expect);
        let ack = ack.map(expect);
        if target.process == self.process {
            match ack {
                Some(ack) => self.deliver_offer(target.actor, message.clone(), reply, ack),
                None => self.deliver(target.actor, message.clone(), reply),
            }
            return Ok(());
        }
        let header = match (reply, ack) {
            (None, None) => Frame::Tell { to: target },
            (Some(reply), None) => Frame::Ask { to: target, reply },
            (None, Some(ack)) => Frame::Offer { to: target, ack },
            (Some(reply), Some(ack)) => Frame::OfferAsk {
                to: target,
                reply,
                ack,
            },
        };
        let sent = self.send_payload(target.process, &header, message);
        if sent.is_err() {
            // Held again, with its waits: forget the ones made for this try.
            let mut pending = lock(&self.pending);
            for id in reply.iter().chain(ack.iter()) {
                pending.remove(&id.id);
            }
        }
        sent
    }
}

//! How the actors of other processes ended, and who in this process waits
//! to hear it: the node's half of monitors.
//!
//! An actor that other processes can reach announces its end, with its
//! reason, in an `Exited` frame once it has handled its last message; a
//! process that dies takes its actors with it. A monitor in this process is
//! a *watch* on an actor's address: a token that is told once, through the
//! runtime's control queue, either way. So that a watch set up just after
//! the end (a ref that arrived late, a race with the frame) still hears the
//! real reason, the latest ends are remembered.
//!
//! Rejected: sending `Exited` only to the processes that watch (each watch
//! would cost a frame to the actor's process and back, and a process that
//! died would have to be watched for on its behalf), and remembering every
//! end (grows without bound in a long-lived system).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::pool::frame::Address;

/// How many ends of actors are remembered for watches that come late.
/// As many as the stops remembered (`stops.rs`), so an actor whose stop is
/// still remembered has its end remembered too, or on its way.
const RECENT_EXITS: usize = 4096;

/// How an actor ended, as its process announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    /// The runtime's name for the reason, e.g. "normal", "failure".
    pub reason: String,
    /// The runtime's details (for Python: the pickled exception and traceback).
    pub payload: Arc<[u8]>,
}

/// What a watch learns: the announced end, or the death of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// The actor's process announced its end.
    Exited(ExitRecord),
    /// The actor's process died first; carries why, e.g. "worker process 3
    /// (pid 12) killed by SIGKILL".
    ProcessDied(String),
}

/// What [`crate::node::Node::watch`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// The actor is not known to have ended: the token will be told.
    Watching(u64),
    /// It has ended already; nothing more will be told.
    Ended(Down),
}

/// The remembered ends and the watches waiting for one.
#[derive(Default)]
pub struct Exits {
    recent: HashMap<Address, ExitRecord>,
    order: VecDeque<Address>,
    watches: HashMap<Address, Vec<u64>>,
    watched: HashMap<u64, Address>,
}

impl Exits {
    /// Records that `actor` ended; returns the tokens to tell, each once.
    pub fn record(&mut self, actor: Address, record: ExitRecord) -> Vec<u64> {
        if self.recent.insert(actor, record).is_none() {
            self.order.push_back(actor);
            if self.order.len() > RECENT_EXITS {
                if let Some(oldest) = self.order.pop_front() {
                    self.recent.remove(&oldest);
                }
            }
        }
        self.take(actor)
    }

    /// The end of `actor`, if it is remembered.
    pub fn known(&self, actor: Address) -> Option<&ExitRecord> {
        self.recent.get(&actor)
    }

    /// Adds a watch on `actor` under `token`.
    pub fn watch(&mut self, actor: Address, token: u64) {
        self.watches.entry(actor).or_default().push(token);
        self.watched.insert(token, actor);
    }

    /// Removes a watch; returns whether it was still waiting.
    pub fn unwatch(&mut self, token: u64) -> bool {
        let Some(actor) = self.watched.remove(&token) else {
            return false;
        };
        if let Some(tokens) = self.watches.get_mut(&actor) {
            tokens.retain(|t| *t != token);
            if tokens.is_empty() {
                self.watches.remove(&actor);
            }
        }
        true
    }

    /// Takes the watches of every actor of `process`, with their actors.
    pub fn of_process(&mut self, process: u32) -> Vec<(u64, Address)> {
        let actors: Vec<Address> = self
            .watches
            .keys()
            .filter(|actor| actor.process == process)
            .copied()
            .collect();
        actors
            .into_iter()
            .flat_map(|actor| self.take(actor).into_iter().map(move |t| (t, actor)))
            .collect()
    }

    fn take(&mut self, actor: Address) -> Vec<u64> {
        let tokens = self.watches.remove(&actor).unwrap_or_default();
        for token in &tokens {
            self.watched.remove(token);
        }
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(process: u32, actor: u64) -> Address {
        Address { process, actor }
    }

    fn record(reason: &str) -> ExitRecord {
        ExitRecord {
            reason: reason.into(),
            payload: Arc::from(&b""[..]),
        }
    }

    #[test]
    fn an_end_tells_each_watch_once_and_is_remembered() {
        let mut exits = Exits::default();
        exits.watch(actor(1, 1), 10);
        exits.watch(actor(1, 1), 11);
        exits.watch(actor(1, 2), 12);
        assert_eq!(exits.record(actor(1, 1), record("normal")), [10, 11]);
        assert!(exits.record(actor(1, 1), record("normal")).is_empty());
        assert_eq!(exits.known(actor(1, 1)), Some(&record("normal")));
        assert!(!exits.unwatch(10));
        assert!(exits.unwatch(12));
        assert!(exits.record(actor(1, 2), record("failure")).is_empty());
    }

    #[test]
    fn a_process_death_takes_the_watches_of_its_actors_only() {
        let mut exits = Exits::default();
        exits.watch(actor(3, 1), 1);
        exits.watch(actor(3, 2), 2);
        exits.watch(actor(4, 1), 3);
        let mut taken = exits.of_process(3);
        taken.sort_unstable_by_key(|(token, _)| *token);
        assert_eq!(taken, [(1, actor(3, 1)), (2, actor(3, 2))]);
        assert!(exits.of_process(3).is_empty());
        assert_eq!(exits.record(actor(4, 1), record("normal")), [3]);
    }

    #[test]
    fn only_the_latest_ends_are_remembered() {
        let mut exits = Exits::default();
        for id in 0..=RECENT_EXITS as u64 {
            exits.record(actor(1, id), record("normal"));
        }
        assert!(exits.known(actor(1, 0)).is_none());
        assert!(exits.known(actor(1, RECENT_EXITS as u64)).is_some());
    }
}

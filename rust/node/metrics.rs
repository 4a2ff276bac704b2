//! The node's part in the metrics: the census of this process's actors,
//! answering the parent's `GatherStats`, and, in the parent, the latest
//! counters each worker pushed for its exported actors (`Stats` frames),
//! which the views of remote actors read without a round trip.
//!
//! A worker answers `GatherStats` on whichever thread reads its link, from
//! atomics alone: a worker whose actors hold its interpreter busy still
//! answers at once. The pushed counters are at most one report period
//! ([`crate::pool::worker`] sends them every 100 ms, when they changed)
//! plus a link's delay old; [`Node::remote_stats`] says how old.
//!
//! Rejected: a round trip to the worker for every read of a remote actor's
//! depth (a top refreshing hundreds of actors would flood the links), and
//! pushing the whole census every period (its size grows with the actors,
//! not with what changed).

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Host, Node, SendError};
use crate::channel::ChannelRecord;
use crate::mailbox::Mailbox;
use crate::metrics::census::{self, ActorRecord, Census, Name};
use crate::metrics::process::{self, Usage};
use crate::metrics::{self as core_metrics, MailboxSnapshot};
use crate::pool::frame::{Address, Frame, FutureId};
use crate::sync::lock;

/// One process's statistics, as a `GatherStats` reply carries them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessReport {
    /// The process's number: 0 for the parent.
    pub process: u32,
    /// Its CPU time and memory.
    pub usage: Usage,
    /// Messages that reached no actor there.
    pub dead_letters: u64,
    /// Its live actors, by URN.
    pub actors: Vec<ActorRecord>,
    /// Its live channels (absent from a process that has none to tell).
    #[serde(default)]
    pub channels: Vec<ChannelRecord>,
}

/// The counters of one exported actor, as a `Stats` frame carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorCounters {
    /// The actor's number in its process.
    pub actor: u64,
    /// Its mailbox's counters.
    pub mailbox: MailboxSnapshot,
}

/// Counters pushed by workers, by actor, with when they arrived.
pub(super) type Pushed = HashMap<Address, (Instant, MailboxSnapshot)>;

/// Encodes a value for a payload the other side reads with `pickle.loads`.
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_pickle::to_vec(value, serde_pickle::SerOptions::new())
        .expect("plain structs of integers, strings and floats always encode")
}

impl<H: Host> Node<H> {
    /// This process's live actors.
    pub fn census(&self) -> &Census {
        &self.census
    }

    /// Lists `mailbox`'s actor in this process's snapshots, as `name`
    /// says, until it stops.
    pub fn enroll(&self, mailbox: &Arc<Mailbox<H::Envelope>>, name: Name) {
        self.census.enroll(mailbox, name);
    }

    /// This process's statistics now: its usage, dead letters and actors.
    pub fn process_report(&self) -> ProcessReport {
        let numbers: HashMap<usize, u64> = lock(&self.exports)
            .iter()
            .filter_map(|(id, mailbox)| Some((census::key_of(&mailbox.upgrade()?), *id)))
            .collect();
        ProcessReport {
            process: self.process,
            usage: process::usage(),
            dead_letters: core_metrics::dead_letters(),
            actors: self
                .census
                .records(|key| numbers.get(&key).copied().unwrap_or(0)),
            channels: crate::channel::records(),
        }
    }

    /// This process's statistics, encoded as a `GatherStats` reply carries them.
    pub fn encoded_report(&self) -> Vec<u8> {
        encode(&self.process_report())
    }

    /// Parent: asks worker `process` for its statistics; the encoded
    /// [`ProcessReport`] arrives in `into`.
    ///
    /// # Errors
    /// Why the worker cannot be reached.
    pub fn gather(&self, process: u32, into: Arc<H::Future>) -> Result<(), SendError> {
        let reply = self.expect(into, process, format!("worker process {process}"));
        self.send_expecting(process, &Frame::GatherStats { reply }, &[], reply)
    }

    /// Worker: answers the parent's `GatherStats`.
    pub(super) fn answer_gather(&self, reply: FutureId) {
        self.send_reply(reply, true, self.encoded_report().into());
    }

    /// Worker: the counters of the exported actors whose counters changed
    /// since `last`, which is brought up to date (and forgets actors gone).
    pub fn changed_counters(&self, last: &mut HashMap<u64, MailboxSnapshot>) -> Vec<ActorCounters> {
        let live: Vec<(u64, Arc<Mailbox<H::Envelope>>)> = lock(&self.exports)
            .iter()
            .filter_map(|(id, mailbox)| Some((*id, Weak::upgrade(mailbox)?)))
            .collect();
        last.retain(|id, _| live.iter().any(|(live_id, _)| live_id == id));
        let mut changed = Vec::new();
        for (actor, mailbox) in live {
            let now = mailbox.stats().snapshot();
            if last.insert(actor, now) != Some(now) {
                changed.push(ActorCounters {
                    actor,
                    mailbox: now,
                });
            }
        }
        changed
    }

    /// Worker: sends the parent the counters that changed since `last`.
    ///
    /// # Errors
    /// Why the parent cannot be reached.
    pub fn push_counters(&self, last: &mut HashMap<u64, MailboxSnapshot>) -> Result<(), SendError> {
        let changed = self.changed_counters(last);
        if changed.is_empty() {
            return Ok(());
        }
        self.send_frame(0, &Frame::Stats, &encode(&changed))
    }

    /// Parent: takes in the counters worker `from` pushed.
    pub(super) fn take_counters(&self, from: u32, payload: &[u8]) {
        let decoded: Result<Vec<ActorCounters>, _> =
            serde_pickle::from_slice(payload, serde_pickle::DeOptions::new());
        let Ok(counters) = decoded else {
            self.dead_letter(format!(
                "a Stats frame from process {from} was ignored: its payload does not decode"
            ));
            return;
        };
        let now = Instant::now();
        let mut pushed = lock(&self.pushed);
        for ActorCounters { actor, mailbox } in counters {
            pushed.insert(
                Address {
                    process: from,
                    actor,
                },
                (now, mailbox),
            );
        }
    }

    /// Parent: the latest counters pushed for an actor of a worker, and how
    /// long ago they arrived; `None` before its worker's first report.
    pub fn remote_stats(&self, actor: Address) -> Option<(Duration, MailboxSnapshot)> {
        let (when, snapshot) = *lock(&self.pushed).get(&actor)?;
        Some((when.elapsed(), snapshot))
    }

    /// Parent: forgets the counters of an actor that stopped.
    pub(super) fn forget_counters(&self, actor: Address) {
        lock(&self.pushed).remove(&actor);
    }

    /// Parent: forgets the counters of every actor of a dead process.
    pub(super) fn forget_process_counters(&self, process: u32) {
        lock(&self.pushed).retain(|address, _| address.process != process);
    }
}

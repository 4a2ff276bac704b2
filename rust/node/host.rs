//! What a node needs from the runtime whose actors and futures it connects
//! to other processes.
//!
//! The node moves bytes: messages stay pickled on their way into a mailbox,
//! and replies stay pickled on their way into a future. It never runs the
//! runtime's code, so a link's thread never waits for an interpreter. The
//! runtime (the Python bindings, or a fake in the tests) says how to wrap a
//! message that arrived as one of its envelopes, and how to resolve and read
//! its futures.

use crate::payload::Payload;
use crate::pool::frame::FutureId;

/// The outcome of a future as it travels between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A pickled value (`ok`) or a pickled exception.
    Pickled {
        /// Whether the payload is a value rather than an exception.
        ok: bool,
        /// The pickle, and the buffers beside it.
        payload: Payload,
    },
    /// Nobody could answer; the text completes "<the actor> ...", e.g.
    /// "not found" or "died with its process: killed by SIGKILL".
    Undeliverable(String),
}

/// The runtime a node serves.
pub trait Host: Send + Sync + 'static {
    /// What a local actor's mailbox carries.
    type Envelope: Send + 'static;
    /// A future of this process that another process may answer or read.
    type Future: Send + Sync + 'static;

    /// An envelope for `message`, which arrived pickled from another
    /// process; its answer, if one is wanted, goes to `reply`.
    fn incoming(message: Payload, reply: Option<FutureId>) -> Self::Envelope;

    /// Whether a pickled message from another process is a control message
    /// (a stop request, a link's signal), which passes a mailbox's bound:
    /// an actor must stay stoppable with its mailbox full. None, by default.
    fn is_control(_message: &[u8]) -> bool {
        false
    }

    /// Gives `future` its outcome; false if it already had one (the first
    /// outcome stands).
    fn resolve(future: &Self::Future, outcome: Resolution) -> bool;

    /// Whether `future` has its outcome.
    fn is_resolved(future: &Self::Future) -> bool;

    /// Runs `then` once `future` has its outcome: now if it has, else on the
    /// thread that resolves it.
    fn when_resolved(future: &Self::Future, then: Box<dyn FnOnce() + Send>);

    /// The outcome of a resolved future, to send to another process.
    fn outcome(future: &Self::Future) -> Resolution;
}

//! This process's node (`crate::node`), with Python as its host: a message
//! from another process becomes an [`Envelope`] still pickled, and a reply
//! lands in a future's [`FutureState`] still pickled; the first `get()`
//! unpickles it. So the threads that read the links never take the GIL.

use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;

use super::envelope::{Envelope, Message, Reply};
use super::future::{FutureState, Outcome};
use super::pickling;
use crate::node::{Host, Node, Resolution};
use crate::payload::Payload;
use crate::pool::frame::FutureId;

/// Python, as the host of this process's node.
pub struct PyRuntime;

/// This process's node.
pub type PyNode = Node<PyRuntime>;

impl Host for PyRuntime {
    type Envelope = Envelope;
    type Future = FutureState;

    fn incoming(message: Payload, reply: Option<FutureId>) -> Envelope {
        Envelope {
            message: Message::Pickled(message),
            reply: reply.map_or(Reply::Nobody, Reply::Remote),
        }
    }

    /// A pickle of one of the control messages of `pykka_rs.messages`
    /// names its class first: that reference, near the start, marks it.
    fn is_control(message: &[u8]) -> bool {
        const MODULE: &[u8] = b"\x8c\x11pykka_rs.messages\x94\x8c";
        const NAMES: [&[u8]; 4] = [
            b"\x0a_ActorStop",
            b"\x09_Shutdown",
            b"\x05_Link",
            b"\x05_Exit",
        ];
        let head = &message[..message.len().min(64)];
        head.windows(MODULE.len())
            .position(|window| window == MODULE)
            .is_some_and(|at| {
                let rest = &head[at + MODULE.len()..];
                NAMES.iter().any(|name| rest.starts_with(name))
            })
    }

    fn resolve(future: &FutureState, outcome: Resolution) -> bool {
        let outcome = match outcome {
            Resolution::Pickled { ok, payload } => Outcome::pickled(ok, payload),
            Resolution::Undeliverable(reason) => Outcome::Undeliverable(reason),
        };
        future.publish(outcome).is_ok()
    }

    fn is_resolved(future: &FutureState) -> bool {
        future.is_done()
    }

    fn when_resolved(future: &FutureState, then: Box<dyn FnOnce() + Send>) {
        future.on_done(then);
    }

    /// Straight on if the outcome is still pickled, pickled now (with the
    /// GIL) otherwise.
    fn outcome(future: &FutureState) -> Resolution {
        match future.pickled() {
            Some(Ok((ok, payload))) => Resolution::Pickled { ok, payload },
            Some(Err(reason)) => Resolution::Undeliverable(reason.to_owned()),
            None => match pickling::outcome_for_wire(future) {
                Ok((ok, payload)) => Resolution::Pickled { ok, payload },
                Err(reason) => Resolution::Undeliverable(reason),
            },
        }
    }
}

static NODE: OnceLock<Arc<PyNode>> = OnceLock::new();

/// The spinning threads' helper: read this process's links.
fn help_read() -> bool {
    NODE.get().is_some_and(PyNode::help)
}

/// Whether this process has links that a parking thread could read.
fn is_readable() -> bool {
    NODE.get().is_some_and(|node| node.reads_links())
}

/// The parking threads' reader: park reading this process's links.
fn park_read(
    wakeup: crate::wait::Wakeup,
    deadline: Option<std::time::Instant>,
    done: &dyn Fn() -> bool,
) -> Option<bool> {
    NODE.get()?.read_parked(wakeup, deadline, done)
}

fn make(process: u32) -> Arc<PyNode> {
    crate::wait::set_helper(help_read);
    crate::wait::set_reader(is_readable, park_read);
    Arc::new(PyNode::new(process))
}

/// This process's node; the parent's (process 0) unless [`init_worker`]
/// ran first.
pub fn get() -> &'static Arc<PyNode> {
    NODE.get_or_init(|| make(0))
}

/// Makes this process worker number `process`. Must run before anything
/// else uses the node.
///
/// # Errors
/// `RuntimeError` if the node already exists with another number.
pub fn init_worker(process: u32) -> PyResult<&'static Arc<PyNode>> {
    let node = NODE.get_or_init(|| make(process));
    if node.process() == process {
        Ok(node)
    } else {
        Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "this process is already process {} of a pykka_rs system",
            node.process()
        )))
    }
}

/// Whether this process's node was disowned by a fork (see `Node::disown`).
pub fn disowned() -> bool {
    NODE.get().is_some_and(|node| node.is_disowned())
}

/// Whether this process's node exists and has a link to another process.
pub fn linked() -> bool {
    NODE.get().is_some_and(|node| node.is_linked())
}

//! What a mailbox carries for Python actors: a message and where its reply goes.
//!
//! A message from another process stays pickled until the actor takes it, so
//! the thread that reads the socket never needs the GIL. A reply to a
//! `ThreadingFuture` goes straight into the future's state and is published
//! without the GIL; a reply to a future in another process is pickled by the
//! actor and sent; any other future (a user's own `Future` subclass) is
//! answered by calling its `set()` or `set_exception()`.

use std::sync::Arc;

use super::future::{FutureState, Outcome, PySlot};
use super::node;
use super::pickling;
use super::python;
use crate::payload::Payload;
use crate::pool::frame::FutureId;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// A message, as Python made it or as it came off a socket.
pub enum Message {
    /// A Python object sent by a thread of this process.
    Object(Py<PyAny>),
    /// A pickled message from another process, with its buffers.
    Pickled(Payload),
}

impl Message {
    /// The message as a Python object, unpickled if need be.
    ///
    /// # Errors
    /// Whatever unpickling raises.
    pub fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Self::Object(message) => Ok(message.bind(py).clone()),
            Self::Pickled(bytes) => pickling::loads(py, bytes),
        }
    }
}

/// Where the answer to a message goes.
pub enum Reply {
    /// Nobody waits: the message was told.
    Nobody,
    /// A `ThreadingFuture`'s state.
    State(Arc<FutureState>),
    /// Any other `Future`, answered through its Python methods.
    Future(Py<PyAny>),
    /// A future in another process.
    Remote(FutureId),
}

/// A message on its way to an actor.
pub struct Envelope {
    /// The message itself.
    pub message: Message,
    /// Where the answer goes.
    pub reply: Reply,
}

impl Reply {
    /// The reply for a Python future object (or `None`).
    ///
    /// # Errors
    /// If a pykka_rs future's internals are not what they should be.
    pub fn for_future(future: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = future.py();
        if future.is_none() {
            return Ok(Self::Nobody);
        }
        let kind = future.get_type();
        if kind.is(python::threading_future(py)?) {
            let slot = python::future_slot(future)?;
            return Ok(Self::State(Arc::clone(&slot.get().state)));
        }
        if kind.is(python::remote_future(py)?) {
            let (process, id) = python::remote_future_address(future)?;
            return Ok(Self::Remote(FutureId { process, id }));
        }
        Ok(Self::Future(future.clone().unbind()))
    }

    /// The reply as a Python future object (or `None`): the same object for
    /// a foreign future, a new `ThreadingFuture` or `RemoteFuture` for the others.
    ///
    /// # Errors
    /// If the future classes cannot be imported.
    pub fn to_future(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Self::Nobody => Ok(py.None()),
            Self::Future(future) => Ok(future.clone_ref(py)),
            Self::State(state) => {
                let slot = Bound::new(
                    py,
                    PySlot {
                        state: Arc::clone(state),
                    },
                )?;
                python::future_from_slot(slot)
            }
            Self::Remote(id) => Ok(python::remote_future(py)?
                .call1((id.process, id.id))?
                .unbind()),
        }
    }

    /// Answers with `err` instead of a reply; a message told to nobody
    /// returns `err` to its sender instead.
    ///
    /// # Errors
    /// `err` itself when nobody waits; what a foreign future's
    /// `set_exception` raises.
    pub fn fail(self, py: Python<'_>, err: PyErr) -> PyResult<()> {
        match self {
            Self::Nobody => Err(err),
            Self::State(state) => {
                // Already answered (by its owner, say): the first answer stands.
                drop(state.publish(Outcome::from_err(py, &err)));
                Ok(())
            }
            Self::Future(future) => {
                let value = err.value(py);
                let exc_info = (value.get_type(), value, py.None());
                future
                    .bind(py)
                    .call_method1(pyo3::intern!(py, "set_exception"), (exc_info,))?;
                Ok(())
            }
            Self::Remote(id) => {
                let payload = pickling::dump_error(py, &err);
                py.detach(|| node::get().send_reply(id, false, payload.into()));
                Ok(())
            }
        }
    }
}

impl Envelope {
    /// Reads a Python `Envelope` (anything with `message` and `reply_to`).
    ///
    /// # Errors
    /// `TypeError` for an object without those attributes.
    pub fn from_py(envelope: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = envelope.py();
        let field = |name| {
            envelope.getattr(name).map_err(|_| {
                PyTypeError::new_err(format!(
                    "an inbox takes an Envelope (with message and reply_to), not {}",
                    envelope
                        .get_type()
                        .name()
                        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
                ))
            })
        };
        let message = field(pyo3::intern!(py, "message"))?.unbind();
        let reply_to = field(pyo3::intern!(py, "reply_to"))?;
        Ok(Self {
            message: Message::Object(message),
            reply: Reply::for_future(&reply_to)?,
        })
    }

    /// The envelope as a Python `pykka_rs._envelope.Envelope`.
    ///
    /// # Errors
    /// If a pickled message does not unpickle.
    pub fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(python::envelope(py)?
            .call1((self.message.to_object(py)?, self.reply.to_future(py)?))?
            .unbind())
    }
}

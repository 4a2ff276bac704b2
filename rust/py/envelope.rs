//! What a mailbox carries for Python actors: a message and where its reply goes.
//!
//! A reply to a `ThreadingFuture` goes straight into the future's state and
//! can be published without the GIL. Any other future (a user's own `Future`
//! subclass) is answered by calling its `set()` or `set_exception()`.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use super::future::{FutureState, PySlot};

/// Where the answer to a message goes.
pub enum Reply {
    /// Nobody waits: the message was told.
    Nobody,
    /// A `ThreadingFuture`'s state.
    State(Arc<FutureState>),
    /// Any other `Future`, answered through its Python methods.
    Future(Py<PyAny>),
}

/// A message on its way to an actor.
pub struct Envelope {
    /// The message itself.
    pub message: Py<PyAny>,
    /// Where the answer goes.
    pub reply: Reply,
}

static THREADING_FUTURE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PY_ENVELOPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `pykka_rs.ThreadingFuture`.
pub fn threading_future(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    THREADING_FUTURE.import(py, "pykka_rs._threading", "ThreadingFuture")
}

impl Reply {
    /// The reply for a Python future object (or `None`).
    pub fn for_future(future: &Bound<'_, PyAny>) -> PyResult<Self> {
        if future.is_none() {
            return Ok(Self::Nobody);
        }
        if future.get_type().is(threading_future(future.py())?) {
            let slot = future.getattr(pyo3::intern!(future.py(), "_slot"))?;
            let slot = slot.cast::<PySlot>()?;
            return Ok(Self::State(Arc::clone(&slot.get().state)));
        }
        Ok(Self::Future(future.clone().unbind()))
    }

    /// The reply as a Python future object (or `None`): the same object for
    /// a foreign future, a new `ThreadingFuture` sharing the state otherwise.
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
                Ok(threading_future(py)?
                    .call_method1(pyo3::intern!(py, "_from_slot"), (slot,))?
                    .unbind())
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
            message,
            reply: Reply::for_future(&reply_to)?,
        })
    }

    /// The envelope as a Python `pykka_rs._envelope.Envelope`.
    pub fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let class = PY_ENVELOPE.import(py, "pykka_rs._envelope", "Envelope")?;
        Ok(class
            .call1((self.message.clone_ref(py), self.reply.to_future(py)?))?
            .unbind())
    }
}

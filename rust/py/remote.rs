//! `_core.RemoteMailbox`: the inbox of an actor in another process, as this
//! process sees it. Sending pickles the message (an unpicklable one fails
//! right here, at the caller) and writes a frame with the GIL released.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::envelope::{Envelope, Message, Reply};
use super::errors::{ActorDeadError, send_failed};
use super::event::PyEvent;
use super::future::FutureState;
use super::gil;
use super::metrics::snapshot_dict;
use super::node;
use super::pickling;
use super::python::{MailboxFull, Timeout};
use crate::event::Event;
use crate::node::{Answer, SendError};
use crate::payload::Payload;
use crate::pool::frame::Address;
use crate::sync::lock;

/// Why a remote inbox cannot be read or inspected.
const SEND_ONLY: &str = "the inbox of an actor in another process can only be sent to";

/// The inbox of an actor in another process: `tell`, `ask` and `put` send
/// to it; only its own process can take messages out.
///
/// Its `stopped` flag is set when the actor's process announces the actor
/// stopped, or when that process dies.
#[pyclass(name = "RemoteMailbox", module = "pykka_rs._core", frozen)]
pub struct PyRemoteMailbox {
    to: Address,
    label: Mutex<String>,
    stopped: Arc<Event>,
    /// Whether a send waits until the actor's process has queued it.
    confirmed: AtomicBool,
}

impl PyRemoteMailbox {
    fn label_text(&self) -> String {
        lock(&self.label).clone()
    }

    fn dead(&self) -> PyErr {
        ActorDeadError::new_err(format!("{} not found", self.label_text()))
    }

    /// Sends `message`, answered as `reply` says.
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>, reply: Reply) -> PyResult<()> {
        self.send_within(py, message, reply, None)
    }

    /// Sends `message`, answered as `reply` says; a send that waits until
    /// the message is queued (see `offer`) gives up after `timeout`.
    fn send_within(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        reply: Reply,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if self.stopped.is_set() {
            return reply.fail(py, self.dead());
        }
        let payload = pickling::dumps_to(message, self.to.process)?;
        let to = self.to;
        let answer = match &reply {
            Reply::Nobody => None,
            Reply::Remote(future) => Some(Answer::There(*future)),
            Reply::State(state) => Some(Answer::Here(Arc::clone(state), self.label_text())),
            Reply::Future(future) => Some(Answer::Here(
                bridge(future.clone_ref(py)),
                self.label_text(),
            )),
        };
        if self.confirmed.load(Ordering::Relaxed) {
            return self.offer(py, payload, answer, reply, timeout);
        }
        let sent = py.detach(|| node::get().send_message(to, payload, answer));
        match sent {
            Ok(()) => Ok(()),
            // Too large to send: an error at the call, whoever waits.
            Err(err @ SendError::TooLarge(_)) => Err(send_failed(&self.label_text(), &err)),
            Err(err) => reply.fail(py, send_failed(&self.label_text(), &err)),
        }
    }

    /// Sends `payload` and waits, GIL released, until the actor's process
    /// has queued it (an `Offer`): a bounded mailbox that makes senders
    /// wait, or refuses them, does so across processes too. A refusal
    /// raises here: `MailboxFull`, or `ActorDeadError` for a tell (an
    /// asker's future holds that one).
    fn offer(
        &self,
        py: Python<'_>,
        payload: Payload,
        answer: Option<Answer<FutureState>>,
        reply: Reply,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let to = self.to;
        let label = self.label_text();
        let ack = Arc::new(FutureState::default());
        let sent = {
            let ack = Arc::clone(&ack);
            let label = label.clone();
            py.detach(|| node::get().send_offer(to, payload, answer, ack, label))
        };
        if let Err(err) = sent {
            return match err {
                SendError::TooLarge(_) => Err(send_failed(&label, &err)),
                _ => reply.fail(py, send_failed(&label, &err)),
            };
        }
        match ack.get(py, timeout) {
            Ok(_) => Ok(()),
            Err(err)
                if err.is_instance_of::<MailboxFull>(py) || err.is_instance_of::<Timeout>(py) =>
            {
                Err(err)
            }
            // An asker's future holds the refusal too.
            Err(err) => match reply {
                Reply::Nobody => Err(err),
                _ => Ok(()),
            },
        }
    }
}

/// A future state whose outcome is passed on to a foreign Python future.
pub(crate) fn bridge(future: Py<PyAny>) -> Arc<FutureState> {
    let state = Arc::new(FutureState::default());
    let source = Arc::clone(&state);
    state.on_done(move || {
        Python::try_attach(|py| {
            let future = future.bind(py);
            let done = match source.get(py, None) {
                Ok(value) => future.call_method1("set", (value,)),
                Err(err) => {
                    let value = err.value(py);
                    let traceback = value.getattr("__traceback__").ok();
                    future.call_method1("set_exception", ((value.get_type(), value, traceback),))
                }
            };
            if let Err(err) = done {
                err.write_unraisable(py, Some(future));
            }
        });
    });
    state
}

#[pymethods]
impl PyRemoteMailbox {
    #[new]
    fn new(process: u32, actor: u64) -> Self {
        let to = Address { process, actor };
        Self {
            to,
            label: Mutex::new("actor".to_owned()),
            stopped: node::get().stop_flag(to),
            confirmed: AtomicBool::new(false),
        }
    }

    /// Whether a send waits until the actor's process has queued the
    /// message: set for an actor whose bounded mailbox makes senders wait
    /// (`"block"`) or refuses them (`"fail"`), so that it does so for
    /// senders in other processes too.
    #[getter]
    fn confirmed(&self) -> bool {
        self.confirmed.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_confirmed(&self, confirmed: bool) {
        self.confirmed.store(confirmed, Ordering::Relaxed);
    }

    /// The actor's stopped flag, as far as this process knows.
    #[getter]
    fn stopped(&self) -> PyEvent {
        PyEvent {
            inner: Arc::clone(&self.stopped),
        }
    }

    /// How errors name the actor, e.g. `"MyActor (urn:uuid:...)"`.
    #[getter]
    fn label(&self) -> String {
        self.label_text()
    }

    #[setter]
    fn set_label(&self, label: String) {
        *lock(&self.label) = label;
    }

    /// The actor's address, `(process, number)`.
    fn export(&self) -> (u32, u64) {
        (self.to.process, self.to.actor)
    }

    /// Send `message` with no reply. Raise `ActorDeadError` if the actor is
    /// known to have stopped, or what pickling raises for an unpicklable message.
    fn tell(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(py, message, Reply::Nobody)
    }

    /// Send `message` with `future` for the reply. Raise what pickling raises
    /// for an unpicklable message; if the actor is gone, `future` fails with
    /// `ActorDeadError`.
    fn ask(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.send(py, message, Reply::for_future(future)?)
    }

    /// Send `message` and wait for the reply; return it or raise the actor's
    /// exception. Raise `Timeout` after `timeout` seconds.
    #[pyo3(signature = (message, timeout = None))]
    fn ask_blocking(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let deadline = gil::deadline(timeout)?;
        let state = Arc::new(FutureState::default());
        self.send_within(py, message, Reply::State(Arc::clone(&state)), timeout)?;
        // What is left of the timeout, once the message is queued.
        let rest = gil::remaining(py, deadline);
        state.get(py, rest.as_ref())
    }

    /// Send an `Envelope`'s message, answered to its `reply_to`.
    fn put(&self, py: Python<'_>, envelope: &Bound<'_, PyAny>) -> PyResult<()> {
        let Envelope { message, reply } = Envelope::from_py(envelope)?;
        let Message::Object(message) = message else {
            unreachable!("an envelope from Python holds a Python object")
        };
        self.send(py, message.bind(py), reply)
    }

    /// The actor's counters as its worker last pushed them to this process
    /// (the parent), with how many seconds ago they arrived: `(age, counters)`,
    /// the counters keyed as `Mailbox.stats()` keys them. None in a worker,
    /// and before the worker's first report.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Option<(f64, Bound<'py, PyDict>)>> {
        let here = node::get();
        if here.process() != 0 {
            return Ok(None);
        }
        let Some((age, snap)) = here.remote_stats(self.to) else {
            return Ok(None);
        };
        Ok(Some((age.as_secs_f64(), snapshot_dict(py, &snap)?)))
    }

    /// The number of messages waiting, as its worker last pushed it to this
    /// process (the parent); None in a worker, and before the first report.
    fn waiting(&self) -> Option<u64> {
        let here = node::get();
        if here.process() != 0 {
            return None;
        }
        here.remote_stats(self.to).map(|(_, snap)| snap.waiting)
    }

    /// Not possible: only the actor's own process takes its messages.
    fn get(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(SEND_ONLY))
    }

    /// Not known here: only the actor's own process sees its queue.
    fn empty(&self) -> PyResult<bool> {
        Err(PyTypeError::new_err(SEND_ONLY))
    }

    fn __repr__(&self) -> String {
        format!(
            "<pykka_rs._core.RemoteMailbox of {} in process {}>",
            self.label_text(),
            self.to.process
        )
    }
}

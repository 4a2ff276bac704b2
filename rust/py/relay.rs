//! `_core.Relay`: the inbox behind the stable ref of a supervised process
//! actor (`crate::node::relay`). It takes messages as a `RemoteMailbox`
//! does (pickled here, so an unpicklable message fails at the caller) and
//! passes them to the mailbox of the actor's current run, or holds them
//! while the actor restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::envelope::{Envelope, Message, Reply};
use super::errors::{ActorDeadError, send_failed};
use super::event::PyEvent;
use super::future::FutureState;
use super::node::{self, PyRuntime};
use super::pickling;
use super::python::{MailboxFull, Timeout};
use super::remote::bridge;
use crate::node::{Answer, Relay, RelayRefused};
use crate::pool::frame::Address;

/// The inbox of a supervised actor of another process: messages go through
/// it to the mailbox of the actor's current run; while the actor restarts
/// (its worker died), it holds them, in order.
///
/// Only its supervisor points it elsewhere (`redirect`), and closes it once
/// the actor will not run again; then its `stopped` flag is set.
#[pyclass(name = "Relay", module = "pykka_rs._core", frozen)]
pub struct PyRelay {
    inner: Arc<Relay<PyRuntime>>,
    exported: OnceLock<u64>,
    /// Whether a send waits until the actor's mailbox has queued it.
    confirmed: AtomicBool,
}

impl PyRelay {
    fn dead(&self) -> PyErr {
        ActorDeadError::new_err(format!("{} not found", self.inner.label()))
    }

    /// Sends `message` through the relay, answered as `reply` says.
    fn send(&self, py: Python<'_>, message: &Bound<'_, PyAny>, reply: Reply) -> PyResult<()> {
        if self.inner.stopped().is_set() {
            return reply.fail(py, self.dead());
        }
        let payload = pickling::dumps(message)?;
        // The label names the actor in an asker's errors; a tell needs none.
        let answer = match &reply {
            Reply::Nobody => None,
            Reply::Remote(future) => Some(Answer::There(*future)),
            Reply::State(state) => Some(Answer::Here(Arc::clone(state), self.inner.label())),
            Reply::Future(future) => Some(Answer::Here(
                bridge(future.clone_ref(py)),
                self.inner.label(),
            )),
        };
        let relay = &self.inner;
        let ack = self
            .confirmed
            .load(Ordering::Relaxed)
            .then(|| Arc::new(FutureState::default()));
        let sent = py.detach(|| match &ack {
            None => node::get().relay_send(relay, payload, answer),
            Some(ack) => node::get().relay_offer(
                relay,
                payload,
                answer,
                Answer::Here(Arc::clone(ack), relay.label()),
            ),
        });
        match sent {
            Ok(()) => {}
            Err(RelayRefused::Closed(_)) => return reply.fail(py, self.dead()),
            Err(RelayRefused::TooLarge(why, _)) => {
                return Err(PyValueError::new_err(format!(
                    "cannot send to {}: {why}",
                    self.inner.label()
                )));
            }
        }
        let Some(ack) = ack else { return Ok(()) };
        // Wait until the actor's mailbox took it, as `RemoteMailbox` does.
        match ack.get(py, None) {
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

#[pymethods]
impl PyRelay {
    #[new]
    fn new() -> Self {
        Self {
            inner: Arc::new(Relay::new()),
            exported: OnceLock::new(),
            confirmed: AtomicBool::new(false),
        }
    }

    /// Whether a send waits until the actor's mailbox has queued the
    /// message: set for an actor whose bounded mailbox makes senders wait
    /// (`"block"`) or refuses them (`"fail"`), as for `RemoteMailbox`.
    #[getter]
    fn confirmed(&self) -> bool {
        self.confirmed.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_confirmed(&self, confirmed: bool) {
        self.confirmed.store(confirmed, Ordering::Relaxed);
    }

    /// Set once the relay is closed: its actor will not run again.
    #[getter]
    fn stopped(&self) -> PyEvent {
        PyEvent {
            inner: Arc::clone(self.inner.stopped()),
        }
    }

    /// How errors name the actor, e.g. `"MyActor (urn:uuid:...)"`.
    #[getter]
    fn label(&self) -> String {
        self.inner.label()
    }

    #[setter]
    fn set_label(&self, label: String) {
        self.inner.set_label(label);
    }

    /// The mailbox messages go to now, `(process, number)`, or None while
    /// the relay holds them.
    #[getter]
    fn target(&self) -> Option<(u32, u64)> {
        self.inner
            .target()
            .map(|target| (target.process, target.actor))
    }

    /// How many messages the relay holds.
    #[getter]
    fn held(&self) -> usize {
        self.inner.held()
    }

    /// The relay's number in this process if other processes can reach it, else None.
    #[getter]
    fn exported(&self) -> Option<u64> {
        self.exported.get().copied()
    }

    /// Let other processes send to this relay; return `(process, number)`,
    /// its address for them. Its closing is then announced to them.
    fn export(&self) -> (u32, u64) {
        let here = node::get();
        let id = *self.exported.get_or_init(|| here.export_relay(&self.inner));
        (here.process(), id)
    }

    /// Pass messages to mailbox `number` of process `process` from now on,
    /// first those held, in order. Raise `ActorDeadError` if that process
    /// cannot be reached; the relay then holds again.
    fn redirect(&self, py: Python<'_>, process: u32, number: u64) -> PyResult<()> {
        let relay = &self.inner;
        let target = Address {
            process,
            actor: number,
        };
        py.detach(|| node::get().redirect(relay, Some(target)))
            .map_err(|err| send_failed(&relay.label(), &err))
    }

    /// Hold messages until the next `redirect`.
    fn hold(&self, py: Python<'_>) {
        let relay = &self.inner;
        // Redirecting to nothing sends nothing, so it cannot fail.
        drop(py.detach(|| node::get().redirect(relay, None)));
    }

    /// Close the relay for good: its `stopped` flag is set, the asks it
    /// held fail with `ActorDeadError`; return how many told messages it
    /// held, which are dropped.
    fn close(&self, py: Python<'_>) -> usize {
        let relay = &self.inner;
        py.detach(|| node::get().close_relay(relay))
    }

    /// Send `message` with no reply. Raise `ActorDeadError` if the relay is
    /// closed, or what pickling raises for an unpicklable message.
    fn tell(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send(py, message, Reply::Nobody)
    }

    /// Send `message` with `future` for the reply. Raise what pickling
    /// raises for an unpicklable message; if the relay is closed, `future`
    /// fails with `ActorDeadError`.
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
        let state = Arc::new(FutureState::default());
        self.send(py, message, Reply::State(Arc::clone(&state)))?;
        state.get(py, timeout)
    }

    /// Send an `Envelope`'s message, answered to its `reply_to`.
    fn put(&self, py: Python<'_>, envelope: &Bound<'_, PyAny>) -> PyResult<()> {
        let Envelope { message, reply } = Envelope::from_py(envelope)?;
        let Message::Object(message) = message else {
            unreachable!("an envelope from Python holds a Python object")
        };
        self.send(py, message.bind(py), reply)
    }

    /// Not possible: the actor's own process takes its messages.
    fn get(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "the inbox of a supervised actor of another process can only be sent to",
        ))
    }

    /// Not known here: the actor's own process sees its queue.
    fn empty(&self) -> PyResult<bool> {
        Err(PyTypeError::new_err(
            "the inbox of a supervised actor of another process can only be sent to",
        ))
    }

    fn __repr__(&self) -> String {
        let to = self.inner.target().map_or_else(
            || format!("holding {}", self.inner.held()),
            |to| format!("to process {}", to.process),
        );
        format!("<pykka_rs._core.Relay of {}: {to}>", self.inner.label())
    }
}

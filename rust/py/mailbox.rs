//! `_core.Mailbox`: an actor's inbox, with Pykka's `put`/`get`/`empty` and the
//! fast paths `ActorRef` uses (`tell`, `ask`, `ask_blocking`).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::actor::Deadlock;
use super::envelope::{Envelope, Message, Reply};
use super::event::PyEvent;
use super::future::FutureState;
use super::gil;
use super::metrics::snapshot_dict;
use super::node;
use crate::error::CoreError;
use crate::event::Event;
use crate::mailbox::{Mailbox, Stopped};
use crate::sync::lock;

/// An actor's inbox: an unbounded queue of envelopes, closed by the actor's
/// stopped flag.
///
/// Implements Pykka's inbox protocol (`put`, `get`, `empty`). `get` waits
/// with the GIL released. Once the actor has stopped, sending raises
/// `ActorDeadError`, and an ask's future fails with it.
#[pyclass(name = "Mailbox", module = "pykka_rs._core", frozen)]
pub struct PyMailbox {
    pub(crate) inner: Arc<Mailbox<Envelope>>,
    label: Mutex<String>,
    exported: OnceLock<u64>,
}

impl PyMailbox {
    /// Identifies this mailbox to the deadlock check.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    fn dead(&self) -> CoreError {
        CoreError::ActorDead(lock(&self.label).clone())
    }

    /// Queues `envelope`; if the actor has stopped, fails its reply and says so.
    fn send(&self, py: Python<'_>, envelope: Envelope) -> PyResult<()> {
        match self.inner.send(envelope) {
            Ok(()) => Ok(()),
            Err(Stopped(envelope)) => self.refuse(py, envelope),
        }
    }

    /// Answers an envelope the stopped mailbox refused: an error for whoever
    /// waits for the reply, or for the sender of a tell.
    fn refuse(&self, py: Python<'_>, envelope: Envelope) -> PyResult<()> {
        envelope.reply.fail(py, PyErr::from(self.dead()))
    }
}

#[pymethods]
impl PyMailbox {
    #[new]
    fn new() -> Self {
        Self {
            inner: Arc::new(Mailbox::new(Arc::new(Event::new()))),
            label: Mutex::new("actor".to_owned()),
            exported: OnceLock::new(),
        }
    }

    /// The actor's stopped flag; once it is set, the mailbox refuses messages.
    #[getter]
    fn stopped(&self) -> PyEvent {
        PyEvent {
            inner: Arc::clone(self.inner.stopped()),
        }
    }

    /// How errors name the actor, e.g. `"MyActor (urn:uuid:...)"`.
    #[getter]
    fn label(&self) -> String {
        lock(&self.label).clone()
    }

    #[setter]
    fn set_label(&self, label: String) {
        *lock(&self.label) = label;
    }

    /// The mailbox's number in this process if other processes can reach
    /// it (see `export`), else None.
    #[getter]
    fn exported(&self) -> Option<u64> {
        self.exported.get().copied()
    }

    /// Let other processes send to this mailbox; return `(process, number)`,
    /// its address for them. Its actor's stop is then announced to them.
    fn export(&self) -> (u32, u64) {
        let here = node::get();
        let id = *self.exported.get_or_init(|| here.export_actor(&self.inner));
        (here.process(), id)
    }

    /// Queue an `Envelope`. Raise `ActorDeadError` if the actor has stopped
    /// and nobody waits for a reply; otherwise fail the reply's future.
    fn put(&self, py: Python<'_>, envelope: &Bound<'_, PyAny>) -> PyResult<()> {
        let envelope = Envelope::from_py(envelope)?;
        self.send(py, envelope)
    }

    /// Take the next `Envelope`, waiting as long as it takes.
    fn get(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let inner = &self.inner;
        let envelope = gil::wait_released(py, None, |until| inner.recv(Some(until)))?
            .expect("a wait without deadline ends with an envelope");
        envelope.to_py(py)
    }

    /// Whether no message is waiting.
    fn empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// How many messages are waiting.
    fn qsize(&self) -> usize {
        self.inner.len()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Queue `message` with no reply. Raise `ActorDeadError` if the actor has stopped.
    fn tell(&self, py: Python<'_>, message: Py<PyAny>) -> PyResult<()> {
        self.send(
            py,
            Envelope {
                message: Message::Object(message),
                reply: Reply::Nobody,
            },
        )
    }

    /// Queue `message` with `future` for the reply. If the actor has stopped,
    /// `future` fails with `ActorDeadError`.
    fn ask(&self, py: Python<'_>, message: Py<PyAny>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        let reply = Reply::for_future(future)?;
        if let Reply::State(state) = &reply {
            state.expect_answer_from(self.id());
        }
        let envelope = Envelope {
            message: Message::Object(message),
            reply,
        };
        // On a single CPU, the actor woken by the send runs at once, on this
        // CPU, and would find the GIL held by the sender: it sleeps again, and
        // runs only once the sender waits for the reply, two thread switches
        // later. Sending with the GIL released lets it handle the message
        // right away. With more CPUs the actor spins on another CPU instead,
        // and the sender keeps the GIL, so that a burst of asks is not a
        // burst of GIL hand-overs.
        if crate::wait::max_spinners() == 0 {
            let inner = &self.inner;
            if let Err(Stopped(envelope)) = py.detach(|| inner.send(envelope)) {
                self.refuse(py, envelope)?;
            }
            return Ok(());
        }
        self.send(py, envelope)
    }

    /// Queue `message` and wait for the reply; return it or raise the
    /// actor's exception. Raise `Timeout` after `timeout` seconds and
    /// `ActorDeadError` if the actor has stopped.
    #[pyo3(signature = (message, timeout = None))]
    fn ask_blocking(
        &self,
        py: Python<'_>,
        message: Py<PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        if self.inner.stopped().is_set() {
            return Err(self.dead().into());
        }
        if timeout.is_none() {
            Deadlock::check(self.id())?;
        }
        let state = Arc::new(FutureState::default());
        state.expect_answer_from(self.id());
        let envelope = Envelope {
            message: Message::Object(message),
            reply: Reply::State(Arc::clone(&state)),
        };
        // Send with the GIL already released, and wait in the same breath: the
        // actor can take the GIL the moment it sees the message, and a quick
        // reply costs no further GIL hand-over.
        let first_slice = Instant::now() + gil::SLICE;
        let until = gil::deadline(timeout)?.map_or(first_slice, |d| d.min(first_slice));
        let inner = &self.inner;
        let sent = py.detach(|| inner.send(envelope).map(|()| state.wait_released(until)));
        if let Err(Stopped(envelope)) = sent {
            self.refuse(py, envelope)?;
        }
        state.get(py, timeout)
    }

    /// Take every envelope left after the actor stopped; the mailbox refuses
    /// messages from then on. Raise `RuntimeError` if the actor has not stopped.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        if !self.inner.stopped().is_set() {
            return Err(PyRuntimeError::new_err("drain() needs a stopped mailbox"));
        }
        // With the GIL held: a send still under way is one made with the GIL
        // released, so it finishes without it; and the actor's thread, which
        // drains, keeps the GIL until it ends (see `crate::actor`).
        let left = self.inner.drain_stopped();
        // Asks among them get an error reply; only tells go unanswered.
        let told = left
            .iter()
            .filter(|envelope| matches!(envelope.reply, Reply::Nobody))
            .count();
        self.inner.stats().record_dropped(told as u64);
        let envelopes = left
            .iter()
            .map(|envelope| envelope.to_py(py))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, envelopes)
    }

    /// The mailbox's counters now, read from atomics without waiting on
    /// the actor: `waiting`, `sent`, `processed`, `failed`, `dropped`,
    /// `high_water`, and the handling times: `busy_nanos` (all messages),
    /// `timed` and `timed_nanos` (the messages timed one by one) and
    /// `p50_nanos`, `p90_nanos`, `p99_nanos` (None before the first).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        snapshot_dict(py, &self.inner.stats().snapshot())
    }

    /// List this mailbox's actor, of class `class_name`, as `urn` in this
    /// process's statistics (`local_stats()`) until it stops.
    fn enroll(&self, class_name: &str, urn: &str) {
        node::get().enroll(&self.inner, class_name, urn);
    }

    fn __repr__(&self) -> String {
        format!(
            "<pykka_rs._core.Mailbox of {}: {} waiting>",
            self.label(),
            self.inner.len()
        )
    }
}

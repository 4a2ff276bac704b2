//! `_core.Mailbox`: an actor's inbox, with Pykka's `put`/`get`/`empty` and the
//! fast paths `ActorRef` uses (`tell`, `ask`, `ask_blocking`).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::actor::Deadlock;
use super::envelope::{Envelope, Message, Reply};
use super::event::PyEvent;
use super::future::FutureState;
use super::gil;
use super::metrics::snapshot_dict;
use super::node;
use super::python::{self, MailboxFull, Timeout};
use crate::dead_letters;
use crate::error::CoreError;
use crate::event::Event;
use crate::mailbox::{self as core_mailbox, Mailbox, Overflow, Refused, Stopped};
use crate::metrics::census::Name;
use crate::sync::lock;

/// The longest a dead letter's `repr()` of its message is kept.
const REPR_LIMIT: usize = 200;

/// A message's `repr()` for the dead-letter log, shortened; never raises.
pub(crate) fn describe(py: Python<'_>, message: &Message) -> String {
    let text = match message {
        Message::Object(object) => object.bind(py).repr().map_or_else(
            |_| "<a message whose repr() raised>".to_owned(),
            |r| r.to_string(),
        ),
        Message::Pickled(bytes) => format!("<a pickled message of {} bytes>", bytes.len()),
    };
    if text.chars().count() <= REPR_LIMIT {
        return text;
    }
    let mut short: String = text.chars().take(REPR_LIMIT).collect();
    short.push_str("...");
    short
}

/// An actor's inbox: a queue of envelopes, unbounded unless `set_bound()`
/// bounds it, closed by the actor's stopped flag.
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

    /// Queues `envelope` as the mailbox's bound says (see `offer`); if the
    /// actor has stopped, fails its reply and says so.
    fn send(&self, py: Python<'_>, envelope: Envelope) -> PyResult<()> {
        if self.inner.bound().is_some() {
            return self.offer(py, envelope, None);
        }
        match self.inner.send(envelope) {
            Ok(()) => Ok(()),
            Err(Stopped(envelope)) => self.refuse(py, envelope),
        }
    }

    /// Answers an envelope the stopped mailbox refused: an error for whoever
    /// waits for the reply, or for the sender of a tell.
    fn refuse(&self, py: Python<'_>, envelope: Envelope) -> PyResult<()> {
        self.letter(py, &envelope.message, "the actor had stopped");
        envelope.reply.fail(py, PyErr::from(self.dead()))
    }

    /// Records a message that reached no actor in the dead-letter log.
    fn letter(&self, py: Python<'_>, message: &Message, reason: &str) {
        let receiver = self.label();
        let message = describe(py, message);
        log::debug!(target: "pykka_rs.dead_letters", "{receiver}: {reason}: {message}");
        dead_letters::record(receiver, message, reason.to_owned());
    }

    fn full(&self, why: &str) -> PyErr {
        let bound = self.inner.bound().map_or(0, |bound| bound.capacity);
        MailboxFull::new_err(format!(
            "the mailbox of {} is full ({bound} messages){why}",
            self.label()
        ))
    }

    /// Whether `message` must pass the bound: a stop request, a link's
    /// signal (an actor must stay stoppable with its mailbox full).
    fn is_control(py: Python<'_>, message: &Message) -> PyResult<bool> {
        match message {
            Message::Object(object) => object
                .bind(py)
                .is_instance(python::message_types(py)?.control.bind(py)),
            Message::Pickled(_) => Ok(false),
        }
    }

    /// Queues `envelope` into the bounded mailbox by its overflow policy.
    ///
    /// `block` waits, GIL released, for room (a stop ends the wait with
    /// `ActorDeadError`); the actor sending into its own full mailbox gets
    /// `MailboxFull` instead, since it would wait for itself. `fail` raises
    /// `MailboxFull`; `drop` fails only an asker's future with it. Every
    /// refused message goes to the dead-letter log. A `block` wait gives up
    /// at `deadline`, if there is one, with `Timeout`.
    fn offer(&self, py: Python<'_>, envelope: Envelope, deadline: Option<Instant>) -> PyResult<()> {
        let inner = &self.inner;
        if Self::is_control(py, &envelope.message)? {
            return match inner.send_control(envelope) {
                Ok(()) => Ok(()),
                Err(Stopped(envelope)) => self.refuse(py, envelope),
            };
        }
        let Some(bound) = inner.bound() else {
            unreachable!("offer is for bounded mailboxes")
        };
        let mut envelope = match inner.try_send(envelope) {
            Ok(()) => return Ok(()),
            Err(Refused::Stopped(envelope)) => return self.refuse(py, envelope),
            Err(Refused::Full(envelope)) => envelope,
        };
        match bound.overflow {
            Overflow::Fail => {
                self.letter(py, &envelope.message, "the mailbox was full");
                Err(self.full(""))
            }
            Overflow::Drop => {
                self.letter(py, &envelope.message, "the mailbox was full");
                match envelope.reply {
                    Reply::Nobody => Ok(()),
                    reply => reply.fail(py, self.full(": the message was dropped")),
                }
            }
            Overflow::Block if Deadlock::is_running(self.id()) => {
                self.letter(
                    py,
                    &envelope.message,
                    "the actor sent it to its own full mailbox",
                );
                Err(self.full(
                    ": its actor sent to it, and would wait forever for itself to take a \
                     message; send to yourself only with room to spare, or use \
                     mailbox_overflow=\"fail\" or \"drop\"",
                ))
            }
            Overflow::Block => loop {
                let slice_end = Instant::now() + gil::SLICE;
                let until = deadline.map_or(slice_end, |d| d.min(slice_end));
                envelope = match py.detach(|| inner.send_waiting(envelope, Some(until))) {
                    Ok(()) => return Ok(()),
                    Err(Refused::Stopped(envelope)) => return self.refuse(py, envelope),
                    Err(Refused::Full(envelope)) => envelope,
                };
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    self.letter(
                        py,
                        &envelope.message,
                        "the sender's timeout passed while it waited for room",
                    );
                    return Err(Timeout::new_err(
                        "the timeout passed while the message waited for room in the mailbox",
                    ));
                }
                if let Err(err) = py.check_signals() {
                    self.letter(
                        py,
                        &envelope.message,
                        "the sender was interrupted while it waited for room",
                    );
                    return Err(err);
                }
            },
        }
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

    /// Bound the mailbox to `capacity` messages; `overflow` says what a send
    /// to it when full does: `"block"` (wait for room), `"fail"` (raise
    /// `MailboxFull`) or `"drop"` (refuse the message to the dead-letter
    /// log). Only before the first message. Raise `ValueError` for a
    /// capacity below 1, an unknown policy or a mailbox already used, and
    /// `TypeError` for arguments of the wrong type.
    fn set_bound(&self, capacity: &Bound<'_, PyAny>, overflow: &Bound<'_, PyAny>) -> PyResult<()> {
        if capacity.is_instance_of::<pyo3::types::PyBool>()
            || !capacity.is_instance_of::<pyo3::types::PyInt>()
        {
            return Err(PyTypeError::new_err(format!(
                "mailbox_size must be an int or None, not {}",
                capacity.get_type().name()?
            )));
        }
        let capacity: i128 = capacity.extract()?;
        let overflow_name: String = overflow.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "mailbox_overflow must be a str, not {}",
                overflow
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            ))
        })?;
        let Some(overflow) = Overflow::from_name(&overflow_name) else {
            return Err(PyValueError::new_err(format!(
                "mailbox_overflow must be 'block', 'fail' or 'drop', not {overflow_name:?}"
            )));
        };
        let capacity = usize::try_from(capacity)
            .ok()
            .filter(|capacity| *capacity >= 1 && *capacity < usize::MAX)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "mailbox_size must be at least 1 (or None, unbounded), not {capacity}"
                ))
            })?;
        self.inner
            .set_bound(core_mailbox::Bound { capacity, overflow })
            .map_err(|err| PyValueError::new_err(err.to_string()))
    }

    /// `(capacity, overflow)` if the mailbox is bounded, else None.
    #[getter]
    fn bound(&self) -> Option<(usize, &'static str)> {
        self.inner
            .bound()
            .map(|bound| (bound.capacity, bound.overflow.name()))
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
        if crate::wait::max_spinners() == 0 && self.inner.bound().is_none() {
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
        if self.inner.bound().is_some() {
            // The bound's policy may wait for room (within the timeout),
            // raise, or fail the reply.
            let deadline = gil::deadline(timeout)?;
            self.offer(py, envelope, deadline)?;
            let rest = gil::remaining(py, deadline);
            return state.get(py, rest.as_ref());
        }
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
        for envelope in &left {
            if !Self::is_control(py, &envelope.message)? {
                self.letter(
                    py,
                    &envelope.message,
                    "the actor stopped before handling it",
                );
            }
        }
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

    /// List this mailbox's actor, of class `class_name`, as `urn` (and,
    /// if it is supervised, with its supervisor's URN) in this process's
    /// statistics (`local_stats()`) until it stops.
    #[pyo3(signature = (class_name, urn, supervisor = None))]
    fn enroll(&self, class_name: &str, urn: &str, supervisor: Option<String>) {
        let name = Name {
            supervisor,
            ..Name::new(class_name, urn)
        };
        node::get().enroll(&self.inner, name);
    }

    fn __repr__(&self) -> String {
        format!(
            "<pykka_rs._core.Mailbox of {}: {} waiting>",
            self.label(),
            self.inner.len()
        )
    }
}

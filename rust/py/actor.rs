//! The actor loop for Python actors: the core loop ([`crate::actor::run`])
//! with a host that holds the GIL to handle envelopes and releases it to wait
//! and to publish replies.
//!
//! Handling follows Pykka's `Actor._handle_receive`. When the actor class does
//! not override that method, the dispatch happens here, in Rust: proxy calls,
//! attribute reads and writes and stop requests go straight to the actor's
//! attributes, and other messages to `on_receive`. Failures go to the actor's
//! `_handle_envelope_failure`, written in Python, so exception handling, log
//! records and `on_failure` behave exactly as in Pykka.

use std::cell::Cell;
use std::sync::Arc;

use pyo3::exceptions::{PyIndexError, PyRuntimeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::envelope::{Envelope, Reply};
use super::event::PyEvent;
use super::future::{FutureState, Outcome};
use super::mailbox::PyMailbox;
use super::node;
use super::pickling;
use super::python;
use crate::actor::{self, Handled, Host};
use crate::metrics::MailboxStats;
use crate::payload::Payload;
use crate::pool::frame::FutureId;
use crate::sync::lock;

thread_local! {
    /// The mailbox of the actor running on this thread, or 0.
    static CURRENT_MAILBOX: Cell<usize> = const { Cell::new(0) };
}

/// Refuses waits that could only end if the waiting actor went on handling
/// messages: an actor blocking, with no timeout, on a reply from itself.
pub struct Deadlock;

impl Deadlock {
    /// Whether this thread runs the actor of mailbox `id`.
    pub fn is_running(id: usize) -> bool {
        id != 0 && CURRENT_MAILBOX.with(Cell::get) == id
    }

    /// Fails if the actor running on this thread is the one that would answer.
    ///
    /// # Errors
    /// `RuntimeError` explaining the deadlock.
    pub fn check(answered_by: usize) -> PyResult<()> {
        if answered_by != 0 && CURRENT_MAILBOX.with(Cell::get) == answered_by {
            return Err(PyRuntimeError::new_err(
                "an actor waited, with no timeout, for a reply only it can send: \
                 the message is queued behind the one it is handling now. \
                 Don't block on asks to yourself; keep the future, or pass a timeout",
            ));
        }
        Ok(())
    }
}

/// Marks this thread as running the actor of a mailbox while alive.
struct Running(usize);

impl Running {
    fn enter(mailbox: usize) -> Self {
        Self(CURRENT_MAILBOX.with(|current| current.replace(mailbox)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT_MAILBOX.with(|current| current.set(self.0));
    }
}

/// `getattr` along `path`, as Pykka's `get_attr_directly`.
fn walk<'py>(root: &Bound<'py, PyAny>, path: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let mut attr = root.clone();
    for name in path.try_iter()? {
        attr = attr.getattr(name?.cast_into::<pyo3::types::PyString>()?)?;
    }
    Ok(attr)
}

fn field<'py>(message: &Bound<'py, PyAny>, index: usize) -> PyResult<Bound<'py, PyAny>> {
    message.cast::<PyTuple>()?.get_item(index)
}

fn proxy_call<'py>(
    actor: &Bound<'py, PyAny>,
    message: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = actor.py();
    let callee = walk(actor, &field(message, 0)?)?;
    let args = field(message, 1)?;
    let args = match args.cast_into::<PyTuple>() {
        Ok(args) => args,
        Err(err) => PyTuple::new(
            py,
            err.into_inner().try_iter()?.collect::<PyResult<Vec<_>>>()?,
        )?,
    };
    let kwargs = field(message, 2)?;
    let kwargs = match kwargs.cast_into::<PyDict>() {
        Ok(kwargs) => kwargs,
        Err(err) => {
            let mapping = err.into_inner();
            let dict = PyDict::new(py);
            dict.update(mapping.cast::<pyo3::types::PyMapping>()?)?;
            dict
        }
    };
    if kwargs.is_empty() {
        callee.call1(args)
    } else {
        callee.call(args, Some(&kwargs))
    }
}

fn proxy_set_attr<'py>(
    actor: &Bound<'py, PyAny>,
    message: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let path: Vec<Bound<'py, PyAny>> = field(message, 0)?.try_iter()?.collect::<PyResult<_>>()?;
    let Some((name, parents)) = path.split_last() else {
        return Err(PyIndexError::new_err(
            "ProxySetAttr needs a non-empty attr_path",
        ));
    };
    let mut parent = actor.clone();
    for step in parents {
        parent = parent.getattr(step.cast::<pyo3::types::PyString>()?)?;
    }
    parent.setattr(name.cast::<pyo3::types::PyString>()?, field(message, 1)?)?;
    Ok(actor.py().None().into_bound(actor.py()))
}

/// Whether `message` is an instance of one of Pykka's message classes
/// (`all`), as `isinstance` says. `isinstance` looks up the message's
/// `__class__` once per class it fails to match, nine lookups for every
/// plain message; here its type answers, and `__class__` is read once, for
/// an object that might claim another class than its type.
fn is_pykka_message(
    message: &Bound<'_, PyAny>,
    kind: &Bound<'_, PyType>,
    all: &Bound<'_, PyTuple>,
) -> PyResult<bool> {
    if kind.is_subclass(all)? {
        return Ok(true);
    }
    let claimed = message.getattr(intern!(message.py(), "__class__"));
    if claimed.is_ok_and(|claimed| claimed.is(kind)) {
        return Ok(false);
    }
    message.is_instance(all)
}

struct PyHost<'a, 'py> {
    py: Python<'py>,
    actor: &'a Bound<'py, PyAny>,
    mailbox: &'a PyMailbox,
    stats: &'a MailboxStats,
    base_dispatch: bool,
    /// An error the actor's own failure handling raised; it ends the loop.
    fatal: Option<PyErr>,
    /// Set when this run of a supervised actor is over (see `crate::actor`).
    until: Option<Arc<crate::event::Event>>,
}

impl<'py> PyHost<'_, 'py> {
    fn receive(&self, message: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let actor = self.actor;
        if !self.base_dispatch {
            return python::handle_receive(actor, message);
        }
        let types = python::message_types(py)?;
        let kind = message.get_type();
        if kind.is(types.call.bind(py)) {
            proxy_call(actor, message)
        } else if kind.is(types.get_attr.bind(py)) {
            walk(actor, &field(message, 0)?)
        } else if kind.is(types.set_attr.bind(py)) {
            proxy_set_attr(actor, message)
        } else if kind.is(types.stop.bind(py)) {
            python::stop(actor)
        } else if is_pykka_message(message, &kind, types.all.bind(py))? {
            // A subclass of one of Pykka's messages: let Python decide.
            python::handle_receive(actor, message)
        } else {
            actor.call_method1(intern!(py, "on_receive"), (message,))
        }
    }

    /// A message from another process that does not unpickle here: the
    /// asker gets the error; a tell is reported, and the actor goes on.
    fn undecodable(&mut self, err: PyErr, reply: Reply) {
        let py = self.py;
        let report = match reply {
            Reply::Nobody => {
                python::report_undecodable(self.actor, err.into_value(py).into_bound(py).into_any())
            }
            other => other.fail(py, err),
        };
        if let Err(err) = report {
            err.write_unraisable(py, Some(self.actor));
        }
    }

    /// Hands a failure to the actor's Python failure handling; if even that
    /// raises, stops the actor the way Pykka's `_handle_failure` does.
    fn fail(&mut self, err: PyErr, reply: &Reply) {
        let py = self.py;
        let result = reply.to_future(py).and_then(|reply_to| {
            python::handle_envelope_failure(
                self.actor,
                err.into_value(py).into_bound(py).into_any(),
                reply_to,
            )
        });
        if let Err(err) = result {
            if let Err(last) = python::handle_failure(self.actor, err.value(py)) {
                self.fatal = Some(last);
                self.mailbox.inner.stopped().set();
            }
        }
    }
}

/// A reply ready to go out once the GIL is released.
pub enum Published {
    /// To a future in this process.
    Local(Arc<FutureState>, Outcome),
    /// To a future in another process: `ok` and the pickled value or exception.
    Remote(FutureId, bool, Payload),
}

impl Host<Envelope> for PyHost<'_, '_> {
    type Reply = Published;

    fn hold<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        // The loop runs on a Python thread that holds the GIL between waits.
        f(self)
    }

    fn release<R: Send>(&mut self, f: impl FnOnce() -> R + Send) -> R {
        self.py.detach(f)
    }

    fn handle(&mut self, envelope: Envelope) -> Handled<Self::Reply> {
        let py = self.py;
        let Envelope { message, reply } = envelope;
        let message = match message.to_object(py) {
            Ok(message) => message,
            Err(err) => {
                self.stats.record_failed();
                self.undecodable(err, reply);
                return Handled::Done;
            }
        };
        let result = self.receive(&message);
        match result {
            Ok(value) => {
                self.stats.record_processed();
                match reply {
                    Reply::Nobody => Handled::Done,
                    Reply::State(state) => {
                        Handled::Reply(Published::Local(state, Outcome::Value(value.unbind())))
                    }
                    Reply::Remote(to) => {
                        Handled::Reply(match pickling::dumps_to(&value, to.process) {
                            Ok(payload) => Published::Remote(to, true, payload),
                            Err(err) => Published::Remote(
                                to,
                                false,
                                pickling::unpicklable_reply(self.actor, &message, &err).into(),
                            ),
                        })
                    }
                    Reply::Future(ref future) => {
                        if let Err(err) = future.bind(py).call_method1(intern!(py, "set"), (value,))
                        {
                            self.fail(err, &reply);
                        }
                        Handled::Done
                    }
                }
            }
            Err(err) => {
                self.stats.record_failed();
                self.fail(err, &reply);
                Handled::Done
            }
        }
    }

    fn publish(reply: Self::Reply) {
        match reply {
            Published::Local(state, outcome) => {
                if state.publish(outcome).is_err() {
                    log::warn!(
                        target: "pykka_rs.actor",
                        "a reply was dropped: its future had already been given a result"
                    );
                }
            }
            Published::Remote(to, ok, payload) => node::get().send_reply(to, ok, payload),
        }
    }

    fn ended(&self) -> bool {
        self.until.as_ref().is_some_and(|until| until.is_set())
    }
}

/// Marks the calling thread as the actor of `mailbox` while the `with`
/// block runs, so that a wait only that actor could end is refused; see
/// `run_actor_loop`, which does the same for the loop itself.
#[pyclass(name = "ActorThread", module = "pykka_rs._core", frozen)]
pub struct PyActorThread {
    mailbox: usize,
    previous: std::sync::Mutex<Vec<usize>>,
}

#[pymethods]
impl PyActorThread {
    #[new]
    fn new(mailbox: &Bound<'_, PyMailbox>) -> Self {
        Self {
            mailbox: mailbox.get().id(),
            previous: std::sync::Mutex::default(),
        }
    }

    fn __enter__(&self) {
        let previous = CURRENT_MAILBOX.with(|current| current.replace(self.mailbox));
        lock(&self.previous).push(previous);
    }

    fn __exit__(
        &self,
        _kind: &Bound<'_, PyAny>,
        _value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) {
        let previous = lock(&self.previous).pop().unwrap_or(0);
        CURRENT_MAILBOX.with(|current| current.set(previous));
    }
}

/// Run `actor`'s message loop on the calling thread until the actor stops,
/// or until `until` (an `Event`) is found set between two messages: a
/// supervised actor's run is over, and its mailbox stays open for the next.
///
/// Waits for messages with the GIL released; handles each with the GIL held.
/// Messages still queued when it returns are left for `Mailbox.drain()`.
#[pyfunction]
#[pyo3(signature = (actor, mailbox, until = None))]
pub fn run_actor_loop(
    actor: &Bound<'_, PyAny>,
    mailbox: &Bound<'_, PyMailbox>,
    until: Option<&Bound<'_, PyEvent>>,
) -> PyResult<()> {
    let py = actor.py();
    let mailbox = mailbox.get();
    let _running = Running::enter(mailbox.id());
    let mut host = PyHost {
        py,
        actor,
        mailbox,
        stats: mailbox.inner.stats(),
        base_dispatch: python::uses_base_dispatch(actor)?,
        fatal: None,
        until: until.map(|until| Arc::clone(&until.get().inner)),
    };
    actor::run(&mailbox.inner, &mut host);
    host.fatal.map_or(Ok(()), Err)
}

//! `_core.Slot`: the state behind every `ThreadingFuture`.
//!
//! A future holds one thing once it is done: a value, an exception (as the
//! `exc_info` triple, so the original traceback survives), a reply from
//! another process still pickled, or a get hook, a function that computes the
//! value when `get()` is first called. The core [`Slot`] makes "first write
//! wins" atomic across all of them, which is what Pykka's `queue.Full` rules
//! need; only a hook may be replaced by another hook, as in Pykka.
//!
//! A pickled reply is unpickled by the first `get()`, so the thread that read
//! it off a socket never needs the GIL; the result is kept, so every `get()`
//! returns the same object. A hook runs at most once successfully, under no
//! Rust lock; other threads calling `get()` meanwhile wait (with the GIL
//! released) for its result.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::ThreadId;
use std::time::Instant;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use super::errors::{ActorDeadError, timeout_error};
use super::gil;
use super::pickling;
use crate::future::Slot;
use crate::payload::{Payload, SharedBuffer};
use crate::sync::lock;

/// What a future resolves to.
pub enum Outcome {
    /// A value to return from `get()`.
    Value(Py<PyAny>),
    /// An exception to raise from `get()`, as `(type, value, traceback)`.
    Error([Py<PyAny>; 3]),
    /// A get hook computes the value; the hook itself is in [`FutureState`].
    Hooked,
    /// A reply from another process: a pickled value (`ok`) or exception.
    Pickled {
        /// Whether the payload is a value rather than an exception.
        ok: bool,
        /// The pickle.
        bytes: Vec<u8>,
        /// The shared buffers beside it, let go once it is decoded: a
        /// future kept for long must not keep their memory.
        buffers: Mutex<Vec<SharedBuffer>>,
    },
    /// Nobody could answer: `get()` raises `ActorDeadError` with this text.
    Undeliverable(String),
}

impl Outcome {
    /// A reply from another process.
    pub fn pickled(ok: bool, payload: Payload) -> Self {
        let (bytes, buffers) = payload.into_parts();
        Self::Pickled {
            ok,
            bytes,
            buffers: Mutex::new(buffers),
        }
    }

    /// The exception `err` as a future's error, with its traceback.
    pub fn from_err(py: Python<'_>, err: &PyErr) -> Self {
        let value = err.value(py);
        let traceback = value
            .getattr("__traceback__")
            .map_or_else(|_| py.None(), Bound::unbind);
        Self::Error([
            value.get_type().into_any().unbind(),
            value.clone().into_any().unbind(),
            traceback,
        ])
    }

    /// Returns the value or raises the exception of a decoded outcome.
    fn resolve(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Self::Value(value) => Ok(value.clone_ref(py)),
            Self::Error([kind, value, traceback]) => Err(raise(py, kind, value, traceback)),
            Self::Hooked | Self::Pickled { .. } | Self::Undeliverable(_) => {
                unreachable!("hooks and replies from elsewhere are decoded first")
            }
        }
    }

    /// Turns a reply from elsewhere into a value or an exception.
    fn decode(&self, py: Python<'_>) -> PyResult<Self> {
        let exception = match self {
            Self::Pickled {
                ok: true,
                bytes,
                buffers,
            } => {
                let buffers = lock(buffers).clone();
                return Ok(Self::Value(
                    pickling::loads_parts(py, bytes, &buffers)?.unbind(),
                ));
            }
            Self::Pickled {
                ok: false, bytes, ..
            } => pickling::load_error(py, bytes)?,
            Self::Undeliverable(reason) => undeliverable(reason)
                .into_value(py)
                .into_bound(py)
                .into_any(),
            Self::Value(_) | Self::Error(_) | Self::Hooked => {
                unreachable!("only replies from elsewhere need decoding")
            }
        };
        let traceback = exception
            .getattr("__traceback__")
            .map_or_else(|_| py.None(), Bound::unbind);
        Ok(Self::Error([
            exception.get_type().into_any().unbind(),
            exception.unbind(),
            traceback,
        ]))
    }
}

/// What an `Undeliverable` answer raises: `MailboxFull` for an ask a full
/// mailbox refused, `ActorDeadError` for the rest.
fn undeliverable(reason: &str) -> PyErr {
    if reason.ends_with(crate::node::MAILBOX_FULL) {
        super::python::MailboxFull::new_err(reason.to_owned())
    } else {
        ActorDeadError::new_err(reason.to_owned())
    }
}

/// The exception of an `exc_info` triple, carrying that traceback (Pykka's
/// `exc_value.with_traceback(exc_traceback)`).
fn raise(py: Python<'_>, kind: &Py<PyAny>, value: &Py<PyAny>, traceback: &Py<PyAny>) -> PyErr {
    let exception = if value.is_none(py) {
        match kind.bind(py).call0() {
            Ok(exception) => exception,
            Err(err) => return err,
        }
    } else {
        value.bind(py).clone()
    };
    if let Err(err) = exception.setattr("__traceback__", traceback) {
        return err;
    }
    PyErr::from_value(exception)
}

#[derive(Default)]
struct HookRun {
    func: Option<Py<PyAny>>,
    runner: Option<ThreadId>,
    result: Option<Py<PyAny>>,
}

/// A future's state, shared by the Python object and the envelopes that will reply to it.
#[derive(Default)]
pub struct FutureState {
    slot: Slot<Outcome>,
    decoded: OnceLock<Outcome>,
    hook: Mutex<HookRun>,
    hook_done: Condvar,
    /// The mailbox whose actor will answer, or 0; see [`super::actor::Deadlock`].
    answered_by: AtomicUsize,
    /// Its number in this process's node, once another process may read it.
    exported: OnceLock<u64>,
}

impl FutureState {
    /// The reply to a message, published by whoever handled it.
    ///
    /// Returns the outcome back if the future already had one.
    pub fn publish(&self, outcome: Outcome) -> Result<(), Outcome> {
        self.slot.set(outcome)
    }

    /// Whether the future is done.
    pub fn is_done(&self) -> bool {
        self.slot.is_set()
    }

    /// Runs `callback` once the future is done: now if it is, else on the
    /// thread that completes it.
    pub fn on_done(&self, callback: impl FnOnce() + Send + 'static) {
        self.slot.on_set(callback);
    }

    /// A reply from elsewhere that is still pickled, as `(ok, payload)`, or
    /// the reason nobody could answer. `None` for anything else.
    /// Once read, it is decoded: `None`, as for a value.
    pub fn pickled(&self) -> Option<Result<(bool, Payload), &str>> {
        match self.slot.get()? {
            Outcome::Pickled { .. } if self.decoded.get().is_some() => None,
            Outcome::Pickled { ok, bytes, buffers } => Some(Ok((
                *ok,
                Payload::new(bytes.clone(), lock(buffers).clone()),
            ))),
            Outcome::Undeliverable(reason) => Some(Err(reason)),
            _ => None,
        }
    }

    /// Whether the future holds a get hook.
    pub fn is_hooked(&self) -> bool {
        matches!(self.slot.get(), Some(Outcome::Hooked))
    }

    /// Installs a get hook, or replaces the one installed; false if the
    /// future already holds anything else.
    pub fn set_hook(&self, func: Py<PyAny>) -> bool {
        let mut run = self.lock_hook();
        let hooked = self.slot.set(Outcome::Hooked).is_ok() || self.is_hooked();
        if hooked {
            run.func = Some(func);
        }
        hooked
    }

    /// This future's number in the node, so other processes can read it.
    pub fn export(self: &Arc<Self>) -> u64 {
        *self
            .exported
            .get_or_init(|| super::node::get().export_future(self))
    }

    /// Waits for the outcome until `until` without the GIL (the caller has
    /// released it); returns whether it arrived.
    pub fn wait_released(&self, until: Instant) -> bool {
        self.slot.wait(Some(until)).is_some()
    }

    /// Notes the mailbox whose actor will answer this future.
    pub fn expect_answer_from(&self, mailbox: usize) {
        self.answered_by.store(mailbox, Ordering::Relaxed);
    }

    /// Waits for the outcome (GIL released), then returns or raises it,
    /// running a get hook if that is what the future holds.
    ///
    /// # Errors
    /// `Timeout` when `timeout` passes first; the future's exception; a
    /// `RuntimeError` when the calling actor waits forever on its own reply.
    pub fn get(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        match self.wait(py, timeout)? {
            Outcome::Hooked => self.run_hook(py, timeout),
            outcome @ (Outcome::Pickled { .. } | Outcome::Undeliverable(_)) => {
                if self.decoded.get().is_none() {
                    // Racing getters decode alike; the first result is kept.
                    drop(self.decoded.set(outcome.decode(py)?));
                    if let Outcome::Pickled { buffers, .. } = outcome {
                        drop(std::mem::take(&mut *lock(buffers)));
                    }
                }
                self.decoded
                    .get()
                    .expect("the decoded outcome was just set")
                    .resolve(py)
            }
            outcome => outcome.resolve(py),
        }
    }

    /// Waits for the outcome with the GIL released.
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<&Outcome> {
        if let Some(outcome) = self.slot.get() {
            return Ok(outcome);
        }
        let deadline = gil::deadline(timeout)?;
        if deadline.is_none() {
            super::actor::Deadlock::check(self.answered_by.load(Ordering::Relaxed))?;
        }
        let slot = &self.slot;
        gil::wait_released(py, deadline, |until| slot.wait(Some(until)).map(|_| ()))?
            .ok_or_else(|| timeout_error(timeout))?;
        Ok(self.slot.get().expect("the slot was just seen set"))
    }

    fn lock_hook(&self) -> std::sync::MutexGuard<'_, HookRun> {
        lock(&self.hook)
    }

    /// Runs the get hook unless another thread is running it or it already
    /// succeeded. A hook that raises is tried again by the next `get()`, as in Pykka.
    fn run_hook(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let me = std::thread::current().id();
        loop {
            let hook = {
                let mut run = self.lock_hook();
                if let Some(result) = &run.result {
                    return Ok(result.clone_ref(py));
                }
                match run.runner {
                    None => {
                        run.runner = Some(me);
                        run.func
                            .as_ref()
                            .expect("a hooked future has its hook")
                            .clone_ref(py)
                    }
                    Some(runner) if runner == me => {
                        return Err(PyRuntimeError::new_err(
                            "get() was called on a future from inside that future's own get hook",
                        ));
                    }
                    Some(_) => {
                        drop(run);
                        py.detach(|| {
                            let mut run = self.lock_hook();
                            while run.runner.is_some() && run.result.is_none() {
                                run = self
                                    .hook_done
                                    .wait(run)
                                    .unwrap_or_else(PoisonError::into_inner);
                            }
                        });
                        continue;
                    }
                }
            };
            let result = hook.bind(py).call1((timeout,));
            let mut run = self.lock_hook();
            run.runner = None;
            if let Ok(value) = &result {
                run.result = Some(value.clone().unbind());
            }
            drop(run);
            self.hook_done.notify_all();
            return result.map(Bound::unbind);
        }
    }
}

/// The state of one `ThreadingFuture`: a value, an exception or a get hook,
/// set once.
///
/// Waiting releases the GIL and checks for signals between slices.
#[pyclass(name = "Slot", module = "pykka_rs._core", frozen)]
pub struct PySlot {
    pub(crate) state: Arc<FutureState>,
}

#[pymethods]
impl PySlot {
    #[new]
    fn new() -> Self {
        Self {
            state: Arc::default(),
        }
    }

    /// Store `value`; return False if the slot already holds something.
    fn set(&self, value: Py<PyAny>) -> bool {
        self.state.slot.set(Outcome::Value(value)).is_ok()
    }

    /// Store an exception as `(type, value, traceback)`; return False if the
    /// slot already holds something.
    fn set_exception(&self, kind: Py<PyAny>, value: Py<PyAny>, traceback: Py<PyAny>) -> bool {
        self.state
            .slot
            .set(Outcome::Error([kind, value, traceback]))
            .is_ok()
    }

    /// Store a get hook, called with the timeout on the first `get()`, or
    /// replace the one stored; return False if the slot holds anything else.
    fn set_hook(&self, hook: Py<PyAny>) -> bool {
        self.state.set_hook(hook)
    }

    /// Let other processes read this slot; return `(process, number)`, its
    /// address for them.
    fn export(&self) -> (u32, u64) {
        (super::node::get().process(), self.state.export())
    }

    /// Whether the slot holds something.
    fn done(&self) -> bool {
        self.state.is_done()
    }

    /// Wait for the slot, then return its value, raise its exception or run
    /// its get hook. Raise `Timeout` after `timeout` seconds.
    #[pyo3(signature = (timeout = None))]
    fn get(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        self.state.get(py, timeout)
    }

    /// Call `callback()` once the slot holds something: now if it already
    /// does, else on the thread that fills it. Exceptions it raises are
    /// reported as unraisable; during interpreter shutdown it is not called.
    fn add_done_callback(&self, callback: Py<PyAny>) {
        self.state.slot.on_set(move || {
            // During interpreter shutdown there is nobody left to tell.
            Python::try_attach(|py| {
                if let Err(err) = callback.bind(py).call0() {
                    err.write_unraisable(py, Some(callback.bind(py)));
                }
            });
        });
    }
}

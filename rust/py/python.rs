//! Every Python object the bindings use, and every private name of
//! pykka_rs's Python layer they read or call: nowhere else in `rust/py`
//! names a module, a class or a private attribute.
//!
//! Each object is imported once per interpreter and kept (`PyOnceLock`);
//! each name is interned once (`intern!`). A rename in the Python layer
//! shows up here, and only here.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use super::future::PySlot;

pyo3::import_exception!(pykka_rs._exceptions, ActorDeadError);
pyo3::import_exception!(pykka_rs._exceptions, Timeout);
pyo3::import_exception!(pykka_rs._exceptions, ChannelClosed);
pyo3::import_exception!(pykka_rs._exceptions, ChannelEmpty);
pyo3::import_exception!(pykka_rs._exceptions, ChannelFull);
pyo3::import_exception!(pykka_rs._exceptions, MailboxFull);

static PICKLE_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PICKLE_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ENCODE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DECODE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DUMP_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static LOAD_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static REPICKLE_FOR_MAIN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static UNPICKLABLE_REPLY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static THREADING_FUTURE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static REMOTE_FUTURE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ENVELOPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MESSAGE_TYPES: PyOnceLock<MessageTypes> = PyOnceLock::new();
static BASE_HANDLE_RECEIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `pickle.dumps`.
pub fn pickle_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    PICKLE_DUMPS.import(py, "pickle", "dumps")
}

/// `pickle.loads`.
pub fn pickle_loads(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    PICKLE_LOADS.import(py, "pickle", "loads")
}

/// `pykka_rs._pickling.dumps`: pickling by value, refusing what cannot be copied.
pub fn pickling_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    DUMPS.import(py, "pykka_rs._pickling", "dumps")
}

/// `pykka_rs._buffers.encode`: a pickle with its large buffers beside it.
pub fn buffers_encode(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    ENCODE.import(py, "pykka_rs._buffers", "encode")
}

/// `pykka_rs._buffers.decode`.
pub fn buffers_decode(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    DECODE.import(py, "pykka_rs._buffers", "decode")
}

/// `pykka_rs._pickling.dump_error`.
pub fn dump_error(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    DUMP_ERROR.import(py, "pykka_rs._pickling", "dump_error")
}

/// `pykka_rs._pickling.load_error`.
pub fn load_error(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOAD_ERROR.import(py, "pykka_rs._pickling", "load_error")
}

/// `pykka_rs._pickling.repickle_for_main`.
pub fn repickle_for_main(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    REPICKLE_FOR_MAIN.import(py, "pykka_rs._pickling", "repickle_for_main")
}

/// `pykka_rs._pickling.unpicklable_reply`.
pub fn unpicklable_reply(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    UNPICKLABLE_REPLY.import(py, "pykka_rs._pickling", "unpicklable_reply")
}

/// `pykka_rs.ThreadingFuture`.
pub fn threading_future(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    THREADING_FUTURE.import(py, "pykka_rs._threading", "ThreadingFuture")
}

/// `pykka_rs._remote.RemoteFuture`: a future owned by another process.
pub fn remote_future(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    REMOTE_FUTURE.import(py, "pykka_rs._remote", "RemoteFuture")
}

/// `pykka_rs._envelope.Envelope`.
pub fn envelope(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    ENVELOPE.import(py, "pykka_rs._envelope", "Envelope")
}

/// Pykka's message types, compared by identity on the hot path.
pub struct MessageTypes {
    /// `ProxyCall`.
    pub call: Py<PyType>,
    /// `ProxyGetAttr`.
    pub get_attr: Py<PyType>,
    /// `ProxySetAttr`.
    pub set_attr: Py<PyType>,
    /// `_ActorStop`.
    pub stop: Py<PyType>,
    /// All of pykka_rs's messages, for the `isinstance` check that sends
    /// their subclasses (and the rarer private ones) to Python.
    pub all: Py<PyTuple>,
    /// The messages that pass a mailbox's bound: stop requests, links and
    /// exit signals (an actor must stay stoppable when its mailbox is full).
    pub control: Py<PyTuple>,
}

/// The message types of `pykka_rs.messages`.
pub fn message_types(py: Python<'_>) -> PyResult<&MessageTypes> {
    MESSAGE_TYPES.get_or_try_init(py, || {
        let messages = py.import("pykka_rs.messages")?;
        let get = |name: &str| -> PyResult<Py<PyType>> {
            Ok(messages.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        let types = [
            get("ProxyCall")?,
            get("ProxyGetAttr")?,
            get("ProxySetAttr")?,
            get("_ActorStop")?,
        ];
        // The private ones, which only Python's `_handle_receive` handles:
        // proxies' introspection, and supervision's stops, links and exit
        // signals.
        let private = [
            get("_Introspect")?,
            get("_Shutdown")?,
            get("_Link")?,
            get("_Exit")?,
        ];
        let all: Vec<&Bound<'_, PyType>> = types
            .iter()
            .chain(private.iter())
            .map(|t| t.bind(py))
            .collect();
        let all = PyTuple::new(py, all)?.unbind();
        let control = PyTuple::new(
            py,
            [&types[3], &private[1], &private[2], &private[3]].map(|t| t.bind(py)),
        )?
        .unbind();
        let [call, get_attr, set_attr, stop] = types;
        Ok(MessageTypes {
            call,
            get_attr,
            set_attr,
            stop,
            all,
            control,
        })
    })
}

/// Whether `actor` handles messages with `Actor._handle_receive` as it is,
/// so the dispatch may happen in the core instead.
pub fn uses_base_dispatch(actor: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = actor.py();
    let base = BASE_HANDLE_RECEIVE.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("pykka_rs._actor")?
                .getattr("Actor")?
                .getattr("_handle_receive")?
                .unbind(),
        )
    })?;
    Ok(actor
        .get_type()
        .getattr(intern!(py, "_handle_receive"))?
        .is(base.bind(py)))
}

/// `actor._handle_receive(message)`.
pub fn handle_receive<'py>(
    actor: &Bound<'py, PyAny>,
    message: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    actor.call_method1(intern!(actor.py(), "_handle_receive"), (message,))
}

/// `actor._stop()`.
pub fn stop<'py>(actor: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    actor.call_method0(intern!(actor.py(), "_stop"))
}

/// `actor._report_undecodable(exc)`.
pub fn report_undecodable(actor: &Bound<'_, PyAny>, exc: Bound<'_, PyAny>) -> PyResult<()> {
    actor
        .call_method1(intern!(actor.py(), "_report_undecodable"), (exc,))
        .map(drop)
}

/// `actor._handle_envelope_failure(exc, reply_to)`.
pub fn handle_envelope_failure(
    actor: &Bound<'_, PyAny>,
    exc: Bound<'_, PyAny>,
    reply_to: Py<PyAny>,
) -> PyResult<()> {
    actor
        .call_method1(
            intern!(actor.py(), "_handle_envelope_failure"),
            (exc, reply_to),
        )
        .map(drop)
}

/// `actor._handle_failure(type, value, traceback)`.
pub fn handle_failure(actor: &Bound<'_, PyAny>, exc: &Bound<'_, PyAny>) -> PyResult<()> {
    let traceback = exc.getattr("__traceback__").ok();
    actor
        .call_method1(
            intern!(actor.py(), "_handle_failure"),
            (exc.get_type(), exc, traceback),
        )
        .map(drop)
}

/// The core state of a `ThreadingFuture`: its `_slot`.
pub fn future_slot<'py>(future: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PySlot>> {
    Ok(future
        .getattr(intern!(future.py(), "_slot"))?
        .cast_into::<PySlot>()?)
}

/// A `ThreadingFuture` around an existing core state.
pub fn future_from_slot(slot: Bound<'_, PySlot>) -> PyResult<Py<PyAny>> {
    let py = slot.py();
    Ok(threading_future(py)?
        .call_method1(intern!(py, "_from_slot"), (slot,))?
        .unbind())
}

/// Where a `RemoteFuture` lives: `(its _owner, its _id)`.
pub fn remote_future_address(future: &Bound<'_, PyAny>) -> PyResult<(u32, u64)> {
    let py = future.py();
    Ok((
        future.getattr(intern!(py, "_owner"))?.extract()?,
        future.getattr(intern!(py, "_id"))?.extract()?,
    ))
}

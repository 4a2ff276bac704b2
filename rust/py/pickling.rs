//! Pickling for messages and replies that cross processes, done by
//! `pykka_rs._pickling` (protocol 5, with a by-value fallback for classes and
//! functions that have no importable name). The core only moves the bytes.
//!
//! The C pickler runs first, from here; Python is called only when it fails
//! or when its pickle names `__main__` (a byte search, done by the bytes
//! object itself), which the workers may not be able to import.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::future::FutureState;
use super::python;

/// The pickle protocol for everything that crosses processes.
const PROTOCOL: u8 = 5;

/// Pickles `value`: with the C pickler, or if that fails, with
/// `pykka_rs._pickling.dumps`, which pickles by value what has no name and
/// refuses what cannot be copied faithfully. A pickle that names `__main__`
/// is made again by value if the workers cannot import the main module.
///
/// # Errors
/// What pickling raises: the value cannot cross processes.
pub fn dumps(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let py = value.py();
    let bytes = match python::pickle_dumps(py)?.call1((value, PROTOCOL)) {
        Ok(bytes) => {
            if bytes.contains(python::main_bytes(py))? {
                python::repickle_for_main(py)?.call1((value, bytes))?
            } else {
                bytes
            }
        }
        Err(_) => python::pickling_dumps(py)?.call1((value,))?,
    };
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// Unpickles `bytes`.
///
/// # Errors
/// What unpickling raises.
pub fn loads<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    python::pickle_loads(py)?.call1((PyBytes::new(py, bytes),))
}

/// Pickles an exception with its type name and traceback text, so the other
/// side can raise it, or describe it if it does not unpickle there.
pub fn dump_error(py: Python<'_>, err: &PyErr) -> Vec<u8> {
    let pickled = python::dump_error(py)
        .and_then(|dump| dump.call1((err.value(py),)))
        .and_then(|bytes| Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
    // dump_error does not raise; if Python is too broken to run it, the
    // empty payload tells load_error that the exception could not be sent.
    pickled.unwrap_or_default()
}

/// The error for an asker whose reply, `err` says why, did not pickle: it
/// names the actor and what `message` asked, and says that it was the reply.
/// Pickled as [`dump_error`] does.
pub fn unpicklable_reply(
    actor: &Bound<'_, PyAny>,
    message: &Bound<'_, PyAny>,
    err: &PyErr,
) -> Vec<u8> {
    let py = actor.py();
    python::unpicklable_reply(py)
        .and_then(|build| build.call1((actor, message, err.value(py))))
        .and_then(|bytes| Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec()))
        .unwrap_or_else(|_| dump_error(py, err))
}

/// The exception pickled by [`dump_error`] (or a description of it).
///
/// # Errors
/// If `pykka_rs._pickling` cannot be imported.
pub fn load_error<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    python::load_error(py)?.call1((PyBytes::new(py, bytes),))
}

/// A done future's outcome as a reply payload: `(true, value)` or
/// `(false, exception)`, pickled. Runs a get hook if the future has one.
///
/// # Errors
/// A text saying why there is nothing to send (Python is shutting down).
pub fn outcome_for_wire(state: &FutureState) -> Result<(bool, Vec<u8>), String> {
    Python::try_attach(|py| match state.get(py, None) {
        Ok(value) => match dumps(value.bind(py)) {
            Ok(bytes) => (true, bytes),
            Err(err) => (false, dump_error(py, &err)),
        },
        Err(err) => (false, dump_error(py, &err)),
    })
    .ok_or_else(|| "could not be read: the interpreter is shutting down".to_owned())
}

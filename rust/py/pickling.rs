//! Pickling for messages and replies that cross processes, done by
//! `pykka_rs._pickling` (protocol 5, with a by-value fallback for classes and
//! functions that have no importable name). The core only moves the bytes.
//!
//! The C pickler runs first, from here; Python is called only when it fails
//! or when its pickle names `__main__` (a byte search, done by the bytes
//! object itself), which the workers may not be able to import.
//!
//! A value that holds a large buffer (or a pickle of [`SHARED_MIN_BYTES`] or
//! more that does) is pickled by `pykka_rs._buffers.encode`, with its large buffers beside
//! it in shared memory; [`dumps`] and [`loads`] are the pair every payload
//! that crosses processes goes through. Rejected: encoding every message
//! that way (a Python call per object on the path of the smallest
//! messages), and cutting buffers out of the first pickle (its frames
//! would have to be rewritten).

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyTuple};

use super::buffer::PySharedBuffer;
use super::future::FutureState;
use super::python;
use crate::payload::{Payload, SHARED_MIN_BYTES, SharedBuffer};

/// The pickle protocol for everything that crosses processes.
const PROTOCOL: u8 = 5;

/// Pickles `value`: with the C pickler, or if that fails, with
/// `pykka_rs._buffers.encode` (which also pickles memoryviews) and then
/// `pykka_rs._pickling.dumps`, which pickles by value what has no name and
/// refuses what cannot be copied faithfully. A pickle that names `__main__`
/// is made again by value if the workers cannot import the main module; a
/// large one that may hold large buffers, again with them in shared memory.
///
/// # Errors
/// What pickling raises: the value cannot cross processes.
pub fn dumps(value: &Bound<'_, PyAny>) -> PyResult<Payload> {
    dumps_with(value, || true)
}

/// As [`dumps`], for a payload that goes to `process`: with everything in
/// the pickle if it reaches that process in memory (an interpreter worker,
/// which would get the buffers copied back into the payload anyway).
///
/// # Errors
/// What pickling raises: the value cannot cross processes.
pub fn dumps_to(value: &Bound<'_, PyAny>, process: u32) -> PyResult<Payload> {
    dumps_with(value, || !super::node::get().reaches_in_memory(process))
}

/// [`dumps`], asking `may_share` (only for a value worth it) whether large
/// buffers may go beside the pickle.
fn dumps_with(value: &Bound<'_, PyAny>, may_share: impl Fn() -> bool) -> PyResult<Payload> {
    let py = value.py();
    if holds_large_bytes(value, 2) && may_share() {
        if let Some(payload) = shared(value)? {
            return Ok(payload);
        }
    }
    let bytes = match python::pickle_dumps(py)?.call1((value, PROTOCOL)) {
        Ok(bytes) => {
            let pickled = bytes.cast::<PyBytes>()?.as_bytes();
            if pickled.len() >= SHARED_MIN_BYTES && may_hold_large_buffer(pickled) && may_share() {
                if let Some(payload) = shared(value)? {
                    return Ok(payload);
                }
            }
            if names_main(pickled) {
                python::repickle_for_main(py)?.call1((value, bytes))?
            } else {
                bytes
            }
        }
        Err(_) => match encode(value) {
            Ok(Some(payload)) => return Ok(payload),
            Ok(None) | Err(_) => python::pickling_dumps(py)?.call1((value,))?,
        },
    };
    Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec().into())
}

/// Whether `pickled` names the main module (holds `b"__main__"`): then
/// what it names there must be pickled by value for a worker to load it.
fn names_main(pickled: &[u8]) -> bool {
    memchr::memmem::find(pickled, b"__main__").is_some()
}

/// Whether `value` is, or holds within `depth` levels of tuples (a
/// `ProxyCall` is one), lists and dict values, a `bytes` or `bytearray` of
/// [`SHARED_MIN_BYTES`] or more: then the first pickle would only be made
/// again. A few type checks, for the common shapes of a large message.
fn holds_large_bytes(value: &Bound<'_, PyAny>, depth: u8) -> bool {
    const MAX_ITEMS: usize = 16;
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return bytes.as_bytes().len() >= SHARED_MIN_BYTES;
    }
    if let Ok(bytes) = value.cast::<PyByteArray>() {
        return bytes.len() >= SHARED_MIN_BYTES;
    }
    if depth == 0 {
        return false;
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        return tuple.len() <= MAX_ITEMS
            && tuple.iter().any(|item| holds_large_bytes(&item, depth - 1));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return list.len() <= MAX_ITEMS
            && list.iter().any(|item| holds_large_bytes(&item, depth - 1));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        return dict.len() <= MAX_ITEMS
            && dict
                .values()
                .iter()
                .any(|item| holds_large_bytes(&item, depth - 1));
    }
    false
}

/// `value` with its large buffers beside the pickle, if it has any; None
/// also when shared memory fails (no memfd, no descriptor left): the
/// message then goes with everything in the pickle.
///
/// # Errors
/// What pickling raises, short of an `Exception` (a `KeyboardInterrupt`).
fn shared(value: &Bound<'_, PyAny>) -> PyResult<Option<Payload>> {
    match encode(value) {
        Ok(payload) => Ok(payload.filter(|p| !p.buffers().is_empty())),
        Err(err) if err.is_instance_of::<PyException>(value.py()) => Ok(None),
        Err(err) => Err(err),
    }
}

/// `value` pickled by `pykka_rs._buffers.encode`, its large buffers beside
/// the pickle; None if the pickle names a `__main__` that workers cannot
/// import (what it defines then travels by value, in the pickle).
///
/// # Errors
/// What pickling raises.
fn encode(value: &Bound<'_, PyAny>) -> PyResult<Option<Payload>> {
    let py = value.py();
    let payload = payload_of(&python::buffers_encode(py)?.call1((value,))?)?;
    if payload.bytes().windows(8).any(|w| w == b"__main__") {
        let plain = PyBytes::new(py, payload.bytes());
        let again = python::repickle_for_main(py)?.call1((value, &plain))?;
        if !again.is(&plain) {
            return Ok(None);
        }
    }
    Ok(Some(payload))
}

/// How large a string or buffer must be for the C pickler to write it
/// between frames rather than in one (CPython's `FRAME_SIZE_TARGET`).
const UNFRAMED_FROM: usize = 64 * 1024;

// Buffers worth sharing are all between frames, where the scan looks.
const _: () = assert!(SHARED_MIN_BYTES >= UNFRAMED_FROM);

/// Whether a pickle made by the C pickler (protocol 5) holds a buffer of
/// [`SHARED_MIN_BYTES`] or more. Such a pickle comes in frames, and the
/// pickler writes every string or buffer of 64 KiB or more between two
/// frames: the scan jumps from frame to frame and looks only there, a few
/// steps per 64 KiB. Anything it does not expect there says yes, and costs
/// a second pickle at worst.
fn may_hold_large_buffer(pickle: &[u8]) -> bool {
    const PROTO_5: [u8; 2] = [0x80, 5];
    if pickle.get(..2) != Some(&PROTO_5[..]) {
        return true;
    }
    let length = |at: usize, width: usize| -> Option<usize> {
        let bytes = pickle.get(at..at + width)?;
        let mut wide = [0u8; 8];
        wide[..width].copy_from_slice(bytes);
        usize::try_from(u64::from_le_bytes(wide)).ok()
    };
    let mut at = 2;
    loop {
        let Some(&opcode) = pickle.get(at) else {
            return false;
        };
        // FRAME; BINUNICODE, BINUNICODE8 (strings); BINBYTES, BINBYTES8,
        // BYTEARRAY8 (buffers); STOP.
        let (width, buffer) = match opcode {
            0x95 | 0x8d => (8, false),
            b'X' => (4, false),
            b'B' => (4, true),
            0x8e | 0x96 => (8, true),
            b'.' => return false,
            _ => return true,
        };
        let Some(len) = length(at + 1, width) else {
            return true;
        };
        if buffer && len >= SHARED_MIN_BYTES {
            return true;
        }
        let Some(next) = (at + 1 + width).checked_add(len) else {
            return true;
        };
        at = next;
    }
}

/// The payload of what `pykka_rs._buffers.encode` returned.
fn payload_of(encoded: &Bound<'_, PyAny>) -> PyResult<Payload> {
    let (bytes, buffers) = encoded.extract::<(Bound<'_, PyBytes>, Bound<'_, PyList>)>()?;
    let buffers = buffers
        .iter()
        .map(|buffer| Ok(buffer.cast::<PySharedBuffer>()?.get().inner.clone()))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Payload::new(bytes.as_bytes().to_vec(), buffers))
}

/// Unpickles a payload, reading its buffers, if it has any, from shared
/// memory.
///
/// # Errors
/// What unpickling raises.
pub fn loads<'py>(py: Python<'py>, payload: &Payload) -> PyResult<Bound<'py, PyAny>> {
    loads_parts(py, payload.bytes(), payload.buffers())
}

/// As [`loads`], for a payload in parts.
///
/// # Errors
/// What unpickling raises.
pub fn loads_parts<'py>(
    py: Python<'py>,
    bytes: &[u8],
    buffers: &[SharedBuffer],
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = PyBytes::new(py, bytes);
    if buffers.is_empty() {
        return python::pickle_loads(py)?.call1((bytes,));
    }
    let buffers = buffers.iter().map(|inner| PySharedBuffer {
        inner: inner.clone(),
    });
    let buffers = PyList::new(py, buffers)?;
    python::buffers_decode(py)?.call1(PyTuple::new(py, [bytes.into_any(), buffers.into_any()])?)
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
pub fn outcome_for_wire(state: &FutureState) -> Result<(bool, Payload), String> {
    Python::try_attach(|py| match state.get(py, None) {
        Ok(value) => match dumps(value.bind(py)) {
            Ok(payload) => (true, payload),
            Err(err) => (false, dump_error(py, &err).into()),
        },
        Err(err) => (false, dump_error(py, &err).into()),
    })
    .ok_or_else(|| "could not be read: the interpreter is shutting down".to_owned())
}

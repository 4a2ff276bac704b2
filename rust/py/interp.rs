//! `pykka_rs._interp`: the subinterpreter's end of an in-memory link, as a
//! module written against the raw C API.
//!
//! PyO3's `#[pymodule]` refuses to load in a second interpreter, so this
//! module is made by hand: multi-phase initialisation, with the
//! `Py_mod_multiple_interpreters` slot saying it supports a GIL per
//! interpreter. It lives in the same shared object as `_core`; a
//! subinterpreter loads it from `_core`'s file under its own name, and
//! since the process maps the file once, both reach the same Rust statics:
//! the channels of `crate::node::memory`, which hold bytes and wake-ups only.
//! The module keeps no state of its own and stores no Python object: each
//! call names its channel by the worker's process number.
//!
//! Functions (all raise `TypeError` for arguments of the wrong type):
//!
//! - `attach(process)`: claim the channel the parent offered this worker
//!   (`LookupError` if there is none, or it was claimed already);
//! - `send(process, header, payload)`: queue a frame (`BrokenPipeError`
//!   once the channel is closed, `ValueError` for a frame over the limits);
//! - `recv(process, timeout=None)`: the next frame as `(header, payload)`,
//!   waiting with this interpreter's GIL released, without polling; `None`
//!   at the timeout; `EOFError` once the channel is closed and read out;
//! - `wait(process, timeout=None)`: wait the same way until a frame is
//!   there to read, or the channel is closed, without taking the frame;
//!   `False` at the timeout;
//! - `open_inbox(process, actor)`, `close_inbox(process, actor)`: give an
//!   actor an inbox of its own, into which the parent's core puts the
//!   messages for it (the `Tell` and `Ask` frames, header decoded), so they
//!   wake the actor itself; closing returns what was left in it;
//! - `take(process, actor, timeout=None)`: the next message for the actor,
//!   as `(reply process, reply number, payload)` (`None, None` for a
//!   tell), waiting as `recv` does; `True` once `ring(process, actor)` was
//!   called (something else woke it), `None` at the timeout;
//!   `inbox_len(process, actor)`: how many wait;
//! - `log_levels(process, known)`: the parent's latest logger levels as
//!   `(version, table)`, or `None` while they are still version `known`
//!   (0: none yet); the channel keeps them, ahead of later messages;
//! - `interrupt(thread, exception)`: raise `exception` (a class) in a
//!   thread of this interpreter, as `PyThreadState_SetAsyncExc` does: how
//!   actors still busy when their interpreter must end are cut off;
//! - `close(process)`: close the channel both ways.
//!
//! Unsafe code is confined to this file: every item that calls the C API
//! says why the call is sound. A Rust panic inside a call becomes a
//! `RuntimeError` instead of unwinding into C.
//!
//! Rejected: the C API's own cross-interpreter queues (they poll every 10
//! ms while waiting), and sharing Python objects between interpreters (an
//! object belongs to the interpreter, and the GIL, that made it).

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::ffi;

use crate::node::memory::{self, End, Message, Received, Taken};
use crate::sync::lock;

/// `Py_MOD_PER_INTERPRETER_GIL_SUPPORTED`, which the abi3-py311 bindings
/// do not define: the module may be loaded by interpreters with a GIL of
/// their own.
const PER_INTERPRETER_GIL_SUPPORTED: usize = 2;

/// The channels subinterpreters have claimed, by process number.
static ATTACHED: Mutex<Option<HashMap<u32, End>>> = Mutex::new(None);

fn attached(process: u32) -> Option<End> {
    lock(&ATTACHED).as_ref()?.get(&process).cloned()
}

/// Why a call failed: the exception to raise and its message.
enum Failure {
    /// An exception is set already (argument parsing raised it).
    Raised,
    /// Raise `kind` with `message`.
    New(Kind, String),
}

#[derive(Clone, Copy)]
enum Kind {
    Type,
    Value,
    Lookup,
    BrokenPipe,
    Eof,
    Runtime,
}

type Outcome = Result<*mut ffi::PyObject, Failure>;

/// Sets the exception for `failure`.
#[allow(unsafe_code)]
fn raise(failure: Failure) {
    let Failure::New(kind, message) = failure else {
        return;
    };
    let text = std::ffi::CString::new(message.replace('\0', " "))
        .unwrap_or_else(|_| c"(unprintable message)".to_owned());
    // SAFETY: called with the GIL held (every caller is a module function
    // called by the interpreter); the exception objects are the
    // interpreter's own statics, and `text` outlives the call, which copies it.
    unsafe {
        let exception = match kind {
            Kind::Type => ffi::PyExc_TypeError,
            Kind::Value => ffi::PyExc_ValueError,
            Kind::Lookup => ffi::PyExc_LookupError,
            Kind::BrokenPipe => ffi::PyExc_BrokenPipeError,
            Kind::Eof => ffi::PyExc_EOFError,
            Kind::Runtime => ffi::PyExc_RuntimeError,
        };
        ffi::PyErr_SetString(exception, text.as_ptr());
    }
}

/// Runs a module function's body: its result, or NULL with an exception
/// set, and never an unwind into C.
fn guard(name: &str, body: impl FnOnce() -> Outcome) -> *mut ffi::PyObject {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(object)) => object,
        Ok(Err(failure)) => {
            raise(failure);
            ptr::null_mut()
        }
        Err(_) => {
            raise(Failure::New(
                Kind::Runtime,
                format!("pykka_rs._interp.{name} failed inside the core (a Rust panic)"),
            ));
            ptr::null_mut()
        }
    }
}

/// The arguments of a fast call, checked for their number.
#[allow(unsafe_code)]
fn arguments<'a>(
    name: &str,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    least: usize,
    most: usize,
) -> Result<&'a [*mut ffi::PyObject], Failure> {
    let count = usize::try_from(nargs).unwrap_or(0);
    if count < least || count > most {
        let wanted = if least == most {
            format!("{least}")
        } else {
            format!("{least} to {most}")
        };
        return Err(Failure::New(
            Kind::Type,
            format!("{name}() takes {wanted} arguments ({count} given)"),
        ));
    }
    if count == 0 {
        return Ok(&[]);
    }
    // SAFETY: for METH_FASTCALL the interpreter passes `nargs` valid object
    // pointers at `args`, alive for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(args, count) })
}

/// A process number argument.
#[allow(unsafe_code)]
fn process_number(object: *mut ffi::PyObject) -> Result<u32, Failure> {
    // SAFETY: `object` is a live argument of the current call, and the GIL is held.
    let value = unsafe { ffi::PyLong_AsUnsignedLongLong(object) };
    // SAFETY: as above.
    if value == u64::MAX && unsafe { !ffi::PyErr_Occurred().is_null() } {
        return Err(Failure::Raised);
    }
    u32::try_from(value).map_err(|_| {
        Failure::New(
            Kind::Value,
            format!("a process number is at most {}, not {value}", u32::MAX),
        )
    })
}

/// The bytes of a `bytes` argument, copied.
#[allow(unsafe_code)]
fn bytes_argument(object: *mut ffi::PyObject, what: &str) -> Result<Vec<u8>, Failure> {
    let mut data: *mut c_char = ptr::null_mut();
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: `object` is a live argument and the GIL is held; on success
    // the call points `data` at `len` bytes owned by `object`, which stays
    // alive (and immutable, being bytes) while they are copied below.
    unsafe {
        if ffi::PyBytes_Check(object) == 0 {
            return Err(Failure::New(Kind::Type, format!("{what} must be bytes")));
        }
        if ffi::PyBytes_AsStringAndSize(object, &raw mut data, &raw mut len) != 0 {
            return Err(Failure::Raised);
        }
        let len = usize::try_from(len).unwrap_or(0);
        Ok(std::slice::from_raw_parts(data.cast::<u8>(), len).to_vec())
    }
}

/// A new `bytes` object with a copy of `data`.
#[allow(unsafe_code)]
fn new_bytes(data: &[u8]) -> Result<*mut ffi::PyObject, Failure> {
    let len = ffi::Py_ssize_t::try_from(data.len())
        .map_err(|_| Failure::New(Kind::Value, "a frame too large for Python".to_owned()))?;
    // SAFETY: the GIL is held; the call copies `len` bytes from `data`.
    let object = unsafe { ffi::PyBytes_FromStringAndSize(data.as_ptr().cast::<c_char>(), len) };
    if object.is_null() {
        Err(Failure::Raised)
    } else {
        Ok(object)
    }
}

/// `None`, with a new reference.
#[allow(unsafe_code)]
fn none() -> *mut ffi::PyObject {
    // SAFETY: the GIL is held; None is immortal, and the reference returned
    // is a new one, as a function's result must be.
    unsafe {
        let none = ffi::Py_None();
        ffi::Py_IncRef(none);
        none
    }
}

/// Runs `wait` with this interpreter's GIL released.
#[allow(unsafe_code)]
fn released<R>(wait: impl FnOnce() -> R) -> R {
    // SAFETY: the calling thread holds the GIL of its interpreter (it is in
    // a module function); it gives it back right after `wait`, which touches
    // no Python object, and `catch_unwind` keeps a panic from skipping that.
    let state = unsafe { ffi::PyEval_SaveThread() };
    let result = catch_unwind(AssertUnwindSafe(wait));
    // SAFETY: `state` is this thread's state, saved just above.
    unsafe { ffi::PyEval_RestoreThread(state) };
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn attach(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let end = memory::claim(process).ok_or_else(|| {
        Failure::New(
            Kind::Lookup,
            format!("no channel is waiting for worker {process}, or it was claimed already"),
        )
    })?;
    lock(&ATTACHED)
        .get_or_insert_with(HashMap::new)
        .insert(process, end);
    Ok(none())
}

fn channel(process: u32) -> Result<End, Failure> {
    attached(process).ok_or_else(|| {
        Failure::New(
            Kind::Lookup,
            format!("worker {process} has no channel here: attach() it first"),
        )
    })
}

fn send(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let header = bytes_argument(args[1], "the header")?;
    let payload = bytes_argument(args[2], "the payload")?;
    channel(process)?
        .send(header, payload)
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::InvalidData => Failure::New(Kind::Value, err.to_string()),
            _ => Failure::New(Kind::BrokenPipe, err.to_string()),
        })?;
    Ok(none())
}

/// The deadline for a `timeout` argument: `None` waits forever.
#[allow(unsafe_code)]
fn deadline(timeout: Option<*mut ffi::PyObject>) -> Result<Option<Instant>, Failure> {
    let Some(timeout) = timeout else {
        return Ok(None);
    };
    // SAFETY: `timeout` is a live argument and the GIL is held.
    if unsafe { timeout == ffi::Py_None() } {
        return Ok(None);
    }
    // SAFETY: as above.
    let seconds = unsafe { ffi::PyFloat_AsDouble(timeout) };
    // SAFETY: as above.
    // -1.0 exactly is how the call signals an error.
    #[allow(clippy::float_cmp)]
    let failed = seconds == -1.0;
    // SAFETY: the GIL is held.
    if failed && unsafe { !ffi::PyErr_Occurred().is_null() } {
        return Err(Failure::Raised);
    }
    if seconds.is_nan() {
        return Err(Failure::New(
            Kind::Value,
            "timeout must be a number of seconds, not NaN".to_owned(),
        ));
    }
    let now = Instant::now();
    Ok(Duration::try_from_secs_f64(seconds.max(0.0))
        .ok()
        .and_then(|after| now.checked_add(after)))
}

#[allow(unsafe_code)]
fn recv(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let until = deadline(args.get(1).copied())?;
    let end = channel(process)?;
    // Whatever is queued already is taken without letting the GIL go, and
    // so is "nothing" when the caller will not wait: giving the GIL up only
    // to take it back would hand it to another thread for a switch interval.
    let now = Instant::now();
    let received = match end.recv(Some(now)) {
        Received::TimedOut if until.is_none_or(|until| until > now) => released(|| end.recv(until)),
        other => other,
    };
    match received {
        Received::Frame((header, payload)) => {
            let header = new_bytes(&header)?;
            let payload = match new_bytes(&payload) {
                Ok(payload) => payload,
                Err(failure) => {
                    // SAFETY: `header` is the new reference made above.
                    unsafe { ffi::Py_DecRef(header) };
                    return Err(failure);
                }
            };
            // SAFETY: the GIL is held; PyTuple_SetItem steals the references
            // made above, into the slots of a tuple just made (none is set twice).
            unsafe {
                let pair = ffi::PyTuple_New(2);
                if pair.is_null() {
                    ffi::Py_DecRef(header);
                    ffi::Py_DecRef(payload);
                    return Err(Failure::Raised);
                }
                ffi::PyTuple_SetItem(pair, 0, header);
                ffi::PyTuple_SetItem(pair, 1, payload);
                Ok(pair)
            }
        }
        Received::TimedOut => Ok(none()),
        Received::Ended => Err(Failure::New(
            Kind::Eof,
            format!("the channel of worker {process} is closed"),
        )),
    }
}

fn wait(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let until = deadline(args.get(1).copied())?;
    let end = channel(process)?;
    let ready = end.has_input() || released(|| end.wait_readable(until));
    Ok(boolean(ready))
}

/// `True` or `False`, with a new reference.
#[allow(unsafe_code)]
fn boolean(value: bool) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held; PyBool_FromLong returns a new reference.
    unsafe { ffi::PyBool_FromLong(std::ffi::c_long::from(value)) }
}

/// An argument of 64 unsigned bits: an actor number, a version.
#[allow(unsafe_code)]
fn u64_argument(object: *mut ffi::PyObject) -> Result<u64, Failure> {
    // SAFETY: `object` is a live argument of the current call, and the GIL is held.
    let value = unsafe { ffi::PyLong_AsUnsignedLongLong(object) };
    // SAFETY: as above.
    if value == u64::MAX && unsafe { !ffi::PyErr_Occurred().is_null() } {
        return Err(Failure::Raised);
    }
    Ok(value)
}

/// A new `int`.
#[allow(unsafe_code)]
fn new_int(value: u64) -> Result<*mut ffi::PyObject, Failure> {
    // SAFETY: the GIL is held; the call returns a new reference or NULL.
    let object = unsafe { ffi::PyLong_FromUnsignedLongLong(value) };
    if object.is_null() {
        Err(Failure::Raised)
    } else {
        Ok(object)
    }
}

/// A new tuple of `items`, whose references it takes over (all of them,
/// also when it fails).
#[allow(unsafe_code)]
fn new_tuple(items: &[*mut ffi::PyObject]) -> Result<*mut ffi::PyObject, Failure> {
    let len = ffi::Py_ssize_t::try_from(items.len()).unwrap_or(0);
    // SAFETY: the GIL is held; each item is a new reference made by the
    // caller, stolen by PyTuple_SetItem into a slot of a tuple just made
    // (none is set twice), or released here if the tuple cannot be made.
    unsafe {
        let tuple = ffi::PyTuple_New(len);
        if tuple.is_null() {
            release_all(items.to_vec());
            return Err(Failure::Raised);
        }
        for (index, item) in (0..).zip(items) {
            ffi::PyTuple_SetItem(tuple, index, *item);
        }
        Ok(tuple)
    }
}

/// Releases the new references in `items`, made by a call that failed.
#[allow(unsafe_code)]
fn release_all(items: Vec<*mut ffi::PyObject>) {
    for item in items {
        // SAFETY: each is a new reference its maker owns, and the GIL is held.
        unsafe { ffi::Py_DecRef(item) };
    }
}

/// `(reply process, reply number, payload)` for an ask, `(None, None,
/// payload)` for a tell.
fn message_tuple((reply, payload): &Message) -> Result<*mut ffi::PyObject, Failure> {
    let mut items = Vec::with_capacity(3);
    let made = (|| {
        if let Some(reply) = reply {
            items.push(new_int(u64::from(reply.process))?);
            items.push(new_int(reply.id)?);
        } else {
            items.push(none());
            items.push(none());
        }
        items.push(new_bytes(payload)?);
        Ok(())
    })();
    if let Err(failure) = made {
        release_all(items);
        return Err(failure);
    }
    new_tuple(&items)
}

fn open_inbox(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    channel(process)?.open_inbox(u64_argument(args[1])?);
    Ok(none())
}

fn close_inbox(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let left = channel(process)?.close_inbox(u64_argument(args[1])?);
    let mut items = Vec::with_capacity(left.len());
    for message in &left {
        match message_tuple(message) {
            Ok(item) => items.push(item),
            Err(failure) => {
                release_all(items);
                return Err(failure);
            }
        }
    }
    new_tuple(&items)
}

fn inbox_len(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let waiting = channel(process)?.inbox_len(u64_argument(args[1])?);
    new_int(waiting as u64)
}

fn ring(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    channel(process)?.ring(u64_argument(args[1])?);
    Ok(none())
}

fn log_levels(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let known = u64_argument(args[1])?;
    match channel(process)?.log_levels(known) {
        None => Ok(none()),
        Some((version, table)) => {
            let version = new_int(version)?;
            match new_bytes(&table) {
                Ok(table) => new_tuple(&[version, table]),
                Err(failure) => {
                    release_all(vec![version]);
                    Err(failure)
                }
            }
        }
    }
}

fn take(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    let actor = u64_argument(args[1])?;
    let until = deadline(args.get(2).copied())?;
    let end = channel(process)?;
    // What is there already is taken without letting the GIL go.
    let now = Instant::now();
    let taken = match end.take(actor, Some(now)) {
        Taken::TimedOut if until.is_none_or(|until| until > now) => {
            released(|| end.take(actor, until))
        }
        other => other,
    };
    match taken {
        Taken::Message(message) => message_tuple(&message),
        Taken::Rung => Ok(boolean(true)),
        Taken::TimedOut => Ok(none()),
    }
}

/// Raises `exception` (a class) in thread `thread` of this interpreter, at
/// its next bytecode; returns whether there was such a thread.
#[allow(unsafe_code)]
fn interrupt(args: &[*mut ffi::PyObject]) -> Outcome {
    // SAFETY: the arguments are live objects of this call and the GIL is held.
    let thread = unsafe { ffi::PyLong_AsUnsignedLong(args[0]) };
    // SAFETY: as above.
    if thread == std::ffi::c_ulong::MAX && unsafe { !ffi::PyErr_Occurred().is_null() } {
        return Err(Failure::Raised);
    }
    // The C function takes the id as an unsigned long; the bindings declare
    // a signed one of the same size, so the bits are passed on unchanged.
    #[allow(clippy::cast_possible_wrap)]
    let thread = thread as std::ffi::c_long;
    // SAFETY: as above; the call looks the thread up in this interpreter
    // only, and takes its own reference to the exception class.
    let found = unsafe { ffi::PyThreadState_SetAsyncExc(thread, args[1]) };
    Ok(boolean(found > 0))
}

fn close(args: &[*mut ffi::PyObject]) -> Outcome {
    let process = process_number(args[0])?;
    // The end stays known: later calls find it closed, not missing.
    if let Some(end) = attached(process) {
        end.close();
    }
    Ok(none())
}

/// Defines the `extern "C"` entry point of a module function.
macro_rules! entry {
    ($entry:ident, $body:ident, $least:expr, $most:expr) => {
        #[allow(unsafe_code)]
        unsafe extern "C" fn $entry(
            _module: *mut ffi::PyObject,
            args: *mut *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
        ) -> *mut ffi::PyObject {
            let name = stringify!($body);
            guard(name, || $body(arguments(name, args, nargs, $least, $most)?))
        }
    };
}

entry!(attach_entry, attach, 1, 1);
entry!(send_entry, send, 3, 3);
entry!(recv_entry, recv, 1, 2);
entry!(wait_entry, wait, 1, 2);
entry!(interrupt_entry, interrupt, 2, 2);
entry!(open_inbox_entry, open_inbox, 2, 2);
entry!(close_inbox_entry, close_inbox, 2, 2);
entry!(inbox_len_entry, inbox_len, 2, 2);
entry!(ring_entry, ring, 2, 2);
entry!(log_levels_entry, log_levels, 2, 2);
entry!(take_entry, take, 2, 3);
entry!(close_entry, close, 1, 1);

const fn method(
    name: &'static CStr,
    function: ffi::PyCFunctionFast,
    doc: &'static CStr,
) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFast: function,
        },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: doc.as_ptr(),
    }
}

// SAFETY (for the three statics below): the interpreter reads them, and
// PyModuleDef_Init writes the definition's header once, under the GIL of
// the first interpreter that imports the module; nothing else touches them.
#[allow(unsafe_code)]
static mut METHODS: [ffi::PyMethodDef; 13] = [
    method(
        c"attach",
        attach_entry,
        c"attach(process)\n--\n\nClaim the channel the parent offered worker `process`.",
    ),
    method(
        c"send",
        send_entry,
        c"send(process, header, payload)\n--\n\nQueue a frame for the parent.",
    ),
    method(
        c"recv",
        recv_entry,
        c"recv(process, timeout=None)\n--\n\nThe next frame from the parent as (header, payload); None at the timeout.",
    ),
    method(
        c"wait",
        wait_entry,
        c"wait(process, timeout=None)\n--\n\nWait until a frame is there to read or the channel is closed; False at the timeout.",
    ),
    method(
        c"interrupt",
        interrupt_entry,
        c"interrupt(thread, exception)\n--\n\nRaise `exception` in thread `thread` of this interpreter at its next bytecode.",
    ),
    method(
        c"open_inbox",
        open_inbox_entry,
        c"open_inbox(process, actor)\n--\n\nFrom now on, messages for `actor` go to its own inbox (see take()).",
    ),
    method(
        c"close_inbox",
        close_inbox_entry,
        c"close_inbox(process, actor)\n--\n\nClose `actor`'s inbox; return the messages left in it.",
    ),
    method(
        c"inbox_len",
        inbox_len_entry,
        c"inbox_len(process, actor)\n--\n\nHow many messages wait in `actor`'s inbox.",
    ),
    method(
        c"ring",
        ring_entry,
        c"ring(process, actor)\n--\n\nWake `actor` if it waits in take().",
    ),
    method(
        c"log_levels",
        log_levels_entry,
        c"log_levels(process, known)\n--\n\nThe parent's latest logger levels as (version, table); None while still version `known`.",
    ),
    method(
        c"take",
        take_entry,
        c"take(process, actor, timeout=None)\n--\n\nThe next message for `actor` as (reply process, reply number, payload); True if rung; None at the timeout.",
    ),
    method(
        c"close",
        close_entry,
        c"close(process)\n--\n\nClose the channel of worker `process` both ways.",
    ),
    ffi::PyMethodDef::zeroed(),
];

#[allow(unsafe_code)]
static mut SLOTS: [ffi::PyModuleDef_Slot; 2] = [
    ffi::PyModuleDef_Slot {
        slot: ffi::Py_mod_multiple_interpreters,
        value: PER_INTERPRETER_GIL_SUPPORTED as *mut c_void,
    },
    ffi::PyModuleDef_Slot {
        slot: 0,
        value: ptr::null_mut(),
    },
];

#[allow(unsafe_code)]
static mut MODULE: ffi::PyModuleDef = ffi::PyModuleDef {
    m_base: ffi::PyModuleDef_HEAD_INIT,
    m_name: c"pykka_rs._interp".as_ptr(),
    m_doc: c"The subinterpreter's end of an in-memory link to the parent's node.".as_ptr(),
    m_size: 0,
    m_methods: (&raw mut METHODS).cast::<ffi::PyMethodDef>(),
    m_slots: (&raw mut SLOTS).cast::<ffi::PyModuleDef_Slot>(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// The module's entry point: multi-phase initialisation.
///
/// # Safety
/// Called by the interpreter's import machinery, with the GIL held.
#[allow(unsafe_code, non_snake_case)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyInit__interp() -> *mut ffi::PyObject {
    // SAFETY: the definition is a static that lives as long as the process;
    // the interpreter initialises its header and keeps a pointer to it.
    unsafe { ffi::PyModuleDef_Init(&raw mut MODULE) }
}

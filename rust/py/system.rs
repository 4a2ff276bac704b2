//! The functions through which Python takes part in a system of processes:
//! joining the pool as a worker, taking the work the link threads queue for
//! Python, answering futures and reading futures of other processes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::event::PyEvent;
use super::future::{FutureState, Outcome, PySlot};
use super::node::{Control, Node};
use crate::pool::frame::{Frame, FutureId};
use crate::pool::ipc;

/// This process's number in its system: 0 for the parent, 1 and up for workers.
#[pyfunction]
pub fn process() -> u32 {
    Node::get().process()
}

/// Make this process worker `process` of the pool listening at
/// `socket_path`: connect, greet with `token`, and start reading frames.
/// Also starts the thread that reports this worker's load every 100 ms.
#[pyfunction]
pub fn join_pool(py: Python<'_>, process: u32, socket_path: PathBuf, token: &[u8]) -> PyResult<()> {
    let node = Node::init_worker(process).map_err(PyRuntimeError::new_err)?;
    py.detach(|| {
        let stream = ipc::connect(&socket_path, token, process)?;
        node.connect(0, stream)
    })
    .map_err(|err| PyOSError::new_err(format!("cannot join the worker pool: {err}")))?;
    std::thread::Builder::new()
        .name("pykka_rs-load".to_owned())
        .spawn(move || {
            let mut last = None;
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let (actors, waiting) = node.own_load();
                if last != Some((actors, waiting)) {
                    if node
                        .send_frame(0, &Frame::Load { actors, waiting }, &[])
                        .is_err()
                    {
                        return; // the parent is gone; so is this worker, soon
                    }
                    last = Some((actors, waiting));
                }
            }
        })
        .map_err(|err| PyOSError::new_err(format!("cannot start the load reporter: {err}")))?;
    Ok(())
}

fn future_id(id: FutureId) -> (u32, u64) {
    (id.process, id.id)
}

/// Wait up to `timeout` seconds (GIL released) for the next piece of work
/// the link threads queue for Python, as a tuple whose first item names it:
/// `("log", payload)`, `("request", reply, payload)`, `("spawn", reply,
/// payload)`, `("dead_letter", text)`, `("process_lost", process, cause,
/// expected)`, `("parent_lost", text)` or `("shutdown",)`; `reply` is a
/// `(process, number)` pair for `reply()`; `("barrier", event)` asks for
/// `event` to be set (see `control_barrier()`). Return None at the timeout.
#[pyfunction]
pub fn next_control(py: Python<'_>, timeout: f64) -> PyResult<Option<Bound<'_, PyTuple>>> {
    let until =
        Instant::now() + Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX / 4);
    let node = Node::get();
    let Some(control) = py.detach(|| node.next_control(until)) else {
        return Ok(None);
    };
    let bytes = |payload: &[u8]| PyBytes::new(py, payload);
    let tuple = match control {
        Control::Log(payload) => ("log", bytes(&payload)).into_pyobject(py)?,
        Control::Request { reply, payload } => {
            ("request", future_id(reply), bytes(&payload)).into_pyobject(py)?
        }
        Control::Spawn { reply, payload } => {
            ("spawn", future_id(reply), bytes(&payload)).into_pyobject(py)?
        }
        Control::DeadLetter(text) => ("dead_letter", text).into_pyobject(py)?,
        Control::ProcessLost {
            process,
            cause,
            expected,
        } => ("process_lost", process, cause, expected).into_pyobject(py)?,
        Control::ParentLost(text) => ("parent_lost", text).into_pyobject(py)?,
        Control::Shutdown => ("shutdown",).into_pyobject(py)?,
        Control::Barrier(event) => ("barrier", PyEvent { inner: event }).into_pyobject(py)?,
    };
    Ok(Some(tuple))
}

/// Handle every frame other processes have sent this one so far (GIL
/// released), so that what follows sees the stops they announced before.
#[pyfunction]
pub fn catch_up(py: Python<'_>) {
    let node = Node::get();
    // With no link there is nothing to read, and letting the GIL go would
    // only let other threads run first, which a thread-only program's
    // registry lookups have no reason to do.
    if node.is_linked() {
        py.detach(|| node.catch_up());
    }
}

/// An `Event` to be set once the thread taking `next_control()` work has
/// handled everything queued before it: waiting for it orders what a worker
/// sent before a reply (its log records) before what follows the reply.
#[pyfunction]
pub fn control_barrier() -> PyEvent {
    PyEvent {
        inner: Node::get().control_barrier(),
    }
}

/// Answer the future `(process, number)` with a pickled value (`ok`) or a
/// pickled exception (made by `pykka_rs._pickling.dump_error`).
#[pyfunction]
pub fn reply(py: Python<'_>, to: (u32, u64), ok: bool, payload: Vec<u8>) {
    let to = FutureId {
        process: to.0,
        id: to.1,
    };
    py.detach(|| Node::get().send_reply(to, ok, payload));
}

fn slot_for(state: Arc<FutureState>, sent: Result<(), String>) -> PySlot {
    if let Err(reason) = sent {
        drop(state.publish(Outcome::Undeliverable(format!("is unreachable: {reason}"))));
    }
    PySlot { state }
}

/// A slot that receives the value of future `number` of process `process`,
/// once that future is done.
#[pyfunction]
pub fn subscribe(py: Python<'_>, process: u32, number: u64) -> PySlot {
    let state = Arc::new(FutureState::default());
    let future = FutureId {
        process,
        id: number,
    };
    let sent = py.detach(|| Node::get().subscribe(future, Arc::clone(&state)));
    slot_for(state, sent)
}

/// The slot this process exported as `number`, if it still exists.
#[pyfunction]
pub fn local_future(number: u64) -> Option<PySlot> {
    Node::get()
        .local_future(number)
        .map(|state| PySlot { state })
}

/// Worker: send a log record's pickled fields to the parent.
#[pyfunction]
pub fn send_log(py: Python<'_>, payload: Vec<u8>) -> PyResult<()> {
    py.detach(|| Node::get().send_frame(0, &Frame::Log, &payload))
        .map_err(PyRuntimeError::new_err)
}

/// Worker: send the parent a pickled request; return a slot for its answer.
#[pyfunction]
pub fn request(py: Python<'_>, payload: Vec<u8>) -> PySlot {
    let state = Arc::new(FutureState::default());
    let sent = py.detach(|| Node::get().request(&payload, Arc::clone(&state)));
    slot_for(state, sent)
}

//! The functions through which Python takes part in a system of processes:
//! joining the pool as a worker, taking the work the links queue for
//! Python, answering futures, reading futures of other processes, and the
//! system-wide registry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use super::errors::ActorDeadError;
use super::event::PyEvent;
use super::future::{FutureState, Outcome, PySlot};
use super::node;
use crate::node::{Control, Down, SendError, Watch};
use crate::pool::frame::{self, Frame, FutureId};
use crate::pool::handshake::Secret;
use crate::pool::worker;

/// This process's number in its system: 0 for the parent, 1 and up for workers.
#[pyfunction]
pub fn process() -> u32 {
    node::get().process()
}

/// Make this process worker `process` of the pool of the parent `parent_pid`
/// listening at `socket_path`: connect once the socket's directory proves
/// private, prove to hold `secret` once the parent has, and start reading
/// frames. Also starts the thread that reports this worker's load (its
/// heartbeat), and the one that ends this process `orphan_grace` seconds
/// after the parent is gone, whatever its actors are doing.
#[pyfunction]
pub fn join_pool(
    py: Python<'_>,
    process: u32,
    socket_path: PathBuf,
    secret: &[u8],
    parent_pid: u32,
    orphan_grace: f64,
) -> PyResult<()> {
    let here = node::init_worker(process)?;
    let secret =
        Secret::from_bytes(secret).map_err(|err| PyValueError::new_err(err.to_string()))?;
    let grace = Duration::try_from_secs_f64(orphan_grace).map_err(|_| {
        PyValueError::new_err("orphan_grace must be a non-negative number of seconds")
    })?;
    py.detach(|| {
        worker::join(
            here,
            &socket_path,
            &secret,
            parent_pid,
            Duration::from_secs(10),
        )
    })?;
    worker::leave_when_orphaned(Arc::clone(here.parent_lost()), grace)
        .map_err(|err| super::errors::os_error(&err, "cannot watch the parent process"))?;
    Ok(())
}

fn future_id(id: FutureId) -> (u32, u64) {
    (id.process, id.id)
}

/// Wait up to `timeout` seconds (GIL released) for the next piece of work
/// the links queue for Python, as a tuple whose first item names it:
/// `("log", payload)`, `("request", reply, payload)`, `("spawn", reply,
/// payload)`, `("dead_letter", text)`, `("process_lost", process, cause,
/// expected)`, `("pool_event", text)`, `("parent_lost", text)` or
/// `("shutdown",)`; `reply` is a `(process, number)` pair for `reply()`;
/// `("barrier", event)` asks for `event` to be set (see
/// `control_barrier()`); `("down", token, end)` tells a watch (see
/// `watch()`) how its actor ended. Return None at the timeout.
#[pyfunction]
pub fn next_control(py: Python<'_>, timeout: f64) -> PyResult<Option<Bound<'_, PyTuple>>> {
    let until =
        Instant::now() + Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX / 4);
    let here = node::get();
    let Some(control) = py.detach(|| here.next_control(until)) else {
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
        Control::PoolEvent(text) => ("pool_event", text).into_pyobject(py)?,
        Control::ParentLost(text) => ("parent_lost", text).into_pyobject(py)?,
        Control::Shutdown => ("shutdown",).into_pyobject(py)?,
        Control::Barrier(event) => ("barrier", PyEvent { inner: event }).into_pyobject(py)?,
        Control::Down { token, down, .. } => {
            ("down", token, down_to_py(py, &down)?).into_pyobject(py)?
        }
    };
    Ok(Some(tuple))
}

/// An actor's end as Python sees it: `("exited", reason, payload)` or
/// `("died", cause)`.
fn down_to_py<'py>(py: Python<'py>, down: &Down) -> PyResult<Bound<'py, PyTuple>> {
    match down {
        Down::Exited(record) => (
            "exited",
            record.reason.as_str(),
            PyBytes::new(py, &record.payload),
        )
            .into_pyobject(py),
        Down::ProcessDied(cause) => ("died", cause.as_str()).into_pyobject(py),
    }
}

/// Watch actor `number` of process `process` for its end: return
/// `("watching", token)`, and `next_control()` gives `("down", token,
/// end)` once, when the actor's process announces its end or dies; or the
/// end at once, if it is known already: `("exited", reason, payload)` or
/// `("died", cause)`.
#[pyfunction]
pub fn watch(py: Python<'_>, process: u32, number: u64) -> PyResult<Bound<'_, PyTuple>> {
    let actor = crate::pool::frame::Address {
        process,
        actor: number,
    };
    match node::get().watch(actor) {
        Watch::Watching(token) => ("watching", token).into_pyobject(py),
        Watch::Ended(down) => down_to_py(py, &down),
    }
}

/// Cancel a watch; return whether it was still waiting.
#[pyfunction]
pub fn unwatch(token: u64) -> bool {
    node::get().unwatch(token)
}

/// Announce that local actor `number` (an exported mailbox or relay) ended
/// for `reason` (`"normal"`, `"failure"` or `"shutdown"`), with the pickled
/// details in `payload`, to the watches of every process.
#[pyfunction]
pub fn announce_exit(py: Python<'_>, number: u64, reason: &str, payload: Vec<u8>) {
    py.detach(|| node::get().announce_exit(number, reason, &payload));
}

/// Handle every frame other processes have sent this one so far (GIL
/// released), so that what follows sees the stops they announced before.
#[pyfunction]
pub fn catch_up(py: Python<'_>) {
    // With no link there is nothing to read, and letting the GIL go would
    // only let other threads run first, which a thread-only program's
    // registry lookups have no reason to do.
    if node::linked() {
        let here = node::get();
        py.detach(|| here.catch_up());
    }
}

/// An `Event` to be set once the thread taking `next_control()` work has
/// handled everything queued before it: waiting for it orders what a worker
/// sent before a reply (its log records) before what follows the reply.
#[pyfunction]
pub fn control_barrier() -> PyEvent {
    PyEvent {
        inner: node::get().control_barrier(),
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
    py.detach(|| node::get().send_reply(to, ok, payload.into()));
}

fn slot_for(state: Arc<FutureState>, sent: Result<(), SendError>) -> PySlot {
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
    let sent = py.detach(|| node::get().subscribe(future, Arc::clone(&state)));
    slot_for(state, sent)
}

/// The slot this process exported as `number`, if it still exists.
#[pyfunction]
pub fn local_future(number: u64) -> Option<PySlot> {
    node::get()
        .local_future(number)
        .map(|state| PySlot { state })
}

/// Worker, about to exit: write what is queued for the parent (log records,
/// say) and close the link, so the parent reads all of it.
#[pyfunction]
pub fn leave_pool(py: Python<'_>) {
    let here = node::get();
    py.detach(|| here.close_links());
}

/// Worker: send a log record's pickled fields to the parent.
#[pyfunction]
pub fn send_log(py: Python<'_>, payload: Vec<u8>) -> PyResult<()> {
    py.detach(|| node::get().send_frame(0, &Frame::Log, &payload))
        .map_err(|err| ActorDeadError::new_err(format!("the parent process is unreachable: {err}")))
}

/// Parent: its loggers' levels are now `table` (see `pykka_rs._logs`): every
/// worker gets it ahead of anything sent after this call.
#[pyfunction]
pub fn set_log_levels(py: Python<'_>, table: Vec<u8>) {
    py.detach(|| node::get().set_log_levels(&table));
}

/// The parent's latest table of logger levels as `(version, table)`, or
/// None while it is still version `known` (0: none yet).
#[pyfunction]
pub fn log_levels(py: Python<'_>, known: u64) -> Option<(u64, Bound<'_, PyBytes>)> {
    node::get()
        .log_levels(known)
        .map(|(version, table)| (version, PyBytes::new(py, &table)))
}

/// Worker: send the parent a pickled request; return a slot for its answer.
#[pyfunction]
pub fn request(py: Python<'_>, payload: Vec<u8>) -> PySlot {
    let state = Arc::new(FutureState::default());
    let sent = py.detach(|| node::get().request(&payload, Arc::clone(&state)));
    slot_for(state, sent)
}

/// Worker: tell the parent that local actor `number` is registered, with
/// `payload` (its pickled URN and class) for every process's registry.
#[pyfunction]
pub fn announce_registered(py: Python<'_>, number: u64, payload: Vec<u8>) -> PyResult<()> {
    py.detach(|| node::get().announce_registered(number, &payload))
        .map_err(|err| ActorDeadError::new_err(format!("the parent process is unreachable: {err}")))
}

/// Worker: tell the parent that local actor `number` left the registry.
#[pyfunction]
pub fn announce_unregistered(py: Python<'_>, number: u64) -> PyResult<()> {
    py.detach(|| node::get().announce_unregistered(number))
        .map_err(|err| ActorDeadError::new_err(format!("the parent process is unreachable: {err}")))
}

/// Parent: take actor `number` of worker `process` out of the registry;
/// return whether it was there.
#[pyfunction]
pub fn withdraw(process: u32, number: u64) -> bool {
    node::get().withdraw(crate::pool::frame::Address {
        process,
        actor: number,
    })
}

/// Parent: the registered actors of the workers, in the order the parent
/// learnt of them, as `(seq, process, number, payload)` tuples.
#[pyfunction]
pub fn registered(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for entry in node::get().registered() {
        list.append((
            entry.seq,
            entry.actor.process,
            entry.actor.actor,
            PyBytes::new(py, &entry.payload),
        ))?;
    }
    Ok(list)
}

/// A number that orders a registration here among those of the workers.
#[pyfunction]
pub fn next_seq() -> u64 {
    node::get().next_seq()
}

/// In a process just forked from a process of a system: leave the
/// inherited links alone (they belong to the original), so every actor of
/// another process is gone for this one. Does nothing in a process that
/// has no links.
#[pyfunction]
pub fn disown() {
    if node::linked() {
        node::get().disown();
    }
}

/// Whether this process is a fork that left its system's links alone (see
/// `disown()`).
#[pyfunction]
pub fn disowned() -> bool {
    node::disowned()
}

/// Parent: make a new worker number and an in-memory channel for a worker
/// that will run in a subinterpreter of this process; start reading it.
/// The subinterpreter claims its end with `pykka_rs._interp.attach(number)`.
#[pyfunction]
pub fn link_interpreter() -> PyResult<u32> {
    let here = node::get();
    let process = crate::pool::next_process();
    let (parent, worker) = crate::node::memory::pair();
    here.connect_memory(process, parent)
        .map_err(|err| super::errors::os_error(&err, "cannot link a subinterpreter"))?;
    crate::node::memory::offer(process, worker);
    Ok(process)
}

/// Parent: of the worker numbers `processes`, the one to place the next
/// actor on: the live one with the fewest actors, then the fewest messages
/// waiting, then the first listed. None if none is alive.
#[pyfunction]
pub fn place(processes: Vec<u32>) -> Option<u32> {
    let loads = node::get().loads();
    let candidates: Vec<crate::pool::Load> = processes
        .iter()
        .map(|process| loads.get(process).copied().unwrap_or_default())
        .collect();
    crate::pool::place(&candidates).map(|index| processes[index])
}

/// Parent: ask worker `process` to make an actor from the pickled `payload`;
/// wait for its answer (the new actor's number there) or raise the
/// exception making it raised. `label` names the actor in errors.
#[pyfunction]
#[pyo3(signature = (process, payload, label, timeout = None))]
pub fn spawn_actor(
    py: Python<'_>,
    process: u32,
    payload: &[u8],
    label: String,
    timeout: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let state = Arc::new(FutureState::default());
    let here = node::get();
    let sent = py.detach(|| here.spawn(process, payload, Arc::clone(&state), label.clone()));
    if let Err(err) = sent {
        return Err(ActorDeadError::new_err(format!(
            "{label} could not be started: {err}"
        )));
    }
    let actor = state.get(py, timeout)?;
    here.count_actor(process);
    Ok(actor)
}

/// Parent: ask worker `process` to stop its actors and end; its end is
/// then expected, not reported as a death.
#[pyfunction]
pub fn shutdown_worker(py: Python<'_>, process: u32) {
    let here = node::get();
    here.retire(process);
    py.detach(|| drop(here.send_frame(process, &Frame::Shutdown, &[])));
}

/// Parent: wait (GIL released) until the link to worker `process` has
/// ended; at `timeout` seconds, kill it (cut a subinterpreter off) and
/// return True, else return False. Return the registry payloads of the
/// actors it still had when it was killed, or None if it ended in time.
#[pyfunction]
pub fn await_exit(
    py: Python<'_>,
    process: u32,
    timeout: f64,
) -> PyResult<Option<Bound<'_, PyList>>> {
    let patience = Duration::try_from_secs_f64(timeout)
        .map_err(|_| PyValueError::new_err("timeout must be a non-negative number of seconds"))?;
    let here = node::get();
    let deadline = Instant::now() + patience;
    let actors: Vec<Arc<[u8]>> = here
        .registered()
        .into_iter()
        .filter(|entry| entry.actor.process == process)
        .map(|entry| entry.payload)
        .collect();
    if !py.detach(|| here.await_exit(process, deadline)) {
        return Ok(None);
    }
    let list = PyList::empty(py);
    for payload in actors {
        list.append(PyBytes::new(py, &payload))?;
    }
    Ok(Some(list))
}

/// Set the largest message, in pickled bytes, this process sends or accepts
/// from another process (at most 16 GiB, the wire format's limit).
#[pyfunction]
pub fn set_message_limit(limit: u64) -> PyResult<()> {
    if limit == 0 {
        return Err(PyValueError::new_err(
            "the message limit must be at least 1 byte",
        ));
    }
    frame::set_payload_limit(limit);
    Ok(())
}

/// The largest message, in pickled bytes, this process sends or accepts.
#[pyfunction]
pub fn message_limit() -> u64 {
    frame::payload_limit()
}

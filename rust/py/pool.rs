//! `_core.Pool`: the parent's worker processes, by seat.
//!
//! A pool has a fixed number of seats; each holds one worker process at a
//! time. A worker that dies leaves its seat empty until the pool fills it
//! again, with a new process number, so addresses of the dead actors never
//! name a new one. Placement picks a seat by load (`crate::pool::place`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::future::FutureState;
use super::node::Node;
use crate::pool::frame::Frame;
use crate::pool::ipc::Listener;
use crate::pool::{Load, WorkerProcess, exit_cause, place};
use crate::sync::lock;

/// Process numbers are never reused, across pools too: 0 is the parent.
static NEXT_PROCESS: AtomicU32 = AtomicU32::new(1);

struct Seat {
    process: u32,
    pid: u32,
    retiring: Arc<AtomicBool>,
}

/// The parent's worker processes: starting them, placing actors on them,
/// shutting them down.
///
/// Workers connect to a Unix socket in a private directory and prove
/// themselves with a token before anything they send is read.
#[pyclass(name = "Pool", module = "pykka_rs._core", frozen)]
pub struct PyPool {
    /// Taken out (cloned) under a short lock: never held while waiting.
    listener: Mutex<Option<Arc<Listener>>>,
    seats: Mutex<Vec<Option<Seat>>>,
    /// Set first thing by `shutdown`; a start in progress then gives up.
    closed: AtomicBool,
}

fn os_error(err: &std::io::Error, what: &str) -> PyErr {
    PyOSError::new_err(format!("{what}: {err}"))
}

impl PyPool {
    fn listener(&self) -> PyResult<Arc<Listener>> {
        lock(&self.listener)
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the worker pool is shut down"))
    }
}

/// Accepts a worker's connection, waiting up to `patience`; `Ok(None)` if none came.
fn accept_for(
    listener: &Listener,
    patience: Duration,
) -> std::io::Result<Option<crate::pool::ipc::Greeted>> {
    let until = Instant::now() + patience;
    loop {
        match listener.try_accept(Duration::from_secs(5)) {
            Ok(Some(greeted)) => return Ok(Some(greeted)),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_micros(500)),
            Ok(None) => return Ok(None),
            // A stranger, or a peer that gave up: ignore it.
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::TimedOut
                ) => {}
            Err(err) => return Err(err),
        }
    }
}

/// Kills workers that were starting when the start failed or the pool closed.
fn abandon(starting: &mut HashMap<u32, (usize, WorkerProcess)>) {
    for (_, worker) in starting.values_mut() {
        worker.kill();
        drop(worker.wait());
    }
}

#[pymethods]
impl PyPool {
    /// Listen for `size` workers in a new private directory under `tmpdir`.
    #[new]
    fn new(size: usize, tmpdir: PathBuf) -> PyResult<Self> {
        if size == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "a worker pool needs at least one worker",
            ));
        }
        let listener = Listener::bind(&tmpdir)
            .map_err(|err| os_error(&err, "cannot open the worker socket"))?;
        Ok(Self {
            listener: Mutex::new(Some(Arc::new(listener))),
            seats: Mutex::new((0..size).map(|_| None).collect()),
            closed: AtomicBool::new(false),
        })
    }

    /// The number of seats.
    #[getter]
    fn size(&self) -> usize {
        lock(&self.seats).len()
    }

    /// The socket workers connect to.
    #[getter]
    fn socket_path(&self) -> PyResult<PathBuf> {
        Ok(self.listener()?.path().to_owned())
    }

    /// The token workers must present.
    #[getter]
    fn token<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, self.listener()?.token()))
    }

    /// Start a worker in each of `seats`: run `python` with `args`, with
    /// `bootstrap(process_number)` on its standard input, and wait up to
    /// `patience` seconds for all of them to connect. Return their process
    /// numbers.
    fn start_workers(
        &self,
        py: Python<'_>,
        seats: Vec<usize>,
        python: PathBuf,
        args: Vec<String>,
        bootstrap: &Bound<'_, PyAny>,
        patience: f64,
    ) -> PyResult<Vec<u32>> {
        let listener = self.listener()?;
        let mut starting: HashMap<u32, (usize, WorkerProcess)> = HashMap::new();
        for seat in &seats {
            if *seat >= self.size() {
                return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                    "no seat {seat}"
                )));
            }
            let process = NEXT_PROCESS.fetch_add(1, Ordering::Relaxed);
            let bytes: Vec<u8> = bootstrap.call1((process,))?.extract()?;
            let worker = WorkerProcess::spawn(&python, &args, &bytes)
                .map_err(|err| os_error(&err, "cannot start a worker process"))?;
            starting.insert(process, (*seat, worker));
        }
        let deadline = Instant::now()
            + Duration::try_from_secs_f64(patience).unwrap_or(Duration::from_secs(30));
        let node = Node::get();
        let mut started = Vec::new();
        while !starting.is_empty() {
            if self.closed.load(Ordering::SeqCst) {
                abandon(&mut starting);
                return Err(PyRuntimeError::new_err("the worker pool is shut down"));
            }
            let greeted = py.detach(|| accept_for(&listener, Duration::from_millis(20)));
            let greeted = match greeted {
                Ok(greeted) => greeted,
                Err(err) => {
                    abandon(&mut starting);
                    return Err(os_error(&err, "the worker socket failed"));
                }
            };
            if let Some(greeted) = greeted {
                let Some((seat, worker)) = starting.remove(&greeted.worker) else {
                    continue; // not one of ours any more
                };
                let pid = worker.pid();
                node.connect(greeted.worker, greeted.stream)
                    .map_err(|err| os_error(&err, "cannot read from a worker"))?;
                let retiring = node.adopt(greeted.worker, worker);
                let mut seats = lock(&self.seats);
                if self.closed.load(Ordering::SeqCst) {
                    // Shut down meanwhile: this worker goes the way of the others.
                    drop(seats);
                    retiring.store(true, Ordering::SeqCst);
                    drop(node.send_frame(greeted.worker, &Frame::Shutdown, &[]));
                    continue;
                }
                seats[seat] = Some(Seat {
                    process: greeted.worker,
                    pid,
                    retiring,
                });
                started.push(greeted.worker);
                continue;
            }
            let exited = starting.iter_mut().find_map(|(process, (_, worker))| {
                let status = worker.try_wait().ok().flatten()?;
                Some((*process, worker.pid(), status))
            });
            if let Some((process, pid, status)) = exited {
                abandon(&mut starting);
                return Err(PyRuntimeError::new_err(format!(
                    "worker process {process} (pid {pid}) {} while starting; its error output says why",
                    exit_cause(status)
                )));
            }
            if Instant::now() >= deadline {
                abandon(&mut starting);
                return Err(PyRuntimeError::new_err(format!(
                    "worker processes did not connect within {patience} seconds"
                )));
            }
            py.check_signals()?;
        }
        Ok(started)
    }

    /// The seat and process number for the next actor: the live worker with
    /// the fewest actors, then the fewest messages waiting. `None` if no
    /// worker is up.
    fn place(&self) -> Option<(usize, u32)> {
        let loads = Node::get().loads();
        let seats = lock(&self.seats);
        let candidates: Vec<Load> = seats
            .iter()
            .map(|seat| {
                seat.as_ref()
                    .and_then(|seat| loads.get(&seat.process).copied())
                    .unwrap_or_default()
            })
            .collect();
        let chosen = place(&candidates)?;
        Some((chosen, seats[chosen].as_ref()?.process))
    }

    /// The process number in `seat`, or `None` while it is empty.
    fn process_in(&self, seat: usize) -> PyResult<Option<u32>> {
        lock(&self.seats)
            .get(seat)
            .map(|seat| seat.as_ref().map(|seat| seat.process))
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("no seat {seat}")))
    }

    /// Empty the seat of `process` (it died); return the seat, if it had one.
    fn vacate(&self, process: u32) -> Option<usize> {
        let mut seats = lock(&self.seats);
        let index = seats
            .iter()
            .position(|seat| seat.as_ref().is_some_and(|seat| seat.process == process))?;
        seats[index] = None;
        Some(index)
    }

    /// Ask worker `process` to make an actor from the pickled `payload`;
    /// wait for its answer (the new actor's number there) or raise the
    /// exception making it raised. `label` names the actor in errors.
    #[pyo3(signature = (process, payload, label, timeout = None))]
    fn spawn_actor(
        &self,
        py: Python<'_>,
        process: u32,
        payload: &[u8],
        label: String,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let state = Arc::new(FutureState::default());
        let node = Node::get();
        let sent = py.detach(|| node.spawn(process, payload, Arc::clone(&state), label));
        sent.map_err(PyRuntimeError::new_err)?;
        let actor = state.get(py, timeout)?;
        node.count_actor(process);
        Ok(actor)
    }

    /// The workers, as dicts: seat, process, pid, actors, waiting.
    fn workers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let loads = Node::get().loads();
        let list = PyList::empty(py);
        for (index, seat) in lock(&self.seats).iter().enumerate() {
            let Some(seat) = seat else { continue };
            let load = loads.get(&seat.process).copied().unwrap_or_default();
            let entry = PyDict::new(py);
            entry.set_item("seat", index)?;
            entry.set_item("process", seat.process)?;
            entry.set_item("pid", seat.pid)?;
            entry.set_item("actors", load.actors)?;
            entry.set_item("waiting", load.waiting)?;
            list.append(entry)?;
        }
        Ok(list)
    }

    /// Ask every worker to stop its actors and exit; kill those still
    /// running after `patience` seconds; remove the socket and its
    /// directory. The pool cannot be used afterwards.
    fn shutdown(&self, py: Python<'_>, patience: f64) {
        self.closed.store(true, Ordering::SeqCst);
        let seats: Vec<Seat> = lock(&self.seats)
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        let node = Node::get();
        let deadline = Instant::now() + Duration::try_from_secs_f64(patience).unwrap_or_default();
        py.detach(|| {
            for seat in &seats {
                seat.retiring.store(true, Ordering::SeqCst);
                drop(node.send_frame(seat.process, &Frame::Shutdown, &[]));
            }
            for seat in &seats {
                node.await_exit(seat.process, deadline);
            }
        });
        drop(lock(&self.listener).take());
    }

    /// Whether the pool was shut down.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

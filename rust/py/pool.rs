//! `_core.Pool`: the parent's worker processes (`crate::pool::parent`), for Python.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use super::errors::os_error;
use super::future::FutureState;
use super::gil;
use super::node::{self, PyRuntime};
use crate::pool::parent::{Pool, Settings};

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!("{what} must be a non-negative number of seconds"))
    })
}

/// The parent's worker processes: starting them, keeping every seat filled,
/// placing actors on them, shutting them down.
///
/// Workers connect to a Unix socket in a private directory, and each side
/// proves to the other that it holds the pool's secret before anything
/// either sends is read.
#[pyclass(name = "Pool", module = "pykka_rs._core", frozen)]
pub struct PyPool {
    inner: Arc<Pool<PyRuntime>>,
}

#[pymethods]
impl PyPool {
    /// Listen for `size` workers in a new private directory under `tmpdir`;
    /// `start()` starts them.
    #[new]
    fn new(size: usize, tmpdir: PathBuf) -> PyResult<Self> {
        if size == 0 {
            return Err(PyValueError::new_err(
                "a worker pool needs at least one worker",
            ));
        }
        let inner = Pool::bind(node::get(), size, &tmpdir)
            .map_err(|err| os_error(&err, "cannot open the worker socket"))?;
        Ok(Self { inner })
    }

    /// The number of seats.
    #[getter]
    fn size(&self) -> usize {
        self.inner.size()
    }

    /// The socket workers connect to.
    #[getter]
    fn socket_path(&self) -> PathBuf {
        self.inner.socket().to_owned()
    }

    /// The secret workers must prove they hold; it goes to them through
    /// their standard input, never through the socket.
    #[getter]
    fn secret<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.secret().as_bytes())
    }

    /// Start a worker in every seat: run `python` with `args`, with the
    /// worker's process number (u32, little-endian) then `bootstrap` on its
    /// standard input. A worker must connect within `start_patience`
    /// seconds; one whose link stays silent for `heartbeat_timeout` seconds
    /// (None: never) is killed and replaced, as is one that dies.
    #[pyo3(signature = (python, args, bootstrap, start_patience, heartbeat_timeout = None))]
    fn start(
        &self,
        python: PathBuf,
        args: Vec<OsString>,
        bootstrap: Vec<u8>,
        start_patience: f64,
        heartbeat_timeout: Option<f64>,
    ) -> PyResult<()> {
        let settings = Settings {
            program: python,
            args,
            bootstrap,
            start_patience: seconds(start_patience, "start_patience")?,
            handshake_patience: Duration::from_secs(5),
            heartbeat_timeout: heartbeat_timeout
                .map(|t| seconds(t, "heartbeat_timeout"))
                .transpose()?,
        };
        self.inner
            .start(settings)
            .map_err(|err| os_error(&err, "cannot start the worker pool"))
    }

    /// Wait up to `timeout` seconds for every seat to have a worker; return
    /// whether they all have one. Raise `RuntimeError` if a worker failed to
    /// start before then.
    fn wait_ready(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let deadline = Instant::now() + seconds(timeout, "timeout")?;
        let pool = &self.inner;
        let ready = gil::wait_released(py, Some(deadline), |until| match pool.wait_ready(until) {
            Ok(false) => None,
            done => Some(done),
        })?;
        Ok(ready.transpose()?.unwrap_or(false))
    }

    /// The process number of the worker in `seat`, or of the least busy
    /// worker when `seat` is None, waiting up to `timeout` seconds while
    /// workers (re)start; None if none is up by then.
    #[pyo3(signature = (seat, timeout))]
    fn wait_for_worker(
        &self,
        py: Python<'_>,
        seat: Option<usize>,
        timeout: f64,
    ) -> PyResult<Option<u32>> {
        let deadline = Instant::now() + seconds(timeout, "timeout")?;
        let pool = &self.inner;
        let found = gil::wait_released(py, Some(deadline), |until| {
            match pool.wait_for_worker(seat, until) {
                Ok(None) => None,
                done => Some(done),
            }
        })?;
        Ok(found.transpose()?.flatten())
    }

    /// Ask worker `process` to make an actor from the pickled `payload`;
    /// wait for its answer (the new actor's number there) or raise the
    /// exception making it raised. `label` names the actor in errors.
    /// With `count`, the worker counts one actor more for placement, until
    /// the actor's stop is announced; a supervisor's request that makes no
    /// new mailbox is not counted.
    #[pyo3(signature = (process, payload, label, timeout = None, *, count = true))]
    fn spawn_actor(
        &self,
        py: Python<'_>,
        process: u32,
        payload: &[u8],
        label: String,
        timeout: Option<&Bound<'_, PyAny>>,
        count: bool,
    ) -> PyResult<Py<PyAny>> {
        let state = Arc::new(FutureState::default());
        let here = node::get();
        let sent = py.detach(|| here.spawn(process, payload, Arc::clone(&state), label.clone()));
        if let Err(err) = sent {
            return Err(super::errors::ActorDeadError::new_err(format!(
                "{label} could not be started: {err}"
            )));
        }
        let actor = state.get(py, timeout)?;
        if count {
            here.count_actor(process);
        }
        Ok(actor)
    }

    /// The workers that are up, as dicts: seat, process, pid, actors,
    /// waiting, and restarts (how often the seat's worker died and was replaced).
    fn workers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for worker in self.inner.workers() {
            let entry = PyDict::new(py);
            entry.set_item("seat", worker.seat)?;
            entry.set_item("process", worker.process)?;
            entry.set_item("pid", worker.pid)?;
            entry.set_item("actors", worker.load.actors)?;
            entry.set_item("waiting", worker.load.waiting)?;
            entry.set_item("restarts", worker.restarts)?;
            list.append(entry)?;
        }
        Ok(list)
    }

    /// Ask every worker to stop its actors and exit; kill those still
    /// running after `patience` seconds; remove the socket and its
    /// directory. Return the workers that had to be killed, as
    /// `(process, pid, actors)` tuples, `actors` being the registry payloads
    /// of the actors they still had. The pool cannot be used afterwards.
    fn shutdown<'py>(&self, py: Python<'py>, patience: f64) -> PyResult<Bound<'py, PyList>> {
        let patience = seconds(patience, "patience")?;
        let pool = &self.inner;
        let killed = py.detach(|| pool.shutdown(patience));
        let list = PyList::empty(py);
        for worker in killed {
            let actors: Vec<Bound<'py, PyBytes>> = worker
                .actors
                .iter()
                .map(|entry| PyBytes::new(py, &entry.payload))
                .collect();
            list.append(PyTuple::new(
                py,
                [
                    worker.process.into_pyobject(py)?.into_any(),
                    worker.pid.into_pyobject(py)?.into_any(),
                    PyList::new(py, actors)?.into_any(),
                ],
            )?)?;
        }
        Ok(list)
    }

    /// Kill worker `process` (SIGKILL) now, `why` being the cause its death
    /// is reported with, e.g. "was killed by its supervisor". The pool
    /// replaces it, as any worker that dies. Does nothing if no such worker
    /// is running.
    fn kill(&self, process: u32, why: String) {
        node::get().kill(process, Some(why));
    }

    /// Whether the pool was shut down.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

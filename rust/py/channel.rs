//! `_core.Channel`: the core [`Channel`] holding Python objects.
//!
//! Blocking sends and receives wait with the GIL released, in slices so
//! Ctrl-C interrupts them (see `gil.rs`). Readiness callbacks let an event
//! loop, or the process's channel servant, wait without a thread and
//! without polling. `pykka_rs/_channel.py` wraps this in `Channel`, which
//! adds iteration, asyncio and pickling to other processes.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::gil;
use crate::channel::{Channel, RecvError, SendError};
use crate::sync::lock;

/// A bounded channel of Python objects, in this process.
///
/// `send` waits while the channel is full, `recv` while it is empty, both
/// with the GIL released; `close` refuses further sends and lets receivers
/// take what is queued first.
#[pyclass(name = "Channel", module = "pykka_rs._core", frozen)]
pub struct PyChannel {
    inner: Arc<Channel<Py<PyAny>>>,
}

/// A readiness callback for the core: calls `callback()` attached to the
/// interpreter, reporting what it raises as unraisable.
fn python_callback(callback: Py<PyAny>) -> impl FnOnce() + Send + 'static {
    move || {
        // During interpreter shutdown there is nobody left to tell.
        Python::try_attach(|py| {
            if let Err(err) = callback.bind(py).call0() {
                err.write_unraisable(py, Some(callback.bind(py)));
            }
            drop(callback);
        });
    }
}

#[pymethods]
impl PyChannel {
    #[new]
    #[pyo3(signature = (capacity, name = ""))]
    fn new(capacity: usize, name: &str) -> PyResult<Self> {
        let inner =
            Channel::new(capacity, name).map_err(|err| PyValueError::new_err(err.to_string()))?;
        Ok(Self { inner })
    }

    /// The most items the channel holds.
    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// What the channel is called.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The channel's number in this process.
    #[getter]
    fn number(&self) -> u64 {
        self.inner.number()
    }

    /// Whether the channel was closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Queue `item`, waiting while the channel is full.
    ///
    /// Waits up to `timeout` seconds (forever if None). Raise `Timeout` if
    /// it stays full, `ChannelClosed` if it is closed.
    #[pyo3(signature = (item, timeout = None))]
    fn send(
        &self,
        py: Python<'_>,
        item: Py<PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let item = match self.inner.try_send(item) {
            Ok(()) => return Ok(()),
            Err(SendError::Full(item)) => item,
            Err(err) => return Err(err.into()),
        };
        let deadline = gil::deadline(timeout)?;
        // The item goes back into the cell whenever a slice ends, so it is
        // never lost to a signal handler that ends the wait.
        let cell = Mutex::new(Some(item));
        let channel = &self.inner;
        let sent = gil::wait_released(py, deadline, |until| {
            let item = lock(&cell).take()?;
            match channel.send_until(item, Some(until)) {
                Ok(()) => Some(Ok(())),
                Err(SendError::TimedOut(item)) => {
                    *lock(&cell) = Some(item);
                    None
                }
                Err(err) => Some(Err(err)),
            }
        });
        let left = lock(&cell).take();
        drop(left);
        match sent? {
            Some(Ok(())) => Ok(()),
            Some(Err(err)) => Err(err.into()),
            None => Err(SendError::TimedOut(()).into()),
        }
    }

    /// Queue `item` if there is room now.
    ///
    /// Raise `ChannelFull` if not, `ChannelClosed` if the channel is closed.
    fn try_send(&self, item: Py<PyAny>) -> PyResult<()> {
        self.inner.try_send(item).map_err(PyErr::from)
    }

    /// Take the next item, waiting while the channel is empty.
    ///
    /// Waits up to `timeout` seconds (forever if None). Raise `Timeout` if
    /// it stays empty, `ChannelClosed` once it is closed and empty.
    #[pyo3(signature = (timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        match self.inner.try_recv() {
            Ok(item) => return Ok(item),
            Err(RecvError::Empty) => {}
            Err(err) => return Err(err.into()),
        }
        let deadline = gil::deadline(timeout)?;
        let channel = &self.inner;
        let got = gil::wait_released(py, deadline, |until| {
            match channel.recv_until(Some(until)) {
                Err(RecvError::TimedOut) => None,
                other => Some(other),
            }
        })?;
        match got {
            Some(got) => got.map_err(PyErr::from),
            None => Err(RecvError::TimedOut.into()),
        }
    }

    /// Take the next item if one is queued.
    ///
    /// Raise `ChannelEmpty` if not, `ChannelClosed` once the channel is
    /// closed and empty.
    fn try_recv(&self) -> PyResult<Py<PyAny>> {
        self.inner.try_recv().map_err(PyErr::from)
    }

    /// Close the channel; return whether it was open.
    fn close(&self) -> bool {
        self.inner.close()
    }

    /// Call `callback()` once an item is queued or the channel is closed.
    ///
    /// Now if so already, else on the thread that makes it so.
    fn when_readable(&self, callback: Py<PyAny>) {
        self.inner.when_readable(python_callback(callback));
    }

    /// Call `callback()` once there is room or the channel is closed.
    ///
    /// Now if so already, else on the thread that makes it so.
    fn when_writable(&self, callback: Py<PyAny>) {
        self.inner.when_writable(python_callback(callback));
    }

    /// The channel's counters.
    ///
    /// `name`, `capacity`, `waiting`, `sent`, `received`, `high_water`, `closed`.
    fn record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let record = self.inner.record();
        let dict = PyDict::new(py);
        dict.set_item("name", record.name)?;
        dict.set_item("capacity", record.capacity)?;
        dict.set_item("waiting", record.waiting)?;
        dict.set_item("sent", record.sent)?;
        dict.set_item("received", record.received)?;
        dict.set_item("high_water", record.high_water)?;
        dict.set_item("closed", record.closed)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        format!(
            "<pykka_rs._core.Channel {:?}: {}/{}>",
            self.inner.name(),
            self.inner.len(),
            self.inner.capacity()
        )
    }
}

impl Drop for PyChannel {
    fn drop(&mut self) {
        // Items and callbacks hold Python objects: drop them attached.
        let (items, callbacks) = self.inner.take_all();
        if items.is_empty() && callbacks.is_empty() {
            return;
        }
        Python::try_attach(|_py| {
            drop(items);
            drop(callbacks);
        });
    }
}

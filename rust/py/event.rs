//! `_core.Event`: the core [`Event`] with `threading.Event`'s methods.

use std::sync::Arc;

use pyo3::prelude::*;

use super::gil;
use crate::event::Event;

/// A flag threads can wait for, with the methods of `threading.Event`.
///
/// An actor's `actor_stopped` is one of these; its mailbox refuses messages
/// once it is set. Waiting releases the GIL.
#[pyclass(name = "Event", module = "pykka_rs._core", frozen)]
pub struct PyEvent {
    pub(crate) inner: Arc<Event>,
}

#[pymethods]
impl PyEvent {
    #[new]
    fn new() -> Self {
        Self {
            inner: Arc::new(Event::new()),
        }
    }

    /// Return True if and only if the flag is set.
    fn is_set(&self) -> bool {
        self.inner.is_set()
    }

    /// Set the flag and wake every thread waiting for it.
    fn set(&self) {
        self.inner.set();
    }

    /// Reset the flag.
    fn clear(&self) {
        self.inner.clear();
    }

    /// Block until the flag is set or `timeout` seconds pass; return the flag.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        if self.inner.is_set() {
            return Ok(true);
        }
        let deadline = gil::deadline(timeout)?;
        let event = &self.inner;
        let set = gil::wait_released(py, deadline, |until| event.wait(Some(until)).then_some(()))?;
        Ok(set.is_some())
    }

    fn __repr__(&self) -> String {
        let state = if self.inner.is_set() { "set" } else { "unset" };
        format!("<pykka_rs._core.Event: {state}>")
    }
}

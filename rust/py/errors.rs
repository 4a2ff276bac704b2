//! The one place a [`CoreError`] becomes a Python exception.
//!
//! The exception classes are defined in Python (`pykka_rs._exceptions`) and
//! imported here, so there is one class object: it pickles by name, and
//! `except pykka_rs.ActorDeadError` catches errors raised by the core too.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::error::CoreError;

pyo3::import_exception!(pykka_rs._exceptions, ActorDeadError);
pyo3::import_exception!(pykka_rs._exceptions, Timeout);

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        match err {
            CoreError::ActorDead(_) => ActorDeadError::new_err(err.to_string()),
            CoreError::Timeout(_) => Timeout::new_err(err.to_string()),
            CoreError::AlreadySet => PyRuntimeError::new_err(err.to_string()),
        }
    }
}

/// Pykka's timeout error, `f"{timeout} seconds"`, with the timeout exactly
/// as the caller gave it.
pub fn timeout_error(timeout: Option<&Bound<'_, PyAny>>) -> PyErr {
    let text = timeout
        .and_then(|t| t.str().ok())
        .map_or_else(|| "None".to_owned(), |t| t.to_string());
    Timeout::new_err(format!("{text} seconds"))
}

//! Every blocking wait goes through here: the GIL is released while waiting,
//! and the wait is cut into slices so Python can run signal handlers between
//! them (Ctrl-C interrupts `Future.get()` within a slice).

use std::time::{Duration, Instant};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// How long a wait runs between two looks at pending signals.
pub const SLICE: Duration = Duration::from_millis(50);

/// The deadline for a Python `timeout` in seconds: `None` waits forever, zero
/// or less means "only if it is already there".
///
/// # Errors
/// `TypeError` for a timeout that is not a number, `ValueError` for NaN.
pub fn deadline(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Instant>> {
    let Some(timeout) = timeout else {
        return Ok(None);
    };
    let seconds: f64 = timeout.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "timeout must be a number of seconds or None, not {}",
            timeout
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string())
        ))
    })?;
    if seconds.is_nan() {
        return Err(PyValueError::new_err(
            "timeout must be a number of seconds, not NaN",
        ));
    }
    let now = Instant::now();
    if seconds <= 0.0 {
        return Ok(Some(now));
    }
    // A timeout too large to represent is as good as none.
    Ok(Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|after| now.checked_add(after)))
}

/// The seconds left until `deadline`, as a Python float for a `timeout`
/// argument (`None` without a deadline, 0 once it passed).
pub fn remaining(py: Python<'_>, deadline: Option<Instant>) -> Option<Bound<'_, PyAny>> {
    deadline.map(|deadline| {
        let left = deadline.saturating_duration_since(Instant::now());
        pyo3::types::PyFloat::new(py, left.as_secs_f64()).into_any()
    })
}

/// Calls `attempt` with the GIL released until it produces a value or
/// `deadline` passes (`Ok(None)`). `attempt` gets the end of the current
/// slice and should give up there. Signal handlers run between slices; an
/// exception one raises ends the wait.
///
/// # Errors
/// Whatever a signal handler raised, typically `KeyboardInterrupt`.
pub fn wait_released<R, F>(
    py: Python<'_>,
    deadline: Option<Instant>,
    attempt: F,
) -> PyResult<Option<R>>
where
    R: Send,
    F: Fn(Instant) -> Option<R> + Send + Sync,
{
    loop {
        let slice_end = Instant::now() + SLICE;
        let until = deadline.map_or(slice_end, |d| d.min(slice_end));
        if let Some(value) = py.detach(|| attempt(until)) {
            return Ok(Some(value));
        }
        py.check_signals()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
    }
}

//! `_core.dead_letters()` and friends: the dead-letter log of this process
//! (see [`crate::dead_letters`]) as Python reads it.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::dead_letters as log;

/// The messages of this process that reached no actor, oldest first, as
/// `(receiver, message, reason, time)` tuples: who it was for, its
/// shortened `repr()` (or a description), why, and when (seconds since
/// the epoch). The log keeps the latest ones (1000 unless
/// `keep_dead_letters()` says otherwise).
#[pyfunction]
pub fn dead_letters(py: Python<'_>) -> Vec<(String, String, String, f64)> {
    py.detach(log::recent)
        .into_iter()
        .map(|letter| (letter.receiver, letter.message, letter.reason, letter.time))
        .collect()
}

/// Keep at most `count` dead letters from now on (0 keeps none; every one
/// is still counted). Raise `ValueError` for a negative count.
#[pyfunction]
pub fn keep_dead_letters(count: i64) -> PyResult<()> {
    let count = usize::try_from(count).map_err(|_| {
        PyValueError::new_err(format!(
            "the dead-letter log keeps 0 or more letters, not {count}"
        ))
    })?;
    log::set_kept(count);
    Ok(())
}

/// Forget the dead letters kept so far; the count in `stats()` stays.
#[pyfunction]
pub fn clear_dead_letters() {
    log::clear();
}

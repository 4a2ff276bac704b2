//! `_core.dead_letters()` and friends: the dead-letter log of this process
//! (see [`crate::dead_letters`]) as Python reads it.

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::gil;
use crate::dead_letters as log;

/// A letter as Python sees it: `(receiver, message, reason, time)`.
type Letter = (String, String, String, f64);

fn as_tuple(letter: log::DeadLetter) -> Letter {
    (letter.receiver, letter.message, letter.reason, letter.time)
}

/// The messages of this process that reached no actor, oldest first, as
/// `(receiver, message, reason, time)` tuples: who it was for, its
/// shortened `repr()` (or a description), why, and when (seconds since
/// the epoch). The log keeps the latest ones (1000 unless
/// `keep_dead_letters()` says otherwise).
#[pyfunction]
pub fn dead_letters(py: Python<'_>) -> Vec<Letter> {
    py.detach(log::recent).into_iter().map(as_tuple).collect()
}

/// The number of the latest dead letter of this process (0 before any).
#[pyfunction]
pub fn last_dead_letter() -> u64 {
    log::last()
}

/// Wait up to `timeout` seconds, GIL released, for dead letters newer than
/// number `after`; return `(latest, letters)`: the number of the latest
/// letter recorded and the newer letters still kept, oldest first (fewer
/// than `latest - after` if the log dropped some first). Raise `ValueError`
/// for a negative or NaN timeout.
#[pyfunction]
pub fn newer_dead_letters(
    py: Python<'_>,
    after: u64,
    timeout: f64,
) -> PyResult<(u64, Vec<Letter>)> {
    let wait = Duration::try_from_secs_f64(timeout).map_err(|_| {
        PyValueError::new_err(format!("timeout must be 0 or more seconds, not {timeout}"))
    })?;
    let deadline = Instant::now().checked_add(wait);
    let found = gil::wait_released(py, deadline, |until| {
        let (latest, letters) = log::newer(after, until);
        (latest > after).then_some((latest, letters))
    })?;
    let (latest, letters) = found.unwrap_or((log::last(), Vec::new()));
    Ok((latest, letters.into_iter().map(as_tuple).collect()))
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

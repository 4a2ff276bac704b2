//! The metrics as Python reads them: one mailbox's counters as a dict, this
//! process's report, a worker's report (through the node's `GatherStats`),
//! and the switch.
//!
//! A report travels as a pickle made by serde-pickle (see
//! `crate::node::metrics`); this process's own goes through the same
//! encoding, so Python reads one shape whichever process a report came from.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::future::{FutureState, Outcome, PySlot};
use super::node;
use super::pickling;
use crate::metrics::{self, MailboxSnapshot};

/// A mailbox's counters as a dict, keyed as the reports' `mailbox` entries are.
pub fn snapshot_dict<'py>(py: Python<'py>, snap: &MailboxSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("waiting", snap.waiting)?;
    dict.set_item("sent", snap.sent)?;
    dict.set_item("processed", snap.processed)?;
    dict.set_item("failed", snap.failed)?;
    dict.set_item("dropped", snap.dropped)?;
    dict.set_item("high_water", snap.high_water)?;
    dict.set_item("busy_nanos", snap.busy_nanos)?;
    dict.set_item("timed", snap.timed)?;
    dict.set_item("timed_nanos", snap.timed_nanos)?;
    dict.set_item("p50_nanos", snap.p50_nanos)?;
    dict.set_item("p90_nanos", snap.p90_nanos)?;
    dict.set_item("p99_nanos", snap.p99_nanos)?;
    Ok(dict)
}

/// This process's statistics: a dict with `process`, `usage` (`pid`,
/// `cpu_seconds`, `rss_bytes`), `dead_letters` and `actors`, a list of
/// dicts with `class`, `urn`, `number` and `mailbox` (the counters, as
/// `Mailbox.stats()` gives them). Reads atomics only: it never waits on an
/// actor.
#[pyfunction]
pub fn local_stats(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let encoded = py.detach(|| node::get().encoded_report());
    pickling::loads(py, &encoded.into())
}

/// Parent: ask worker `process` for its statistics; return a slot that
/// receives them, as `local_stats()` gives them for this process. The slot
/// fails with `ActorDeadError` if the worker dies or cannot be reached.
#[pyfunction]
pub fn gather_stats(py: Python<'_>, process: u32) -> PySlot {
    let state = Arc::new(FutureState::default());
    let sent = py.detach(|| node::get().gather(process, Arc::clone(&state)));
    if let Err(reason) = sent {
        drop(state.publish(Outcome::Undeliverable(format!("is unreachable: {reason}"))));
    }
    PySlot { state }
}

/// Turn the recording of handling times, outcomes and peaks on or off, in
/// this process (workers take the setting of their parent when they start).
#[pyfunction]
pub fn set_metrics(on: bool) {
    metrics::set_enabled(on);
}

/// Whether this process records handling times, outcomes and peaks.
#[pyfunction]
#[pyo3(name = "metrics")]
pub fn metrics_enabled() -> bool {
    metrics::enabled()
}

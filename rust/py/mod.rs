//! The Python bindings, `pykka_rs._core`: the only place PyO3 is named.
//!
//! One file per Python class, plus `errors.rs` (core errors to exceptions),
//! `gil.rs` (every blocking wait) and `python.rs` (every Python object and
//! private name the bindings use). The Python package wraps these in
//! Pykka's classes; see `pykka_rs/_core.pyi` for the interface.

// PyO3 hands pymethods their arguments by value, and a method keeps `self`
// even when it reads nothing of it, to be a method in Python.
#![allow(clippy::needless_pass_by_value, clippy::unused_self)]

mod actor;
mod buffer;
mod channel;
mod dead_letters;
mod envelope;
mod errors;
mod event;
mod future;
mod gil;
mod interp;
mod mailbox;
mod metrics;
mod node;
mod pickling;
mod pool;
mod python;
mod relay;
mod remote;
mod supervision;
mod system;

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Set how long a thread that waits for a message or a reply spins before it
/// sleeps, in seconds; 0 turns spinning off.
#[pyfunction]
fn set_spin(seconds: f64) -> PyResult<()> {
    let spin = Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err("spin must be a non-negative number of seconds"))?;
    crate::wait::set_spin(spin);
    Ok(())
}

/// How long a waiting thread spins before it sleeps, in seconds.
#[pyfunction]
fn spin() -> f64 {
    crate::wait::spin().as_secs_f64()
}

/// Panic inside the core with `message`. Exists to prove that a Rust panic
/// reaches Python as `pyo3_runtime.PanicException` instead of aborting.
#[pyfunction]
#[allow(clippy::panic)]
fn _panic(message: &str) {
    panic!("{message}");
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Forward the core's `log` records to Python's logging. No level cache,
    // so changes to Python's logging configuration apply at once. A second
    // import (another interpreter) keeps the logger installed first.
    let _ = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::Nothing)?.install();
    m.add_class::<event::PyEvent>()?;
    m.add_class::<future::PySlot>()?;
    m.add_class::<mailbox::PyMailbox>()?;
    m.add_class::<channel::PyChannel>()?;
    m.add_class::<remote::PyRemoteMailbox>()?;
    m.add_class::<relay::PyRelay>()?;
    m.add_class::<pool::PyPool>()?;
    m.add_class::<actor::PyActorThread>()?;
    supervision::register(m)?;
    buffer::register(m)?;
    m.add_function(wrap_pyfunction!(actor::run_actor_loop, m)?)?;
    m.add_function(wrap_pyfunction!(system::process, m)?)?;
    m.add_function(wrap_pyfunction!(system::join_pool, m)?)?;
    m.add_function(wrap_pyfunction!(system::leave_pool, m)?)?;
    m.add_function(wrap_pyfunction!(system::next_control, m)?)?;
    m.add_function(wrap_pyfunction!(system::control_barrier, m)?)?;
    m.add_function(wrap_pyfunction!(system::catch_up, m)?)?;
    m.add_function(wrap_pyfunction!(system::reply, m)?)?;
    m.add_function(wrap_pyfunction!(system::subscribe, m)?)?;
    m.add_function(wrap_pyfunction!(system::local_future, m)?)?;
    m.add_function(wrap_pyfunction!(system::send_log, m)?)?;
    m.add_function(wrap_pyfunction!(system::set_log_levels, m)?)?;
    m.add_function(wrap_pyfunction!(system::log_levels, m)?)?;
    m.add_function(wrap_pyfunction!(system::request, m)?)?;
    m.add_function(wrap_pyfunction!(system::announce_registered, m)?)?;
    m.add_function(wrap_pyfunction!(system::registered, m)?)?;
    m.add_function(wrap_pyfunction!(system::announce_unregistered, m)?)?;
    m.add_function(wrap_pyfunction!(system::withdraw, m)?)?;
    m.add_function(wrap_pyfunction!(system::next_seq, m)?)?;
    m.add_function(wrap_pyfunction!(system::disown, m)?)?;
    m.add_function(wrap_pyfunction!(system::disowned, m)?)?;
    m.add_function(wrap_pyfunction!(system::link_interpreter, m)?)?;
    m.add_function(wrap_pyfunction!(system::place, m)?)?;
    m.add_function(wrap_pyfunction!(system::spawn_actor, m)?)?;
    m.add_function(wrap_pyfunction!(system::shutdown_worker, m)?)?;
    m.add_function(wrap_pyfunction!(system::await_exit, m)?)?;
    m.add_function(wrap_pyfunction!(system::watch, m)?)?;
    m.add_function(wrap_pyfunction!(system::unwatch, m)?)?;
    m.add_function(wrap_pyfunction!(system::announce_exit, m)?)?;
    m.add_function(wrap_pyfunction!(system::set_message_limit, m)?)?;
    m.add_function(wrap_pyfunction!(system::message_limit, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::local_stats, m)?)?;
    m.add_function(wrap_pyfunction!(dead_letters::dead_letters, m)?)?;
    m.add_function(wrap_pyfunction!(dead_letters::keep_dead_letters, m)?)?;
    m.add_function(wrap_pyfunction!(dead_letters::clear_dead_letters, m)?)?;
    m.add_function(wrap_pyfunction!(dead_letters::last_dead_letter, m)?)?;
    m.add_function(wrap_pyfunction!(dead_letters::newer_dead_letters, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::gather_stats, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::set_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(set_spin, m)?)?;
    m.add_function(wrap_pyfunction!(spin, m)?)?;
    m.add_function(wrap_pyfunction!(_panic, m)?)?;
    Ok(())
}

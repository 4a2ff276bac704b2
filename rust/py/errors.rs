//! The one place the core's errors become Python exceptions.
//!
//! The exception classes are defined in Python (`pykka_rs._exceptions`) and
//! imported here, so there is one class object: it pickles by name, and
//! `except pykka_rs.ActorDeadError` catches errors raised by the core too.

use pyo3::exceptions::{PyIndexError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::channel::{RecvError, SendError as ChannelSendError};
use crate::error::CoreError;
use crate::node::SendError;
use crate::pool::parent::PoolError;
use crate::pool::worker::JoinError;
use crate::supervision::SupervisorError;
use crate::supervision::backoff::BackoffError;

pub use super::python::{ActorDeadError, Timeout};
use super::python::{ChannelClosed, ChannelEmpty, ChannelFull};

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        match err {
            CoreError::ActorDead(_) => ActorDeadError::new_err(err.to_string()),
            CoreError::Timeout(_) => Timeout::new_err(err.to_string()),
            CoreError::AlreadySet => PyRuntimeError::new_err(err.to_string()),
        }
    }
}

/// A channel's refusals: full and empty are `queue.Full` and `queue.Empty`
/// subclasses, as a Python user of queues expects; a wait that ran out is
/// `Timeout`, as for futures.
impl<T> From<ChannelSendError<T>> for PyErr {
    fn from(err: ChannelSendError<T>) -> PyErr {
        let text = err.to_string();
        match err {
            ChannelSendError::Full(_) => ChannelFull::new_err(text),
            ChannelSendError::TimedOut(_) => Timeout::new_err(text),
            ChannelSendError::Closed(_) => ChannelClosed::new_err(text),
        }
    }
}

impl From<RecvError> for PyErr {
    fn from(err: RecvError) -> PyErr {
        let text = err.to_string();
        match err {
            RecvError::Empty => ChannelEmpty::new_err(text),
            RecvError::TimedOut => Timeout::new_err(text),
            RecvError::Closed => ChannelClosed::new_err(text),
        }
    }
}

impl From<PoolError> for PyErr {
    fn from(err: PoolError) -> PyErr {
        match err {
            PoolError::NoSeat { .. } => PyIndexError::new_err(err.to_string()),
            PoolError::Closed | PoolError::StartFailed(_) => {
                PyRuntimeError::new_err(err.to_string())
            }
        }
    }
}

/// A supervisor given something it cannot use is a `ValueError`; one asked
/// for something its state or strategy does not allow, a `RuntimeError`.
impl From<SupervisorError> for PyErr {
    fn from(err: SupervisorError) -> PyErr {
        match err {
            SupervisorError::DuplicateChild(_)
            | SupervisorError::TemplateCount(_)
            | SupervisorError::ZeroWindow
            | SupervisorError::NotWaitingForStart(_)
            | SupervisorError::ExitBeforeStart(_)
            | SupervisorError::UnknownIncarnation(_)
            | SupervisorError::UnknownTimer(_) => PyValueError::new_err(err.to_string()),
            SupervisorError::NotStarted
            | SupervisorError::StartedTwice
            | SupervisorError::WrongStrategy { .. } => PyRuntimeError::new_err(err.to_string()),
        }
    }
}

impl From<JoinError> for PyErr {
    fn from(err: JoinError) -> PyErr {
        PyOSError::new_err(format!("cannot join the worker pool: {err}"))
    }
}

/// What a message to `label` that could not be sent raises at the call
/// (`ValueError` for one too large to send), or fails its asker's future
/// with (`ActorDeadError` naming why the actor cannot be reached).
pub fn send_failed(label: &str, err: &SendError) -> PyErr {
    match err {
        SendError::TooLarge(why) => PyValueError::new_err(format!("cannot send to {label}: {why}")),
        other => ActorDeadError::new_err(format!("{label} not found: {other}")),
    }
}

/// An `OSError` saying what could not be done and why.
pub fn os_error(err: &std::io::Error, what: &str) -> PyErr {
    PyOSError::new_err(format!("{what}: {err}"))
}

/// A backoff setting that cannot work is a `ValueError`.
impl From<BackoffError> for PyErr {
    fn from(err: BackoffError) -> PyErr {
        PyValueError::new_err(err.to_string())
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

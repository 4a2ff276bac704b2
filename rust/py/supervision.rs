//! `_core.SupervisorCore`: the supervisor's state machine
//! (`crate::supervision`) for a Python driver, and `_core.FakeClock`, a clock
//! tests move by hand.
//!
//! Specs come in as dicts and actions go out as tuples whose first item
//! names them, so a driver dispatches on `action[0]` and a test compares
//! whole lists. The machine sits behind a `Mutex`; Python objects are read
//! before it is locked and built after it is released, so no Python code
//! (a key's `__eq__`, say) runs while it is held. Nothing here waits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyTuple};

use crate::supervision::backoff::{Backoff, SplitMix64};
use crate::supervision::intensity::{Clock, FakeClock, SystemClock};
use crate::supervision::{
    Action, CallId, ChildId, ChildKind, ChildSpec, ChildStatus, ExitReason, Flags, Incarnation,
    Reply, RestartType, Shutdown, Strategy, Supervisor, TimerId,
};
use crate::sync::lock;

/// Adds `SupervisorCore` and `FakeClock` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySupervisorCore>()?;
    m.add_class::<PyFakeClock>()?;
    Ok(())
}

/// A clock that moves only when told to, for driving a `SupervisorCore`
/// in tests without sleeping. Starts at 0.
#[pyclass(name = "FakeClock", module = "pykka_rs._core", frozen)]
pub struct PyFakeClock {
    inner: Arc<FakeClock>,
}

#[pymethods]
impl PyFakeClock {
    #[new]
    fn new() -> Self {
        Self {
            inner: Arc::new(FakeClock::default()),
        }
    }

    /// Move the clock forward by `seconds` (zero or more).
    fn advance(&self, seconds: f64) -> PyResult<()> {
        self.inner
            .advance(seconds_arg("the time to advance by", seconds)?);
        Ok(())
    }

    /// The time on the clock, in seconds.
    fn now(&self) -> f64 {
        self.inner.now().as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!(
            "<pykka_rs._core.FakeClock: {}s>",
            self.inner.now().as_secs_f64()
        )
    }
}

/// The deciding half of an OTP supervisor: feed it events, carry out the
/// actions it returns, in order.
///
/// Every method that changes something returns a list of actions, tuples
/// whose first item names them: `("start", id, incarnation)`,
/// `("stop", id, incarnation, shutdown)`, `("schedule", timer, seconds)`,
/// `("reply", call, True, None | (id, incarnation))`,
/// `("reply", call, False, (code, message))`, `("ready",)`,
/// `("escalate", code, id, message)` and `("stopped",)`. Answer each start
/// with `started` or `start_failed`, report each child's end with `exited`,
/// and call `timer_fired` when a scheduled timer runs out. A child's id is
/// its spec's id (a str), or for a `simple_one_for_one` supervisor the
/// number `start_dynamic_child` gave it.
#[pyclass(name = "SupervisorCore", module = "pykka_rs._core", frozen)]
pub struct PySupervisorCore {
    inner: Mutex<Supervisor>,
}

impl PySupervisorCore {
    /// Runs `f` on the machine, then turns its actions into Python tuples
    /// once the lock is released.
    fn apply<'py>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(&mut Supervisor) -> Result<Vec<Action>, crate::supervision::SupervisorError>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let actions = f(&mut lock(&self.inner))?;
        actions_to_py(py, &actions)
    }
}

#[pymethods]
impl PySupervisorCore {
    #[new]
    #[pyo3(signature = (
        strategy = "one_for_one",
        children = Vec::new(),
        *,
        max_restarts = 1,
        within = 5.0,
        backoff = None,
        clock = None,
        seed = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        strategy: &str,
        children: Vec<Bound<'_, PyAny>>,
        max_restarts: i64,
        within: f64,
        backoff: Option<&Bound<'_, PyAny>>,
        clock: Option<PyRef<'_, PyFakeClock>>,
        seed: Option<u64>,
    ) -> PyResult<Self> {
        let strategy: Strategy = strategy.parse().map_err(|_| {
            PyValueError::new_err(format!(
                "strategy must be one of one_for_one, one_for_all, rest_for_one, \
                 simple_one_for_one, not {strategy:?}"
            ))
        })?;
        let specs = children
            .iter()
            .map(spec_from_py)
            .collect::<PyResult<Vec<ChildSpec>>>()?;
        let max_restarts = u32::try_from(max_restarts).map_err(|_| {
            PyValueError::new_err(format!(
                "max_restarts must be a whole number from 0 to {}, not {max_restarts}",
                u32::MAX
            ))
        })?;
        let within = Duration::try_from_secs_f64(within)
            .map_err(|_| PyValueError::new_err("within must be a positive number of seconds"))?;
        let flags = Flags {
            strategy,
            max_restarts,
            within,
            backoff: backoff.map(backoff_from_py).transpose()?,
        };
        let clock: Box<dyn Clock + Send> = match clock {
            Some(fake) => Box::new(Arc::clone(&fake.inner)),
            None => Box::new(SystemClock::new()),
        };
        let random = seed.map_or_else(SplitMix64::from_entropy, SplitMix64::new);
        let supervisor = Supervisor::new(flags, specs, clock, random)?;
        Ok(Self {
            inner: Mutex::new(supervisor),
        })
    }

    /// The strategy's name, e.g. `"one_for_one"`.
    #[getter]
    fn strategy(&self) -> &'static str {
        lock(&self.inner).strategy().name()
    }

    /// Where the supervisor is: `"created"`, `"starting"`, `"running"`,
    /// `"terminating"` or `"terminated"`.
    #[getter]
    fn phase(&self) -> &'static str {
        lock(&self.inner).phase().name()
    }

    /// Whether it waits for a start's outcome or a stop's exit; events and
    /// calls queue meanwhile.
    #[getter]
    fn busy(&self) -> bool {
        lock(&self.inner).is_busy()
    }

    /// Start the children in order; the actions end with `("ready",)`, or
    /// with `("escalate", ...)` if a child fails to start.
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.apply(py, Supervisor::start)
    }

    /// The start of `incarnation` succeeded.
    fn started<'py>(
        &self,
        py: Python<'py>,
        incarnation: u64,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.apply(py, |s| s.started(Incarnation(incarnation)))
    }

    /// The start of `incarnation` failed, for `reason`.
    fn start_failed<'py>(
        &self,
        py: Python<'py>,
        incarnation: u64,
        reason: String,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.apply(py, |s| s.start_failed(Incarnation(incarnation), reason))
    }

    /// `incarnation` has ended: `reason` is `"normal"`, `"shutdown"` or
    /// `"failure"` (with `detail` saying what failed).
    #[pyo3(signature = (incarnation, reason, detail = ""))]
    fn exited<'py>(
        &self,
        py: Python<'py>,
        incarnation: u64,
        reason: &str,
        detail: &str,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let reason = match reason {
            "normal" => ExitReason::Normal,
            "shutdown" => ExitReason::Shutdown,
            "failure" => ExitReason::Failure(detail.to_owned()),
            other => {
                return Err(PyValueError::new_err(format!(
                    "reason must be \"normal\", \"shutdown\" or \"failure\", not {other:?}"
                )));
            }
        };
        self.apply(py, |s| s.exited(Incarnation(incarnation), reason))
    }

    /// The timer of a `("schedule", timer, seconds)` action has run out.
    fn timer_fired<'py>(&self, py: Python<'py>, timer: u64) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.apply(py, |s| s.timer_fired(TimerId(timer)))
    }

    /// Stop every child in reverse start order; the actions end with
    /// `("stopped",)`.
    fn shutdown<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.apply(py, Supervisor::shutdown)
    }

    /// Add a child from `spec` (a dict: `id`, and optionally `restart`,
    /// `shutdown`, `kind`) and start it; answered by a reply to `call`.
    fn start_child<'py>(
        &self,
        py: Python<'py>,
        call: u64,
        spec: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let spec = spec_from_py(spec)?;
        self.apply(py, |s| s.start_child(CallId(call), spec))
    }

    /// Start a new child of a `simple_one_for_one` supervisor; return its
    /// number (keep its extra arguments under it) and the actions.
    fn start_dynamic_child<'py>(
        &self,
        py: Python<'py>,
        call: u64,
    ) -> PyResult<(u64, Vec<Bound<'py, PyTuple>>)> {
        let (id, actions) = lock(&self.inner).start_dynamic_child(CallId(call))?;
        let ChildId::Dynamic(number) = id else {
            unreachable!("a dynamic child has a number")
        };
        Ok((number, actions_to_py(py, &actions)?))
    }

    /// Stop child `id`; keep its spec unless it is temporary or dynamic.
    fn terminate_child<'py>(
        &self,
        py: Python<'py>,
        call: u64,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let id = id_from_py(id)?;
        self.apply(py, |s| s.terminate_child(CallId(call), id))
    }

    /// Start child `id`, which must not be running.
    fn restart_child<'py>(
        &self,
        py: Python<'py>,
        call: u64,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let id = id_from_py(id)?;
        self.apply(py, |s| s.restart_child(CallId(call), id))
    }

    /// Forget child `id`, which must not be running.
    fn delete_child<'py>(
        &self,
        py: Python<'py>,
        call: u64,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let id = id_from_py(id)?;
        self.apply(py, |s| s.delete_child(CallId(call), id))
    }

    /// Every child in start order, as `(id, state, kind)`: `state` is the
    /// running incarnation, `"restarting"` or None.
    fn which_children<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let children = lock(&self.inner).which_children();
        children
            .into_iter()
            .map(|info| {
                let state = match info.status {
                    ChildStatus::Running(incarnation) => {
                        incarnation.0.into_pyobject(py)?.into_any()
                    }
                    ChildStatus::Restarting => PyString::new(py, "restarting").into_any(),
                    ChildStatus::Undefined => py.None().into_bound(py),
                };
                (id_to_py(py, &info.id)?, state, info.kind.name()).into_pyobject(py)
            })
            .collect()
    }

    /// The counts: `specs`, `active`, `supervisors`, `workers`.
    fn count_children<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let counts = lock(&self.inner).count_children();
        let dict = PyDict::new(py);
        dict.set_item("specs", counts.specs)?;
        dict.set_item("active", counts.active)?;
        dict.set_item("supervisors", counts.supervisors)?;
        dict.set_item("workers", counts.workers)?;
        Ok(dict)
    }

    /// Child `id`'s spec as a dict with every key (a dynamic child's is the
    /// template), or None.
    fn child_spec<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let id = id_from_py(id)?;
        let spec = lock(&self.inner).child_spec(&id).cloned();
        spec.map(|spec| spec_to_py(py, &spec)).transpose()
    }

    fn __repr__(&self) -> String {
        let supervisor = lock(&self.inner);
        format!(
            "<pykka_rs._core.SupervisorCore: {}, {}, {} children>",
            supervisor.strategy(),
            supervisor.phase().name(),
            supervisor.count_children().specs
        )
    }
}

/// A duration argument in seconds: finite, zero or more.
fn seconds_arg(name: &str, seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be a finite number of seconds, zero or more, not {seconds}"
        ))
    })
}

fn id_from_py(id: &Bound<'_, PyAny>) -> PyResult<ChildId> {
    if let Ok(name) = id.cast::<PyString>() {
        return Ok(ChildId::Named(name.to_str()?.to_owned()));
    }
    if id.is_instance_of::<PyInt>() && !id.is_instance_of::<PyBool>() {
        let number: u64 = id.extract().map_err(|_| {
            PyValueError::new_err(format!("a dynamic child's number is 0 or more, not {id}"))
        })?;
        return Ok(ChildId::Dynamic(number));
    }
    Err(PyTypeError::new_err(format!(
        "a child id is a str (a spec's id) or an int (a dynamic child's number), not {}",
        type_name(id)
    )))
}

fn id_to_py<'py>(py: Python<'py>, id: &ChildId) -> PyResult<Bound<'py, PyAny>> {
    Ok(match id {
        ChildId::Named(name) => PyString::new(py, name).into_any(),
        ChildId::Dynamic(number) => number.into_pyobject(py)?.into_any(),
    })
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// The keys of `dict`, refusing any not in `allowed`.
fn check_keys(dict: &Bound<'_, PyDict>, what: &str, allowed: &[&str]) -> PyResult<()> {
    for key in dict.keys() {
        let known = key
            .cast::<PyString>()
            .ok()
            .and_then(|k| k.to_str().ok().map(|k| allowed.contains(&k)))
            .unwrap_or(false);
        if !known {
            return Err(PyValueError::new_err(format!(
                "unknown key {} in a {what}; the keys are {}",
                key.repr()?,
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn spec_from_py(spec: &Bound<'_, PyAny>) -> PyResult<ChildSpec> {
    let dict = spec.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "a child spec is a dict with the keys id, restart, shutdown and kind, not {}",
            type_name(spec)
        ))
    })?;
    check_keys(dict, "child spec", &["id", "restart", "shutdown", "kind"])?;
    let id = dict
        .get_item("id")?
        .ok_or_else(|| PyValueError::new_err("a child spec needs an id"))?;
    let id: String = id.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "a child spec's id is a str, not {}",
            type_name(&id)
        ))
    })?;
    let kind = match dict.get_item("kind")? {
        None => ChildKind::Worker,
        Some(kind) => match kind.extract::<String>().as_deref() {
            Ok("worker") => ChildKind::Worker,
            Ok("supervisor") => ChildKind::Supervisor,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "a child's kind is \"worker\" or \"supervisor\", not {}",
                    kind.repr()?
                )));
            }
        },
    };
    let mut spec = match kind {
        ChildKind::Worker => ChildSpec::worker(id),
        ChildKind::Supervisor => ChildSpec::supervisor(id),
    };
    if let Some(restart) = dict.get_item("restart")? {
        spec.restart = restart
            .extract::<String>()
            .ok()
            .and_then(|name| name.parse::<RestartType>().ok())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "a child's restart is \"permanent\", \"transient\" or \"temporary\", not {}",
                    restart
                        .repr()
                        .map_or_else(|_| "?".to_owned(), |r| r.to_string())
                ))
            })?;
    }
    if let Some(shutdown) = dict.get_item("shutdown")? {
        spec.shutdown = shutdown_from_py(&shutdown)?;
    }
    Ok(spec)
}

fn shutdown_from_py(shutdown: &Bound<'_, PyAny>) -> PyResult<Shutdown> {
    if let Ok(name) = shutdown.cast::<PyString>() {
        return match name.to_str()? {
            "brutal_kill" => Ok(Shutdown::BrutalKill),
            "infinity" => Ok(Shutdown::Infinity),
            other => Err(PyValueError::new_err(format!(
                "a child's shutdown is a number of seconds, \"brutal_kill\" or \"infinity\", \
                 not {other:?}"
            ))),
        };
    }
    let seconds: f64 = shutdown.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "a child's shutdown is a number of seconds, \"brutal_kill\" or \"infinity\", not {}",
            type_name(shutdown)
        ))
    })?;
    Ok(Shutdown::Timeout(seconds_arg(
        "a child's shutdown",
        seconds,
    )?))
}

fn shutdown_to_py(py: Python<'_>, shutdown: Shutdown) -> PyResult<Bound<'_, PyAny>> {
    Ok(match shutdown {
        Shutdown::BrutalKill => PyString::new(py, "brutal_kill").into_any(),
        Shutdown::Infinity => PyString::new(py, "infinity").into_any(),
        Shutdown::Timeout(after) => after.as_secs_f64().into_pyobject(py)?.into_any(),
    })
}

fn spec_to_py<'py>(py: Python<'py>, spec: &ChildSpec) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("id", &spec.id)?;
    dict.set_item("restart", spec.restart.name())?;
    dict.set_item("shutdown", shutdown_to_py(py, spec.shutdown)?)?;
    dict.set_item("kind", spec.kind.name())?;
    Ok(dict)
}

fn backoff_from_py(backoff: &Bound<'_, PyAny>) -> PyResult<Backoff> {
    let dict = backoff.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "backoff is a dict with the keys min, max, jitter and reset_after, not {}",
            type_name(backoff)
        ))
    })?;
    check_keys(dict, "backoff", &["min", "max", "jitter", "reset_after"])?;
    let seconds = |key: &str| -> PyResult<Option<Duration>> {
        match dict.get_item(key)? {
            None => Ok(None),
            Some(value) if value.is_none() => Ok(None),
            Some(value) => {
                let seconds: f64 = value.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "backoff's {key} is a number of seconds, not {}",
                        type_name(&value)
                    ))
                })?;
                Ok(Some(seconds_arg(&format!("backoff's {key}"), seconds)?))
            }
        }
    };
    let min = seconds("min")?.ok_or_else(|| PyValueError::new_err("backoff needs min"))?;
    let max = seconds("max")?.ok_or_else(|| PyValueError::new_err("backoff needs max"))?;
    let jitter = match dict.get_item("jitter")? {
        None => 0.0,
        Some(jitter) => jitter.extract::<f64>().map_err(|_| {
            PyTypeError::new_err(format!(
                "backoff's jitter is a number, not {}",
                type_name(&jitter)
            ))
        })?,
    };
    let backoff = Backoff::new(min, max, jitter)?;
    Ok(match seconds("reset_after")? {
        Some(reset_after) => backoff.with_reset_after(reset_after),
        None => backoff,
    })
}

fn actions_to_py<'py>(py: Python<'py>, actions: &[Action]) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    actions
        .iter()
        .map(|action| action_to_py(py, action))
        .collect()
}

fn action_to_py<'py>(py: Python<'py>, action: &Action) -> PyResult<Bound<'py, PyTuple>> {
    match action {
        Action::Start { child, incarnation } => {
            ("start", id_to_py(py, child)?, incarnation.0).into_pyobject(py)
        }
        Action::Stop {
            child,
            incarnation,
            shutdown,
        } => (
            "stop",
            id_to_py(py, child)?,
            incarnation.0,
            shutdown_to_py(py, *shutdown)?,
        )
            .into_pyobject(py),
        Action::Schedule { timer, after } => {
            ("schedule", timer.0, after.as_secs_f64()).into_pyobject(py)
        }
        Action::Reply { call, result } => match result {
            Ok(Reply::Done) => ("reply", call.0, true, py.None()).into_pyobject(py),
            Ok(Reply::Started { child, incarnation }) => {
                ("reply", call.0, true, (id_to_py(py, child)?, incarnation.0)).into_pyobject(py)
            }
            Err(err) => ("reply", call.0, false, (err.code(), err.to_string())).into_pyobject(py),
        },
        Action::Ready => ("ready",).into_pyobject(py),
        Action::Escalate(escalation) => (
            "escalate",
            escalation.code(),
            id_to_py(py, escalation.child())?,
            escalation.to_string(),
        )
            .into_pyobject(py),
        Action::Stopped => ("stopped",).into_pyobject(py),
    }
}

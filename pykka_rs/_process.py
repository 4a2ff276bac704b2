"""Actors in worker processes: `ProcessActor`, its pool, and `configure()`.

The parent process starts a pool of worker processes the first time a
`ProcessActor` is started (fresh interpreters, never forks: see
`_worker.py`). Each worker hosts any number of actors, each on a thread of
its own, as `ThreadingActor` does in one process. The Rust core routes
messages between processes and keeps the pool's seats filled; `_parent.py`
runs the pool from Python. This module chooses between the parent's side
and a worker's, and holds the settings.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from pykka_rs import _core
from pykka_rs._actor import Actor
from pykka_rs._exceptions import ActorDeadError
from pykka_rs._parent import Parent
from pykka_rs._registry import ActorRegistry
from pykka_rs._span import ParentSpan
from pykka_rs._stats import _set_pool_view
from pykka_rs._threading import ThreadingActor

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs._ref import ActorRef

__all__ = ["ProcessActor", "configure"]

_settings: dict[str, Any] = {
    "workers": None,
    "shutdown_grace": 5.0,
    "heartbeat_timeout": 30.0,
    "interpreters": None,
    "interpreter_fallback": None,
}

_FALLBACKS = (None, "process")
_settings_lock = threading.Lock()


def _seconds(value: object, name: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{name} must be a number of seconds, not {type(value).__name__}"
        raise TypeError(msg)
    if not value >= 0:  # also refuses NaN
        msg = f"{name} must be a non-negative number of seconds, not {value}"
        raise ValueError(msg)
    return float(value)


def _whole(value: object, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int, not {type(value).__name__}"
        raise TypeError(msg)
    if value < least:
        msg = f"{name} must be at least {least}, not {value}"
        raise ValueError(msg)
    return value


def _flag(value: object, name: str) -> None:
    if value is not None and not isinstance(value, bool):
        msg = f"{name} must be True or False, not {type(value).__name__}"
        raise TypeError(msg)


def _apply_to_core(
    *, spin: float | None, max_message_bytes: int | None, metrics: bool | None
) -> None:
    """The settings the core keeps, once every setting has been checked."""
    if metrics is not None:
        _core.set_metrics(metrics)
    if spin is not None:
        _core.set_spin(spin)
    if max_message_bytes is not None:
        _core.set_message_limit(max_message_bytes)


_UNSET: Any = object()


def configure(  # noqa: C901, PLR0913 (one keyword, and one check, per setting)
    *,
    workers: int | None = None,
    spin: float | None = None,
    shutdown_grace: float | None = None,
    heartbeat_timeout: float | None = _UNSET,
    max_message_bytes: int | None = None,
    metrics: bool | None = None,
    interpreters: int | None = None,
    interpreter_fallback: str | None = _UNSET,
) -> None:
    """Configure pykka_rs.

    Settings of the pool apply the next time it starts (the first
    `ProcessActor.start()`, or the first after `ActorRegistry.stop_all()`).

    Args:
        workers: how many worker processes host `ProcessActor`s; by default
            the `PYKKA_RS_WORKERS` environment variable, else `os.cpu_count()`.
        spin: the longest, in seconds, a thread waiting for a message or a
            reply keeps its CPU before it sleeps; 0 never spins. Spinning
            saves waking a sleeping thread, tens of microseconds on small
            virtual machines; each place that waits learns how long to spin
            (about twice its recent waits), up to this. Default 0.0005
            (500 µs). Worker processes started afterwards use it too.
        shutdown_grace: how long, in seconds, the process actors of a worker
            have to stop when the pool shuts down (`ActorRegistry.stop_all()`,
            or interpreter exit): an actor busy with a message gets to finish
            it and run `on_stop()`. A worker still running after that (and a
            second more) is killed, and a warning names the actors it still
            had. Default 5.
        heartbeat_timeout: how long, in seconds, a worker may show no sign
            of life (every worker sends one each second, whatever its actors
            are doing) before it is deemed hung, killed and replaced, like a
            worker that died; `None` never. Default 30.
        max_message_bytes: the largest message, pickled, that may cross
            between processes (16 GiB at most, the default). A larger one
            raises `ValueError` where it is sent. Applies to workers started
            afterwards; a process never reserves memory for more of a
            message than has arrived.
        metrics: whether to time every message's handling and count
            outcomes and peaks (on by default; see `pykka_rs.stats()`). Off,
            the numbers of `ActorRef.stats` other than the depth and the
            messages sent stop moving. Worker processes started afterwards
            use it too.
        interpreters: how many subinterpreters host `InterpreterActor`s;
            by default `os.cpu_count()`. Applies the next time that pool
            starts.
        interpreter_fallback: what `InterpreterActor.start()` does with an
            actor whose class cannot load in a subinterpreter (it imports an
            extension without support for them, such as a PyO3 module):
            `None` (the default) raises `ImportError` naming the module,
            `"process"` starts the actor on a worker process instead.

    Raises:
        ValueError: for a worker count or message limit below 1, or a
            negative number of seconds
        TypeError: for arguments of the wrong type
    """
    _flag(metrics, "metrics")
    if workers is not None:
        _whole(workers, "workers", 1)
    grace = (
        None if shutdown_grace is None else _seconds(shutdown_grace, "shutdown_grace")
    )
    heartbeat = (
        _UNSET
        if heartbeat_timeout is _UNSET
        else _seconds(heartbeat_timeout, "heartbeat_timeout", allow_none=True)
    )
    if heartbeat is not None and heartbeat is not _UNSET and heartbeat <= 0:
        msg = f"heartbeat_timeout must be more than 0 seconds, not {heartbeat}"
        raise ValueError(msg)
    if max_message_bytes is not None:
        _whole(max_message_bytes, "max_message_bytes", 1)
    if interpreters is not None:
        _whole(interpreters, "interpreters", 1)
    if interpreter_fallback is not _UNSET and interpreter_fallback not in _FALLBACKS:
        msg = (
            "interpreter_fallback must be None or 'process', not "
            f"{interpreter_fallback!r}"
        )
        raise ValueError(msg)
    _apply_to_core(spin=spin, max_message_bytes=max_message_bytes, metrics=metrics)
    with _settings_lock:
        if workers is not None:
            _settings["workers"] = workers
        if grace is not None:
            _settings["shutdown_grace"] = grace
        if heartbeat is not _UNSET:
            _settings["heartbeat_timeout"] = heartbeat
        if interpreters is not None:
            _settings["interpreters"] = interpreters
        if interpreter_fallback is not _UNSET:
            _settings["interpreter_fallback"] = interpreter_fallback


def _pool_size() -> int:
    with _settings_lock:
        configured = _settings["workers"]
    if configured is not None:
        return int(configured)
    from_env = os.environ.get("PYKKA_RS_WORKERS")
    if from_env:
        try:
            size = int(from_env)
        except ValueError:
            msg = f"PYKKA_RS_WORKERS must be a whole number, not {from_env!r}"
            raise ValueError(msg) from None
        if size < 1:
            msg = f"PYKKA_RS_WORKERS must be at least 1, not {size}"
            raise ValueError(msg)
        return size
    return os.cpu_count() or 1


class ProcessActor(Actor):
    """An `Actor` that runs in a worker process, with `ThreadingActor`'s API.

    Subclass it as you would `ThreadingActor`. `start()` places the actor on
    the least busy worker of a pool of worker processes, started on first
    use (see `configure()`), and returns an `ActorRef` like any other:
    `tell()`, `ask()`, proxies, `stop()` and `ActorRegistry` work as for
    thread actors, and the ref and its proxies can be passed in messages to
    actors in any process. Actors in different workers run in parallel, each
    worker with its own GIL.

    The class, the constructor's arguments, messages and replies cross
    between processes pickled: an unpicklable message, or one holding what a
    copy would misrepresent (an open file, a lock, a socket), raises at the
    `start()`, `tell()` or `ask()` that sends it. Workers import the class by
    name from its module, or from the main script as multiprocessing's spawn
    does; a class defined inside a function, or where workers cannot import
    the main module (a REPL, a notebook, `python -c`), travels by value.

    `__init__()` runs in the worker, and an exception it raises is raised by
    `start()`. Log records from the actor reach the parent's logging. If a
    worker process dies, its actors are dead (`ActorDeadError` for anyone
    waiting on them) and the pool starts a new worker.
    """

    use_daemon_thread: ClassVar[bool] = False
    """As for `ThreadingActor`, in the worker process."""

    _create_actor_inbox = ThreadingActor.__dict__["_create_actor_inbox"]
    _create_future = ThreadingActor.__dict__["_create_future"]
    _start_actor_loop = ThreadingActor._start_actor_loop  # noqa: SLF001

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Start the actor in the least busy worker process.

        The arguments go to the class's constructor, which runs in the
        worker.

        Returns:
            a ref for talking to the actor from any process

        Raises:
            Exception: whatever the constructor raised
        """
        return _system().start(cls, None, args, kwargs)

    @classmethod
    def start_on(cls, worker: int, /, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Start the actor in worker `worker` (0 to the pool size - 1).

        Like `start()`, but choosing the worker instead of leaving it to the
        pool. The worker keeps its number when a dead worker is replaced.

        Raises:
            IndexError: if the pool has no worker `worker`
        """
        return _system().start(cls, worker, args, kwargs)


class _Side(Protocol):
    """Where process actors are started from.

    The parent's pool, or a worker's link to its parent.
    """

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ActorRef[Any]: ...

    def start_supervised(
        self,
        cls: type[Actor],
        process: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        context: dict[str, Any],
    ) -> tuple[int, int]:
        """Start a run of a supervised actor (see `_incarnation.spawn`).

        On worker `process`, or on the least busy one; returns the address
        of the run's mailbox.
        """

    def direct(self, process: int, directive: tuple[Any, ...]) -> Any:
        """Have worker `process` carry out a supervisor's directive.

        `("end", mailbox, incarnation)` or `("close", mailbox)`.
        """

    def kill(self, process: int, why: str) -> None:
        """Kill worker `process`; its death is reported as `why`."""


_pool: Parent | None = None
_pool_lock = threading.Lock()
_worker_side: _Side | None = None


def _system() -> _Side:
    """The pool: in a worker, its parent's; in the parent, started if need be."""
    global _pool  # noqa: PLW0603
    if _worker_side is not None:
        return _worker_side
    if _core.disowned():
        msg = (
            "this process was forked from a pykka_rs program whose process "
            "actors it cannot reach; start process actors before forking only "
            "in the process that uses them, or start children with "
            "multiprocessing's 'spawn' or 'forkserver' method"
        )
        raise RuntimeError(msg)
    with _pool_lock:
        if _pool is None or _pool.closing:
            with _settings_lock:
                grace = _settings["shutdown_grace"]
                heartbeat = _settings["heartbeat_timeout"]
            _pool = Parent(
                _pool_size(), shutdown_grace=grace, heartbeat_timeout=heartbeat
            )
            span_the_registry(shutdown_pool)
            # Registered once however often the pool restarts, and moved to
            # the end each time: it runs before exit handlers added earlier.
            atexit.unregister(shutdown_pool)
            atexit.register(shutdown_pool)
        return _pool


# The pools that stop_all() shuts down once every actor has stopped.
_pool_shutdowns: list[Callable[[], None]] = []


def _shutdown_pools() -> None:
    for shutdown in _pool_shutdowns:
        shutdown()


def span_the_registry(shutdown: Callable[[], None]) -> None:
    """Make the registry list the workers' actors.

    `stop_all()` then calls `shutdown`, with every other pool's.
    """
    if shutdown not in _pool_shutdowns:
        _pool_shutdowns.append(shutdown)
    if not isinstance(ActorRegistry._span, ParentSpan):  # noqa: SLF001
        ActorRegistry._span = ParentSpan(_shutdown_pools)  # noqa: SLF001


def worker_side() -> _Side | None:
    """In a worker, its link to the parent's pools; None in the parent."""
    return _worker_side


def preparation() -> dict[str, Any]:
    """What a worker needs to import the main module as this process did.

    multiprocessing's spawn preparation data: sys.path, the working
    directory, the main module.
    """
    import multiprocessing.spawn  # noqa: PLC0415

    from pykka_rs._pickling import preparation_for_workers  # noqa: PLC0415

    data: dict[str, Any] = preparation_for_workers(
        multiprocessing.spawn.get_preparation_data("pykka_rs-worker")
    )
    # multiprocessing refuses to pickle its authentication key on purpose;
    # a worker's standard-input pipe, or this process's memory, is as private.
    data["authkey"] = bytes(data["authkey"])
    return data


def become_worker(side: _Side) -> None:
    """Make this process start process actors through `side`, its parent."""
    global _worker_side  # noqa: PLW0603
    _worker_side = side


def settings() -> dict[str, Any]:
    """A copy of the settings `configure()` made."""
    with _settings_lock:
        return dict(_settings)


def shutdown_pool() -> None:
    """End every worker process and remove the pool's socket and directory.

    Does nothing if no pool is running. Called by `ActorRegistry.stop_all()`
    and at interpreter exit.
    """
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()


def workers_dead_letters() -> list[tuple[str, str, str, float]]:
    """The dead letters of every worker process, in the program's process.

    Each worker is asked in turn; one that is gone is left out. Empty when
    no pool is running, and in a worker.
    """
    with _pool_lock:
        pool = _pool
    if pool is None:
        return []
    letters: list[tuple[str, str, str, float]] = []
    for worker in pool.core.workers():
        try:
            letters += pool.direct(worker["process"], ("dead_letters",))
        except ActorDeadError:
            continue  # it died meanwhile: its letters are gone with it
    return letters


def workers() -> list[dict[str, int]]:
    """List the running worker processes.

    Each is a dict: seat, process number, pid, actors and messages waiting
    (as the worker last reported it).
    """
    with _pool_lock:
        pool = _pool
    return [] if pool is None else pool.core.workers()


def _forked() -> None:
    """In the child of a fork: leave the parent's pool alone.

    The child inherits the pool's objects and sockets but none of its
    threads; the workers and the sockets' other ends are the parent's. So
    the child forgets the pool (its exit must not shut the parent's workers
    down) and its core stops using the links.
    """
    global _pool  # noqa: PLW0603
    _core.disown()
    _pool = None


os.register_at_fork(after_in_child=_forked)
_set_pool_view("process", workers)

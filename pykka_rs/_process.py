"""Actors in worker processes: `ProcessActor`, its pool, and `configure()`.

The parent process starts a pool of worker processes the first time a
`ProcessActor` is started (fresh interpreters, never forks: see
`_worker.py`). Each worker hosts any number of actors, each on a thread of
its own, as `ThreadingActor` does in one process. The Rust core routes
messages between processes; this module only starts actors, replaces dead
workers and passes on their log records, in a thread of its own.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.spawn
import multiprocessing.util
import os
import pickle
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pykka_rs import _core
from pykka_rs._actor import Actor
from pykka_rs._logs import emit
from pykka_rs._pickling import PROTOCOL, dump_error, dumps, loads
from pykka_rs._registry import ActorRegistry
from pykka_rs._remote import rebuild_ref
from pykka_rs._threading import ThreadingActor, ThreadingFuture

if TYPE_CHECKING:
    from pykka_rs._ref import ActorRef

__all__ = ["ProcessActor", "configure"]

logger = logging.getLogger("pykka_rs.pool")

# How long a new worker may take to start and connect.
STARTUP_PATIENCE = 60.0

# How long start() waits for the worker's log records to be emitted here.
LOG_PATIENCE = 1.0

# How long shutting the pool down waits for workers before killing them.
SHUTDOWN_PATIENCE = 2.0

_settings: dict[str, Any] = {"workers": None}
_settings_lock = threading.Lock()


def configure(*, workers: int | None = None, spin: float | None = None) -> None:
    """Configure pykka_rs.

    Args:
        workers: how many worker processes host `ProcessActor`s; by default
            the `PYKKA_RS_WORKERS` environment variable, else `os.cpu_count()`.
            Applies the next time the pool starts (the first
            `ProcessActor.start()`, or the first after
            `ActorRegistry.stop_all()`).
        spin: the longest, in seconds, a thread waiting for a message or a
            reply keeps its CPU before it sleeps; 0 never spins. Spinning
            saves waking a sleeping thread, tens of microseconds on small
            virtual machines; each place that waits learns how long to spin
            (about twice its recent waits), up to this. Default 0.0005
            (500 µs). Worker processes started afterwards use it too.

    Raises:
        ValueError: for a worker count below 1 or a negative spin
        TypeError: for arguments that are not numbers
    """
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int):
            msg = f"workers must be an int, not {type(workers).__name__}"
            raise TypeError(msg)
        if workers < 1:
            msg = f"workers must be at least 1, not {workers}"
            raise ValueError(msg)
        with _settings_lock:
            _settings["workers"] = workers
    if spin is not None:
        _core.set_spin(spin)


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
    between processes pickled: an unpicklable message raises at the
    `tell()` or `ask()` that sends it. The class must be importable in the
    workers (defined in a module, or in the main script, which workers import
    as multiprocessing's spawn does); classes defined inside functions travel
    by value.

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


def _worker_command() -> tuple[str, list[str]]:
    """How to start a worker: as multiprocessing's spawn starts a child.

    The same interpreter with the same flags (`-P`, `-I`, `-X ...`), and
    pykka_rs imported from where this process imported it, not from wherever
    the worker's own `sys.path` would find one first; the bootstrap then
    gives the worker this process's `sys.path`.
    """
    home = str(Path(__file__).resolve().parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {home!r}); "
        "from pykka_rs._worker import main; main()"
    )
    flags = multiprocessing.util._args_from_interpreter_flags()  # type: ignore[attr-defined]  # noqa: SLF001 (as spawn does)
    python = multiprocessing.spawn.get_executable() or sys.executable
    return os.fsdecode(python), [*flags, "-c", code]


class _Parent:
    """The pool as the parent process runs it."""

    def __init__(self, size: int) -> None:
        self.core = _core.Pool(size, tempfile.gettempdir())
        self.closing = False
        self._preparation = multiprocessing.spawn.get_preparation_data(
            "pykka_rs-worker"
        )
        # multiprocessing refuses to pickle its authentication key on purpose;
        # our standard-input pipe is as private as its own.
        self._preparation["authkey"] = bytes(self._preparation["authkey"])
        self._python, self._args = _worker_command()
        self.core.start_workers(
            list(range(size)),
            self._python,
            self._args,
            self._bootstrap,
            STARTUP_PATIENCE,
        )
        self._control = threading.Thread(
            target=self._serve, name="pykka_rs-pool", daemon=True
        )
        self._control.start()

    def _bootstrap(self, process: int) -> bytes:
        """What worker `process` reads from its standard input."""
        return pickle.dumps(
            {
                "process": process,
                "socket": str(self.core.socket_path),
                "token": bytes(self.core.token),
                "preparation": self._preparation,
                "spin": _core.spin(),
            },
            protocol=PROTOCOL,
        )

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ActorRef[Any]:
        urn = uuid.uuid4().urn
        payload = dumps((cls, args, kwargs, urn))
        process = self._choose(seat)
        number = self.core.spawn_actor(process, payload, f"{cls.__name__} ({urn})")
        if threading.current_thread() is not self._control:
            # The worker sent its log records ("Starting ...") before the
            # reply; emit them before start() returns, as a thread actor's are.
            _core.control_barrier().wait(LOG_PATIENCE)
        ref = rebuild_ref(process, number, urn, cls)
        ActorRegistry._add(ref)  # noqa: SLF001
        return ref

    def _choose(self, seat: int | None) -> int:
        """The process for the next actor, waiting while workers restart."""
        deadline = time.monotonic() + STARTUP_PATIENCE
        while True:
            if seat is None:
                placed = self.core.place()
                process = None if placed is None else placed[1]
            else:
                if not 0 <= seat < self.core.size:
                    msg = f"the pool has workers 0 to {self.core.size - 1}, not {seat}"
                    raise IndexError(msg)
                process = self.core.process_in(seat)
            if process is not None:
                return process
            if self.core.closed or time.monotonic() > deadline:
                msg = "no worker process is running to host the actor"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def _serve(self) -> None:
        """Do what the link threads queue for Python, until the pool closes."""
        while not self.closing:
            item = _core.next_control(0.1)
            if item is None:
                continue
            try:
                self._handle(item)
            except Exception:
                logger.exception("pykka_rs could not handle a worker's %s", item[0])

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "log":
            emit(item[1])
        elif kind == "request":
            self._answer(*item[1:])
        elif kind == "dead_letter":
            logging.getLogger("pykka").warning(item[1])
        elif kind == "process_lost":
            self._replace(*item[1:])
        elif kind == "barrier":
            item[1].set()

    def _answer(self, reply: tuple[int, int], payload: bytes) -> None:
        """Do what a worker asked for (start an actor) and answer it."""
        try:
            kind, cls, seat, args, kwargs = loads(payload)
            if kind != "start":
                msg = f"the parent does not know a worker request {kind!r}"
                raise ValueError(msg)  # noqa: TRY301 (answered to the worker below)
            ref = self.start(cls, seat, args, kwargs)
            _core.reply(reply, True, dumps(ref))  # noqa: FBT003
        except Exception as exc:  # noqa: BLE001
            _core.reply(reply, False, dump_error(exc))  # noqa: FBT003

    def _replace(self, process: int, cause: str, expected: bool) -> None:  # noqa: FBT001
        """Start a new worker in the seat of one that ended unexpectedly."""
        seat = self.core.vacate(process)
        if expected or self.closing:
            return
        logger.error(f"pykka_rs {cause}; its actors are dead. Starting a new worker.")
        if seat is None:
            return
        try:
            self.core.start_workers(
                [seat], self._python, self._args, self._bootstrap, STARTUP_PATIENCE
            )
        except RuntimeError:
            if not self.closing:
                raise  # logged by _serve; the seat stays empty

    def shutdown(self) -> None:
        self.closing = True
        self.core.shutdown(SHUTDOWN_PATIENCE)
        if self._control is not threading.current_thread():
            self._control.join(SHUTDOWN_PATIENCE)


class _Worker:
    """The pool as a worker process sees it: the parent starts actors."""

    def __init__(self) -> None:
        self.bootstrapping = True

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ActorRef[Any]:
        if self.bootstrapping:
            msg = (
                f"{cls.__name__}.start() ran while a worker process was importing "
                "the main module. Put the code that starts actors under "
                "`if __name__ == '__main__':`, as multiprocessing's spawn "
                "method requires, so that worker processes do not run it."
            )
            raise RuntimeError(msg)
        slot = _core.request(dumps(("start", cls, seat, args, kwargs)))
        ref: ActorRef[Any] = ThreadingFuture._from_slot(slot).get()  # noqa: SLF001
        return ref


_pool: _Parent | None = None
_pool_lock = threading.Lock()
_worker_side: _Worker | None = None


def _system() -> _Parent | _Worker:
    """The pool: in a worker, its parent's; in the parent, started if need be."""
    global _pool  # noqa: PLW0603
    if _worker_side is not None:
        return _worker_side
    with _pool_lock:
        if _pool is None or _pool.closing:
            _pool = _Parent(_pool_size())
            # Registered once however often the pool restarts, and moved to
            # the end each time: it runs before exit handlers added earlier.
            atexit.unregister(shutdown_pool)
            atexit.register(shutdown_pool)
        return _pool


def become_worker() -> _Worker:
    """Make this process start process actors through its parent.

    Until the returned object's `bootstrapping` is cleared, starting a
    process actor raises: the worker is still importing the main module.
    """
    global _worker_side  # noqa: PLW0603
    _worker_side = _Worker()
    return _worker_side


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


def workers() -> list[dict[str, int]]:
    """List the running worker processes.

    Each is a dict: seat, process number, pid, actors and messages waiting
    (as the worker last reported it).
    """
    with _pool_lock:
        pool = _pool
    return [] if pool is None else pool.core.workers()

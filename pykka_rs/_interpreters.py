"""Actors in subinterpreters: `InterpreterActor` and its pool.

On CPython 3.12 and later every isolated subinterpreter has a GIL of its
own, so actors in different subinterpreters of one process run Python code
in parallel, as process actors do, without a process per worker. The pool
keeps a number of them (one per CPU by default, `configure(interpreters=N)`),
each serving on a thread of this process, and places each new actor on the
least busy. Each is a worker of the same system as the worker processes: it
gets a process number from the same counter, and the core links it to this
process's node like a worker process, but over an in-memory channel instead
of a socket. So refs, futures, the registry, stops and deaths behave as for
process actors, and actors of every kind ask each other.

In the subinterpreter, `pykka_rs` runs on a stand-in for the Rust core
(`_subcore.py`, installed by `_select.py`), and `_serve_here` below is the
worker's main loop: the same one a worker process runs (`_worker.py`).

Subinterpreters are expensive to make and, on some CPython releases, leak
memory when destroyed, so they are never destroyed while the program runs:
when the pool shuts down (`ActorRegistry.stop_all()`), their actors stop
and they wait, idle, for the next pool; they are destroyed at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import re
import sys
import threading
import time
import traceback
import uuid
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pykka_rs import _control as control
from pykka_rs import _core
from pykka_rs import _process as processes
from pykka_rs._actor import Actor
from pykka_rs._logs import mirror_levels
from pykka_rs._pickling import PROTOCOL, dumps
from pykka_rs._remote import rebuild_ref
from pykka_rs._span import label
from pykka_rs._stats import _set_pool_view
from pykka_rs._system import identity as system_identity
from pykka_rs._threading import ThreadingActor

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs._ref import ActorRef

__all__ = ["InterpreterActor"]

logger = logging.getLogger("pykka_rs.pool")

# How long a subinterpreter may take to import pykka_rs and report ready.
STARTUP_PATIENCE = 60.0

# How long start() waits for the worker's log records to be emitted here.
LOG_PATIENCE = 1.0

# How long, past the shutdown grace, a subinterpreter may take to end.
EXIT_MARGIN = 1.0

_NEEDED = (
    "InterpreterActor needs CPython 3.12 or later, where each subinterpreter "
    "has a GIL of its own; this is CPython {version}. Use ProcessActor for "
    "parallel actors here"
)

_REFUSED = "does not support loading in subinterpreters"

# How a subinterpreter that could not stop its actors' threads says so.
_STUCK = "actor threads still running after they were cut off"


class _Interpreters:
    """Whatever API this CPython has for making and running subinterpreters."""

    def __init__(self) -> None:
        if sys.version_info < (3, 12):
            version = ".".join(map(str, sys.version_info[:3]))
            raise RuntimeError(_NEEDED.format(version=version))
        try:
            import concurrent.interpreters as modern  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        except ImportError:
            modern = None
        self._modern: Any = modern
        self._low: Any = None
        if modern is None:
            try:
                import _interpreters as low  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
            except ImportError:
                import _xxsubinterpreters as low  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
            self._low = low

    def create(self) -> Any:
        """A new isolated subinterpreter, with its own GIL."""
        if self._modern is not None:
            return self._modern.create()
        if self._low.__name__ == "_xxsubinterpreters":
            return self._low.create(isolated=True)
        return self._low.create("isolated")

    def run(self, interpreter: Any, code: str) -> str | None:
        """Run `code` in `interpreter`, on this thread; why it failed, or None."""
        try:
            if self._modern is not None:
                interpreter.exec(code)
                return None
            if self._low.__name__ == "_xxsubinterpreters":
                self._low.run_string(interpreter, code)
                return None
            failure = self._low.exec(interpreter, code)
        except Exception as exc:  # noqa: BLE001 (reported to whoever starts the pool)
            return "".join(traceback.format_exception_only(exc)).strip()
        if failure is None:
            return None
        return str(getattr(failure, "errdisplay", None) or failure)

    def destroy(self, interpreter: Any) -> None:
        """End an idle subinterpreter."""
        if self._modern is not None:
            interpreter.close()
        else:
            self._low.destroy(interpreter)


_api: _Interpreters | None = None


def _interpreters() -> _Interpreters:
    global _api  # noqa: PLW0603
    if _api is None:
        _api = _Interpreters()
    return _api


class _Host:
    """One subinterpreter and the thread of this process that runs it.

    A subinterpreter is made, run and destroyed by one thread, its host,
    for its whole life (CPython 3.12 hangs destroying one from another
    thread), and serves one pool after another: a pool hands its host the
    code to run, and the host is idle again once that returns.
    """

    def __init__(self) -> None:
        self._jobs: list[tuple[str, Callable[[str | None], None]] | None] = []
        self._ready = threading.Condition(threading.Lock())
        self._thread = threading.Thread(
            target=self._run, name="pykka_rs-interpreter", daemon=True
        )
        self.usable = True
        self._thread.start()

    def serve(self, code: str, then: Callable[[str | None], None]) -> None:
        """Run `code` in the subinterpreter; then `then(why it failed, or None)`."""
        with self._ready:
            self._jobs.append((code, then))
            self._ready.notify()

    def end(self, patience: float) -> None:
        """Destroy the subinterpreter once idle; wait up to `patience` seconds."""
        with self._ready:
            self._jobs.append(None)
            self._ready.notify()
        self._thread.join(patience)

    def _run(self) -> None:
        api = _interpreters()
        interpreter: Any = None
        while True:
            with self._ready:
                while not self._jobs:
                    self._ready.wait()
                job = self._jobs.pop(0)
            if job is None:
                break
            code, then = job
            try:
                if interpreter is None:
                    interpreter = api.create()
                failure = api.run(interpreter, code)
            except Exception as exc:  # noqa: BLE001 (reported to the pool)
                failure = "".join(traceback.format_exception_only(exc)).strip()
            if failure is not None:
                self.usable = False
            then(failure)
            if failure is not None and _STUCK not in failure:
                break  # of no further use: destroy it
        if interpreter is not None:
            try:
                api.destroy(interpreter)
            except Exception:
                logger.debug("a subinterpreter could not be destroyed", exc_info=True)


# Hosts whose subinterpreter served a pool and waits for the next one.
_idle: list[_Host] = []
_idle_lock = threading.Lock()


class _Seat:
    """One subinterpreter of the pool, serving as worker `process`."""

    def __init__(self, index: int, process: int) -> None:
        self.index = index
        self.process = process
        self.ready = threading.Event()
        self.ended = threading.Event()
        self.failure: str | None = None
        self.host: _Host | None = None


def _bootstrap(process: int, data: bytes) -> str:
    """The code a subinterpreter runs to serve as worker `process`.

    It assigns no name: after the main module is imported the interpreter's
    `__main__` is the application's.
    """
    return (
        f"import sys; sys.path[:] = {sys.path!r}; "
        "__import__('pykka_rs._interpreters')._interpreters._serve_here("
        f"{process}, {data!r})"
    )


class Pool:
    """The subinterpreters of this process that host `InterpreterActor`s."""

    def __init__(self, size: int, *, shutdown_grace: float) -> None:
        self.api = _interpreters()
        self.closing = False
        self.shutdown_grace = shutdown_grace
        self.seats: list[_Seat] = []
        self._by_process: dict[int, _Seat] = {}
        control.join("interpreter", self.start, interpreter_ready=self._ready)
        try:
            preparation = processes.preparation()
            data = pickle.dumps(
                {
                    "preparation": preparation,
                    "spin": _core.spin(),
                    "message_limit": _core.message_limit(),
                    "metrics": _core.metrics(),
                    "system": system_identity(),
                    "shutdown_grace": shutdown_grace,
                },
                protocol=PROTOCOL,
            )
            # Workers send only the log records this process would take.
            mirror_levels()
            for index in range(size):
                seat = _Seat(index, _core.link_interpreter())
                self.seats.append(seat)
                self._by_process[seat.process] = seat
                self._open(seat, data)
            deadline = time.monotonic() + STARTUP_PATIENCE
            for seat in self.seats:
                seat.ready.wait(max(0.0, deadline - time.monotonic()))
                if seat.failure is not None:
                    msg = (
                        f"a subinterpreter of the pool could not start: {seat.failure}"
                    )
                    raise RuntimeError(msg)  # noqa: TRY301 (cleaned up below)
                if not seat.ready.is_set():
                    msg = (
                        f"a subinterpreter of the pool did not start within "
                        f"{STARTUP_PATIENCE} seconds"
                    )
                    raise RuntimeError(msg)  # noqa: TRY301 (cleaned up below)
        except BaseException:
            self.closing = True
            self._end(0.0)
            raise

    def _ready(self, process: int) -> bool:
        seat = self._by_process.get(process)
        if seat is not None:
            seat.ready.set()
        return seat is not None

    def _open(self, seat: _Seat, data: bytes) -> None:
        """Give `seat` a subinterpreter: an idle one, or a new one."""
        with _idle_lock:
            host = _idle.pop() if _idle else None
        seat.host = host or _Host()

        def ended(failure: str | None) -> None:
            if failure is not None and _STUCK in failure:
                # It served, but cannot serve again, nor be destroyed.
                _stuck.append(failure)
            seat.failure = failure
            if failure is not None:
                # It may never have claimed its channel: cut the link.
                _core.await_exit(seat.process, 0.0)
            seat.ended.set()
            seat.ready.set()

        seat.host.serve(_bootstrap(seat.process, data), ended)

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ActorRef[Any]:
        """Make an actor of `cls` in a subinterpreter; a ref to it."""
        if cls in _refused:
            return self._fall_back(cls, args, kwargs, _refused[cls])
        urn = uuid.uuid4().urn
        payload = dumps((cls, args, kwargs, urn))
        process = self._choose(seat)
        try:
            number = _core.spawn_actor(process, payload, f"{cls.__name__} ({urn})")
        except ImportError as exc:
            if _REFUSED not in str(exc):
                raise
            _refused[cls] = exc
            return self._fall_back(cls, args, kwargs, exc)
        if not control.serving():
            # The worker sent its log records ("Starting ...") before the
            # reply; emit them before start() returns, as a thread actor's are.
            _core.control_barrier().wait(LOG_PATIENCE)
        return rebuild_ref(process, number, urn, cls)

    def _fall_back(
        self,
        cls: type[Actor],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        exc: ImportError,
    ) -> ActorRef[Any]:
        """Start an actor that cannot load in a subinterpreter as configured."""
        if processes.settings()["interpreter_fallback"] == "process":
            return processes._system().start(cls, None, args, kwargs)  # noqa: SLF001
        msg = (
            f"{cls.__name__} cannot run in a subinterpreter: {exc}. That module, "
            "or one it imports, is an extension that does not support "
            "subinterpreters (any PyO3 module, for one). "
            "pykka_rs.configure(interpreter_fallback='process') starts such "
            "actors on a worker process instead"
        )
        refused = re.search(r"module (\S+) " + _REFUSED, str(exc))
        name = exc.name or (refused.group(1) if refused else None)
        raise ImportError(msg, name=name) from exc

    def _choose(self, seat: int | None) -> int:
        if seat is not None:
            if not 0 <= seat < len(self.seats):
                msg = (
                    f"the pool has interpreters 0 to {len(self.seats) - 1}, not {seat}"
                )
                raise IndexError(msg)
            return self.seats[seat].process
        process = _core.place([seat.process for seat in self.seats])
        if process is None:
            msg = "no subinterpreter of the pool is running to host the actor"
            raise RuntimeError(msg)
        return int(process)

    def workers(self) -> list[dict[str, int]]:
        """The pool's subinterpreters: seat and process number."""
        return [
            {"seat": seat.index, "process": seat.process}
            for seat in self.seats
            if not seat.ended.is_set()
        ]

    def shutdown(self) -> None:
        """Stop every subinterpreter's actors; the subinterpreters go idle.

        One whose actors have not all stopped within the shutdown grace is
        cut off from the system (its actors count as dead) with a warning
        naming them, and is not used again.
        """
        self.closing = True
        self._end(self.shutdown_grace + EXIT_MARGIN)

    def _end(self, patience: float) -> None:
        for seat in self.seats:
            if not seat.ended.is_set():
                _core.shutdown_worker(seat.process)
        deadline = time.monotonic() + patience
        for seat in self.seats:
            left = max(0.0, deadline - time.monotonic())
            cut_off = _core.await_exit(seat.process, left)
            if cut_off is not None and (seat.failure is None or _STUCK in seat.failure):
                names = ", ".join(label(actor) for actor in cut_off)
                logger.warning(
                    f"pykka_rs interpreter worker {seat.process} did not stop within "
                    f"{self.shutdown_grace} seconds of the shutdown and was cut off; "
                    f"still running: {names or 'no registered actor'}"
                )
            elif (
                seat.ended.wait(max(0.1, deadline - time.monotonic()))
                and seat.host is not None
                and seat.host.usable
            ):
                with _idle_lock:
                    _idle.append(seat.host)
        control.leave("interpreter")


# Why subinterpreters that are still running could not end.
_stuck: list[str] = []

# Actor classes that could not load in a subinterpreter, and why.
_refused: dict[type[Actor], ImportError] = {}

_pool: Pool | None = None
_pool_lock = threading.Lock()


class _Requested:
    """The pool as a worker sees it: the parent starts the actors."""

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ActorRef[Any]:
        side: Any = processes.worker_side()
        return side.start(cls, seat, args, kwargs, pool="interpreter")  # type: ignore[no-any-return]


def _system() -> Pool | _Requested:
    """The pool: in a worker, its parent's; here, started if need be."""
    global _pool  # noqa: PLW0603
    if processes.worker_side() is not None:
        return _Requested()
    with _pool_lock:
        if _pool is None or _pool.closing:
            settings = processes.settings()
            _pool = Pool(
                _pool_size(settings["interpreters"]),
                shutdown_grace=settings["shutdown_grace"],
            )
            processes.span_the_registry(shutdown_pool)
            atexit.unregister(_at_exit)
            atexit.register(_at_exit)
        return _pool


def _pool_size(configured: int | None) -> int:
    if configured is not None:
        return configured
    return os.cpu_count() or 1


def shutdown_pool() -> None:
    """Stop every interpreter actor; the subinterpreters wait for the next pool.

    Does nothing if no pool is running. Called by `ActorRegistry.stop_all()`.
    """
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()


def _at_exit() -> None:
    """At exit: shut the pool down and destroy the idle subinterpreters."""
    shutdown_pool()
    with _idle_lock:
        idle = list(_idle)
        _idle.clear()
    for host in idle:
        host.end(EXIT_MARGIN)
    if _stuck:
        # CPython aborts at exit while a subinterpreter still runs a thread.
        logger.error(
            "pykka_rs is ending the process now: a subinterpreter could not stop "
            f"its actors ({'; '.join(_stuck)})"
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def _before_fork() -> None:
    """Destroy the idle subinterpreters: a child forked while one exists crashes.

    CPython (3.12 to 3.14 at least) cannot carry subinterpreters into a
    forked child: it crashes there. A pool that is running cannot be helped
    (fork before starting interpreter actors, or start children with
    multiprocessing's "spawn" or "forkserver"); idle subinterpreters are
    destroyed now, and the next pool makes new ones.
    """
    with _pool_lock:
        running = _pool is not None and not _pool.closing
    if running:
        return
    with _idle_lock:
        idle = list(_idle)
        _idle.clear()
    for host in idle:
        host.end(EXIT_MARGIN)


def _forked() -> None:
    """In the child of a fork: the subinterpreters and their threads stayed behind."""
    global _pool  # noqa: PLW0603
    _pool = None
    _idle.clear()


os.register_at_fork(before=_before_fork, after_in_child=_forked)


def workers() -> list[dict[str, int]]:
    """List the running subinterpreters of the pool: seat and process number."""
    with _pool_lock:
        pool = _pool
    return [] if pool is None else pool.workers()


_set_pool_view("interpreter", workers)


def _refuse_bound(cls: type[Actor]) -> None:
    """Refuse `mailbox_size` on an interpreter actor, saying why.

    Raises:
        TypeError: if `cls` sets `mailbox_size`
    """
    if cls.mailbox_size is not None:
        msg = (
            f"{cls.__name__}: InterpreterActor does not support mailbox_size: "
            "messages from other interpreters reach a subinterpreter's actor "
            "through a queue of the core that cannot hold a bound yet; use a "
            "ThreadingActor or a ProcessActor for a bounded mailbox"
        )
        raise TypeError(msg)


class InterpreterActor(Actor):
    """An `Actor` that runs in a subinterpreter, with `ThreadingActor`'s API.

    Subclass it as you would `ThreadingActor`. `start()` places the actor on
    the least busy subinterpreter of a pool started on first use (one per
    CPU by default, see `configure()`), in this process, each with a GIL of
    its own (CPython 3.12 and later). It returns an `ActorRef` like any
    other: `tell()`, `ask()`, proxies, `stop()` and `ActorRegistry` work as
    for thread and process actors, and the ref works from actors of every
    kind.

    As between processes, the class, the constructor's arguments, messages
    and replies cross between interpreters pickled, and the class must be
    importable there; its module and everything it imports must load in a
    subinterpreter. One that cannot (it imports a PyO3 module, say) fails to
    start with an `ImportError` naming the module, or starts on a worker
    process with `configure(interpreter_fallback="process")`.
    """

    use_daemon_thread: ClassVar[bool] = False
    """As for `ThreadingActor`; subinterpreters refuse daemon threads."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a bounded mailbox as soon as the class is defined."""
        super().__init_subclass__(**kwargs)
        _refuse_bound(cls)

    _create_actor_inbox = ThreadingActor.__dict__["_create_actor_inbox"]
    _create_future = ThreadingActor.__dict__["_create_future"]
    _start_actor_loop = ThreadingActor._start_actor_loop  # noqa: SLF001

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Start the actor in the least busy subinterpreter of the pool.

        The arguments go to the class's constructor, which runs in the
        subinterpreter.

        Returns:
            a ref for talking to the actor from any thread, interpreter or process

        Raises:
            RuntimeError: on CPython before 3.12
            ImportError: if the class cannot be loaded in a subinterpreter
                (and no fallback is configured)
            TypeError: if the class sets `mailbox_size`, which interpreter
                actors do not support
            Exception: whatever the constructor raised
        """
        _refuse_bound(cls)
        return _system().start(cls, None, args, kwargs)

    @classmethod
    def start_on(cls, interpreter: int, /, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Start the actor in subinterpreter `interpreter` (0 to the pool size - 1).

        Raises:
            IndexError: if the pool has no subinterpreter `interpreter`
            TypeError: if the class sets `mailbox_size`
        """
        _refuse_bound(cls)
        return _system().start(cls, interpreter, args, kwargs)


# --- The subinterpreter's side ----------------------------------------------

# Whether this subinterpreter imported the application's main module
# already, and why that failed, if it did.
_main: dict[str, Any] = {"imported": False, "broken": None}


def _serve_here(process: int, data: bytes) -> None:
    """Serve as interpreter worker `process` until told to stop.

    Runs in the subinterpreter, on its host's thread.
    """
    from pykka_rs import _subcore, _system, _worker  # noqa: PLC0415
    from pykka_rs._logs import ForwardHandler  # noqa: PLC0415
    from pykka_rs._registry import ActorRegistry  # noqa: PLC0415
    from pykka_rs._span import WorkerSpan  # noqa: PLC0415

    settings = pickle.loads(data)  # noqa: S301 (this process's own pool)
    _subcore.set_spin(settings["spin"])
    _subcore.set_message_limit(settings["message_limit"])
    _subcore.set_metrics(settings["metrics"])
    _system.adopt(settings["system"])
    _subcore.become(process)
    try:
        side = _worker.WorkerSide()
        processes.become_worker(side)
        ActorRegistry._span = WorkerSpan()  # noqa: SLF001
        root = logging.getLogger()
        root.handlers[:] = [ForwardHandler()]
        root.setLevel(logging.NOTSET)
        if not _main["imported"]:
            _main["imported"] = True
            _worker.import_main(side, settings["preparation"], "an interpreter worker")
            _main["broken"] = side.broken
        side.broken = _main["broken"]
        side.bootstrapping = False
        _subcore.request(dumps(("interpreter_ready", process))).get(STARTUP_PATIENCE)
        _worker.serve(
            side,
            settings["shutdown_grace"],
            ending="its subinterpreter stopped serving",
        )
        busy = [
            thread
            for thread in threading.enumerate()
            if getattr(getattr(thread, "_target", None), "__name__", "")
            == "_actor_loop"
        ]
        left = _subcore.cut_off(busy, EXIT_MARGIN / 2) if busy else []
        for handler in root.handlers:
            handler.flush()
    finally:
        _subcore.leave()
    if left:
        names = ", ".join(thread.name for thread in left)
        msg = f"{_STUCK}: {names}"
        raise RuntimeError(msg)

"""A worker process: `main()`, which the pool starts in a fresh interpreter.

It reads its bootstrap from standard input (its process number, then the
pool's socket and secret, the parent's pid, and multiprocessing's spawn
preparation data: sys.path, the working directory, the main module), joins
the pool, sends its log records to the parent, imports the main module as
multiprocessing's spawn does, and then makes the actors the parent asks for
until it is told to shut down or loses the parent.

A worker runs in a process group of its own: Ctrl-C in the parent's
terminal reaches the parent only, which then shuts the workers down in
order, `on_stop()` included. A worker whose parent dies ends within a
second, whatever its actors are doing (the core sees to that).
"""

from __future__ import annotations

import logging
import multiprocessing.spawn
import os
import pickle
import queue
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from pykka_rs import _core, _incarnation, _system
from pykka_rs._actor import Actor, assigned_urn
from pykka_rs._logs import ForwardHandler
from pykka_rs._monitor import deliver as deliver_down
from pykka_rs._pickling import dump_error, dumps, loads
from pykka_rs._process import become_worker
from pykka_rs._registry import ActorRegistry
from pykka_rs._remote import remember
from pykka_rs._span import WorkerSpan
from pykka_rs._threading import ThreadingFuture

if TYPE_CHECKING:
    from pykka_rs import Future
    from pykka_rs._ref import ActorRef

logger = logging.getLogger("pykka_rs.worker")

# How long the actors may take to stop once the parent is gone; the core
# ends the process a little later (ORPHAN_GRACE) whatever they are doing.
ORPHAN_STOP = 0.5
ORPHAN_GRACE = 0.8


class WorkerSide:
    """The pools as a worker sees them: the parent starts actors, in the pool named."""

    def __init__(self) -> None:
        self.bootstrapping = True
        # Why the main module could not be imported, if it could not.
        self.broken: str | None = None

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        pool: str = "process",
    ) -> ActorRef[Any]:
        if self.bootstrapping:
            msg = (
                f"{cls.__name__}.start() ran while a worker process was importing "
                "the main module. Put the code that starts actors under "
                "`if __name__ == '__main__':`, as multiprocessing's spawn "
                "method requires, so that worker processes do not run it."
            )
            raise RuntimeError(msg)
        slot = _core.request(dumps(("start", pool, cls, seat, args, kwargs)))
        ref: ActorRef[Any] = ThreadingFuture._from_slot(slot).get()  # noqa: SLF001
        return ref

    def start_supervised(
        self,
        cls: type[Actor],
        process: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        context: dict[str, Any],
    ) -> tuple[int, int]:
        slot = _core.request(dumps(("supervised", cls, process, args, kwargs, context)))
        address: tuple[int, int] = ThreadingFuture._from_slot(slot).get()  # noqa: SLF001
        return address

    def direct(self, process: int, directive: tuple[Any, ...]) -> Any:
        slot = _core.request(dumps(("direct", process, directive)))
        return ThreadingFuture._from_slot(slot).get()  # noqa: SLF001

    def kill(self, process: int, why: str) -> None:
        slot = _core.request(dumps(("kill", process, why)))
        ThreadingFuture._from_slot(slot).get()  # noqa: SLF001


def spawn(side: WorkerSide, reply: tuple[int, int], payload: bytes) -> None:
    """Make the actor the parent asked for, and answer with its number.

    Or carry out a supervisor's request: start a run of a supervised actor
    (answered with its mailbox's number), end one, or close its mailbox; or
    answer with this process's dead letters.
    """
    try:
        if side.broken is not None:
            raise RuntimeError(side.broken)  # noqa: TRY301 (answered below, as any failure)
        request = loads(payload)
        if request[0] == "supervised":
            number = _incarnation.spawn(*request[1:])
            _core.reply(reply, True, dumps(number))  # noqa: FBT003
            return
        if request[0] == "end":
            _incarnation.end(*request[1:])
            _core.reply(reply, True, dumps(None))  # noqa: FBT003
            return
        if request[0] == "close":
            _incarnation.close(*request[1:])
            _core.reply(reply, True, dumps(None))  # noqa: FBT003
            return
        if request[0] == "dead_letters":
            _core.reply(reply, True, dumps(_core.dead_letters()))  # noqa: FBT003
            return
        cls, args, kwargs, urn = request
        with assigned_urn(urn):
            # Actor.start itself: ProcessActor.start would ask the pool again.
            ref = Actor.start.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]
        address = ref.actor_inbox.export()
        remember(address, ref)
        _core.reply(reply, True, dumps(address[1]))  # noqa: FBT003
    except BaseException as exc:  # noqa: BLE001 (the parent raises it)
        _core.reply(reply, False, dump_error(exc))  # noqa: FBT003


class Spawners:
    """The threads that make actors, one request each at a time.

    A slow constructor must not hold up the next request, so a request goes
    to an idle thread if there is one, and to a new thread otherwise. A
    thread waits `IDLE_FOR` seconds for its next request before it ends:
    starting a thread and waiting for it to run is about a sixth of an
    actor's start, and starts come in bursts. `close()` ends them all.
    """

    IDLE_FOR = 10.0

    def __init__(self) -> None:
        # Not a SimpleQueue: with one, a CPython 3.12 interpreter worker
        # (which serves here too) aborted in free() as its pool ended.
        self._requests: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._lock = threading.Lock()
        # Threads waiting for a request, less the requests queued for them.
        self._idle = 0
        self._threads = 0

    def submit(self, *request: Any) -> None:
        """Have `spawn(*request)` run on a thread that does nothing else meanwhile."""
        with self._lock:
            self._requests.put(request)
            if self._idle:
                self._idle -= 1
                return
            self._threads += 1
        threading.Thread(target=self._serve, name="pykka_rs-spawn").start()

    def close(self) -> None:
        """End every thread once it is done with its request."""
        with self._lock:
            for _ in range(self._threads):
                self._requests.put(None)

    def _serve(self) -> None:
        while True:
            request = self._next()
            if request is None:
                return
            spawn(*request)
            with self._lock:
                self._idle += 1

    def _next(self) -> tuple[Any, ...] | None:
        """The next request; None once this thread is to end."""
        while True:
            try:
                return self._requests.get(timeout=self.IDLE_FOR)
            except queue.Empty:
                with self._lock:
                    # A request put while this thread gave up is still its own.
                    if self._requests.empty():
                        self._idle -= 1
                        self._threads -= 1
                        return None


def stop_actors(patience: float, *, ending: str = "its worker process ended") -> None:
    """Stop this worker's own actors, the last started first, within `patience`.

    Each is asked at once; an actor busy with a message stops after it,
    running `on_stop()`, if that happens in time.
    """
    deadline = time.monotonic() + patience
    runs = _incarnation.stop_all()
    refs = [ref for _, ref in ActorRegistry._local_refs()]  # noqa: SLF001
    stops: list[Future[bool]] = []
    for ref in reversed(refs):
        try:
            stops.append(ref.stop(block=False))
        except Exception:
            logger.exception(f"{ref} could not be asked to stop")
    for stop in stops:
        try:
            stop.get(timeout=max(0.0, deadline - time.monotonic()))
        except Exception:
            logger.debug("an actor did not stop in time", exc_info=True)
    for run in runs:
        if not run.over.wait(max(0.0, deadline - time.monotonic())):
            logger.warning(
                f"{run.ref} did not stop within {patience} seconds of the "
                "shutdown; it was cut off when its worker process ended"
            )
    for ref in refs:
        if ref.is_alive():
            logger.warning(
                f"{ref} did not stop within {patience} seconds of the shutdown; "
                f"it was cut off when {ending}"
            )


def serve(
    side: WorkerSide,
    shutdown_grace: float,
    *,
    ending: str = "its worker process ended",
) -> None:
    """Handle the parent's requests until told to stop or the parent is gone."""
    spawners = Spawners()
    try:
        _serve(side, shutdown_grace, spawners, ending)
    finally:
        spawners.close()


def _serve(
    side: WorkerSide, shutdown_grace: float, spawners: Spawners, ending: str
) -> None:
    while True:
        item = _core.next_control(1.0)
        if item is None:
            continue
        kind = item[0]
        try:
            if kind == "spawn":
                spawners.submit(side, *item[1:])
            elif kind == "dead_letter":
                logging.getLogger("pykka").warning(item[1])
            elif kind == "shutdown":
                stop_actors(shutdown_grace, ending=ending)
                return
            elif kind == "parent_lost":
                stop_actors(ORPHAN_STOP, ending=ending)
                return
            elif kind == "barrier":
                item[1].set()
            elif kind == "down":
                deliver_down(item[1], item[2])
        except Exception:
            logger.exception(f"pykka_rs worker could not handle {kind!r}")


def import_main(
    side: WorkerSide, preparation: dict[str, Any], worker: str = "a worker process"
) -> None:
    """Import the main module as multiprocessing's spawn does.

    If that fails, note why: `start()` in the parent then says so.
    """
    try:
        multiprocessing.spawn.prepare(preparation)
    except BaseException as exc:  # noqa: BLE001 (reported to whoever starts an actor here)
        where = preparation.get("init_main_from_path") or preparation.get(
            "init_main_from_name", "the main module"
        )
        text = "".join(traceback.format_exception(exc)).rstrip()
        side.broken = (
            f"{worker} could not import the main module ({where}), so "
            f"it cannot make actors:\n{text}"
        )
        logger.debug(side.broken)


def main() -> None:
    raw = sys.stdin.buffer.read()
    process = int.from_bytes(raw[:4], "little")
    bootstrap: dict[str, Any] = pickle.loads(raw[4:])  # noqa: S301 (our parent, through our own pipe)
    _system.adopt(bootstrap["system"])  # before anything is unpickled here
    # Standard input was only for the bootstrap; actors must not read the pipe.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Before the main module runs: an unguarded ProcessActor.start() in it
    # must fail, not start a pool of its own in every worker.
    side = WorkerSide()
    become_worker(side)
    _core.set_spin(bootstrap["spin"])
    _core.set_metrics(bootstrap.get("metrics", True))
    _core.set_message_limit(bootstrap["message_limit"])
    _core.join_pool(
        process,
        bootstrap["socket"],
        bootstrap["secret"],
        bootstrap["parent"],
        ORPHAN_GRACE,
    )
    ActorRegistry._span = WorkerSpan()  # noqa: SLF001
    root = logging.getLogger()
    root.handlers[:] = [ForwardHandler()]
    root.setLevel(logging.NOTSET)
    import_main(side, bootstrap["preparation"])
    side.bootstrapping = False
    serve(side, bootstrap["shutdown_grace"])
    logging.shutdown()
    _core.leave_pool()  # after the last log record
    sys.stdout.flush()
    sys.stderr.flush()
    # Actors' non-daemon threads have stopped or get no more time.
    os._exit(0)

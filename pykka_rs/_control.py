"""The main interpreter's servant of the node: what the links queue for Python.

Workers of every kind (processes and subinterpreters) send the parent work
only Python can do: log records to emit, requests (start an actor in a
pool, list the registry, take an actor out of it), dead letters, and the
pool's own events. The core queues them in order; one thread here takes
them (`_core.next_control`) and does them, for as long as any pool runs.
Requests to start an actor go to the pool they name, which registered a
starter here; so a process actor can start an interpreter actor and the
reverse, without either pool knowing the other.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from pykka_rs import _core
from pykka_rs._logs import emit
from pykka_rs._monitor import deliver as deliver_down
from pykka_rs._pickling import dump_error, dumps, loads
from pykka_rs._registry import ActorRegistry

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs import Actor, ActorRef

    Starter = Callable[
        [type[Actor], int | None, tuple[Any, ...], dict[str, Any]], ActorRef[Any]
    ]

logger = logging.getLogger("pykka_rs.pool")

# How long the servant waits for the queue before it looks whether to end.
_TICK = 0.1

_lock = threading.Lock()
_users: set[str] = set()
_thread: threading.Thread | None = None
_starters: dict[str, Starter] = {}
_handlers: dict[str, Callable[..., Any]] = {}
_waiting: dict[str, Callable[..., Any]] = {}


def _pickled_each(refs: list[ActorRef[Any]]) -> list[bytes]:
    """Each ref pickled on its own: one that does not pickle is left out."""
    pickled = []
    for ref in refs:
        try:
            pickled.append(dumps(ref))
        except Exception:
            logger.debug(
                f"{ref} is left out of a worker's registry lookup", exc_info=True
            )
    return pickled


def serving() -> bool:
    """Whether the calling thread is the servant itself."""
    return threading.current_thread() is _thread


def join(
    pool: str,
    starter: Starter,
    *,
    waiting: dict[str, Callable[..., Any]] | None = None,
    **handlers: Callable[..., Any],
) -> None:
    """`pool` is running: serve its workers, starting actors with `starter`.

    `handlers` answer the pool's own requests, by kind; each gets the
    request's details and returns the answer. Those in `waiting` may wait
    on a worker, so they run on a thread of their own, as starts do.
    """
    global _thread  # noqa: PLW0603
    with _lock:
        _users.add(pool)
        _starters[pool] = starter
        _handlers.update(handlers)
        _waiting.update(waiting or {})
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_serve, name="pykka_rs-pool", daemon=True)
            _thread.start()


def leave(pool: str) -> None:
    """`pool` has shut down; the servant ends once no pool runs.

    What the workers sent before they ended (their last log records) is
    handled before the servant ends.
    """
    with _lock:
        _users.discard(pool)
        _starters.pop(pool, None)
        thread = _thread if not _users else None
    if thread is not None and thread is not threading.current_thread():
        thread.join(1.0)


def _serve() -> None:
    while True:
        with _lock:
            closed = not _users
        item = _core.next_control(0.0 if closed else _TICK)
        if item is None:
            if closed:
                return
            continue
        try:
            _handle(item)
        except Exception:
            logger.exception("pykka_rs could not handle a worker's %s", item[0])


def _handle(item: tuple[Any, ...]) -> None:
    kind = item[0]
    if kind == "log":
        emit(item[1])
    elif kind == "request":
        _answer(*item[1:])
    elif kind == "dead_letter":
        logging.getLogger("pykka").warning(item[1])
    elif kind == "pool_event":
        logger.error(item[1])
    elif kind == "barrier":
        item[1].set()
    elif kind == "down":
        deliver_down(item[1], item[2])


def _answer(reply: tuple[int, int], payload: bytes) -> None:
    """Do what a worker asked for and answer it."""
    try:
        kind, *details = loads(payload)
        if kind == "withdraw":
            process, number = details
            _core.reply(reply, True, dumps(_core.withdraw(process, number)))  # noqa: FBT003
            return
        if kind == "registry":
            _core.reply(reply, True, dumps(_pickled_each(ActorRegistry.get_all())))  # noqa: FBT003
            return
        if kind in {"stats", "actor_stats"}:
            # Gathering waits for the workers: not on this thread either.
            threading.Thread(
                target=_stats_for,
                args=(reply, kind, *details),
                name="pykka_rs-stats",
                daemon=True,
            ).start()
            return
        if kind in _handlers:
            _core.reply(reply, True, dumps(_handlers[kind](*details)))  # noqa: FBT003
            return
        if kind in _waiting:
            work, arguments = _waiting[kind], tuple(details)
        elif kind == "start":
            pool, *rest = details
            with _lock:
                starter = _starters.get(pool)
            work, arguments = starter or _start_pool(pool), tuple(rest)
        else:
            msg = f"the parent does not know a worker request {kind!r}"
            raise ValueError(msg)  # noqa: TRY301 (answered to the worker below)
    except Exception as exc:  # noqa: BLE001
        _core.reply(reply, False, dump_error(exc))  # noqa: FBT003
        return
    # Starting waits for a worker: not on this thread, which others wait on.
    threading.Thread(
        target=_carry_out,
        args=(reply, work, arguments),
        name="pykka_rs-start",
        daemon=True,
    ).start()


def _stats_for(reply: tuple[int, int], kind: str, *details: Any) -> None:
    """Answer a worker's `stats()`, or its read of another process's actor."""
    from pykka_rs._stats import actor_stats, stats  # noqa: PLC0415 (import cycle)

    try:
        answer = stats() if kind == "stats" else actor_stats(details[0])
        _core.reply(reply, True, dumps(answer))  # noqa: FBT003
    except Exception as exc:  # noqa: BLE001
        _core.reply(reply, False, dump_error(exc))  # noqa: FBT003


def _start_pool(pool: str) -> Starter:
    """The starter of a pool that is not running yet: it starts on first use."""
    if pool == "process":
        from pykka_rs._process import _system  # noqa: PLC0415 (import cycle)

        return _system().start
    if pool == "interpreter":
        from pykka_rs._interpreters import _system as interpreters  # noqa: PLC0415

        return interpreters().start
    msg = f"the parent has no pool of {pool!r} workers"
    raise ValueError(msg)


def _carry_out(
    reply: tuple[int, int], work: Callable[..., Any], arguments: tuple[Any, ...]
) -> None:
    """Do a worker's request that waits on a worker, such as starting an actor."""
    try:
        answer = work(*arguments)
        _core.reply(reply, True, dumps(answer))  # noqa: FBT003
    except Exception as exc:  # noqa: BLE001
        _core.reply(reply, False, dump_error(exc))  # noqa: FBT003

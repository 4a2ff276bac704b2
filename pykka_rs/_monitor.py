"""Monitors and links: being told, once, how an actor ended.

`monitor(ref, target)` tells `target` (a callable, or an actor, as a
message) an `ActorExit` once the actor of `ref` has ended: after the last
message it handled, with the reason. Where the actor lives decides how:

- an actor of this process (a thread actor, or the stable ref of an actor
  supervised from here) tells its monitors itself, at the end of its
  thread, or its supervisor does when it gives up on it; the latest ends
  are remembered for monitors set up late;
- an actor of another process is watched through the node
  (`_core.watch`): its process announces its end in an `Exited` frame,
  and a process that dies takes its actors with it ("killed"). The node's
  control thread (`_parent.py`, `_worker.py`) hands the news to `deliver`.

An actor that other processes can reach (its ref was pickled, or it is a
process actor) announces its end to them as well (`actor_exited`).

Links are monitors the actors set up on each other, through messages
(`messages._Link`), so that each side's monitor lives in its own process
and hears of the other's death even when the process that called `link()`
is gone. A linked actor that fails (or is killed, or shut down) sends the
other an exit signal (`messages._Exit`): an actor that traps exits gets the
`ActorExit` as a message; any other actor stops, failing with `LinkError`,
unless the end was "normal".
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import pickle
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from pykka_rs import _core, messages
from pykka_rs._exceptions import ActorDeadError
from pykka_rs._pickling import PROTOCOL, describe_traceback, dump_error, load_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs import Actor, ActorRef

__all__ = ["ActorExit", "LinkError", "Monitor", "link", "monitor", "unlink"]

logger = logging.getLogger("pykka")

REASONS = ("normal", "shutdown", "failure", "killed", "noproc")

# How many ends of this process's actors are remembered for late monitors.
RECENT_ENDS = 4096


class ActorExit:
    """How an actor ended, as monitors and links tell it.

    Attributes:
        actor_ref: the actor that ended (the ref given to `monitor()`)
        reason: `"normal"` (it stopped: `ActorRef.stop()`, `Actor.stop()`),
            `"shutdown"` (its supervisor, or its worker process's shutdown,
            stopped it), `"failure"` (an exception stopped it), `"killed"`
            (its worker process died with it, or it could not be stopped in
            time) or `"noproc"` (it had ended before it was monitored, so
            long ago that how is forgotten)
        exception: the exception that stopped it, for `"failure"`; from
            another process, a copy (or a `RemoteError` describing it)
        traceback: the exception's traceback, formatted, for `"failure"`
        detail: more about the end, e.g. "worker process 3 (pid 4242)
            killed by SIGKILL"
    """

    __slots__ = ("actor_ref", "detail", "exception", "reason", "traceback")

    def __init__(
        self,
        actor_ref: ActorRef[Any],
        reason: str,
        exception: BaseException | None = None,
        traceback: str | None = None,
        detail: str = "",
    ) -> None:
        self.actor_ref = actor_ref
        self.reason = reason
        self.exception = exception
        self.traceback = traceback
        self.detail = detail

    @property
    def abnormal(self) -> bool:
        """Whether the actor ended other than by being asked to stop."""
        return self.reason not in ("normal", "shutdown")

    def __repr__(self) -> str:
        what = f"{self.reason}: {self.detail}" if self.detail else self.reason
        return f"<ActorExit of {self.actor_ref}: {what}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorExit):
            return NotImplemented
        return (self.actor_ref, self.reason, self.detail) == (
            other.actor_ref,
            other.reason,
            other.detail,
        ) and self.exception is other.exception

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the exception as `dump_error` does: it always travels."""
        error = None if self.exception is None else dump_error(self.exception)
        return (
            _rebuild_exit,
            (self.actor_ref, self.reason, error, self.traceback, self.detail),
        )

    def with_ref(self, actor_ref: ActorRef[Any]) -> ActorExit:
        """The same end, naming the actor by `actor_ref`."""
        return ActorExit(
            actor_ref, self.reason, self.exception, self.traceback, self.detail
        )


def _rebuild_exit(
    actor_ref: ActorRef[Any],
    reason: str,
    error: bytes | None,
    traceback: str | None,
    detail: str,
) -> ActorExit:
    exception = None if error is None else load_error(error)
    return ActorExit(actor_ref, reason, exception, traceback, detail)


class LinkError(Exception):
    """An actor linked to this one ended abnormally, so this one stops too.

    Its `exit` is the linked actor's `ActorExit`; `__cause__` is the
    exception that stopped it, if any.
    """

    def __init__(self, exit: ActorExit) -> None:  # noqa: A002 (Erlang's word)
        super().__init__(f"{exit.actor_ref} ended: {exit.reason}")
        self.exit = exit


class Monitor:
    """A watch on one actor, from `monitor()`. Tells its target once."""

    def __init__(
        self,
        actor_ref: ActorRef[Any],
        target: Callable[[ActorExit], object] | ActorRef[Any],
    ) -> None:
        self.actor_ref = actor_ref
        self._target = target
        self._token: int | None = None
        self._done = False
        self._lock = threading.Lock()

    def cancel(self) -> bool:
        """Stop watching; return whether the monitor had not been told yet."""
        with self._lock:
            if self._done:
                return False
            self._done = True
            token = self._token
        if token is not None:
            _core.unwatch(token)
            with _lock:
                _tokens.pop(token, None)
        else:
            with _lock:
                watchers = _watchers.get(self.actor_ref.actor_urn, [])
                if self in watchers:
                    watchers.remove(self)
        return True

    @property
    def active(self) -> bool:
        """Whether the monitor has neither been told nor cancelled."""
        return not self._done

    def _fire(self, exit: ActorExit) -> None:  # noqa: A002
        with self._lock:
            if self._done:
                return
            self._done = True
        _tell(self._target, exit.with_ref(self.actor_ref))

    def __repr__(self) -> str:
        state = "active" if self.active else "done"
        return f"<Monitor of {self.actor_ref}: {state}>"


# Monitors of this process's actors, by URN; the latest ends, by URN; the
# node's watches, by token. One lock, never held while telling anyone.
_lock = threading.Lock()
_watchers: dict[str, list[Monitor]] = {}
_ended: OrderedDict[str, ActorExit] = OrderedDict()
_tokens: dict[int, Monitor] = {}


def _tell(
    target: Callable[[ActorExit], object] | ActorRef[Any],
    exit: ActorExit,  # noqa: A002 (Erlang's word)
) -> None:
    from pykka_rs._ref import ActorRef  # noqa: PLC0415 (import cycle)

    try:
        if isinstance(target, ActorRef):
            target.tell(exit)
        else:
            target(exit)
    except ActorDeadError:
        logger.debug(f"{target} ended before it could be told of {exit}")
    except Exception:
        logger.exception(f"A monitor of {exit.actor_ref} failed to take {exit}")


def _remote_address(actor_ref: ActorRef[Any]) -> tuple[int, int] | None:
    """The address of an actor of another process, or None for one here."""
    inbox = actor_ref.actor_inbox
    if isinstance(inbox, _core.RemoteMailbox):
        return inbox.export()
    return None


def monitor(
    actor_ref: ActorRef[Any],
    target: Callable[[ActorExit], object] | ActorRef[Any],
) -> Monitor:
    """Tell `target` once how the actor of `actor_ref` ended.

    `target` is a callable, called with an `ActorExit`, or an `ActorRef`,
    told the `ActorExit` as a message. It is told after the last message the
    actor handled, from any process: a thread actor's monitors when its
    thread ends, a process actor's when its worker announces the end or
    dies. An actor that has ended already is reported at once (with
    `"noproc"` if its end is forgotten). A supervised actor's monitors are
    told when its supervisor gives up on it, not at each restart.

    A callable runs on whatever thread learns of the end (the actor's own,
    or the thread that reads the other processes' news): keep it short, and
    send a message if there is work to do. What it raises is logged.

    Args:
        actor_ref: the actor to watch
        target: what to tell

    Returns:
        the monitor, whose `cancel()` stops it

    Raises:
        TypeError: if `actor_ref` is not an `ActorRef`, or `target` neither
            callable nor an `ActorRef`
    """
    from pykka_rs._ref import ActorRef  # noqa: PLC0415 (import cycle)

    if not isinstance(actor_ref, ActorRef):
        msg = f"monitor() watches an ActorRef, not {type(actor_ref).__name__}"
        raise TypeError(msg)
    if not (isinstance(target, ActorRef) or callable(target)):
        msg = f"monitor() tells a callable or an ActorRef, not {type(target).__name__}"
        raise TypeError(msg)
    watch = Monitor(actor_ref, target)
    if actor_ref._unreachable is not None:  # noqa: SLF001 (a ref of another system)
        watch._fire(ActorExit(actor_ref, "noproc", detail=actor_ref._unreachable))  # noqa: SLF001
        return watch
    address = _remote_address(actor_ref)
    if address is not None:
        _watch_remote(watch, address)
        return watch
    urn = actor_ref.actor_urn
    with _lock:
        known = _ended.get(urn)
        if known is None:
            known = _forgotten(actor_ref)
        if known is None:
            _watchers.setdefault(urn, []).append(watch)
    if known is not None:
        watch._fire(known)  # noqa: SLF001
    return watch


def _forgotten(actor_ref: ActorRef[Any]) -> ActorExit | None:
    """The end of an actor of this process whose end is not remembered.

    None if it has not ended yet: it will tell its monitors.
    """
    if not actor_ref.actor_stopped.is_set():
        return None
    actor = actor_ref._actor_weakref()  # noqa: SLF001
    if actor is not None and getattr(actor, "_exit", None) is None:
        return None  # stopped, and its thread is still ending
    if getattr(actor_ref, "_supervised_by", None) is not None and actor is not None:
        return None  # its supervisor tells the end
    return ActorExit(actor_ref, "noproc", detail="it ended before it was monitored")


def watch_address(
    actor_ref: ActorRef[Any],
    address: tuple[int, int],
    target: Callable[[ActorExit], object],
) -> Monitor:
    """Tell `target` how the actor at `address` (of another process) ended.

    The `ActorExit` names it `actor_ref`: a supervisor watches the mailbox
    of its child's current run this way, naming the child by its stable ref.
    """
    watch = Monitor(actor_ref, target)
    _watch_remote(watch, address)
    return watch


def _watch_remote(watch: Monitor, address: tuple[int, int]) -> None:
    answer = _core.watch(*address)
    if answer[0] == "watching":
        token = answer[1]
        with _lock:
            watch._token = token  # noqa: SLF001
            _tokens[token] = watch
        return
    watch._fire(_decode(watch.actor_ref, answer))  # noqa: SLF001


def _decode(actor_ref: ActorRef[Any], end: tuple[Any, ...]) -> ActorExit:
    """An `ActorExit` from the node's news of an end."""
    if end[0] == "died":
        return ActorExit(actor_ref, "killed", detail=end[1])
    _, reason, payload = end
    try:
        error, traceback, detail = pickle.loads(payload)  # noqa: S301 (a process of this pool)
        exception = None if error is None else load_error(error)
    except Exception as exc:  # noqa: BLE001 (what it says is still worth telling)
        return ActorExit(actor_ref, reason, detail=f"details lost: {exc!r}")
    return ActorExit(actor_ref, reason, exception, traceback, detail)


def deliver(token: int, end: tuple[Any, ...]) -> None:
    """Tell the monitor of watch `token` the end the node reported."""
    with _lock:
        watch = _tokens.pop(token, None)
    if watch is not None:
        watch._fire(_decode(watch.actor_ref, end))  # noqa: SLF001


def ended(
    actor_ref: ActorRef[Any],
    reason: str,
    exception: BaseException | None = None,
    detail: str = "",
) -> ActorExit:
    """Tell everyone watching an actor of this process that it ended.

    The monitors here are told; if other processes can reach the actor,
    its end is announced to them. Called once per actor, after its last
    message: by the actor's thread, or by the supervisor of a supervised
    actor once it gives up on it.
    """
    traceback = None if exception is None else describe_traceback(exception)
    exit = ActorExit(actor_ref, reason, exception, traceback, detail)  # noqa: A001
    urn = actor_ref.actor_urn
    with _lock:
        _ended[urn] = exit
        _ended.move_to_end(urn)
        while len(_ended) > RECENT_ENDS:
            _ended.popitem(last=False)
        watchers = _watchers.pop(urn, [])
    for watch in watchers:
        watch._fire(exit)  # noqa: SLF001
    inbox = actor_ref.actor_inbox
    if isinstance(inbox, _core.Mailbox | _core.Relay):
        number = inbox.exported
        if number is not None:
            error = None if exception is None else dump_error(exception)
            payload = pickle.dumps((error, traceback, detail), protocol=PROTOCOL)
            _core.announce_exit(number, reason, payload)
    return exit


# --- Links --------------------------------------------------------------------


_link_ids = itertools.count(1)


def link(first: ActorRef[Any], second: ActorRef[Any]) -> None:
    """Link two actors, in Erlang's sense: each is told when the other ends.

    An actor told of a linked actor's end stops, failing with `LinkError`
    (its `on_failure()` runs; if it is supervised, its supervisor restarts
    it), unless the end was `"normal"`. An actor whose class (or instance)
    sets `trap_exits = True` gets the `ActorExit` as a message instead, for
    every end, `"normal"` included.

    Each actor is asked by a message, in order with the others it gets, to
    watch the other; the link works across processes, and survives the
    process that made it. Linking to an actor that has ended already tells
    the other at once. A link belongs to one run of a supervised actor: its
    restart does not keep it.

    Raises:
        TypeError: if either is not an `ActorRef`
    """
    _check_pair(first, second, "link")
    for ref, peer in ((first, second), (second, first)):
        # A dead one is left out: the other, watching it, hears of its end.
        with contextlib.suppress(ActorDeadError):
            ref.tell(messages._Link(peer))  # noqa: SLF001


def unlink(first: ActorRef[Any], second: ActorRef[Any]) -> None:
    """Undo `link()`: each actor is asked to stop watching the other.

    Raises:
        TypeError: if either is not an `ActorRef`
    """
    _check_pair(first, second, "unlink")
    for ref, peer in ((first, second), (second, first)):
        with contextlib.suppress(ActorDeadError):
            ref.tell(messages._Link(peer, link=False))  # noqa: SLF001


def _check_pair(first: object, second: object, what: str) -> None:
    from pykka_rs._ref import ActorRef  # noqa: PLC0415 (import cycle)

    for ref in (first, second):
        if not isinstance(ref, ActorRef):
            msg = f"{what}() takes two ActorRefs, not {type(ref).__name__}"
            raise TypeError(msg)


def handle_link(actor: Actor, message: messages._Link) -> None:
    """In `actor`: watch `message.peer` for it, or stop watching it."""
    links: dict[str, tuple[int, Monitor]] = actor.__dict__.setdefault("_links", {})
    urn = message.peer.actor_urn
    if not message.link:
        old = links.pop(urn, None)
        if old is not None:
            old[1].cancel()
        return
    if urn in links or urn == actor.actor_urn:
        return
    number = next(_link_ids)
    me = actor.actor_ref

    def signal(exit: ActorExit) -> None:  # noqa: A002
        me.tell(messages._Exit(exit, number))  # noqa: SLF001

    links[urn] = (number, monitor(message.peer, signal))


def handle_exit_signal(actor: Actor, message: messages._Exit) -> None:
    """In `actor`: take an exit signal from a linked actor.

    Raises:
        LinkError: to stop the actor, as any failure does
    """
    links: dict[str, tuple[int, Monitor]] = actor.__dict__.get("_links", {})
    exit = message.exit  # noqa: A001
    urn = exit.actor_ref.actor_urn
    entry = links.get(urn)
    if entry is None or entry[0] != message.link:
        return  # a link this run does not have (an earlier run's, say)
    del links[urn]
    if getattr(actor, "trap_exits", False):
        actor.on_receive(exit)
        return
    if exit.reason == "normal":
        return
    error = LinkError(exit)
    error.__cause__ = exit.exception
    raise error


def drop_links(actor: Actor) -> None:
    """Stop watching `actor`'s linked actors: it has ended."""
    links: dict[str, tuple[int, Monitor]] = actor.__dict__.pop("_links", {})
    for _, watch in links.values():
        watch.cancel()

"""`pykka_rs._core` in a subinterpreter, where the Rust extension cannot load.

PyO3 modules refuse to load in a second interpreter, so in one this module
stands in for the core (`pykka_rs/__init__.py` installs it as
`pykka_rs._core`; see `_select.py`). It offers, in plain Python, the part of
the core's interface that the Python layers use in a worker: `Event`,
`Slot`, `Mailbox`, `RemoteMailbox`, `ActorThread`, `run_actor_loop` and the
system functions, with the same semantics. `_actor.py`, `_ref.py`,
`_proxy.py`, `_registry.py`, `_span.py` and the rest run on it unchanged.

Without a link, it is a runtime of its own: thread actors work in any
subinterpreter. A subinterpreter of the worker pool also links its node
(`Node` below) to the parent's, as interpreter worker number N: the node
speaks the wire protocol (`_wire.py`) over the in-memory channel that
`pykka_rs._interp` reaches, a module of the core's shared object written
against the raw C API, which keeps only bytes in Rust and waits with this
interpreter's GIL released. The parent's node treats the link as it treats
a worker process's socket: routing, replies, stops, deaths and the system's
registry work unchanged.

Messages from other processes stay pickled until the actor takes them, as
in the core, so one that does not unpickle fails its asker, not the node.
They reach an exported actor through an inbox of its own in the channel,
filled by the parent's core, on which the actor's thread waits: a message
wakes the actor itself (see `docs/protocol.md`, "Inboxes").
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import itertools
import logging
import math
import os
import pickle
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast

from pykka_rs import _wire
from pykka_rs._envelope import Envelope
from pykka_rs._exceptions import ActorDeadError, Timeout

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

__all__ = [
    "ActorThread",
    "Event",
    "Mailbox",
    "RemoteMailbox",
    "Slot",
    "announce_registered",
    "announce_unregistered",
    "catch_up",
    "control_barrier",
    "disown",
    "disowned",
    "gather_stats",
    "local_future",
    "local_stats",
    "log_levels",
    "message_limit",
    "metrics",
    "next_control",
    "next_seq",
    "process",
    "registered",
    "reply",
    "request",
    "run_actor_loop",
    "send_log",
    "set_message_limit",
    "set_metrics",
    "set_spin",
    "spin",
    "subscribe",
    "withdraw",
]

logger = logging.getLogger("pykka_rs.interpreter")

_SEND_ONLY = "the inbox of an actor in another process can only be sent to"
_DEADLOCK = (
    "an actor waited, with no timeout, for a reply only it can send: "
    "the message is queued behind the one it is handling now. "
    "Don't block on asks to yourself; keep the future, or pass a timeout"
)

# How long an exported future is kept once it is done, as the core does.
_SHARED_FUTURE_LIFE = 60.0
# How many announced stops are remembered for actors not heard of yet.
_RECENT_STOPS = 4096

_settings = {"spin": 0.0005, "message_limit": _wire.MAX_PAYLOAD}


def _deadline(timeout: object) -> float | None:
    """The monotonic deadline of a `timeout`, checked as the core checks it."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        try:
            seconds = float(timeout)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            msg = (
                "timeout must be a number of seconds or None, not "
                f"{type(timeout).__name__}"
            )
            raise TypeError(msg) from None
    else:
        seconds = float(timeout)
    if math.isnan(seconds):
        msg = "timeout must be a number of seconds, not NaN"
        raise ValueError(msg)
    return time.monotonic() + max(0.0, seconds)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


# --- Events and slots --------------------------------------------------------


class Event:
    """A flag threads can wait for, with the methods of `threading.Event`.

    Callbacks registered by the runtime run once, when it is first set.
    """

    def __init__(self) -> None:
        self._flag = False
        self._cond = threading.Condition(threading.Lock())
        self._on_set: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        """Return True if and only if the flag is set."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake every thread waiting for it."""
        with self._cond:
            was_set = self._flag
            self._flag = True
            callbacks, self._on_set = self._on_set, []
            self._cond.notify_all()
        if not was_set:
            for callback in callbacks:
                callback()

    def clear(self) -> None:
        """Reset the flag."""
        with self._cond:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or `timeout` seconds pass; return the flag."""
        deadline = _deadline(timeout)
        with self._cond:
            while not self._flag:
                left = _left(deadline)
                if left == 0.0:
                    break
                self._cond.wait(left)
            return self._flag

    def _on(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the flag is set: now, if it is."""
        with self._cond:
            if not self._flag:
                self._on_set.append(callback)
                return
        callback()

    def __repr__(self) -> str:
        return f"<pykka_rs._core.Event: {'set' if self._flag else 'unset'}>"


# What a slot holds.
_VALUE, _ERROR, _HOOK, _PICKLED, _UNDELIVERABLE = range(5)

_current = threading.local()


class _Unraisable(NamedTuple):
    """What `sys.unraisablehook` is told, as the core tells it."""

    exc_type: type[BaseException]
    exc_value: BaseException
    exc_traceback: Any
    err_msg: str | None
    object: object


def _unraisable(exc: BaseException, where: object) -> None:
    args = _Unraisable(type(exc), exc, exc.__traceback__, None, where)
    sys.unraisablehook(cast("Any", args))


def _deadlock_check(answered_by: object) -> None:
    if answered_by is not None and getattr(_current, "mailbox", None) is answered_by:
        raise RuntimeError(_DEADLOCK)


class Slot:
    """The state of one `ThreadingFuture`: set once, read any number of times."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._kind: int | None = None
        self._content: Any = None
        self._decoded: tuple[int, Any] | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._hook_runner: int | None = None
        self._hook_result: list[Any] = []
        self._answered_by: object = None
        self._exported: int | None = None

    def _publish(self, kind: int, content: Any) -> bool:
        with self._cond:
            if self._kind is not None:
                return False
            self._kind = kind
            self._content = content
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for callback in callbacks:
            callback()
        return True

    def set(self, value: Any) -> bool:
        """Store `value`; return False if the slot already holds something."""
        return self._publish(_VALUE, value)

    def set_exception(self, kind: Any, value: Any, traceback: Any) -> bool:
        """Store an exception as `(type, value, traceback)`."""
        return self._publish(_ERROR, (kind, value, traceback))

    def set_hook(self, hook: Any) -> bool:
        """Store a get hook, or replace the one stored."""
        with self._cond:
            if self._kind == _HOOK:
                self._content = hook
                return True
        return self._publish(_HOOK, hook)

    def done(self) -> bool:
        """Whether the slot holds something."""
        return self._kind is not None

    def export(self) -> tuple[int, int]:
        """Let other processes read this slot; return its address."""
        node = _node()
        if self._exported is None:
            self._exported = node.export_future(self)
        return (node.process, self._exported)

    def add_done_callback(self, callback: Any) -> None:
        """Call `callback()` once the slot holds something."""

        def call() -> None:
            try:
                callback()
            except Exception as exc:  # noqa: BLE001
                _unraisable(exc, callback)

        self._on_done(call)

    def _on_done(self, callback: Callable[[], None]) -> None:
        with self._cond:
            if self._kind is None:
                self._callbacks.append(callback)
                return
        callback()

    def _wait(self, timeout: object) -> bool:
        if self._kind is not None:
            return True
        deadline = _deadline(timeout)
        if deadline is None:
            _deadlock_check(self._answered_by)
        with self._cond:
            while self._kind is None:
                left = _left(deadline)
                if left == 0.0:
                    return False
                self._cond.wait(left)
        return True

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the slot; return its value, raise its exception or run its hook."""
        if not self._wait(timeout):
            raise Timeout(f"{timeout} seconds")
        kind, content = self._kind, self._content
        if kind == _HOOK:
            return self._run_hook(timeout)
        if kind in (_PICKLED, _UNDELIVERABLE):
            if self._decoded is None:
                self._decoded = _decode(kind, content)
            kind, content = self._decoded
        if kind == _VALUE:
            return content
        _kind, value, traceback = content
        if value is None:
            value = _kind()
        raise value.with_traceback(traceback)

    def _run_hook(self, timeout: float | None) -> Any:
        me = threading.get_ident()
        with self._cond:
            while True:
                if self._hook_result:
                    return self._hook_result[0]
                if self._hook_runner is None:
                    self._hook_runner = me
                    hook = self._content
                    break
                if self._hook_runner == me:
                    msg = (
                        "get() was called on a future from inside that "
                        "future's own get hook"
                    )
                    raise RuntimeError(msg)
                self._cond.wait()
        try:
            result = hook(timeout)
        except BaseException:
            with self._cond:
                self._hook_runner = None
                self._cond.notify_all()
            raise
        with self._cond:
            self._hook_result.append(result)
            self._hook_runner = None
            self._cond.notify_all()
        return result

    def _outcome_for_wire(self) -> tuple[bool, bytes] | str:
        """The outcome to send to another process: pickled, or why there is none."""
        from pykka_rs._pickling import dump_error, dumps  # noqa: PLC0415

        kind, content = self._kind, self._content
        if kind == _PICKLED:
            return content  # type: ignore[no-any-return]
        if kind == _UNDELIVERABLE:
            return content  # type: ignore[no-any-return]
        try:
            value = self.get(None)
        except BaseException as exc:  # noqa: BLE001
            return (False, dump_error(exc))
        try:
            return (True, dumps(value))
        except Exception as exc:  # noqa: BLE001
            return (False, dump_error(exc))


def _decode(kind: int, content: Any) -> tuple[int, Any]:
    """A reply from elsewhere as a value or an exception."""
    from pykka_rs._pickling import load_error, loads  # noqa: PLC0415

    if kind == _UNDELIVERABLE:
        exc: BaseException = ActorDeadError(content)
    else:
        ok, payload = content
        if ok:
            try:
                return (_VALUE, loads(payload))
            except BaseException as err:  # noqa: BLE001
                exc = err
        else:
            exc = load_error(payload)
    return (_ERROR, (type(exc), exc, exc.__traceback__))


def _resolve(slot: Slot, outcome: tuple[bool, bytes] | str) -> bool:
    if isinstance(outcome, str):
        return slot._publish(_UNDELIVERABLE, outcome)  # noqa: SLF001
    return slot._publish(_PICKLED, outcome)  # noqa: SLF001


# --- Mailboxes -------------------------------------------------------------


class _Pickled:
    """A message from another process, still pickled."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class _RemoteReply:
    """Where the answer to a message from another process goes."""

    __slots__ = ("future",)

    def __init__(self, future: tuple[int, int]) -> None:
        self.future = future


def _threading_future(slot: Slot) -> Any:
    from pykka_rs._threading import ThreadingFuture  # noqa: PLC0415

    return ThreadingFuture._from_slot(slot)  # type: ignore[arg-type]  # noqa: SLF001


def _reply_for(future: Any) -> Any:
    """What an envelope keeps of a Python future: its slot, its address, or itself."""
    if future is None:
        return None
    from pykka_rs._remote import RemoteFuture  # noqa: PLC0415
    from pykka_rs._threading import ThreadingFuture  # noqa: PLC0415

    kind = type(future)
    if kind is ThreadingFuture:
        return future._slot  # noqa: SLF001
    if kind is RemoteFuture:
        return _RemoteReply((future._owner, future._id))  # noqa: SLF001
    return future


def _future_for(reply: Any) -> Any:
    """The Python future for what an envelope keeps."""
    if reply is None:
        return None
    if isinstance(reply, Slot):
        return _threading_future(reply)
    if isinstance(reply, _RemoteReply):
        from pykka_rs._remote import RemoteFuture  # noqa: PLC0415

        return RemoteFuture(*reply.future)
    return reply


def _fail(reply: Any, exc: BaseException) -> None:
    """Answer `reply` with `exc`; a told message raises it at the sender."""
    if reply is None:
        raise exc
    if isinstance(reply, Slot):
        reply.set_exception(type(exc), exc, exc.__traceback__)
    elif isinstance(reply, _RemoteReply):
        from pykka_rs._pickling import dump_error  # noqa: PLC0415

        _node().send_reply(reply.future, ok=False, payload=dump_error(exc))
    else:
        reply.set_exception((type(exc), exc, None))


class Mailbox:
    """An actor's inbox: an unbounded queue of envelopes, closed by its stopped flag."""

    def __init__(self) -> None:
        self._items: deque[tuple[Any, Any]] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._stopped = Event()
        self._stopped._on(self._wake)  # noqa: SLF001
        self._label = "actor"
        self._exported: int | None = None
        # Once exported over a channel: (the channel's module, the worker's
        # number, this mailbox's number), for the inbox of its own that
        # messages from other processes arrive in.
        self._inbox: tuple[Any, int, int] | None = None
        self._stats = dict.fromkeys(
            ("sent", "processed", "failed", "dropped", "high_water", "busy_nanos"), 0
        )

    def _wake(self) -> None:
        """The actor stopped: close its inbox, keeping what was in it, and wake it."""
        with self._cond:
            inbox, self._inbox = self._inbox, None
            if inbox is not None:
                interp, process, number = inbox
                for reply_process, reply_id, payload in interp.close_inbox(
                    process, number
                ):
                    reply = None if reply_process is None else (reply_process, reply_id)
                    self._items.append((_Pickled(payload), _remote_reply(reply)))
            self._cond.notify_all()

    def _open_inbox(self, interp: Any, process: int, number: int) -> None:
        """Messages from other processes arrive in an inbox of this mailbox's own."""
        interp.open_inbox(process, number)
        with self._cond:
            if self._stopped.is_set():
                interp.close_inbox(process, number)
                return
            self._inbox = (interp, process, number)

    def _ring(self) -> None:
        """Wake the actor if it waits on its inbox."""
        inbox = self._inbox
        if inbox is not None:
            interp, process, number = inbox
            interp.ring(process, number)

    def _push(self, message: Any, reply: Any) -> bool:
        """Queue a message unless the actor has stopped; whether it was queued."""
        with self._cond:
            if self._stopped.is_set():
                return False
            self._items.append((message, reply))
            self._stats["sent"] += 1
            self._stats["high_water"] = max(self._stats["high_water"], len(self._items))
            self._cond.notify()
        self._ring()
        return True

    @property
    def stopped(self) -> Event:
        """The actor's stopped flag; once it is set, the mailbox refuses messages."""
        return self._stopped

    @property
    def label(self) -> str:
        """How errors name the actor."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        self._label = label

    @property
    def exported(self) -> int | None:
        """The mailbox's number here if other processes can reach it, else None."""
        return self._exported

    def export(self) -> tuple[int, int]:
        """Let other processes send to this mailbox; return its address."""
        node = _node()
        if self._exported is None:
            self._exported = node.export_actor(self)
        return (node.process, self._exported)

    def _send(self, message: Any, reply: Any) -> None:
        if not self._push(message, reply):
            _fail(reply, ActorDeadError(f"{self._label} not found"))

    def put(self, envelope: Envelope[Any]) -> None:
        """Queue an `Envelope`."""
        try:
            message, reply_to = envelope.message, envelope.reply_to
        except AttributeError:
            msg = (
                "an inbox takes an Envelope (with message and reply_to), not "
                f"{type(envelope).__name__}"
            )
            raise TypeError(msg) from None
        self._send(message, _reply_for(reply_to))

    def _take(self, *, until_stopped: bool = True) -> tuple[Any, Any] | None:
        """The next message and its reply; None once the actor has stopped.

        A mailbox with an inbox of its own waits there, with the GIL
        released: a message from another process then wakes this thread
        directly. A message from this interpreter rings it.
        """
        while True:
            with self._cond:
                if self._items:
                    return self._items.popleft()
                if until_stopped and self._stopped.is_set():
                    return None
                inbox = self._inbox
                if inbox is None:
                    self._cond.wait()
                    continue
            interp, process, number = inbox
            taken = interp.take(process, number)
            if isinstance(taken, tuple):
                reply_process, reply_id, payload = taken
                self._stats["sent"] += 1
                reply = None if reply_process is None else (reply_process, reply_id)
                return (_Pickled(payload), _remote_reply(reply))

    def get(self) -> Envelope[Any]:
        """Take the next `Envelope`, waiting as long as it takes."""
        taken = self._take(until_stopped=False)
        assert taken is not None
        return _envelope(*taken)

    def qsize(self) -> int:
        """How many messages are waiting."""
        inbox = self._inbox
        waiting = 0 if inbox is None else int(inbox[0].inbox_len(inbox[1], inbox[2]))
        return len(self._items) + waiting

    def empty(self) -> bool:
        """Whether no message is waiting."""
        return self.qsize() == 0

    def __len__(self) -> int:
        return self.qsize()

    def tell(self, message: Any) -> None:
        """Queue `message` with no reply."""
        self._send(message, None)

    def ask(self, message: Any, future: Any) -> None:
        """Queue `message` with `future` for the reply."""
        reply = _reply_for(future)
        if isinstance(reply, Slot):
            reply._answered_by = self  # noqa: SLF001
        self._send(message, reply)

    def ask_blocking(self, message: Any, timeout: float | None = None) -> Any:
        """Queue `message` and wait for the reply."""
        if self._stopped.is_set():
            raise ActorDeadError(f"{self._label} not found")
        if timeout is None:
            _deadlock_check(self)
        slot = Slot()
        slot._answered_by = self  # noqa: SLF001
        self._send(message, slot)
        return slot.get(timeout)

    def drain(self) -> list[Envelope[Any]]:
        """Take every envelope left after the actor stopped."""
        if not self._stopped.is_set():
            msg = "drain() needs a stopped mailbox"
            raise RuntimeError(msg)
        with self._cond:
            left = list(self._items)
            self._items.clear()
        self._stats["dropped"] += sum(1 for _, reply in left if reply is None)
        return [_envelope(message, reply) for message, reply in left]

    def stats(self) -> dict[str, int | None]:
        """The mailbox's counters, with the core's keys.

        Handling is timed as a whole (`busy_nanos`); the stand-in keeps no
        histogram, so nothing is timed one by one and the percentiles are None.
        """
        counters: dict[str, int | None] = {"waiting": self.qsize(), **self._stats}
        counters.update(
            timed=0, timed_nanos=0, p50_nanos=None, p90_nanos=None, p99_nanos=None
        )
        return counters

    def enroll(self, class_name: str, urn: str) -> None:
        """List this mailbox's actor in this interpreter's statistics until it stops."""
        with _census_lock:
            _census[id(self)] = (weakref.ref(self), class_name, urn)

    def __repr__(self) -> str:
        return f"<pykka_rs._core.Mailbox of {self._label}: {self.qsize()} waiting>"


def _remote_reply(reply: tuple[int, int] | None) -> _RemoteReply | None:
    return None if reply is None else _RemoteReply(reply)


def _envelope(message: Any, reply: Any) -> Envelope[Any]:
    if isinstance(message, _Pickled):
        from pykka_rs._pickling import loads  # noqa: PLC0415

        # Large buffers arrive inline, after the pickle (rust/payload.rs).
        message = loads(message.data)
    return Envelope(message, _future_for(reply))


class RemoteMailbox:
    """The inbox of an actor in another process: `tell`, `ask` and `put` send to it."""

    def __init__(self, process: int, actor: int) -> None:
        self._to = (process, actor)
        self._label = "actor"
        self._stopped = _node().stop_flag(self._to)

    @property
    def stopped(self) -> Event:
        """The actor's stopped flag, as far as this process knows."""
        return self._stopped

    @property
    def label(self) -> str:
        """How errors name the actor."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        self._label = label

    def export(self) -> tuple[int, int]:
        """The actor's address, `(process, number)`."""
        return self._to

    def _send(self, message: Any, reply: Any) -> None:
        from pykka_rs._pickling import dumps  # noqa: PLC0415

        if self._stopped.is_set():
            _fail(reply, ActorDeadError(f"{self._label} not found"))
            return
        payload = dumps(message)
        if len(payload) > _settings["message_limit"]:
            msg = (
                f"cannot send to {self._label}: a frame of {len(payload)} payload "
                f"bytes is over the limit of {_settings['message_limit']} payload bytes"
            )
            raise ValueError(msg)
        if reply is not None and not isinstance(reply, Slot | _RemoteReply):
            reply = _bridge(reply)
        try:
            _node().send_message(self._to, payload, reply, self._label)
        except ActorDeadError as exc:
            _fail(reply, exc)

    def tell(self, message: Any) -> None:
        """Send `message` with no reply."""
        self._send(message, None)

    def ask(self, message: Any, future: Any) -> None:
        """Send `message` with `future` for the reply."""
        self._send(message, _reply_for(future))

    def ask_blocking(self, message: Any, timeout: float | None = None) -> Any:
        """Send `message` and wait for the reply."""
        slot = Slot()
        self._send(message, slot)
        return slot.get(timeout)

    def put(self, envelope: Envelope[Any]) -> None:
        """Send an `Envelope`'s message, answered to its `reply_to`."""
        self._send(envelope.message, _reply_for(envelope.reply_to))

    def get(self) -> Envelope[Any]:
        """Not possible: only the actor's own process takes its messages."""
        raise TypeError(_SEND_ONLY)

    def empty(self) -> bool:
        """Not known here: only the actor's own process sees its queue."""
        raise TypeError(_SEND_ONLY)

    def waiting(self) -> int | None:
        """None: a subinterpreter keeps no pushed counters (see `stats()`)."""
        return None

    def stats(self) -> tuple[float, dict[str, int | None]] | None:
        """None: no pushed counters here; `stats()` asks the parent."""
        return None

    def __repr__(self) -> str:
        return (
            f"<pykka_rs._core.RemoteMailbox of {self._label} in process {self._to[0]}>"
        )


def _bridge(future: Any) -> Slot:
    """A slot whose outcome is passed on to a foreign Python future."""
    slot = Slot()

    def passed_on() -> None:
        try:
            future.set(slot.get(None))
        except BaseException as exc:  # noqa: BLE001
            future.set_exception((type(exc), exc, exc.__traceback__))

    slot._on_done(passed_on)  # noqa: SLF001
    return slot


# --- The actor loop ----------------------------------------------------------


class ActorThread:
    """Marks the calling thread as the actor of `mailbox` while the block runs."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox
        self._previous: list[object] = []

    def __enter__(self) -> None:
        self._previous.append(getattr(_current, "mailbox", None))
        _current.mailbox = self._mailbox

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        _current.mailbox = self._previous.pop() if self._previous else None


class _Loop:
    """One actor's message loop: handles each message, then sends its reply."""

    def __init__(self, actor: Any, mailbox: Mailbox) -> None:
        self.actor = actor
        self.mailbox = mailbox
        self.stats = mailbox._stats  # noqa: SLF001
        # An error the actor's own failure handling raised; it ends the loop.
        self.fatal: BaseException | None = None

    def fail(self, exc: BaseException, reply: Any) -> None:
        """Hand a failure to the actor's handling, as the core does."""
        actor = self.actor
        try:
            actor._handle_envelope_failure(exc, _future_for(reply))  # noqa: SLF001
        except BaseException as err:  # noqa: BLE001
            try:
                actor._handle_failure(type(err), err, err.__traceback__)  # noqa: SLF001
            except BaseException as last:  # noqa: BLE001
                self.fatal = last
                self.mailbox.stopped.set()

    def handle(self, message: Any, reply: Any) -> None:
        if isinstance(message, _Pickled):
            try:
                from pykka_rs._pickling import loads  # noqa: PLC0415

                message = loads(message.data)
            except BaseException as exc:  # noqa: BLE001
                self.stats["failed"] += 1
                if reply is None:
                    self.actor._report_undecodable(exc)  # noqa: SLF001
                else:
                    _fail(reply, exc)
                return
        started = time.perf_counter_ns() if _metrics["on"] else 0
        try:
            value = self.actor._handle_receive(message)  # noqa: SLF001
        except BaseException as exc:  # noqa: BLE001
            self._count("failed", started)
            self.fail(exc, reply)
            return
        self._count("processed", started)
        if reply is not None:
            self.answer(reply, value)

    def _count(self, outcome: str, started: int) -> None:
        """Count a handled message, and its time, when metrics are on."""
        if _metrics["on"]:
            self.stats[outcome] += 1
            self.stats["busy_nanos"] += time.perf_counter_ns() - started

    def answer(self, reply: Any, value: Any) -> None:
        from pykka_rs._pickling import dump_error, dumps  # noqa: PLC0415

        if isinstance(reply, Slot):
            if not reply.set(value):
                logger.warning(
                    "a reply was dropped: its future had already been given a result"
                )
        elif isinstance(reply, _RemoteReply):
            try:
                payload, ok = dumps(value), True
            except Exception as exc:  # noqa: BLE001
                payload, ok = dump_error(exc), False
            _node().send_reply(reply.future, ok=ok, payload=payload)
        else:
            try:
                reply.set(value)
            except BaseException as exc:  # noqa: BLE001
                self.fail(exc, reply)


def run_actor_loop(actor: Any, mailbox: Mailbox, until: Event | None = None) -> None:
    """Run `actor`'s message loop on the calling thread until the actor stops.

    Or until `until` is found set between two messages (a supervised run's
    end, as in the core; no supervised actor runs here, so it stays None).
    """
    previous = getattr(_current, "mailbox", None)
    _current.mailbox = mailbox
    loop = _Loop(actor, mailbox)
    try:
        while not mailbox.stopped.is_set() and not (until and until.is_set()):
            taken = mailbox._take()  # noqa: SLF001
            if taken is None:
                break
            loop.handle(*taken)
    finally:
        _current.mailbox = previous
    if loop.fatal is not None:
        raise loop.fatal


# --- The node ----------------------------------------------------------------


def load_interp() -> ModuleType:
    """`pykka_rs._interp`, from the core's shared object.

    The package's `_core` file is found, not imported: its `PyInit__interp`
    makes the raw module, which loads in a subinterpreter.
    """
    existing = sys.modules.get("pykka_rs._interp")
    if existing is not None:
        return existing
    package = sys.modules["pykka_rs"]
    for directory in package.__path__:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(directory, "_core" + suffix)  # noqa: PTH118
            if os.path.exists(path):  # noqa: PTH110
                loader = importlib.machinery.ExtensionFileLoader(
                    "pykka_rs._interp", path
                )
                spec = importlib.util.spec_from_file_location(
                    "pykka_rs._interp", path, loader=loader
                )
                if spec is None:  # pragma: no cover (a file that exists)
                    break
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
                sys.modules["pykka_rs._interp"] = module
                return module
    msg = "the pykka_rs core's shared object (_core) was not found beside the package"
    raise ImportError(msg)


def _u32(value: int) -> bytes:
    """A process number as serde-pickle writes it (see `_wire`)."""
    if 0 <= value < 0x8000_0000:
        return b"J" + value.to_bytes(4, "little")
    return _wire._int(value, "u32")  # noqa: SLF001


def _u64(value: int) -> bytes:
    """An actor or future number as serde-pickle writes it (see `_wire`)."""
    if 0 <= value < 0x8000_0000:
        return b"J" + value.to_bytes(4, "little")
    return _wire._int(value, "u64")  # noqa: SLF001


# The fixed parts of the headers of every message and reply, byte for byte
# as `_wire.encode_header` (and the core) write them.
_TELL = b"\x80\x03}X\x04\x00\x00\x00Tell}(X\x02\x00\x00\x00to}(X\x07\x00\x00\x00process"
_ASK = b"\x80\x03}X\x03\x00\x00\x00Ask}(X\x02\x00\x00\x00to}(X\x07\x00\x00\x00process"
_REPLY = (
    b"\x80\x03}X\x05\x00\x00\x00Reply}(X\x02\x00\x00\x00to}(X\x07\x00\x00\x00process"
)
_ACTOR = b"X\x05\x00\x00\x00actor"
_ID = b"X\x02\x00\x00\x00id"
_REPLY_TO = b"uX\x05\x00\x00\x00reply}(X\x07\x00\x00\x00process"
_OK = (b"uX\x02\x00\x00\x00ok\x89us.", b"uX\x02\x00\x00\x00ok\x88us.")


def _tell_header(to: tuple[int, int]) -> bytes:
    return _TELL + _u32(to[0]) + _ACTOR + _u64(to[1]) + b"uus."


def _ask_header(to: tuple[int, int], reply: tuple[int, int]) -> bytes:
    return (
        _ASK + _u32(to[0]) + _ACTOR + _u64(to[1])
        + _REPLY_TO + _u32(reply[0]) + _ID + _u64(reply[1]) + b"uus."
    )  # fmt: skip


def _reply_header(to: tuple[int, int], *, ok: bool) -> bytes:
    return _REPLY + _u32(to[0]) + _ID + _u64(to[1]) + _OK[ok]


class Node:
    """This interpreter's place in the system: a worker, linked in memory.

    The Python twin of the worker's half of the core's node: the actors and
    futures it lets the other processes reach, the replies it waits for,
    the stops and deaths it has heard of. One reader thread waits for frames
    (with the GIL released) and handles them in order; `catch_up()` handles
    what has arrived at once, under the same lock, so order is kept whoever
    reads.
    """

    def __init__(self, process: int) -> None:
        self.process = process
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._exports: dict[int, weakref.ref[Mailbox]] = {}
        self._pending: dict[int, tuple[Slot, int, str]] = {}
        self._shared: dict[int, tuple[Slot, float | None]] = {}
        self._stops: weakref.WeakValueDictionary[tuple[int, int], Event] = (
            weakref.WeakValueDictionary()
        )
        self._recent: deque[tuple[int, int]] = deque()
        self._recent_set: set[tuple[int, int]] = set()
        self._dead: dict[int, str] = {}
        # Monitors: the latest ends heard of, and the watches waiting for one.
        self._ends: OrderedDict[tuple[int, int], tuple[str, bytes]] = OrderedDict()
        self._watches: dict[tuple[int, int], list[int]] = {}
        self._watched: dict[int, tuple[int, int]] = {}
        self.controls: deque[tuple[Any, ...]] = deque()
        self._controls_ready = threading.Condition(threading.Lock())
        self.parent_lost = threading.Event()
        self._interp: Any = None
        self._reader: threading.Thread | None = None

    def new_id(self) -> int:
        return next(self._ids)

    # Linking.

    def link(self) -> None:
        """Claim the channel the parent made for this worker; start reading it."""
        self._interp = load_interp()
        self._interp.attach(self.process)
        self._reader = threading.Thread(
            target=self._read, name=f"pykka_rs-link-{self.process}"
        )
        self._reader.start()

    def close(self) -> None:
        """Close the channel both ways, after what was sent, and end the reader."""
        if self._interp is None:
            return
        self._interp.close(self.process)
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join()

    def _send(self, frame: _wire.Frame, payload: bytes = b"") -> None:
        self._send_header(_wire.encode_header(frame), payload)

    def _send_header(self, header: bytes, payload: bytes = b"") -> None:
        if self._interp is None:
            msg = "this interpreter is not linked to a pykka_rs system"
            raise ActorDeadError(msg)
        try:
            self._interp.send(self.process, header, payload)
        except BrokenPipeError:
            raise ActorDeadError(
                f"the parent process is unreachable: {self._dead.get(0, 'gone')}"
            ) from None

    def _read(self) -> None:
        """The reader thread: wait for frames, handle them, until the link ends."""
        interp = self._interp
        while True:
            try:
                interp.wait(self.process)
            except (EOFError, LookupError):
                break
            if not self.catch_up():
                break
        self._link_lost("closed its connection")

    def catch_up(self) -> bool:
        """Handle every frame that has arrived; False once the link has ended."""
        if self._interp is None:
            return True
        with self._read_lock:
            while True:
                try:
                    taken = self._interp.recv(self.process, 0)
                except (EOFError, LookupError):
                    return False
                if taken is None:
                    return True
                header, payload = taken
                try:
                    if not self._fast_dispatch(header, payload):
                        self._dispatch(_wire.decode_header(header), payload)
                except (ValueError, KeyError, TypeError, pickle.UnpicklingError) as exc:
                    self._interp.close(self.process)
                    self._dead.setdefault(0, f"broke its connection: {exc}")
                    return False

    def _link_lost(self, how: str) -> None:
        cause = f"the parent process {self._dead.get(0, how)}"
        with self._lock:
            everyone = {0} | {source for _, source, _ in self._pending.values()}
        for process in everyone:
            self._process_died(process, cause)
        self.parent_lost.set()
        self._control(("parent_lost", how))

    # Frames.

    def _fast_dispatch(self, header: bytes, payload: bytes) -> bool:
        """Handle the frames of every message and reply, if this is one.

        The headers come from this process's own core, which encodes them
        (serde-pickle: plain data, no globals), so they are read with the C
        unpickler, and only the fields these frames use are looked at.
        Others go through `_wire`'s strict decoder. Returns whether handled.
        """
        frame = pickle.loads(header)  # noqa: S301 (this process's own core wrote it)
        if type(frame) is not dict or len(frame) != 1:
            return False
        ((name, fields),) = frame.items()
        if name == "Reply":
            to = fields["to"]
            if to["process"] != self.process:
                return False
            self._complete(to["id"], (fields["ok"] is True, payload))
        elif name == "Ask" or name == "Tell":  # noqa: PLR1714 (the hot test first)
            to = fields["to"]
            if to["process"] != self.process:
                return False
            reply = fields.get("reply")
            self._deliver(
                to["actor"],
                payload,
                None
                if reply is None
                else _RemoteReply((reply["process"], reply["id"])),
            )
        else:
            return False
        return True

    def _dispatch(self, frame: _wire.Frame, payload: bytes) -> None:
        name = _wire.variant_of(frame)
        fields: dict[str, Any] = {} if isinstance(frame, str) else frame[name]
        target = _wire.destination(frame)
        if target is not None and target != self.process:
            self._refuse(frame, name, fields, "it is addressed to another process")
            return
        handler = self._HANDLERS.get(name)
        if handler is None:
            self._refuse(frame, name, fields, "only workers send it, to the parent")
            return
        handler(self, fields, payload)

    def _on_tell(self, fields: dict[str, Any], payload: bytes) -> None:
        self._deliver(fields["to"]["actor"], payload, None)

    def _on_ask(self, fields: dict[str, Any], payload: bytes) -> None:
        reply = _RemoteReply((fields["reply"]["process"], fields["reply"]["id"]))
        self._deliver(fields["to"]["actor"], payload, reply)

    def _on_offer(self, fields: dict[str, Any], payload: bytes) -> None:
        # Interpreter actors' mailboxes are unbounded: queued at once.
        reply = fields.get("reply")
        self._deliver(
            fields["to"]["actor"],
            payload,
            None if reply is None else _RemoteReply((reply["process"], reply["id"])),
        )
        ack = (fields["ack"]["process"], fields["ack"]["id"])
        self._send_resolution(ack, (True, pickle.dumps(None)))

    def _on_reply(self, fields: dict[str, Any], payload: bytes) -> None:
        self._complete(fields["to"]["id"], (fields["ok"], payload))

    def _on_undeliverable(self, fields: dict[str, Any], _payload: bytes) -> None:
        self._complete(fields["to"]["id"], fields["reason"])

    def _on_subscribe(self, fields: dict[str, Any], _payload: bytes) -> None:
        reply = (fields["reply"]["process"], fields["reply"]["id"])
        self._serve_subscription(fields["future"]["id"], reply)

    def _on_spawn(self, fields: dict[str, Any], payload: bytes) -> None:
        reply = (fields["reply"]["process"], fields["reply"]["id"])
        self._control(("spawn", reply, payload))

    def _on_stopped(self, fields: dict[str, Any], _payload: bytes) -> None:
        self._mark_stopped((fields["actor"]["process"], fields["actor"]["actor"]))

    def _on_process_died(self, fields: dict[str, Any], _payload: bytes) -> None:
        self._process_died(fields["process"], fields["cause"])

    def _on_exited(self, fields: dict[str, Any], payload: bytes) -> None:
        actor = fields["actor"]
        self._exited((actor["process"], actor["actor"]), fields["reason"], payload)

    # Monitors, as the core's node keeps them (rust/node/exits.rs).

    def _exited(self, actor: tuple[int, int], reason: str, payload: bytes) -> None:
        with self._lock:
            self._ends[actor] = (reason, payload)
            self._ends.move_to_end(actor)
            while len(self._ends) > _RECENT_STOPS:
                self._ends.popitem(last=False)
            told = self._unwatch_all(actor)
        for token in told:
            self._control(("down", token, ("exited", reason, payload)))

    def _unwatch_all(self, actor: tuple[int, int]) -> list[int]:
        tokens = self._watches.pop(actor, [])
        for token in tokens:
            del self._watched[token]
        return tokens

    def watch(self, actor: tuple[int, int]) -> tuple[Any, ...]:
        with self._lock:
            end = self._ends.get(actor)
            if end is not None:
                return ("exited", *end)
            cause = self._dead.get(actor[0])
            if cause is not None:
                return ("died", cause)
            token = self.new_id()
            self._watches.setdefault(actor, []).append(token)
            self._watched[token] = actor
        return ("watching", token)

    def unwatch(self, token: int) -> bool:
        with self._lock:
            actor = self._watched.pop(token, None)
            if actor is None:
                return False
            self._watches[actor].remove(token)
            if not self._watches[actor]:
                del self._watches[actor]
        return True

    def announce_exit(self, number: int, reason: str, payload: bytes) -> None:
        self._exited((self.process, number), reason, payload)
        self._send(
            _wire.make_frame(
                "Exited",
                actor={"process": self.process, "actor": number},
                reason=reason,
            ),
            payload,
        )

    def _on_gather_stats(self, fields: dict[str, Any], _payload: bytes) -> None:
        with self._lock:
            numbers = {id(ref()): number for number, ref in self._exports.items()}
        report = local_stats()
        for actor in report["actors"]:
            actor["number"] = numbers.get(actor.pop("key"), 0)
        self._send(
            _wire.make_frame("Reply", to=fields["reply"], ok=True),
            pickle.dumps(report, protocol=5),
        )

    def _on_shutdown(self, _fields: dict[str, Any], _payload: bytes) -> None:
        self._control(("shutdown",))

    def log_levels(self, known: int) -> tuple[int, bytes] | None:
        # Kept in the channel, not sent to the reader: a message in an
        # inbox would overtake them (see rust/node/memory.rs).
        if self._interp is None:
            return None
        levels: tuple[int, bytes] | None = self._interp.log_levels(self.process, known)
        return levels

    _HANDLERS: ClassVar[dict[str, Callable[[Node, dict[str, Any], bytes], None]]] = {
        "Tell": _on_tell,
        "Ask": _on_ask,
        "Reply": _on_reply,
        "Undeliverable": _on_undeliverable,
        "Subscribe": _on_subscribe,
        "Spawn": _on_spawn,
        "Stopped": _on_stopped,
        "ProcessDied": _on_process_died,
        "Shutdown": _on_shutdown,
        "GatherStats": _on_gather_stats,
        "Exited": _on_exited,
        "Offer": _on_offer,
        "OfferAsk": _on_offer,
    }

    def _refuse(
        self, frame: _wire.Frame, name: str, fields: dict[str, Any], why: str
    ) -> None:
        if name in {"Ask", "Subscribe", "Spawn", "Request", "Offer", "OfferAsk"}:
            # Whoever waits for an answer, or for the message to be queued.
            for answer in (fields.get("reply"), fields.get("ack")):
                if answer is not None:
                    self._send_resolution(
                        (answer["process"], answer["id"]),
                        f"cannot be reached that way: {why}",
                    )
        self._control(
            ("dead_letter", f"a frame from process 0 was ignored, since {why}: {frame}")
        )

    def _control(self, item: tuple[Any, ...]) -> None:
        with self._controls_ready:
            self.controls.append(item)
            self._controls_ready.notify()

    def next_control(self, timeout: float) -> tuple[Any, ...] | None:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._controls_ready:
            while not self.controls:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._controls_ready.wait(left)
            return self.controls.popleft()

    # Actors.

    def export_actor(self, mailbox: Mailbox) -> int:
        number = self.new_id()
        with self._lock:
            self._exports[number] = weakref.ref(mailbox)
        if self._interp is not None:
            mailbox._open_inbox(self._interp, self.process, number)  # noqa: SLF001
        mailbox.stopped._on(lambda: self._announce_stopped(number))  # noqa: SLF001
        return number

    def _announce_stopped(self, number: int) -> None:
        with self._lock:
            self._exports.pop(number, None)
        frame = _wire.make_frame(
            "Stopped", actor={"process": self.process, "actor": number}
        )
        with contextlib.suppress(ActorDeadError):
            self._send(frame)

    def _deliver(self, actor: int, payload: bytes, reply: _RemoteReply | None) -> None:
        with self._lock:
            ref = self._exports.get(actor)
        mailbox = ref() if ref is not None else None
        if mailbox is not None and mailbox._push(_Pickled(payload), reply):  # noqa: SLF001
            return
        if reply is not None:
            self._send_resolution(reply.future, "not found")
        else:
            text = (
                f"a message to actor {actor} of process {self.process} was "
                "dropped: the actor is gone"
            )
            _dead_letters["count"] += 1
            self._control(("dead_letter", text))

    def stop_flag(self, actor: tuple[int, int]) -> Event:
        with self._lock:
            flag = self._stops.get(actor)
            if flag is None:
                flag = Event()
                self._stops[actor] = flag
                if actor in self._recent_set or actor[0] in self._dead:
                    flag._flag = True  # noqa: SLF001
        return flag

    def _mark_stopped(self, actor: tuple[int, int]) -> None:
        with self._lock:
            flag = self._stops.get(actor)
            if flag is None and actor not in self._recent_set:
                self._recent_set.add(actor)
                self._recent.append(actor)
                if len(self._recent) > _RECENT_STOPS:
                    self._recent_set.discard(self._recent.popleft())
        if flag is not None:
            flag.set()

    def _process_died(self, process: int, cause: str) -> None:
        with self._lock:
            self._dead[process] = cause
            flags = [
                flag for (owner, _), flag in self._stops.items() if owner == process
            ]
            orphans = [
                (key, entry)
                for key, entry in self._pending.items()
                if entry[1] == process
            ]
            for key, _ in orphans:
                del self._pending[key]
            watched = [actor for actor in self._watches if actor[0] == process]
            told = [token for actor in watched for token in self._unwatch_all(actor)]
        for flag in flags:
            flag.set()
        for token in told:
            self._control(("down", token, ("died", cause)))
        for _, (slot, _, label) in orphans:
            _resolve(slot, f"{label} died with its process: {cause}")

    # Messages and replies.

    def _expect(self, slot: Slot, source: int, label: str) -> dict[str, int]:
        number = self.new_id()
        with self._lock:
            self._pending[number] = (slot, source, label)
        return {"process": self.process, "id": number}

    def _forget(self, reply: dict[str, int]) -> None:
        with self._lock:
            self._pending.pop(reply["id"], None)

    def _reachable(self, process: int) -> None:
        cause = self._dead.get(process)
        if cause is not None:
            raise ActorDeadError(cause)

    def send_message(
        self, to: tuple[int, int], payload: bytes, reply: Any, label: str
    ) -> None:
        """Send a pickled message to an actor of another process."""
        self._reachable(to[0])
        if reply is None:
            self._send_header(_tell_header(to), payload)
            return
        if isinstance(reply, _RemoteReply):
            self._send_header(_ask_header(to, reply.future), payload)
            return
        target = self._expect(reply, to[0], label)
        try:
            self._send_header(
                _ask_header(to, (target["process"], target["id"])), payload
            )
        except BaseException:
            self._forget(target)
            raise

    def send_reply(self, to: tuple[int, int], *, ok: bool, payload: bytes) -> None:
        self._send_resolution(to, (ok, payload))

    def _send_resolution(
        self, to: tuple[int, int], outcome: tuple[bool, bytes] | str
    ) -> None:
        if to[0] == self.process:
            self._complete(to[1], outcome)
            return
        if isinstance(outcome, str):
            target = {"process": to[0], "id": to[1]}
            frame = _wire.make_frame("Undeliverable", to=target, reason=outcome)
            header, payload = _wire.encode_header(frame), b""
        else:
            header, payload = _reply_header(to, ok=outcome[0]), outcome[1]
        # Any failure means the asker's process is gone, and nobody waits.
        with contextlib.suppress(ActorDeadError):
            self._send_header(header, payload)

    def _complete(self, number: int, outcome: tuple[bool, bytes] | str) -> None:
        with self._lock:
            pending = self._pending.pop(number, None)
        if pending is not None:
            slot, _, label = pending
            if isinstance(outcome, str):
                outcome = f"{label} {outcome}"
            _resolve(slot, outcome)
            return
        shared = self.local_future(number)
        if shared is not None:
            _resolve(shared, outcome)

    def export_future(self, slot: Slot) -> int:
        number = self.new_id()
        now = time.monotonic()
        with self._lock:
            for key, (kept, done_at) in list(self._shared.items()):
                if kept.done():
                    if done_at is None:
                        self._shared[key] = (kept, now)
                    elif now - done_at >= _SHARED_FUTURE_LIFE:
                        del self._shared[key]
            self._shared[number] = (slot, None)
        return number

    def local_future(self, number: int) -> Slot | None:
        with self._lock:
            entry = self._shared.get(number)
        return None if entry is None else entry[0]

    def _serve_subscription(self, number: int, reply: tuple[int, int]) -> None:
        local = self.local_future(number)
        if local is None:
            self._send_resolution(reply, "has no such future")
            return
        local._on_done(  # noqa: SLF001
            lambda: self._send_resolution(reply, local._outcome_for_wire())  # noqa: SLF001
        )

    def subscribe(self, process: int, number: int) -> Slot:
        slot = Slot()
        if process == self.process:
            target = self._expect(slot, process, "the future's owner")
            self._serve_subscription(number, (self.process, target["id"]))
            return slot
        try:
            self._reachable(process)
            target = self._expect(slot, process, "the future's owner")
            future = {"process": process, "id": number}
            self._send(_wire.make_frame("Subscribe", future=future, reply=target))
        except ActorDeadError as exc:
            _resolve(slot, f"is unreachable: {exc}")
        return slot

    def request(self, payload: bytes) -> Slot:
        slot = Slot()
        target = self._expect(slot, 0, "the parent process")
        try:
            self._send(_wire.make_frame("Request", reply=target), payload)
        except ActorDeadError as exc:
            self._forget(target)
            _resolve(slot, f"is unreachable: {exc}")
        return slot

    def announce(self, variant: str, number: int, payload: bytes = b"") -> None:
        frame = _wire.make_frame(
            variant, actor={"process": self.process, "actor": number}
        )
        self._send(frame, payload)

    def send_log(self, payload: bytes) -> None:
        self._send("Log", payload)


class _Unlinked(Node):
    """The node of an interpreter that is no worker: it reaches no other process."""

    def _send(self, frame: _wire.Frame, payload: bytes = b"") -> None:  # noqa: ARG002
        msg = "this interpreter is not linked to a pykka_rs system"
        raise ActorDeadError(msg)


_the_node: Node = _Unlinked(0)


def _node() -> Node:
    return _the_node


def become(process: int) -> Node:
    """Make this interpreter worker `process` of the system, linked in memory."""
    global _the_node  # noqa: PLW0603
    node = Node(process)
    _the_node = node
    node.link()
    return node


def leave() -> None:
    """Close this worker's link and forget it (the interpreter may serve again)."""
    global _the_node
    node, _the_node = _the_node, _Unlinked(0)
    node.close()


class CutOff(Exception):  # noqa: N818 (what happened, not an error kind)
    """Raised in an actor still busy when its interpreter must stop serving."""


def cut_off(threads: list[threading.Thread], patience: float) -> list[threading.Thread]:
    """Raise `CutOff` in each of `threads`; those still running after `patience`.

    Only Python code is interrupted: a thread blocked in a C call (a long
    `time.sleep()`, say) sees the exception once the call returns.
    """
    interp = load_interp()
    for thread in threads:
        if thread.ident is not None:
            interp.interrupt(thread.ident, CutOff)
    deadline = time.monotonic() + patience
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread for thread in threads if thread.is_alive()]


# --- The functions of the core -------------------------------------------------


def process() -> int:
    """This process's number in its system."""
    return _the_node.process


def catch_up() -> None:
    """Handle every frame other processes have sent this one so far."""
    _the_node.catch_up()


def next_seq() -> int:
    """A number that orders a registration here."""
    return _the_node.new_id()


def reply(to: tuple[int, int], ok: bool, payload: bytes) -> None:  # noqa: FBT001
    """Answer the future `(process, number)` with a pickled value or exception."""
    _the_node.send_reply(tuple(to), ok=ok, payload=payload)  # type: ignore[arg-type]


def subscribe(process: int, number: int) -> Slot:
    """A slot that receives the value of future `number` of process `process`."""
    return _the_node.subscribe(process, number)


def local_future(number: int) -> Slot | None:
    """The slot this process exported as `number`, if it still exists."""
    return _the_node.local_future(number)


def send_log(payload: bytes) -> None:
    """Worker: send a log record's pickled fields to the parent."""
    _the_node.send_log(payload)


def log_levels(known: int) -> tuple[int, bytes] | None:
    """The parent's latest logger levels as `(version, table)`.

    None while they are still version `known` (0: none yet).
    """
    return _the_node.log_levels(known)


def request(payload: bytes) -> Slot:
    """Worker: send the parent a pickled request; return a slot for its answer."""
    return _the_node.request(payload)


def announce_registered(number: int, payload: bytes) -> None:
    """Worker: tell the parent that local actor `number` is registered."""
    _the_node.announce("Registered", number, payload)


def announce_unregistered(number: int) -> None:
    """Worker: tell the parent that local actor `number` left the registry."""
    _the_node.announce("Unregistered", number)


_NO_SUPERVISION = (
    "supervisors run in the main interpreter or in worker processes, not in "
    "a subinterpreter: start the Supervisor outside the InterpreterActor"
)


class Relay:
    """A supervised process actor's inbox: never made in a subinterpreter."""

    exported: int | None = None

    def __init__(self) -> None:
        raise RuntimeError(_NO_SUPERVISION)


class SupervisorCore:
    """A supervisor's bookkeeping: never made in a subinterpreter."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError(_NO_SUPERVISION)


def watch(process: int, number: int) -> tuple[Any, ...]:
    """Watch actor `number` of process `process` for its end (see `_core.watch`)."""
    return _the_node.watch((process, number))


def unwatch(token: int) -> bool:
    """Cancel a watch; return whether it was still waiting."""
    return _the_node.unwatch(token)


def announce_exit(number: int, reason: str, payload: bytes) -> None:
    """Announce that local actor `number` ended, to the watches of every process."""
    with contextlib.suppress(ActorDeadError):
        _the_node.announce_exit(number, reason, payload)


def withdraw(process: int, number: int) -> bool:  # noqa: ARG001
    """Parent only: a worker never holds the system's registry."""
    return False


def registered() -> list[tuple[int, int, int, bytes]]:
    """Parent only: a worker never holds the system's registry."""
    return []


def next_control(timeout: float) -> tuple[Any, ...] | None:
    """Wait up to `timeout` seconds for the next piece of work for Python."""
    return _the_node.next_control(timeout)


def control_barrier() -> Event:
    """An Event set once everything queued for `next_control()` before it is handled."""
    event = Event()
    _the_node._control(("barrier", event))  # noqa: SLF001
    return event


def disown() -> None:
    """Subinterpreters cannot fork: nothing to leave alone."""


def disowned() -> bool:
    """A subinterpreter is never a fork."""
    return False


# The actors of this interpreter, for its statistics: by mailbox id, the
# mailbox (weakly), its actor's class name and URN.
_census: dict[int, tuple[weakref.ref[Mailbox], str, str]] = {}
_census_lock = threading.Lock()
_metrics = {"on": True}
_dead_letters = {"count": 0}


def set_metrics(on: bool) -> None:  # noqa: FBT001
    """Turn the timing and counting of handled messages on or off."""
    _metrics["on"] = bool(on)


def metrics() -> bool:
    """Whether handled messages are timed and counted."""
    return _metrics["on"]


def _rss() -> int | None:
    try:
        with open("/proc/self/statm") as statm:  # noqa: PTH123
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def local_stats() -> dict[str, Any]:
    """This interpreter's statistics, shaped as the core's process reports are.

    The usage is the whole process's: a subinterpreter has no CPU time or
    memory of its own to read. Each actor also carries `key`, its mailbox's
    id, for the node to put its number in.
    """
    with _census_lock:
        entries = list(_census.items())
    actors = []
    for key, (ref, class_name, urn) in entries:
        mailbox = ref()
        if mailbox is None or mailbox.stopped.is_set():
            with _census_lock:
                _census.pop(key, None)
            continue
        actors.append(
            {
                "class": class_name,
                "urn": urn,
                "number": 0,
                "key": key,
                "mailbox": mailbox.stats(),
            }
        )
    return {
        "process": process(),
        "usage": {
            "pid": os.getpid(),
            "cpu_seconds": time.process_time(),
            "rss_bytes": _rss(),
        },
        "dead_letters": _dead_letters["count"],
        "actors": actors,
    }


def gather_stats(process: int) -> Slot:  # noqa: ARG001
    """Only the program's own process gathers reports; a worker asks it."""
    msg = "statistics are gathered by the program's own process, not a worker"
    raise RuntimeError(msg)


def set_spin(seconds: float) -> None:
    """Accepted for `configure()`; waits here block at once."""
    if not seconds >= 0:
        msg = "spin must be a non-negative number of seconds"
        raise ValueError(msg)
    _settings["spin"] = seconds


def spin() -> float:
    """The spin setting (waits in a subinterpreter block at once)."""
    return _settings["spin"]


def set_message_limit(limit: int) -> None:
    """Set the largest message, in pickled bytes, this process sends."""
    if limit < 1:
        msg = "the message limit must be at least 1 byte"
        raise ValueError(msg)
    _settings["message_limit"] = min(limit, _wire.MAX_PAYLOAD)


def message_limit() -> int:
    """The largest message, in pickled bytes, this process sends."""
    return int(_settings["message_limit"])

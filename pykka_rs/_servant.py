"""The channel servant: how other processes reach this process's channels.

A process whose channel is pickled starts, once, a mailbox exported to the
node, like an actor's, and a daemon thread that serves it. Handles of the
channel in other processes ask it, as they would ask an actor: the asks
travel over the links every actor message takes, and a process that dies
fails them with `ActorDeadError`, which the handle turns into
`ChannelClosed`.

A send or receive that can complete at once is answered at once. One that
cannot waits here, in order of arrival, and is answered by whichever thread
makes the channel ready: the core calls back on readiness
(`when_readable`, `when_writable`), so nothing polls and no thread waits
per request. A handle whose wait timed out asks to cancel it; the answer
says whether it was still waiting, or was answered already.

Rejected: an actor as servant (it would show in the registry, count as a
leak for `stop_all()`, and could only answer one request at a time), and a
thread per waiting request (a thread start per receive on an idle channel).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

from pykka_rs import _core
from pykka_rs._exceptions import ChannelClosed, ChannelEmpty, ChannelFull
from pykka_rs._threading import ThreadingActor

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs import ActorRef

__all__ = ["ChannelServant", "export", "local", "ref"]

logger = logging.getLogger("pykka_rs.channel")


class ChannelServant(ThreadingActor):
    """What a ref to a process's channel servant names as its class.

    Never started: the servant is a mailbox and a thread, not an actor.
    """


# How often, at most, requests look for channels to forget, in seconds.
SWEEP_EVERY = 1.0

# How many forgotten channels' last counters are kept, for handles' stats().
RECENT_FINALS = 4096

_lock = threading.Lock()
_address: tuple[int, int] | None = None
_waits: dict[int, _Waits] = {}
_final: OrderedDict[int, dict[str, Any]] = OrderedDict()
_swept = 0.0


def export(channel: _core.Channel) -> tuple[int, int]:
    """Serve `channel` to other processes; return the servant's address."""
    global _address  # noqa: PLW0603
    with _lock:
        if _address is None:
            mailbox = _core.Mailbox()
            mailbox.label = "channel servant"
            _address = mailbox.export()
            threading.Thread(
                target=_serve, args=(mailbox,), name="pykka_rs-channels", daemon=True
            ).start()
        _sweep()
        if channel.number not in _waits:
            # Kept while handles elsewhere may use it: until closed and drained.
            _waits[channel.number] = _Waits(channel)
        return _address


def _sweep() -> None:
    """Forget the channels that are closed and drained, with nobody waiting.

    Every handle's request is then answered as a closed channel would
    answer it. Called with `_lock` held, when a channel is exported and at
    most every `SWEEP_EVERY` seconds of requests.
    """
    done = [number for number, waits in _waits.items() if waits.finished()]
    for number in done:
        _forget(number)


def _forget(number: int) -> None:
    """Forget channel `number`, keeping its last counters. With `_lock` held."""
    _final[number] = _waits.pop(number).channel.record()
    while len(_final) > RECENT_FINALS:
        _final.popitem(last=False)


def local(number: int) -> _core.Channel | None:
    """This process's channel `number`, if it was ever exported."""
    with _lock:
        waits = _waits.get(number)
    return None if waits is None else waits.channel


def ref(process: int, number: int) -> ActorRef[Any]:
    """The ref to the servant at `(process, number)`."""
    from pykka_rs._remote import rebuild_ref  # noqa: PLC0415 (import cycle)

    urn = f"urn:pykka_rs:channel-servant:{process}:{number}"
    return rebuild_ref(process, number, urn, ChannelServant)


def _serve(mailbox: _core.Mailbox) -> None:
    # Nothing may end this loop: every handle elsewhere depends on it.
    while True:
        try:
            envelope = mailbox.get()
            reply = envelope.reply_to
        except Exception:
            logger.exception("The channel servant could not take a request")
            continue
        try:
            _handle(envelope.message, reply)
        except Exception as exc:  # noqa: BLE001 (told to the asker)
            _answer(reply, exc)


def _handle(message: Any, reply: Any) -> None:
    global _swept  # noqa: PLW0603
    kind, number, *args = message
    with _lock:
        if time.monotonic() - _swept > SWEEP_EVERY:
            _sweep()
            _swept = time.monotonic()
        waits = _waits.get(number)
        if waits is not None and waits.finished():
            _forget(number)
            waits = None
    if waits is None:
        _answer_forgotten(kind, number, reply)
        return
    handler = _HANDLERS.get(kind)
    if handler is None:
        msg = f"unknown channel request {kind!r}"
        raise ValueError(msg)
    handler(waits, reply, *args)


def _answer_forgotten(kind: str, number: int, reply: Any) -> None:
    """Answer for a channel closed, drained, then forgotten."""
    if kind == "info":
        with _lock:
            final = _final.get(number)
        reply.set(final)  # None: long forgotten; the handle makes up a record
    elif kind in {"close", "cancel"}:
        reply.set(False)
    else:
        msg = "the channel is closed and empty"
        raise ChannelClosed(msg)


def _info(waits: _Waits, reply: Any) -> None:
    reply.set(waits.channel.record())


def _close(waits: _Waits, reply: Any) -> None:
    reply.set(waits.channel.close())


def _cancel(waits: _Waits, reply: Any, request: Any) -> None:
    reply.set(waits.cancel(request))


def _send(waits: _Waits, reply: Any, request: Any, block: bool, item: Any) -> None:  # noqa: FBT001
    if block:
        waits.park_sender(request, item, reply)
    else:
        waits.channel.try_send(item)
        reply.set(None)


def _recv(waits: _Waits, reply: Any, request: Any, block: bool) -> None:  # noqa: FBT001
    if block:
        waits.park_receiver(request, reply)
    else:
        reply.set(waits.channel.try_recv())


class _Waits:
    """The sends and receives waiting at one channel, in order of arrival."""

    def __init__(self, channel: _core.Channel) -> None:
        self.channel = channel
        # Reentrant: the core may call back on the thread that is serving.
        self.lock = threading.RLock()
        self.senders: deque[tuple[Any, Any, Any]] = deque()
        self.receivers: deque[tuple[Any, Any]] = deque()
        self.readable_armed = False
        self.writable_armed = False
        self.dirty = False
        self.serving = False

    def finished(self) -> bool:
        """Whether the channel is closed and drained, with nobody waiting."""
        with self.lock:
            return (
                self.channel.closed
                and len(self.channel) == 0
                and not self.senders
                and not self.receivers
            )

    def park_sender(self, request: Any, item: Any, reply: Any) -> None:
        with self.lock:
            self.senders.append((request, item, reply))
        self.kick()

    def park_receiver(self, request: Any, reply: Any) -> None:
        with self.lock:
            self.receivers.append((request, reply))
        self.kick()

    def cancel(self, request: Any) -> bool:
        """Forget a waiting request; False if it was answered already."""
        with self.lock:
            for receiver in self.receivers:
                if receiver[0] == request:
                    self.receivers.remove(receiver)
                    return True
            for sender in self.senders:
                if sender[0] == request:
                    self.senders.remove(sender)
                    return True
        return False

    def kick(self) -> None:
        """Serve what can be served now; one thread serves, others leave it word."""
        with self.lock:
            self.dirty = True
            if self.serving:
                return
            self.serving = True
        try:
            while True:
                with self.lock:
                    if not self.dirty:
                        self.serving = False
                        return
                    self.dirty = False
                    answers = self._serve_once()
                # Answers go out with no lock held: each may send a frame.
                for future, outcome in answers:
                    _answer(future, outcome)
        except BaseException:
            with self.lock:
                self.serving = False
            raise

    def _serve_once(self) -> list[tuple[Any, Any]]:
        answers: list[tuple[Any, Any]] = []
        channel = self.channel
        progress = True
        while progress:
            progress = False
            while self.receivers:
                try:
                    item = channel.try_recv()
                except ChannelEmpty:
                    break
                except ChannelClosed as exc:
                    answers += [(reply, exc) for _, reply in self.receivers]
                    self.receivers.clear()
                    break
                answers.append((self.receivers.popleft()[1], _Value(item)))
                progress = True
            while self.senders:
                _, item, reply = self.senders[0]
                try:
                    channel.try_send(item)
                except ChannelFull:
                    break
                except ChannelClosed as exc:
                    answers += [(reply, exc) for _, _, reply in self.senders]
                    self.senders.clear()
                    break
                self.senders.popleft()
                answers.append((reply, _Value(None)))
                progress = True
        if self.receivers and not self.readable_armed:
            self.readable_armed = True
            channel.when_readable(self._readable)
        if self.senders and not self.writable_armed:
            self.writable_armed = True
            channel.when_writable(self._writable)
        return answers

    def _readable(self) -> None:
        with self.lock:
            self.readable_armed = False
        self.kick()

    def _writable(self) -> None:
        with self.lock:
            self.writable_armed = False
        self.kick()


class _Value:
    """An answer that is a value, not an exception."""

    __slots__ = ["value"]

    def __init__(self, value: Any) -> None:
        self.value = value


def _answer(future: Any, outcome: Any) -> None:
    if future is None:  # told, not asked: nobody to answer
        if isinstance(outcome, BaseException):
            logger.error("A channel request failed: %r", outcome)
        return
    try:
        if isinstance(outcome, _Value):
            future.set(outcome.value)
        else:
            future.set_exception((type(outcome), outcome, outcome.__traceback__))
    except Exception:
        logger.exception("A channel's answer could not be sent")


_HANDLERS: dict[str, Callable[..., None]] = {
    "info": _info,
    "close": _close,
    "cancel": _cancel,
    "send": _send,
    "recv": _recv,
}

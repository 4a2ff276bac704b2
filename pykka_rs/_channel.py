"""`Channel`: a bounded channel between actors of any process of the system.

The channel's buffer lives in the process that made it, in the Rust core
(`rust/channel.rs`, through `_core.Channel`). There, every operation goes
straight to the core: a full channel makes a sender wait, an empty one a
receiver, with the GIL released, woken by the operation that frees them.

A channel pickles to the address of its process's channel servant (see
`_servant.py`) and its number there. Unpickled in its own process, it is
the very same channel; anywhere else, a handle whose operations are asks to
that servant, over the links every actor message takes, so it reaches
process and interpreter workers alike and fails with `ChannelClosed`, not a
hang, when the owning process is gone.

A receive (or send) that cannot complete at once waits at the servant,
which answers when the channel is ready, without a thread or a timer. One
that times out here first asks the servant to forget it; if the servant
answered meanwhile, the answer is taken, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pykka_rs import _core, _system
from pykka_rs._exceptions import (
    ActorDeadError,
    ChannelClosed,
    ChannelEmpty,
    ChannelFull,
    Timeout,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from pykka_rs import ActorRef
    from pykka_rs._stats import ChannelStats

__all__ = ["Channel"]

T = TypeVar("T")

# Request numbers of this process, for the servant to tell waits apart.
_requests = itertools.count(1)


def _request_id() -> tuple[int, int]:
    """A name for one send or receive, unique in the system."""
    return (_core.process(), next(_requests))


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float))
    ):
        msg = (
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}"
        )
        raise TypeError(msg)
    if timeout is not None and math.isnan(timeout):
        msg = "timeout must be a number of seconds, not NaN"
        raise ValueError(msg)


class Channel(Generic[T]):
    """A bounded channel: any actor, in any process, sends and receives.

    Items come out in the order they went in (for one sender). A full
    channel makes `send()` wait for room (up to `timeout`) or, with
    `block=False` or `try_send()`, fail at once; it never holds more than
    `capacity` items. An empty one makes `receive()` wait, woken by the
    send that gives it an item, never by polling.

    `close()` refuses further sends; receivers still take what is queued,
    then get `ChannelClosed` (and `for item in channel` ends).

    A channel pickles: pass it in a message to a `ProcessActor` or an
    `InterpreterActor`, and use it there. Its buffer stays in the process
    that made it; if that process ends, the others get `ChannelClosed`.

    Args:
        capacity: the most items it holds, an `int` of at least 1
        name: what `stats()` calls it; `channel-<n>` if not given

    Raises:
        TypeError: for a capacity that is not an `int`, or a name that is
            not a `str`
        ValueError: for a capacity below 1
        RuntimeError: when made in an interpreter worker, which cannot hold
            one (make it in the main interpreter and pass it in)
    """

    def __init__(self, capacity: int, *, name: str | None = None) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            msg = f"capacity must be an int, not {type(capacity).__name__}"
            raise TypeError(msg)
        if capacity < 1:
            msg = f"capacity must be at least 1, not {capacity}"
            raise ValueError(msg)
        if name is not None and not isinstance(name, str):
            msg = f"name must be a str or None, not {type(name).__name__}"
            raise TypeError(msg)
        core_channel = getattr(_core, "Channel", None)
        if core_channel is None:
            msg = (
                "a Channel cannot be made in an interpreter worker: make it in "
                "the main interpreter (or a process worker) and pass it in"
            )
            raise RuntimeError(msg)
        self._end: _LocalEnd | _RemoteEnd = _LocalEnd(
            core_channel(capacity, name or "")
        )

    @classmethod
    def _of(cls, end: _LocalEnd | _RemoteEnd) -> Channel[Any]:
        channel: Channel[Any] = cls.__new__(cls)
        channel._end = end
        return channel

    def __reduce__(self) -> tuple[Callable[..., Channel[Any]], tuple[Any, ...]]:
        """Pickle to the servant's address and the channel's number there."""
        return (_rebuild, self._end.address())

    def __repr__(self) -> str:
        return f"<pykka_rs.Channel {self.name!r} capacity={self.capacity}>"

    @property
    def capacity(self) -> int:
        """The most items the channel holds."""
        return self._end.capacity

    @property
    def name(self) -> str:
        """What the channel is called."""
        return self._end.name

    @property
    def closed(self) -> bool:
        """Whether the channel was closed (items may still be queued)."""
        return self._end.closed()

    def __len__(self) -> int:
        """Items queued now."""
        return self._end.length()

    def send(
        self, item: T, *, block: bool = True, timeout: float | None = None
    ) -> None:
        """Queue `item`, waiting for room while the channel is full.

        Args:
            item: what to send; it must pickle if the channel is another
                process's
            block: `False` fails at once on a full channel, as `try_send()`
            timeout: seconds to wait for room; `None`, the default, waits
                as long as it takes

        Raises:
            ChannelFull: with `block=False`, if the channel is full
            pykka_rs.Timeout: if it stayed full for `timeout` seconds
            ChannelClosed: if the channel is closed, or its process is gone
            TypeError: for an item that does not pickle, sent to another
                process's channel (nothing is sent)
        """
        _check_timeout(timeout)
        self._end.send(item, block, timeout)

    def try_send(self, item: T) -> None:
        """Queue `item` if there is room now.

        Raises:
            ChannelFull: if the channel is full
            ChannelClosed: if the channel is closed, or its process is gone
        """
        self._end.send(item, False, None)  # noqa: FBT003

    def receive(self, *, block: bool = True, timeout: float | None = None) -> T:
        """Take the next item, waiting for one while the channel is empty.

        Args:
            block: `False` fails at once on an empty channel, as `try_receive()`
            timeout: seconds to wait; `None`, the default, waits as long as
                it takes

        Returns:
            the item

        Raises:
            ChannelEmpty: with `block=False`, if the channel is empty
            pykka_rs.Timeout: if it stayed empty for `timeout` seconds
            ChannelClosed: once the channel is closed and empty, or its
                process is gone
        """
        _check_timeout(timeout)
        return cast("T", self._end.receive(block, timeout))

    def try_receive(self) -> T:
        """Take the next item if one is queued.

        Raises:
            ChannelEmpty: if the channel is empty
            ChannelClosed: once the channel is closed and empty, or its
                process is gone
        """
        return cast("T", self._end.receive(False, None))  # noqa: FBT003

    recv = receive
    try_recv = try_receive

    def close(self) -> bool:
        """Close the channel: sends fail; receivers drain it, then get `ChannelClosed`.

        Closing twice is harmless.

        Returns:
            whether this call closed it (`False` if it was closed already)

        Raises:
            ChannelClosed: if the channel's process is gone
        """
        return self._end.close()

    def __iter__(self) -> Iterator[T]:
        """Receive items until the channel is closed and empty."""
        while True:
            try:
                yield self.receive()
            except ChannelClosed:
                return

    async def send_async(self, item: T) -> None:
        """Queue `item`, suspending the awaiting task while the channel is full.

        The event loop keeps running meanwhile; the task is woken when
        there is room. Cancelled (say by `asyncio.wait_for`), it sends nothing.

        Raises:
            ChannelClosed: if the channel is closed, or its process is gone
        """
        await self._end.send_async(item)

    async def receive_async(self) -> T:
        """Take the next item, suspending the awaiting task while it is empty.

        The event loop keeps running meanwhile; the task is woken when an
        item arrives. Cancelled (say by `asyncio.wait_for`), it takes nothing:
        an item already on its way is kept for this handle's next receive.

        Raises:
            ChannelClosed: once the channel is closed and empty, or its
                process is gone
        """
        return cast("T", await self._end.receive_async())

    def __aiter__(self) -> AsyncIterator[T]:
        """`async for item in channel`: `receive_async()` until closed and empty."""
        return self._items_async()

    async def _items_async(self) -> AsyncIterator[T]:
        while True:
            try:
                yield await self.receive_async()
            except ChannelClosed:
                return

    def stats(self) -> ChannelStats:
        """The channel's counters now: depth, high-water mark, sent, received.

        Raises:
            ChannelClosed: if the channel's process is gone
        """
        from pykka_rs._stats import ChannelStats  # noqa: PLC0415 (import cycle)

        record, process = self._end.record()
        return ChannelStats(process=process, **record)


class _LocalEnd:
    """The channel in its own process: the core's, used directly."""

    def __init__(self, channel: _core.Channel) -> None:
        self.channel = channel
        self.capacity = channel.capacity
        self.name = channel.name
        self.process = _core.process()

    def address(self) -> tuple[Any, ...]:
        from pykka_rs import _servant  # noqa: PLC0415 (import cycle)

        servant = _servant.export(self.channel)
        return (
            _system.identity(),
            *servant,
            self.channel.number,
            self.capacity,
            self.name,
        )

    def closed(self) -> bool:
        return self.channel.closed

    def length(self) -> int:
        return len(self.channel)

    def send(self, item: Any, block: bool, timeout: float | None) -> None:  # noqa: FBT001
        if block:
            self.channel.send(item, timeout)
        else:
            self.channel.try_send(item)

    def receive(self, block: bool, timeout: float | None) -> Any:  # noqa: FBT001
        if block:
            return self.channel.recv(timeout)
        return self.channel.try_recv()

    def close(self) -> bool:
        return self.channel.close()

    def record(self) -> tuple[dict[str, Any], int]:
        return self.channel.record(), self.process

    async def send_async(self, item: Any) -> None:
        while True:
            try:
                self.channel.try_send(item)
            except ChannelFull:
                await _ready(self.channel.when_writable)
            else:
                return

    async def receive_async(self) -> Any:
        while True:
            try:
                return self.channel.try_recv()
            except ChannelEmpty:
                await _ready(self.channel.when_readable)


async def _ready(when: Callable[[Callable[[], None]], None]) -> None:
    """Suspend until the core calls back (from any thread), without polling."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not arrived.done():
            arrived.set_result(None)

    def from_any_thread() -> None:
        # A closed loop raises RuntimeError: nobody awaits any more.
        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:
            return

    when(from_any_thread)
    await arrived


class _RemoteEnd:
    """A channel of another process, through that process's channel servant."""

    def __init__(
        self,
        servant: ActorRef[Any],
        process: int,
        number: int,
        capacity: int,
        name: str,
    ) -> None:
        self.servant = servant
        self.process = process
        self.number = number
        self.capacity = capacity
        self.name = name
        # Items a cancelled async receive was already given: the next
        # receive on this handle takes them first.
        self.kept: deque[Any] = deque()
        self.lock = threading.Lock()

    def address(self) -> tuple[Any, ...]:
        inbox = self.servant.actor_inbox
        servant = cast("_core.RemoteMailbox", inbox).export()
        return (_system.identity(), *servant, self.number, self.capacity, self.name)

    def _gone(self, exc: BaseException) -> ChannelClosed:
        err = ChannelClosed(
            f"channel {self.name!r} is gone: the process that held it "
            f"(process {self.process}) ended"
        )
        err.__cause__ = exc
        return err

    def _ask(self, *request: Any) -> Any:
        """Ask the servant; return the future of its answer."""
        try:
            return self.servant.ask(request, block=False)
        except ActorDeadError as exc:
            raise self._gone(exc) from exc

    def _wait(self, future: Any, timeout: float | None = None) -> Any:
        try:
            return future.get(timeout=timeout)
        except ActorDeadError as exc:
            raise self._gone(exc) from exc

    def _kept(self) -> tuple[bool, Any]:
        with self.lock:
            if self.kept:
                return True, self.kept.popleft()
        return False, None

    def _info(self) -> dict[str, Any]:
        record = self._wait(self._ask("info", self.number))
        if record is None:
            # Closed, drained and long forgotten by its process, counters and all.
            record = {
                "name": self.name,
                "capacity": self.capacity,
                "waiting": 0,
                "sent": 0,
                "received": 0,
                "high_water": 0,
                "closed": True,
            }
        return cast("dict[str, Any]", record)

    def closed(self) -> bool:
        return bool(self._info()["closed"])

    def length(self) -> int:
        return int(self._info()["waiting"])

    def record(self) -> tuple[dict[str, Any], int]:
        return self._info(), self.process

    def close(self) -> bool:
        return bool(self._wait(self._ask("close", self.number)))

    def _withdraw(self, kind: str, request: Any, future: Any) -> tuple[bool, Any]:
        """Cancel a waiting send or receive at the servant.

        Returns whether it had been answered already, and the answer: a
        received item then goes to `kept`, for this handle's next receive,
        so an interrupted or cancelled receive loses nothing.
        """
        if self._wait(self._ask("cancel", self.number, request)):
            return False, None
        answer = self._wait(future)
        if kind == "recv":
            with self.lock:
                self.kept.append(answer)
        return True, answer

    def _request(
        self,
        kind: str,
        block: bool,  # noqa: FBT001
        timeout: float | None,
        *args: Any,
    ) -> Any:
        """A send or receive at the servant, waiting `timeout` at most."""
        request = _request_id()
        future = self._ask(kind, self.number, request, block, *args)
        try:
            return self._wait(future, timeout if block else None)
        except Timeout:
            # Forgotten there: it timed out. Answered meanwhile: that answer.
            answered, _ = self._withdraw(kind, request, future)
            if not answered:
                raise
            return self._kept()[1] if kind == "recv" else None
        except BaseException:
            # Ctrl-C, say: a receive answered meanwhile keeps its item here.
            with contextlib.suppress(Exception):
                self._withdraw(kind, request, future)
            raise

    def send(self, item: Any, block: bool, timeout: float | None) -> None:  # noqa: FBT001
        self._request("send", block, timeout, item)

    def receive(self, block: bool, timeout: float | None) -> Any:  # noqa: FBT001
        found, item = self._kept()
        if found:
            return item
        return self._request("recv", block, timeout)

    async def _request_async(self, kind: str, *args: Any) -> Any:
        request = _request_id()
        future = self._ask(kind, self.number, request, True, *args)  # noqa: FBT003
        try:
            return await future
        except ActorDeadError as exc:
            raise self._gone(exc) from exc
        except asyncio.CancelledError:
            # An item already sent stays sent; one already received is kept.
            with contextlib.suppress(Exception):
                self._withdraw(kind, request, future)
            raise

    async def send_async(self, item: Any) -> None:
        await self._request_async("send", item)

    async def receive_async(self) -> Any:
        found, item = self._kept()
        if found:
            return item
        return await self._request_async("recv")


def _rebuild(  # noqa: PLR0913, PLR0917 (an address, and what a handle shows without asking)
    system: str,
    process: int,
    servant: int,
    number: int,
    capacity: int,
    name: str,
) -> Channel[Any]:
    """Unpickle a `Channel`: the channel itself in its own process, else a handle."""
    from pykka_rs import _servant  # noqa: PLC0415 (import cycle)

    if system != _system.identity():
        msg = f"channel {name!r} belongs to another pykka_rs system"
        raise ChannelClosed(msg)
    if process == _core.process():
        local = _servant.local(number)
        if local is not None:
            return Channel._of(_LocalEnd(local))  # noqa: SLF001
    ref = _servant.ref(process, servant)
    return Channel._of(_RemoteEnd(ref, process, number, capacity, name))  # noqa: SLF001

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from itertools import count
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pykka_rs import Actor, Future, _system
from pykka_rs._core import Mailbox, Slot

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from pykka_rs._actor import ActorInbox
    from pykka_rs._future import GetHookFunc
    from pykka_rs._types import OptExcInfo

__all__ = ["ThreadingActor", "ThreadingFuture"]


T = TypeVar("T")


class ThreadingFuture(Future[T]):
    """The `Future` of thread actors, safe to use from any thread.

    Its state lives in the Rust core: `get()` waits with the GIL released
    (Ctrl-C still interrupts it), and an actor's reply reaches it without a
    Python call.

    The value set is not copied: whoever sets it should not change it later.

    Differences from Pykka: waiting on a future forever from inside the actor
    that must answer it raises `RuntimeError` instead of hanging, and
    `await` suspends the awaiting task instead of blocking its event loop.
    """

    _slot: Slot

    def __init__(self) -> None:
        super().__init__()
        self._slot = Slot()

    def __reduce__(
        self,
    ) -> tuple[Callable[..., Future[Any]], tuple[str, int, int]]:
        """Pickle to the address of this future's state, in this system.

        In another process it is a `RemoteFuture` that answers, or reads, this
        one; in another system, a future that raises `ActorDeadError`.
        """
        from pykka_rs._remote import rebuild_future  # noqa: PLC0415 (import cycle)

        return (rebuild_future, (_system.identity(), *self._slot.export()))

    @classmethod
    def _from_slot(cls, slot: Slot) -> ThreadingFuture[Any]:
        """Wrap an existing core state in a future (the core uses this)."""
        future: ThreadingFuture[Any] = cls.__new__(cls)
        Future.__init__(future)
        future._slot = slot
        return future

    def get(
        self,
        *,
        timeout: float | None = None,
    ) -> Any:
        return self._slot.get(timeout)

    def set(
        self,
        value: Any | None = None,
    ) -> None:
        if not self._slot.set(value):
            raise queue.Full

    def set_exception(
        self,
        exc_info: OptExcInfo | None = None,
    ) -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        elif not (isinstance(exc_info, tuple) and len(exc_info) == 3):
            msg = f"exc_info must be a (type, value, traceback) tuple, not {exc_info!r}"
            raise TypeError(msg)
        if not self._slot.set_exception(*exc_info):
            raise queue.Full

    def set_get_hook(
        self,
        func: GetHookFunc[T],
    ) -> None:
        if not self._slot.set_hook(func):
            raise queue.Full
        self._get_hook = func

    def __await__(self) -> Generator[Any, None, T]:
        import asyncio  # noqa: PLC0415 (only awaiting code pays for the import)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        value: T
        if loop is None or (self._slot.done() and self._get_hook is None):
            # Not driven by asyncio, or done: yield once, then get, as Pykka does.
            yield
            value = self.get()
            return value
        if self._get_hook is not None:
            # A get hook may wait on other futures: run it off the event loop.
            value = yield from loop.run_in_executor(None, self.get)
            return value
        arrived = loop.create_future()
        self._slot.add_done_callback(lambda: _wake_soon(loop, arrived))
        yield from arrived
        value = self.get()
        return value

    __iter__ = __await__


def _wake_soon(loop: Any, arrived: Any) -> None:
    """From any thread: complete `arrived` in its event loop, if both still exist."""

    def wake() -> None:
        if not arrived.done():
            arrived.set_result(None)

    # A closed loop raises RuntimeError: nobody awaits any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(wake)


def _create_threading_future() -> Future[Any]:
    return ThreadingFuture()


# Tells ActorRef that a blocking ask may wait in the core without a future object.
_create_threading_future._makes_threading_future = True  # type: ignore[attr-defined]  # noqa: SLF001

_actor_thread_counter = count(0)


class ThreadingActor(Actor):
    """An `Actor` with its own thread, and its mailbox and futures in the Rust core."""

    use_daemon_thread: ClassVar[bool] = False
    """Whether the actor runs on a daemon thread. Read by `start()`; later changes do
    not affect a running actor.

    Python exits when no non-daemon thread is left, so an actor on a daemon
    thread can be cut off at any time, without `on_stop()`. Actors do not
    inherit the flag from the actor that started them.
    """

    @staticmethod
    def _create_actor_inbox() -> ActorInbox:
        return Mailbox()

    _create_future = staticmethod(_create_threading_future)

    def _start_actor_loop(self) -> None:
        thread = threading.Thread(
            target=self._actor_loop,
            name=f"{self.__class__.__name__}-{next(_actor_thread_counter)}",
        )
        thread.daemon = self.use_daemon_thread
        thread.start()

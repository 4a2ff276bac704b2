"""References that work from any process of the system.

An `ActorRef` pickles to its actor's address (process number, actor number)
plus the actor's URN and class; unpickled in the actor's own process it is
the very ref that process already has, anywhere else a ref whose inbox is a
`_core.RemoteMailbox`. A `ThreadingFuture` pickles to the address of its
state; unpickled in another process it is a `RemoteFuture`, whose `set()`
answers the original and whose `get()` asks the original's process for the
value.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from pykka_rs import _core
from pykka_rs._future import Future
from pykka_rs._pickling import dump_error, dumps

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from pykka_rs import Actor, ActorRef
    from pykka_rs._threading import ThreadingFuture
    from pykka_rs._types import OptExcInfo

T = TypeVar("T")
J = TypeVar("J")
M = TypeVar("M")
R = TypeVar("R")

Address = tuple[int, int]

# One ref object per actor and process, so refs compare (and hash) by
# identity as Pykka's do, however often they are unpickled.
_refs: weakref.WeakValueDictionary[Address, ActorRef[Any]] = (
    weakref.WeakValueDictionary()
)
_refs_lock = threading.Lock()


def remember(address: Address, ref: ActorRef[Any]) -> None:
    """Make `ref` the one unpickling `address` gives in this process."""
    with _refs_lock:
        _refs[address] = ref


def rebuild_ref(
    process: int, number: int, actor_urn: str, actor_class: type[Actor]
) -> ActorRef[Any]:
    """Unpickle an `ActorRef`."""
    from pykka_rs._ref import ActorRef  # noqa: PLC0415 (import cycle)

    address = (process, number)
    with _refs_lock:
        ref = _refs.get(address)
        if ref is None:
            inbox = _core.RemoteMailbox(process, number)
            if process == _core.process():
                # Its own process no longer knows the actor: it stopped and is gone.
                inbox.stopped.set()
            ref = ActorRef._remote(actor_class, actor_urn, inbox)  # noqa: SLF001
            _refs[address] = ref
        return ref


def rebuild_future(process: int, number: int) -> Future[Any]:
    """Unpickle a `ThreadingFuture` or `RemoteFuture`."""
    if process == _core.process():
        from pykka_rs._threading import ThreadingFuture  # noqa: PLC0415 (import cycle)

        slot = _core.local_future(number)
        if slot is not None:
            return ThreadingFuture._from_slot(slot)  # noqa: SLF001
    return RemoteFuture(process, number)


class RemoteFuture(Future[T]):
    """A future owned by another process, as this process sees it.

    `set()` and `set_exception()` answer the original future; `get()` and
    `await` ask the owning process for its value (once) and wait for it.
    """

    def __init__(self, owner: int, number: int) -> None:
        super().__init__()
        self._owner = owner
        self._id = number
        self._copy: ThreadingFuture[T] | None = None
        self._copy_lock = threading.Lock()

    def __reduce__(self) -> tuple[Callable[..., Future[Any]], tuple[int, int]]:
        return (rebuild_future, (self._owner, self._id))

    def _local_copy(self) -> ThreadingFuture[T]:
        """A local future that receives the original's value."""
        from pykka_rs._threading import ThreadingFuture  # noqa: PLC0415 (import cycle)

        with self._copy_lock:
            if self._copy is None:
                slot = _core.subscribe(self._owner, self._id)
                self._copy = ThreadingFuture._from_slot(slot)  # noqa: SLF001
            return self._copy

    def get(self, *, timeout: float | None = None) -> T:
        value: T = self._local_copy().get(timeout=timeout)
        return value

    def set(self, value: T | None = None) -> None:
        _core.reply((self._owner, self._id), True, dumps(value))  # noqa: FBT003

    def set_exception(self, exc_info: OptExcInfo | None = None) -> None:
        exc = (exc_info if exc_info is not None else sys.exc_info())[1]
        if exc is None:
            msg = (
                "set_exception() needs an exception, or to be called in an except block"
            )
            raise TypeError(msg)
        _core.reply((self._owner, self._id), False, dump_error(exc))  # noqa: FBT003

    def filter(
        self: Future[Iterable[J]], func: Callable[[J], bool]
    ) -> Future[Iterable[J]]:
        return self._local_copy().filter(func)  # type: ignore[attr-defined, no-any-return]

    def join(self: Future[Any], *futures: Future[Any]) -> Future[Iterable[Any]]:
        return self._local_copy().join(*futures)  # type: ignore[attr-defined, no-any-return]

    def map(self, func: Callable[[T], M]) -> Future[M]:
        return self._local_copy().map(func)

    def reduce(
        self: Future[Iterable[J]], func: Callable[[R, J], R], *args: R
    ) -> Future[R]:
        return self._local_copy().reduce(func, *args)  # type: ignore[attr-defined, no-any-return]

    def __await__(self) -> Generator[Any, None, T]:
        return self._local_copy().__await__()

    __iter__ = __await__

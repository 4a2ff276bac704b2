"""References that work from any process of the system, and only there.

An `ActorRef` pickles to its actor's address (process number, actor number)
plus the identity of its system (`pykka_rs._system`), the actor's URN and
class. Unpickled in the actor's own process it is the very ref that process
already has; anywhere else in the system, a ref whose inbox is a
`_core.RemoteMailbox`. In another system (another program, or the same
program's bytes loaded by a different run) the address could name any actor
there, so the ref it gives reaches none: it counts as dead and every use
raises `ActorDeadError` saying why. Pickled again, it keeps its own system,
so it works once it is back home.

A `ThreadingFuture` pickles the same way, to the address of its state and
its system. Unpickled in another process of the system it is a
`RemoteFuture`, whose `set()` answers the original and whose `get()` asks
the original's process for the value; in another system, a `ForeignFuture`,
which neither reads nor answers anything.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from pykka_rs import _core, _system
from pykka_rs._exceptions import ActorDeadError
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
# The same for refs of other systems, by (system, process, number).
_foreign_refs: weakref.WeakValueDictionary[tuple[str, int, int], ActorRef[Any]] = (
    weakref.WeakValueDictionary()
)
_refs_lock = threading.Lock()


def foreign(system: str) -> str:
    """Why something of system `system` cannot be used in this process."""
    return (
        f"it belongs to another pykka_rs system ({system}; this process is in "
        f"{_system.identity()}): actors and futures can be reached only from "
        "the program that made them and that program's worker processes"
    )


def remember(address: Address, ref: ActorRef[Any]) -> None:
    """Make `ref` the one unpickling `address` gives in this process."""
    with _refs_lock:
        _refs[address] = ref


def rebuild_ref(
    process: int, number: int, actor_urn: str, actor_class: type[Actor]
) -> ActorRef[Any]:
    """The ref to actor `number` of process `process` of this system."""
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


def unpickle_ref(
    system: str,
    process: int,
    number: int,
    actor_urn: str,
    actor_class: type[Actor],
) -> ActorRef[Any]:
    """Unpickle an `ActorRef`: a working one in its own system, a dead one elsewhere."""
    if system == _system.identity():
        return rebuild_ref(process, number, actor_urn, actor_class)
    from pykka_rs._ref import ActorRef  # noqa: PLC0415 (import cycle)

    home = (system, process, number)
    with _refs_lock:
        ref = _foreign_refs.get(home)
        if ref is None:
            ref = ActorRef._foreign(  # noqa: SLF001
                actor_class, actor_urn, home, foreign(system)
            )
            _foreign_refs[home] = ref
        return ref


def rebuild_future(system: str, process: int, number: int) -> Future[Any]:
    """Unpickle a `ThreadingFuture`, `RemoteFuture` or `ForeignFuture`."""
    if system != _system.identity():
        return ForeignFuture(system, process, number)
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

    def __reduce__(
        self,
    ) -> tuple[Callable[..., Future[Any]], tuple[str, int, int]]:
        return (rebuild_future, (_system.identity(), self._owner, self._id))

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


class ForeignFuture(RemoteFuture[T]):
    """A future of another pykka_rs system, unpickled here.

    Its address could name any future of this system, so it is not used:
    `get()` raises `ActorDeadError` saying why, and so do `set()` and
    `set_exception()`. Pickled again, it is the original future once back in
    its own system.
    """

    def __init__(self, system: str, owner: int, number: int) -> None:
        super().__init__(owner, number)
        self._system = system

    def __reduce__(
        self,
    ) -> tuple[Callable[..., Future[Any]], tuple[str, int, int]]:
        return (rebuild_future, (self._system, self._owner, self._id))

    def _error(self) -> ActorDeadError:
        return ActorDeadError(f"future not reachable: {foreign(self._system)}")

    def _local_copy(self) -> ThreadingFuture[T]:
        from pykka_rs._threading import ThreadingFuture  # noqa: PLC0415 (import cycle)

        with self._copy_lock:
            if self._copy is None:
                copy: ThreadingFuture[T] = ThreadingFuture()
                error = self._error()
                copy.set_exception((ActorDeadError, error, None))
                self._copy = copy
            return self._copy

    def set(self, value: T | None = None) -> None:  # noqa: ARG002
        raise self._error()

    def set_exception(self, exc_info: OptExcInfo | None = None) -> None:  # noqa: ARG002
        raise self._error()

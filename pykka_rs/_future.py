from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, cast

if TYPE_CHECKING:
    from pykka_rs._types import OptExcInfo

__all__ = ["Future", "get_all"]


T = TypeVar("T")
J = TypeVar("J")  # for when T is Iterable[J]
M = TypeVar("M")  # result of Future.map()
R = TypeVar("R")  # result of Future.reduce()

GetHookFunc: TypeAlias = Callable[[float | None], T]


class _Unset:
    """Marks a get hook that has not produced its result yet."""


class Future(Generic[T]):
    """A value that is available now or later.

    Actor methods called through a proxy, and `ActorRef.ask(block=False)`,
    return futures. Call `get()` to wait for the value, or `await` the future.

    This base class only knows get hooks; `ThreadingFuture` is the
    implementation pykka_rs uses.
    """

    _get_hook: GetHookFunc[T] | None
    _get_hook_result: T | _Unset

    def __init__(self) -> None:
        super().__init__()
        self._get_hook = None
        self._get_hook_result = _Unset()

    def __repr__(self) -> str:
        return "<pykka.Future>"

    def get(
        self,
        *,
        timeout: float | None = None,
    ) -> T:
        """Return the value, waiting for it if need be.

        If the value is an exception, it is raised instead. The value can be
        read any number of times; only the first read waits.

        Args:
            timeout: seconds to wait; `None`, the default, waits forever

        Raises:
            pykka_rs.Timeout: if the value has not arrived within `timeout`
            Exception: the exception the future holds, if it holds one

        Returns:
            the value

        """
        if self._get_hook is not None:
            if isinstance(self._get_hook_result, _Unset):
                self._get_hook_result = self._get_hook(timeout)
            return self._get_hook_result
        raise NotImplementedError

    def set(
        self,
        value: T | None = None,
    ) -> None:
        """Give the future its value.

        Args:
            value: the value, or nothing

        Raises:
            Exception: if the future already has a value or a get hook

        """
        raise NotImplementedError

    def set_exception(
        self,
        exc_info: OptExcInfo | None = None,
    ) -> None:
        """Give the future an exception, which `get()` will raise.

        Pass an `exc_info` triple as `sys.exc_info()` returns it; without one,
        the exception being handled (`sys.exc_info()`) is used, so calling
        this without arguments in an `except` block stores that exception with
        its traceback.

        Args:
            exc_info: the exception, as `(type, value, traceback)`

        Raises:
            Exception: if the future already has a value or a get hook

        """
        raise NotImplementedError

    def set_get_hook(
        self,
        func: GetHookFunc[T],
    ) -> None:
        """Make `get()` compute the value by calling `func(timeout)`.

        The first successful call's result is kept and returned by every
        later `get()`.

        Args:
            func: called with the `timeout` given to `get()`; returns the value

        Raises:
            Exception: if the future already has a value

        """
        self._get_hook = func

    def filter(
        self: Future[Iterable[J]],
        func: Callable[[J], bool],
    ) -> Future[Iterable[J]]:
        """Return a future of the items of this future's value for which `func` is true.

        If the value is not iterable, `get()` on the new future raises
        `TypeError`.

        Example:
            ```pycon
            >>> import pykka_rs as pykka
            >>> f = pykka.ThreadingFuture()
            >>> g = f.filter(lambda x: x > 10)
            >>> f.set(range(5, 15))
            >>> g.get()
            [11, 12, 13, 14]
            ```

        """
        future = self.__class__()
        future.set_get_hook(
            lambda timeout: list(filter(func, self.get(timeout=timeout)))
        )
        return future

    def join(
        self: Future[Any],
        *futures: Future[Any],
    ) -> Future[Iterable[Any]]:
        """Return a future of the list of values of this future and `futures`.

        Example:
            ```pycon
            >>> import pykka_rs as pykka
            >>> f1, f2 = pykka.ThreadingFuture(), pykka.ThreadingFuture()
            >>> f = f1.join(f2)
            >>> f1.set("abc")
            >>> f2.set(123)
            >>> f.get()
            ['abc', 123]
            ```

        """
        future = cast("Future[Iterable[Any]]", self.__class__())
        future.set_get_hook(
            lambda timeout: [f.get(timeout=timeout) for f in [self, *futures]]
        )
        return future

    def map(
        self,
        func: Callable[[T], M],
    ) -> Future[M]:
        """Return a future of `func` applied to this future's value (the whole value).

        Example:
            ```pycon
            >>> import pykka_rs as pykka
            >>> f = pykka.ThreadingFuture()
            >>> g = f.map(lambda x: x["foo"])
            >>> f.set({"foo": "bar"})
            >>> g.get()
            'bar'
            ```

        """
        future = cast("Future[M]", self.__class__())
        future.set_get_hook(lambda timeout: func(self.get(timeout=timeout)))
        return future

    def reduce(
        self: Future[Iterable[J]],
        func: Callable[[R, J], R],
        *args: R,
    ) -> Future[R]:
        """Return a future of `functools.reduce(func, value, *args)` over the value.

        An optional initial value may follow `func`; it is the result when the
        value is empty. If the value is not iterable, `get()` on the new future
        raises `TypeError`.

        Example:
            ```pycon
            >>> import pykka_rs as pykka
            >>> f = pykka.ThreadingFuture()
            >>> g = f.reduce(lambda x, y: x + y, 5)
            >>> f.set([1, 2, 3])
            >>> g.get()
            11
            ```

        """
        future = cast("Future[R]", self.__class__())
        future.set_get_hook(
            lambda timeout: functools.reduce(func, self.get(timeout=timeout), *args)
        )
        return future

    def __await__(self) -> Generator[None, None, T]:
        yield
        return self.get()

    __iter__ = __await__


def get_all(
    futures: Iterable[Future[T]],
    *,
    timeout: float | None = None,
) -> Iterable[T]:
    """Return the values of all `futures`, in order.

    Args:
        futures: the futures
        timeout: seconds to wait for each future; `None` waits forever

    Raises:
        pykka_rs.Timeout: if a value has not arrived within `timeout`

    Returns:
        list of the values

    """
    return [future.get(timeout=timeout) for future in futures]

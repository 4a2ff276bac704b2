"""Helpers for typing actor proxies."""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
)

from pykka_rs import Actor

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs import Future


__all__ = [
    "ActorMemberMixin",
    "proxy_field",
    "proxy_method",
]


T = TypeVar("T")
P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class Method(Protocol, Generic[P, R_co]):
    def __get__(
        self, instance: Any, owner: type | None = None
    ) -> Callable[P, R_co]: ...

    def __call__(self, obj: Any, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def proxy_field(field: T) -> Future[T]:
    """Type a field of an actor, as seen through a proxy: a future of its value."""
    return cast("Future[T]", field)


def proxy_method(
    field: Callable[Concatenate[Any, P], T],
) -> Method[P, Future[T]]:
    """Type a method of an actor, as seen through a proxy: it returns a future."""
    return cast("Method[P, Future[T]]", field)


class ActorMemberMixin:
    """Type the methods every actor has, for proxy classes declaring an actor's API."""

    stop = proxy_method(Actor.stop)
    on_start = proxy_method(Actor.on_start)
    on_stop = proxy_method(Actor.on_stop)
    on_failure = proxy_method(Actor.on_failure)
    on_receive = proxy_method(Actor.on_receive)

"""The messages pykka_rs itself sends to actors.

Proxies turn method calls and attribute access into these messages, and
`ActorRef.stop()` sends `_ActorStop`. They are public so that code can skip
the proxy and send them directly, for instance to call a method without
waiting for the result:

    actor_ref.tell(ProxyCall(attr_path=("my_method",), args=("foo",), kwargs={}))

or without building a proxy first:

    reply = actor_ref.ask(
        ProxyCall(attr_path=("my_method",), args=("foo",), kwargs={"bar": "baz"})
    )

Most code never needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pykka_rs import ActorExit, ActorRef
    from pykka_rs._types import AttrPath


class _ActorStop(NamedTuple):
    """Asks the actor to stop once it has handled every earlier message."""


class _Introspect(NamedTuple):
    """Asks the actor what a proxy can reach: what `introspect_attrs` returns.

    A proxy in another process sends this instead of looking at the actor.
    """


class _Shutdown(NamedTuple):
    """Asks the actor to stop, as a shutdown: its end's reason is "shutdown".

    It stops as for `_ActorStop`. With an `incarnation`, it only wakes a
    supervised actor's run that its supervisor has ended already; another
    run (the next) ignores it.
    """

    incarnation: int | None = None


class _Link(NamedTuple):
    """Asks the actor to link to `peer`, or to unlink (see `pykka_rs.link`)."""

    peer: ActorRef[Any]
    link: bool = True


class _Exit(NamedTuple):
    """An exit signal: `exit` tells how an actor linked to this one ended.

    `link` names the link it came through; a signal for a link the actor
    no longer has (an earlier run's) is ignored.
    """

    exit: ActorExit
    link: int


class ProxyCall(NamedTuple):
    """Asks the actor to call the method at `attr_path` with the arguments."""

    attr_path: AttrPath
    """Attribute names leading from the actor to the method."""

    args: tuple[Any, ...]
    """Positional arguments."""

    kwargs: dict[str, Any]
    """Keyword arguments."""


class ProxyGetAttr(NamedTuple):
    """Asks the actor for the value of the attribute at `attr_path`."""

    attr_path: AttrPath
    """Attribute names leading from the actor to the attribute."""


class ProxySetAttr(NamedTuple):
    """Asks the actor to set the attribute at `attr_path` to `value`."""

    attr_path: AttrPath
    """Attribute names leading from the actor to the attribute."""

    value: Any
    """The new value."""

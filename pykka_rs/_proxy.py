from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pykka_rs import ActorDeadError, messages
from pykka_rs._core import Relay, RemoteMailbox
from pykka_rs._introspection import AttrInfo, introspect_attrs, introspect_class

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs import Actor, ActorRef, Future
    from pykka_rs._types import AttrPath

__all__ = ["ActorProxy"]


logger = logging.getLogger("pykka")


T = TypeVar("T")
A = TypeVar("A", bound="Actor")

# Building the message with tuple.__new__ skips the keyword handling of the
# NamedTuple constructor; the result is the same ProxyCall.
_new_tuple = tuple.__new__


class ActorProxy(Generic[A]):
    """Use an actor through ordinary attribute access and method calls.

    Reading an attribute or calling a method through the proxy sends the
    actor a message and returns a `Future` for the result:

        proxy = MyActor.start().proxy()
        print(proxy.string_attribute.get())
        print(proxy.count().get() + 1)

    A method called only for its side effects needs no `get()`; it runs
    concurrently with the caller. `get()`, or `await`, waits for it. A method
    read without calling it gives a `CallableProxy`. Assigning to an attribute
    through the proxy sets it on the actor and waits until that is done.

    Attributes whose names start with `_` are private and not reachable.
    Attributes marked with `traversable()` give nested proxies, so their own
    methods run in the actor too (`proxy.playback.play()`).

    An actor may keep a proxy to itself, to queue work for itself behind the
    messages already waiting; keep it in a private attribute
    (`self._in_future = self.actor_ref.proxy()`), since a public one is
    skipped, with a warning, when proxies are built.

    A proxy pickles, with the table of the actor's attributes it knows: in
    another process of the program it is a proxy to the same actor, built
    without sending the actor anything. A proxy of an actor in another
    process (a `ProcessActor`, or a thread actor seen from a worker) knows
    the attributes of the actor's class from the start, and the instance's
    from the table it was pickled with; it asks the actor only for a name it
    does not know, when that name is first used, and waits for the answer as
    long as the actor takes to handle the messages queued before it. Asking
    never waits on a third actor: the answer reads the actor's attributes
    and nothing else. In another program (another pykka_rs system) the
    proxy is dead, and using it raises `ActorDeadError` saying so.

    Differences from Pykka: none in behaviour for actors in this process.
    Method and traversable proxies are cached on the proxy object itself once
    looked up, which makes repeated calls through one proxy cheaper.

    Args:
        actor_ref: reference to the actor to proxy

    Raises:
        pykka_rs.ActorDeadError: if the actor is not alive

    """

    actor_ref: ActorRef[A]
    """The proxied actor's `ActorRef`."""

    _actor: A | None
    _attr_path: AttrPath
    _known_attrs: dict[AttrPath, AttrInfo]
    # Whether `_known_attrs` came from the actor (directly, or through a
    # pickle or an ask) rather than from its class alone.
    _learned: bool
    _actor_proxies: dict[AttrPath, ActorProxy[A]]
    _callable_proxies: dict[AttrPath, CallableProxy[A]]

    def __init__(
        self,
        *,
        actor_ref: ActorRef[A],
        attr_path: AttrPath | None = None,
    ) -> None:
        if not actor_ref.is_alive():
            raise actor_ref._not_found()  # noqa: SLF001
        actor = actor_ref._actor_weakref()  # noqa: SLF001
        if actor is None and not isinstance(
            actor_ref.actor_inbox, RemoteMailbox | Relay
        ):
            msg = f"{actor_ref}'s actor weakref has been deallocated"
            raise ActorDeadError(msg)
        self._setup(actor_ref, actor, attr_path or (), None)

    def _setup(
        self,
        actor_ref: ActorRef[A],
        actor: A | None,
        attr_path: AttrPath,
        known: dict[AttrPath, AttrInfo] | None,
    ) -> None:
        """Fill in a new proxy; `known` is a table learned elsewhere, if any.

        Sends the actor nothing: an actor in this process is read directly,
        one in another process is asked later, at the first name the proxy
        does not know.
        """
        self.actor_ref = actor_ref
        # None for an actor in another process.
        self._actor = actor
        self._attr_path = attr_path
        self._actor_proxies = {}
        self._callable_proxies = {}
        if actor is not None:
            self._known_attrs = introspect_attrs(root=actor, proxy=self)
            self._learned = True
            return
        if known is None:
            known = actor_ref._attr_table  # noqa: SLF001
        if known is None:
            self._known_attrs = introspect_class(
                actor_class=actor_ref.actor_class, proxy=self
            )
            self._learned = False
        else:
            self._known_attrs = known
            self._learned = True

    def _introspect(self) -> dict[AttrPath, AttrInfo]:
        """Read the actor's attribute table afresh.

        An actor in another process is asked, and this waits for its answer:
        callers do this only at the first use of a name the proxy does not
        know, never while building or unpickling a proxy.
        """
        if self._actor is not None:
            return introspect_attrs(root=self._actor, proxy=self)
        known: dict[AttrPath, AttrInfo] = self.actor_ref.ask(
            messages._Introspect(),  # noqa: SLF001
            block=True,
        )
        self._learned = True
        self.actor_ref._attr_table = known  # noqa: SLF001
        return known

    def _child(self, attr_path: AttrPath) -> ActorProxy[A]:
        """The proxy of the traversable at `attr_path`.

        For an actor in another process it starts from this proxy's table.
        """
        child: ActorProxy[A] = ActorProxy.__new__(ActorProxy)
        child._setup(self.actor_ref, self._actor, attr_path, self._known_attrs)
        child._learned = self._learned
        return child

    def _identity(self) -> object:
        """What makes two proxies proxies of the same actor."""
        return self._actor if self._actor is not None else self.actor_ref.actor_urn

    def __reduce__(self) -> tuple[Callable[..., ActorProxy[A]], tuple[Any, ...]]:
        """Pickle to the actor's ref, the attribute path and the table.

        The table of an actor in this process is read afresh; a table that
        only the class gave is left out, for the receiver to read from its
        own copy of the class.
        """
        if self._actor is not None:
            known: dict[AttrPath, AttrInfo] | None = introspect_attrs(
                root=self._actor, proxy=self, quiet=True
            )
        else:
            known = self._known_attrs if self._learned else None
        return (_rebuild_proxy, (self.actor_ref, self._attr_path, known))

    def __eq__(
        self,
        other: object,
    ) -> bool:
        if not isinstance(other, ActorProxy):
            return False
        if self._identity() != other._identity():  # pyright: ignore[reportUnknownMemberType]
            return False
        return self._attr_path == other._attr_path

    def __hash__(self) -> int:
        return hash((self._identity(), self._attr_path))

    def __repr__(self) -> str:
        return f"<ActorProxy for {self.actor_ref}, attr_path={self._attr_path!r}>"

    def __dir__(self) -> list[str]:
        if not self._learned:
            # The class alone does not know the instance's attributes.
            self._known_attrs = self._introspect()
        known = [attr_path[0] for attr_path in list(self._known_attrs.keys())]
        cached = {*self._callable_proxies, *self._actor_proxies}
        result = ["__class__"]
        result += list(self.__class__.__dict__.keys())
        result += [
            name for name in self.__dict__ if (*self._attr_path, name) not in cached
        ]
        result += known
        return sorted(result)

    def __getattr__(self, name: str) -> Any:
        """Get a field or callable from the actor."""
        if name.startswith("_"):
            # Private names are never in the table: no need to read it again
            # (nor to ask an actor in another process) to know.
            msg = f"{self} has no attribute {name!r}"
            raise AttributeError(msg)
        attr_path: AttrPath = (*self._attr_path, name)

        if attr_path not in self._known_attrs:
            self._known_attrs = self._introspect()

        attr_info = self._known_attrs.get(attr_path)
        if attr_info is None:
            msg = f"{self} has no attribute {name!r}"
            raise AttributeError(msg)

        if attr_info.callable:
            proxy: Any = self._callable_proxies.get(attr_path)
            if proxy is None:
                proxy = CallableProxy(actor_ref=self.actor_ref, attr_path=attr_path)
                self._callable_proxies[attr_path] = proxy
                # Later lookups find it without calling __getattr__.
                self.__dict__[name] = proxy
            return proxy

        if attr_info.traversable:
            proxy = self._actor_proxies.get(attr_path)
            if proxy is None:
                proxy = self._child(attr_path)
                self._actor_proxies[attr_path] = proxy
                self.__dict__[name] = proxy
            return proxy

        message = _new_tuple(messages.ProxyGetAttr, (attr_path,))
        return self.actor_ref.ask(message, block=False)

    def __setattr__(
        self,
        name: str,
        value: Any,
    ) -> None:
        """Set a field on the actor.

        Blocks until the field is set to check if any exceptions was raised.
        """
        if name == "actor_ref" or name.startswith("_"):
            return super().__setattr__(name, value)
        attr_path = (*self._attr_path, name)
        message = messages.ProxySetAttr(attr_path=attr_path, value=value)
        self.actor_ref.ask(message)
        return None


class CallableProxy(Generic[A]):
    """Proxy to one method of an actor.

    Reading a method through an `ActorProxy` without calling it gives one:

        proxy = AnActor.start().proxy()
        future = proxy.do_work()      # ask: returns a future
        proxy.do_work.defer()         # tell: returns nothing
    """

    actor_ref: ActorRef[A]
    _attr_path: AttrPath

    def __init__(
        self,
        *,
        actor_ref: ActorRef[A],
        attr_path: AttrPath,
    ) -> None:
        self.actor_ref = actor_ref
        self._attr_path = attr_path

    def __reduce__(self) -> tuple[Callable[..., CallableProxy[A]], tuple[Any, ...]]:
        return (_rebuild_callable_proxy, (self.actor_ref, self._attr_path))

    def __call__(
        self,
        *args: Any,
        **kwargs: Any,
    ) -> Future[Any]:
        """Call the method, as an ask: return a future of its return value.

        An exception the method raises is set on the future and raised by
        `get()`; it is logged whether or not anyone calls `get()`.
        """
        message = _new_tuple(messages.ProxyCall, (self._attr_path, args, kwargs))
        return self.actor_ref.ask(message, block=False)

    def defer(
        self,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Call the method, as a tell: return nothing and create no future.

        An exception the method raises has no future to go to, so the actor's
        `on_failure()` hook is called and the actor stops.
        """
        message = _new_tuple(messages.ProxyCall, (self._attr_path, args, kwargs))
        self.actor_ref.tell(message)


def _rebuild_proxy(
    actor_ref: ActorRef[A],
    attr_path: AttrPath,
    known: dict[AttrPath, AttrInfo] | None = None,
) -> ActorProxy[A]:
    """Unpickle an `ActorProxy`, sending its actor nothing.

    Unlike the constructor, this does not check that the actor is alive: a
    message that carries a proxy of an actor that has stopped since still
    arrives, and using the proxy raises `ActorDeadError`.
    """
    actor = actor_ref._actor_weakref()  # noqa: SLF001
    if actor is None and known is not None and actor_ref._unreachable is None:  # noqa: SLF001
        # Newer than what earlier proxies here learned.
        actor_ref._attr_table = known  # noqa: SLF001
    proxy: ActorProxy[A] = ActorProxy.__new__(ActorProxy)
    proxy._setup(actor_ref, actor, attr_path, known)  # noqa: SLF001
    return proxy


def _rebuild_callable_proxy(
    actor_ref: ActorRef[A], attr_path: AttrPath
) -> CallableProxy[A]:
    return CallableProxy(actor_ref=actor_ref, attr_path=attr_path)


def traversable(obj: T) -> T:
    """Mark an actor attribute as traversable, so proxies reach into it.

    The methods and attributes of a traversable attribute become available
    through the actor's proxy, and run in the actor:

        class AnActor(pykka_rs.ThreadingActor):
            playback = pykka_rs.traversable(Playback())

        class Playback:
            def play(self):
                return True

        proxy = AnActor.start().proxy()
        assert proxy.playback.play().get() is True

    It also works as a class decorator, marking every instance of the class;
    setting a class attribute `pykka_traversable = True` does the same.

    Raises:
        ValueError: for an object with `__slots__`, which cannot carry the mark

    """
    if hasattr(obj, "__slots__"):
        msg = (
            "pykka.traversable() cannot be used to mark "
            "an object using slots as traversable."
        )
        raise ValueError(msg)
    setattr(obj, "_pykka_traversable", True)  # noqa: B010
    return obj

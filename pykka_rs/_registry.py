from __future__ import annotations

import logging
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    TypeVar,
    overload,
)

from pykka_rs._core import RemoteMailbox, catch_up

if TYPE_CHECKING:
    from pykka_rs import Actor, ActorRef, Future

__all__ = ["ActorRegistry"]


logger = logging.getLogger("pykka")


A = TypeVar("A", bound="Actor")


class ActorRegistry:
    """Every running actor, for lookups, broadcasts and stopping them all.

    Global state, safe to use from any thread.
    """

    _actor_refs: ClassVar[list[ActorRef[Any]]] = []
    _actor_refs_lock: ClassVar[threading.RLock] = threading.RLock()

    @classmethod
    def _live_refs(cls) -> list[ActorRef[Any]]:
        """Return a copy of the registered refs, without stopped process actors.

        A process actor's process announces its stop; the ref stays in this
        registry until the next lookup drops it here. A lookup first handles
        every announcement that has arrived (outside the lock: that may wait
        for a link's reader), so it sees each stop announced before it: as
        with thread actors, an actor is gone from the registry by the time
        its `on_stop()` or `on_failure()` runs.
        """
        catch_up()
        with cls._actor_refs_lock:
            refs = cls._actor_refs
            gone = [
                ref
                for ref in refs
                if isinstance(ref.actor_inbox, RemoteMailbox)
                and ref.actor_stopped.is_set()
            ]
            for ref in gone:
                refs.remove(ref)
            return refs[:]

    @classmethod
    def _add(cls, actor_ref: ActorRef[Any]) -> None:
        """Register a process actor's ref here, without a log record.

        The actor's own process logs registering it.
        """
        with cls._actor_refs_lock:
            cls._actor_refs.append(actor_ref)

    @classmethod
    def broadcast(
        cls,
        message: Any,
        target_class: str | type[Actor] | None = None,
    ) -> None:
        """Tell `message` to every actor of `target_class`, or to every actor.

        Args:
            message: the message to send
            target_class: an actor class, or a class name; `None` for all actors

        """
        if isinstance(target_class, str):
            targets = cls.get_by_class_name(target_class)
        elif target_class is not None:
            targets = cls.get_by_class(target_class)
        else:
            targets = cls.get_all()
        for ref in targets:
            ref.tell(message)

    @classmethod
    def get_all(cls) -> list[ActorRef[Any]]:
        """Every running actor, in the order they were started."""
        return cls._live_refs()

    @classmethod
    def get_by_class(
        cls,
        actor_class: type[A],
    ) -> list[ActorRef[A]]:
        """Every running actor of `actor_class` or a subclass of it.

        Args:
            actor_class: actor class, or any superclass of the actor

        """
        return [
            ref for ref in cls._live_refs() if issubclass(ref.actor_class, actor_class)
        ]

    @classmethod
    def get_by_class_name(
        cls,
        actor_class_name: str,
    ) -> list[ActorRef[Any]]:
        """Every running actor whose class has this name."""
        return [
            ref
            for ref in cls._live_refs()
            if ref.actor_class.__name__ == actor_class_name
        ]

    @classmethod
    def get_by_urn(
        cls,
        actor_urn: str,
    ) -> ActorRef[Any] | None:
        """Return the running actor with this URN, or `None`."""
        for ref in cls._live_refs():
            if ref.actor_urn == actor_urn:
                return ref
        return None

    @classmethod
    def register(
        cls,
        actor_ref: ActorRef[Any],
    ) -> None:
        """Add an actor to the registry; `Actor.start()` does this."""
        with cls._actor_refs_lock:
            cls._actor_refs.append(actor_ref)
        logger.debug(f"Registered {actor_ref}")

    @overload
    @classmethod
    def stop_all(
        cls,
        *,
        block: Literal[True],
        timeout: float | None = ...,
    ) -> list[bool]: ...

    @overload
    @classmethod
    def stop_all(
        cls,
        *,
        block: Literal[False],
        timeout: float | None = ...,
    ) -> list[Future[bool]]: ...

    @overload
    @classmethod
    def stop_all(
        cls,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> list[bool] | list[Future[bool]]: ...

    @classmethod
    def stop_all(
        cls,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> list[bool] | list[Future[bool]]:
        """Stop every running actor, the last started first.

        `block` and `timeout` work as for `ActorRef.stop()`. When blocking,
        each actor has stopped before the next is asked to, so actors that
        depend on the ones started before them are stopped first. Orders that
        need more than last-in, first-out are up to the actors themselves,
        for instance stopping what they depend on in `on_stop()`.

        When blocking, in the process that started process actors, the worker
        processes end too once every actor has stopped; the next
        `ProcessActor.start()` starts new ones.

        Returns:
            what `ActorRef.stop()` returned for each actor

        """
        return cls._stop_each(cls.get_all(), block=block, timeout=timeout)

    @classmethod
    def _stop_each(
        cls,
        refs: list[ActorRef[Any]],
        *,
        block: bool,
        timeout: float | None,
    ) -> list[bool] | list[Future[bool]]:
        """Stop `refs`, the last first, as `stop_all()` stops every actor."""
        if not block:
            return [ref.stop(block=False, timeout=timeout) for ref in reversed(refs)]
        stopped = [ref.stop(block=True, timeout=timeout) for ref in reversed(refs)]
        from pykka_rs._process import shutdown_pool  # noqa: PLC0415 (import cycle)

        shutdown_pool()
        return stopped

    @classmethod
    def unregister(
        cls,
        actor_ref: ActorRef[A],
    ) -> None:
        """Remove an actor from the registry; stopping an actor does this."""
        removed = False
        with cls._actor_refs_lock:
            if actor_ref in cls._actor_refs:
                cls._actor_refs.remove(actor_ref)
                removed = True
        if removed:
            logger.debug(f"Unregistered {actor_ref}")
        else:
            logger.debug(f"Unregistered {actor_ref} (not found in registry)")

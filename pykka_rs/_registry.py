from __future__ import annotations

import logging
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    Protocol,
    TypeVar,
    overload,
)

from pykka_rs._core import RemoteMailbox, catch_up, next_seq

if TYPE_CHECKING:
    from pykka_rs import Actor, ActorRef, Future

__all__ = ["ActorRegistry"]


logger = logging.getLogger("pykka")


A = TypeVar("A", bound="Actor")


class SystemRegistry(Protocol):
    """What makes the registry span every process of a system.

    The process module installs one (`ActorRegistry._span`); without it, the
    registry lists this process's actors only, as Pykka's does.
    """

    def announce(self, actor_ref: ActorRef[Any]) -> None:
        """Tell the other processes that this process registered `actor_ref`."""

    def withdraw(self, actor_ref: ActorRef[Any]) -> bool:
        """Take `actor_ref` out of the other processes' view of the registry.

        Returns whether it was listed there, as far as this process knows.
        """

    def everyone(self, local: list[tuple[int, ActorRef[Any]]]) -> list[ActorRef[Any]]:
        """Every registered actor of the system, given this process's own.

        `local` holds this process's registered refs with their order numbers.
        """

    def after_stop_all(self) -> None:
        """Run once `stop_all()` has stopped every actor (ends worker processes)."""


class ActorRegistry:
    """Every running actor, for lookups, broadcasts and stopping them all.

    Global state, safe to use from any thread.
    """

    # This process's registered refs, each with its order number.
    _actor_refs: ClassVar[list[tuple[int, ActorRef[Any]]]] = []
    _actor_refs_lock: ClassVar[threading.RLock] = threading.RLock()
    _span: ClassVar[SystemRegistry | None] = None

    @classmethod
    def _local_refs(cls) -> list[tuple[int, ActorRef[Any]]]:
        """This process's registered refs, without stopped actors of other processes.

        A ref to an actor of another process, registered here by hand, stays
        until a lookup finds its stop announced. A lookup first handles every
        announcement that has arrived (outside the lock: that may wait for a
        link's reader), so it sees each stop announced before it: as with
        thread actors, an actor is gone from the registry by the time its
        `on_stop()` or `on_failure()` runs.
        """
        catch_up()
        with cls._actor_refs_lock:
            refs = cls._actor_refs
            refs[:] = [
                entry
                for entry in refs
                if not (
                    isinstance(entry[1].actor_inbox, RemoteMailbox)
                    and entry[1].actor_stopped.is_set()
                )
            ]
            return refs[:]

    @classmethod
    def _live_refs(cls) -> list[ActorRef[Any]]:
        """Every registered actor of the system, in the order they were registered."""
        local = cls._local_refs()
        span = cls._span
        if span is None:
            return [ref for _, ref in local]
        return span.everyone(local)

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
        """Add an actor to the registry; `Actor.start()` does this.

        In a worker process, the actor is then listed by every process's registry.
        """
        with cls._actor_refs_lock:
            cls._actor_refs.append((next_seq(), actor_ref))
        logger.debug(f"Registered {actor_ref}")
        span = cls._span
        if span is not None:
            span.announce(actor_ref)

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
        for instance stopping what they depend on in `on_stop()`. Actors
        kept by a `Supervisor` come after the others: their supervisors stop
        them, newest first, without restarting them.

        In a system of processes, every actor of every process is stopped.
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
        """Stop `refs`, the last first, as `stop_all()` stops every actor.

        Supervised actors come after the rest: their supervisors, stopped
        first, stop them in their own order, and would restart one stopped
        before them.
        """
        refs = [ref for ref in refs if ref._supervised_by is not None] + [  # noqa: SLF001
            ref
            for ref in refs
            if ref._supervised_by is None  # noqa: SLF001
        ]
        if not block:
            return [ref.stop(block=False, timeout=timeout) for ref in reversed(refs)]
        stopped = [ref.stop(block=True, timeout=timeout) for ref in reversed(refs)]
        span = cls._span
        if span is not None:
            span.after_stop_all()
        return stopped

    @classmethod
    def unregister(
        cls,
        actor_ref: ActorRef[A],
    ) -> None:
        """Remove an actor from the registry; stopping an actor does this."""
        removed = False
        with cls._actor_refs_lock:
            for entry in cls._actor_refs:
                if entry[1] == actor_ref:
                    cls._actor_refs.remove(entry)
                    removed = True
                    break
        span = cls._span
        if span is not None:
            removed = span.withdraw(actor_ref) or removed
        if removed:
            logger.debug(f"Unregistered {actor_ref}")
        else:
            logger.debug(f"Unregistered {actor_ref} (not found in registry)")

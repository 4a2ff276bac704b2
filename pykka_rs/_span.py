"""One registry for a whole system of processes.

Every process keeps its own actors in `ActorRegistry`. A worker also tells
the parent of each actor it registers (a `Registered` frame carrying the
actor's URN, class name and pickled class), and the parent's core keeps
that list, dropping an actor when its stop is announced or its process
dies. So:

- in the parent, a lookup merges its own actors with the workers', in the
  order they were registered;
- in a worker, a lookup asks the parent for the whole list.

This module is installed into the registry by the process module; the
registry itself knows nothing of processes.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
from typing import TYPE_CHECKING, Any

from pykka_rs import _core
from pykka_rs._exceptions import ActorDeadError
from pykka_rs._pickling import PROTOCOL, dumps, loads
from pykka_rs._remote import rebuild_ref, remember

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs import ActorRef

logger = logging.getLogger("pykka_rs.registry")

# How long a worker's registry lookup waits for the parent's list.
REGISTRY_PATIENCE = 10.0


def describe(actor_ref: ActorRef[Any]) -> bytes:
    """What the registries of other processes keep of an actor.

    The class is pickled apart from the rest, so a process that cannot
    import it can still name the actor.
    """
    return pickle.dumps(
        (
            actor_ref.actor_urn,
            actor_ref.actor_class.__name__,
            dumps(actor_ref.actor_class),
        ),
        protocol=PROTOCOL,
    )


def label(payload: bytes) -> str:
    """The actor a `describe()` payload describes, as its ref would print it."""
    urn, name, _ = pickle.loads(payload)  # noqa: S301 (only peers that proved the pool's secret)
    return f"{name} ({urn})"


class ParentSpan:
    """The registry across processes, as the parent sees it."""

    def __init__(self, after_stop_all: Callable[[], None]) -> None:
        self._after_stop_all = after_stop_all
        # Refs rebuilt from the workers' announcements, by order number.
        self._known: dict[int, ActorRef[Any]] = {}

    def announce(self, actor_ref: ActorRef[Any]) -> None:
        """The parent's own actors are in its own registry already."""

    def withdraw(self, actor_ref: ActorRef[Any]) -> bool:
        """Take an actor of a worker out of the registry."""
        inbox = actor_ref.actor_inbox
        if not isinstance(inbox, _core.RemoteMailbox):
            return False
        return _core.withdraw(*inbox.export())

    def _workers_refs(self) -> list[tuple[int, ActorRef[Any]]]:
        entries = _core.registered()
        known = {}
        for seq, process, number, payload in entries:
            ref = self._known.get(seq)
            if ref is None:
                try:
                    urn, _, pickled_class = pickle.loads(payload)  # noqa: S301 (see label())
                    ref = rebuild_ref(process, number, urn, loads(pickled_class))
                except Exception:
                    logger.debug(
                        f"{label(payload)} is not listed here: its class cannot be "
                        "imported in this process",
                        exc_info=True,
                    )
                    continue
            known[seq] = ref
        self._known = known
        return list(known.items())

    def everyone(self, local: list[tuple[int, ActorRef[Any]]]) -> list[ActorRef[Any]]:
        """This process's actors and the workers', in the order they were registered."""
        merged = sorted([*local, *self._workers_refs()], key=lambda entry: entry[0])
        seen: set[int] = set()
        refs = []
        for _, ref in merged:
            if id(ref) not in seen:
                seen.add(id(ref))
                refs.append(ref)
        return refs

    def after_stop_all(self) -> None:
        """Every actor has stopped: end the worker processes too."""
        self._after_stop_all()


class WorkerSpan:
    """The registry across processes, as a worker sees it."""

    def announce(self, actor_ref: ActorRef[Any]) -> None:
        """Tell the parent of an actor registered here."""
        inbox = actor_ref.actor_inbox
        if not isinstance(inbox, _core.Mailbox | _core.Relay):
            return  # an actor type of its own: it cannot be reached from elsewhere
        try:
            payload = describe(actor_ref)
        except Exception:
            logger.warning(
                f"{actor_ref} is listed only in its own process's registry: "
                "its class cannot be pickled",
                exc_info=True,
            )
            return
        address = inbox.export()
        remember(address, actor_ref)
        _core.announce_registered(address[1], payload)

    def withdraw(self, actor_ref: ActorRef[Any]) -> bool:
        """Tell the parent that an actor left the registry."""
        inbox = actor_ref.actor_inbox
        if isinstance(inbox, _core.Mailbox | _core.Relay):
            if actor_ref.actor_stopped.is_set():
                return False  # its stop says it all
            # A parent that is gone keeps no registry to leave.
            with contextlib.suppress(ActorDeadError):
                _core.announce_unregistered(inbox.export()[1])
            return False
        if isinstance(inbox, _core.RemoteMailbox):
            _core.request(dumps(("withdraw", *inbox.export())))
            return True
        return False

    def everyone(self, local: list[tuple[int, ActorRef[Any]]]) -> list[ActorRef[Any]]:
        """The parent's list of the whole system.

        Plus any actor of this process it cannot know of (one whose class
        does not pickle).
        """
        slot = _core.request(dumps(("registry",)))
        try:
            pickled: list[bytes] = slot.get(REGISTRY_PATIENCE)
        except Exception:
            logger.warning(
                "the registry lists this process's actors only: the parent "
                "could not be asked for the others",
                exc_info=True,
            )
            return [ref for _, ref in local]
        refs: list[ActorRef[Any]] = []
        for data in pickled:
            try:
                refs.append(loads(data))
            except Exception:
                logger.debug(
                    "an actor is not listed here: its class cannot be imported "
                    "in this process",
                    exc_info=True,
                )
        listed = {id(ref) for ref in refs}
        return refs + [ref for _, ref in local if id(ref) not in listed]

    def after_stop_all(self) -> None:
        """A worker's processes are the parent's to end."""

"""Thespian's `ActorSystem`: the way in from outside the actors.

Bases by name: `simpleSystemBase` runs every actor in the caller's thread
(`_simple.py`); `multiprocQueueBase`, `multiprocTCPBase` and
`multiprocUDPBase` run them on pykka_rs process workers (`_multiproc.py`).

As in Thespian, the first system made (without `transientUnique=True`) is
the process's singleton: `ActorSystem()` with no base, or with the same
base's name, reaches it again, until it is shut down.
"""

from __future__ import annotations

import contextlib
import logging.config
import sys
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any, ClassVar, Self

from ._errors import ActorSystemFailure
from ._messages import ActorAddress
from ._multiproc import ProcessBase
from ._simple import SimpleBase

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from ._actor import Actor

Base = SimpleBase | ProcessBase

PROCESS_BASES = ("multiprocQueueBase", "multiprocTCPBase", "multiprocUDPBase")
BASES = ("simpleSystemBase", *PROCESS_BASES)
THESPIAN_GENERATION = (3, 10)


def _new_base(name: str, capabilities: dict[str, Any]) -> Base:
    if name not in BASES:
        raise ModuleNotFoundError(
            f"no actor system base named {name!r}; the bases are {', '.join(BASES)}",
            name=name,
        )
    # The capabilities every Thespian system announces about itself.
    capabilities.setdefault("Thespian ActorSystem Name", name)
    capabilities.setdefault("Thespian ActorSystem Version", 1)
    capabilities.setdefault("Thespian Generation", THESPIAN_GENERATION)
    capabilities.setdefault("Thespian Version", f"pykka_rs {_version('pykka_rs')}")
    capabilities.setdefault("Thespian Watch Supported", False)
    capabilities.setdefault(
        "Python Version", tuple(sys.version_info)
    )  # sys.version_info does not pickle
    if name == "simpleSystemBase":
        return SimpleBase(capabilities)
    return ProcessBase(name, capabilities)


def _base_name(base: Base) -> str:
    return base.name


class ActorSystem:
    """An actor system, as Thespian's `thespian.actors.ActorSystem`.

    Args:
        systemBase: the base's name (see the module docstring); None: the
            singleton's base, else `simpleSystemBase`.
        capabilities: this system's capabilities (a dict).
        logDefs: a `logging.config.dictConfig` dict to apply; None or False
            leave logging as it is.
        transientUnique: make a system of its own, leaving the singleton be.

    Raises:
        ModuleNotFoundError: no base has that name (Thespian's bases are modules).
        TypeError: `capabilities` is not a dict.
    """

    systemBase: ClassVar[Base | None] = None

    def __init__(
        self,
        systemBase: str | None = None,
        capabilities: dict[str, Any] | None = None,
        logDefs: Any = None,
        transientUnique: bool = False,  # noqa: FBT001, FBT002
    ) -> None:
        if capabilities is not None and not isinstance(capabilities, dict):
            raise TypeError(
                f"capabilities are a dict, not {type(capabilities).__name__}"
            )
        if systemBase is not None and not isinstance(systemBase, str):
            raise TypeError(
                f"a system base is named by a string, not {type(systemBase).__name__}"
            )
        if isinstance(logDefs, dict):
            logging.config.dictConfig(logDefs)
        current = None if transientUnique else type(self).systemBase
        if current is not None and current.closed:
            current = None
        if current is not None and (
            systemBase is None or systemBase == _base_name(current)
        ):
            base = current
        else:
            base = _new_base(systemBase or "simpleSystemBase", dict(capabilities or {}))
        self._base: Base | None = base
        self._inbox = base.external
        self._transient = transientUnique
        if not transientUnique:
            type(self).systemBase = base

    @property
    def capabilities(self) -> dict[str, Any]:
        """This system's capabilities (read-only view: use `updateCapability`)."""
        return dict(self._running().capabilities)

    @property
    def systemAddress(self) -> ActorAddress:
        """The address of the system itself."""
        return self._running().system_address

    def _running(self) -> Base:
        if self._base is None or self._base.closed:
            raise ActorSystemFailure("this ActorSystem has been shut down")  # noqa: EM101
        return self._base

    def shutdown(self) -> None:
        """Shut the system down: every actor exits. Calling it again does nothing."""
        base = self._base
        if base is None:
            return
        base.shutdown()
        if type(self).systemBase is base:
            type(self).systemBase = None
        self._base = None

    def createActor(
        self,
        actorClass: type[Actor] | str,
        targetActorRequirements: dict[str, Any] | None = None,
        globalName: str | None = None,
        sourceHash: str | None = None,
    ) -> ActorAddress:
        """Create a top-level actor and return its address.

        With a `globalName` already registered, return that actor's address.

        Raises:
            InvalidActorSpecification: `actorClass` names no Actor class.
            NoCompatibleSystemForActor: the actor's capability check fails.
            Exception: whatever the actor's `__init__()` raised.
        """
        base = self._running()
        if isinstance(base, SimpleBase):
            return base.create(
                actorClass, targetActorRequirements, globalName, sourceHash, parent=None
            )
        return base.create(actorClass, targetActorRequirements, globalName, sourceHash)

    def tell(self, actorAddr: ActorAddress, msg: Any) -> None:
        """Send `msg` to the actor at `actorAddr`, expecting no reply.

        Raises:
            ValueError: `actorAddr` is not an `ActorAddress`.
        """
        if not isinstance(actorAddr, ActorAddress):
            raise ValueError(  # noqa: TRY004  # Thespian raises ValueError here
                f"Actor `tell' address {actorAddr!r} is not a valid ActorAddress: "
                f"{type(actorAddr)}"
            )
        self._running().tell(actorAddr, msg, self._inbox)

    def ask(self, actorAddr: ActorAddress, msg: Any, timeout: Any = None) -> Any:
        """Send `msg` and wait for a message from any actor; None after `timeout`.

        Raises:
            ValueError: `actorAddr` is not an `ActorAddress`.
        """
        if not isinstance(actorAddr, ActorAddress):
            raise ValueError(  # noqa: TRY004  # Thespian raises ValueError here
                f"Actor `ask' address is not a valid ActorAddress: {actorAddr!r}"
            )
        return self._running().ask(actorAddr, msg, timeout, self._inbox)

    def listen(self, timeout: Any = None) -> Any:
        """Wait for a message from any actor; None after `timeout` (seconds)."""
        return self._running().listen(timeout, self._inbox)

    def updateCapability(
        self, capabilityName: str, capabilityValue: Any = None
    ) -> None:
        """Set (or, with None, remove) a capability of this system."""
        self._running().update_capability(capabilityName, capabilityValue)

    def _handleDeadLetters(self, address: ActorAddress, enable: bool) -> None:  # noqa: FBT001
        self._running().handle_dead_letters(address, enable=enable)

    def systemUpdate(self, updateType: str, *args: Any, **kwargs: Any) -> Any:
        """Call the base's method `updateType`, if it has one (else nothing)."""
        return getattr(self._running(), updateType, lambda *_a, **_k: None)(
            *args, **kwargs
        )

    def loadActorSource(self, fname: str) -> str:
        """Source loading is not supported (see docs/thespian.md)."""
        raise NotImplementedError(
            f"cannot load {fname}: loading actor source is not supported"
        )

    def unloadActorSource(self, sourceHash: str) -> None:
        """Source loading is not supported (see docs/thespian.md)."""
        raise NotImplementedError(
            f"cannot unload {sourceHash}: loading actor source is not supported"
        )

    @contextlib.contextmanager
    def private(self) -> Iterator[ActorSystem]:
        """A view of this system with an inbox of its own, for another thread.

        `ask()` and `listen()` through it receive only what is sent to it.
        """
        base = self._running()
        view = ActorSystem.__new__(ActorSystem)
        view._base = base  # noqa: SLF001
        view._inbox = base.new_inbox()  # noqa: SLF001
        view._transient = True  # noqa: SLF001
        try:
            yield view
        finally:
            view._base = None  # noqa: SLF001
            base.drop_inbox(view._inbox)  # noqa: SLF001

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

"""Thespian's `Actor`, `ActorTypeDispatcher` and `requireCapability`.

An actor object talks to its system through its cell (`_cell.Cell`), which
the system base attaches after `__init__()`: as in Thespian, an actor cannot
send or create actors from its `__init__()`.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from ._errors import ActorSystemException, InvalidActorAddress
from ._messages import ActorAddress

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._cell import Cell


class Actor:
    """An actor: override `receiveMessage(msg, sender)` to handle messages.

    Each call runs alone: nothing else of this actor runs meanwhile. An
    exception raised by `receiveMessage()` gets the message delivered once
    more; a second failure returns it to its sender as a `PoisonMessage`.
    """

    _cell: Cell

    def __str__(self) -> str:
        address = self._cell.address if "_cell" in vars(self) else "(not started)"
        return f"{{A:{type(self).__name__} @ {address}}}"

    def receiveMessage(self, msg: Any, sender: ActorAddress) -> Any:
        """Handle one message from `sender`; subclasses override this."""
        del msg, sender
        raise NotImplementedError(
            f"{self} must override receiveMessage() to handle messages"
        )

    def _attached(self) -> Cell:
        try:
            return self._cell
        except AttributeError:
            raise ActorSystemException(
                f"{type(self).__name__} is not in an actor system yet: actor "
                "operations are not available in __init__()"
            ) from None

    @property
    def myAddress(self) -> ActorAddress:
        """This actor's own address."""
        return self._attached().address

    @property
    def globalName(self) -> str | None:
        """The global name this actor was created under, or None."""
        return self._attached().global_name

    def createActor(
        self,
        actorClass: type[Actor] | str,
        targetActorRequirements: dict[str, Any] | None = None,
        globalName: str | None = None,
        sourceHash: str | None = None,
    ) -> ActorAddress:
        """Create a child actor and return its address at once.

        With a `globalName` already registered, return that actor's address
        instead. A child that cannot be created is reported to this actor
        with `ChildActorExited`.
        """
        return self._attached().create(
            actorClass, targetActorRequirements, globalName, sourceHash
        )

    def send(self, targetAddr: ActorAddress, msg: Any) -> None:
        """Send `msg` to the actor at `targetAddr`; the message must pickle.

        Raises:
            InvalidActorAddress: `targetAddr` is not an `ActorAddress`.
        """
        if not isinstance(targetAddr, ActorAddress):
            raise InvalidActorAddress(
                targetAddr, "not a valid ActorAddress for sending messages to"
            )
        self._attached().send(targetAddr, msg)

    def wakeupAfter(self, timePeriod: Any, payload: Any = None) -> None:
        """Have a `WakeupMessage` delivered to this actor after `timePeriod`.

        `timePeriod` is a `timedelta` or a number of seconds.
        """
        self._attached().wakeup_after(timePeriod, payload)

    def handleDeadLetters(self, startHandling: bool = True) -> None:  # noqa: FBT001, FBT002
        """Receive (or, with False, stop receiving) the system's dead letters."""
        self._attached().handle_dead_letters(enable=startHandling)

    def notifyOnSystemRegistrationChanges(self, startHandling: bool = True) -> None:  # noqa: FBT001, FBT002
        """Ask for `ActorSystemConventionUpdate`s; none come (one system only)."""
        del startHandling

    def logger(self, name: str | None = None) -> logging.LoggerAdapter[logging.Logger]:
        """A logger whose records carry this actor's address."""
        return logging.LoggerAdapter(
            logging.getLogger(name), {"actorAddress": self.myAddress}
        )

    def updateCapability(
        self, capabilityName: str, capabilityValue: Any = None
    ) -> None:
        """Set (or, with None, remove) a capability of this actor's system."""
        self._attached().update_capability(capabilityName, capabilityValue)

    def actorSystemShutdown(self) -> None:
        """Shut the whole actor system down (every actor exits)."""
        self._attached().system_shutdown()

    def registerSourceAuthority(self) -> None:
        """Source loading is not supported (see docs/thespian.md)."""
        raise NotImplementedError("loading actor source at run time is not supported")  # noqa: EM101

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

    def notifyOnSourceAvailability(self, enable: bool = True) -> None:  # noqa: FBT001, FBT002
        """Source loading is not supported; no notices come."""
        del enable

    def preRegisterRemoteSystem(
        self, remoteAddress: Any, remoteCapabilities: Any
    ) -> None:
        """Conventions of several systems are not supported (see docs/thespian.md)."""
        raise NotImplementedError(
            f"cannot register {remoteAddress}: "
            "one actor system per machine, no convention"
        )

    def deRegisterRemoteSystem(self, remoteAddress: Any) -> None:
        """Conventions of several systems are not supported (see docs/thespian.md)."""
        del remoteAddress


def requireCapability(
    cap: str, value: Any = None
) -> Callable[[type[Actor]], type[Actor]]:
    """Class decorator: the actor needs capability `cap` (equal to `value`, if given).

    The checks of several decorators on one class all have to pass.
    """

    def decorate(cls: type[Actor]) -> type[Actor]:
        earlier = getattr(cls, "actorSystemCapabilityCheck", None)

        def check(caps: dict[str, Any], reqs: dict[str, Any]) -> bool:
            present = (
                caps.get(cap, False) if value is None else caps.get(cap, False) == value
            )
            return bool(present) and (earlier is None or bool(earlier(caps, reqs)))

        cls.actorSystemCapabilityCheck = staticmethod(check)  # type: ignore[attr-defined]
        return cls

    return decorate


class ActorTypeDispatcher(Actor):
    """An actor that hands each message to `receiveMsg_<TypeName>(msg, sender)`.

    The message's type is tried first, then its bases in order; for each,
    the most derived actor class with such a method first. A method that
    returns `self.SUPER` passes the message on to the next candidate. A
    message nothing handles goes to `receiveUnrecognizedMessage`, if defined.
    """

    SUPER: ClassVar[int] = hash("SUPER")

    def receiveMessage(self, msg: Any, sender: ActorAddress) -> Any:
        """Dispatch `msg` on its type (see the class)."""
        for message_type in inspect.getmro(type(msg)):
            name = f"receiveMsg_{message_type.__name__}"
            for klass in inspect.getmro(type(self)):
                method = vars(klass).get(name)
                if method is None:
                    continue
                outcome = method(self, msg, sender)
                if outcome != self.SUPER:
                    return outcome
        unrecognized = getattr(self, "receiveUnrecognizedMessage", None)
        if unrecognized is not None:
            return unrecognized(msg, sender)
        return None

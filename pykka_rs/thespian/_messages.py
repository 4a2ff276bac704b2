"""Addresses and the system messages of Thespian's `thespian.actors`.

Messages compare by value, as Thespian's do, so a test can check what came
back with `==`. Every one of them pickles: they cross between processes.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any


class ActorAddress:
    """Where to send an actor's messages; opaque, picklable and comparable.

    Only the actor system makes addresses. Two addresses of one actor
    compare equal in every process, and an address stays usable (as a key
    in a dict, too) after its actor has gone: sending to it then produces a
    dead letter.
    """

    __slots__ = ("_aaddr", "_key", "_reduced")

    def __init__(self, aaddr: Any) -> None:
        self._aaddr = aaddr
        # A pykka_rs ref is the same actor in every process by its URN.
        self._key = getattr(aaddr, "actor_urn", aaddr)
        self._reduced: bytes | None = None

    @property
    def addressDetails(self) -> Any:
        """The system's own description of the address (opaque)."""
        return self._aaddr

    @property
    def actorAddressString(self) -> str:
        """A string naming the address, for display."""
        return str(self._key)

    def __str__(self) -> str:
        return f"ActorAddr-{self.actorAddressString}"

    def __repr__(self) -> str:
        return f"<ActorAddress {self.actorAddressString}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActorAddress):
            return False
        return bool(self._key == other._key)

    def __hash__(self) -> int:
        return hash(self._key)

    def __reduce__(self) -> tuple[Any, ...]:
        pickled = self._pickled_ref()
        if pickled is None:
            return (ActorAddress, (self._aaddr,))
        return (_unpickle_address, (pickled,))

    def _pickled_ref(self) -> bytes | None:
        """The pickle of a pykka_rs ref's address's ref, made once; None for others.

        An address goes with nearly every message: its ref is pickled once,
        and those bytes travel, which the other side looks up first.
        """
        if self._reduced is None and hasattr(self._aaddr, "actor_urn"):
            self._reduced = pickle.dumps(self._aaddr, protocol=5)
        return self._reduced


def on_the_wire(address: ActorAddress) -> ActorAddress | bytes:
    """`address` as the system's own envelopes carry it to another process.

    A ref's address goes as the bytes of its ref's pickle: a `bytes` pickles
    with none of the lookups by name that a reduced object costs, which for
    a small message is most of the price of a send. `from_the_wire` is the
    other half.
    """
    pickled = address._pickled_ref()  # noqa: SLF001  # the address's own module
    return address if pickled is None else pickled


def from_the_wire(sent: ActorAddress | bytes) -> ActorAddress:
    """The address `on_the_wire` made `sent` from (or `sent`, an address)."""
    if isinstance(sent, bytes):
        return _unpickle_address(sent)
    return sent


# The addresses this process unpickled lately, by their ref's pickle, kept
# alive: the next message from the same sender finds its address made.
_RECENT = 4096
_recent: dict[bytes, ActorAddress] = {}
_recent_lock = threading.Lock()


def _unpickle_address(pickled: bytes) -> ActorAddress:
    address = _recent.get(pickled)
    if address is not None:
        return address
    address = ActorAddress(pickle.loads(pickled))  # noqa: S301  # a part of a message being unpickled already
    address._reduced = pickled  # noqa: SLF001
    with _recent_lock:
        if len(_recent) >= _RECENT:
            _recent.clear()  # a simple bound: senders come back often
        _recent[pickled] = address
    return address


class ActorSystemMessage:
    """The base of the messages the actor system itself sends."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]  # mutable values, as Thespian's


class ActorExitRequest(ActorSystemMessage):
    """Asks an actor to exit; it sees the request, then stops.

    A recursive request (the default) goes on to every child of the actor.
    """

    def __init__(self, recursive: bool = True) -> None:  # noqa: FBT001, FBT002
        self._recursive = recursive

    def __str__(self) -> str:
        return "ActorExitRequest"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorExitRequest)

    __hash__ = None

    @property
    def isRecursive(self) -> bool:
        """Whether the children of the actor are asked to exit too."""
        return self._recursive

    def notRecursive(self) -> None:
        """Leave the children of the actor running when it exits."""
        self._recursive = False


class ChildActorExited(ActorSystemMessage):
    """Tells a parent that one of its children has exited."""

    def __init__(self, exitedChildAddress: ActorAddress) -> None:
        self._childAddress = exitedChildAddress

    def __str__(self) -> str:
        return f"ChildActorExited:{self._childAddress}"

    @property
    def childAddress(self) -> ActorAddress:
        """The address of the child that exited."""
        return self._childAddress


class PoisonMessage(ActorSystemMessage):
    """Returns to its sender a message that its target failed on twice."""

    def __init__(self, poison: Any, details: str | None = None) -> None:
        self._poison = poison
        self._details = details

    @property
    def poisonMessage(self) -> Any:
        """The message that failed."""
        return self._poison

    @property
    def details(self) -> str | None:
        """The traceback of the failure, as text."""
        return self._details

    def __str__(self) -> str:
        return f"PoisonMessage[{self._poison}]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PoisonMessage) and self._poison == other._poison

    __hash__ = None


class WakeupMessage(ActorSystemMessage):
    """Delivered to an actor that called `wakeupAfter()`, once the time is up."""

    def __init__(self, delayPeriod: Any, payload: Any = None) -> None:
        self.delayPeriod = delayPeriod
        self.payload = payload

    def __str__(self) -> str:
        return f"WakeupMessage({self.delayPeriod}, {self.payload})"


class DeadEnvelope(ActorSystemMessage):
    """A message whose target had exited, given to the dead letter handler."""

    def __init__(self, origTgt: Any, origMsg: Any) -> None:
        self.deadAddress = origTgt
        self.deadMessage = origMsg

    def __str__(self) -> str:
        return f"DeadEnvelope({self.deadAddress}: {self.deadMessage})"


class ActorSystemConventionUpdate(ActorSystemMessage):
    """Tells a registered actor that a remote system joined or left.

    One system runs per machine here, with no convention of systems, so
    this is never sent; the class exists so code that handles it imports.
    """

    def __init__(
        self,
        adminAddress: Any,
        capabilities: dict[str, Any] | None = None,
        added: bool = True,  # noqa: FBT001, FBT002
    ) -> None:
        self._remoteAdminAddress = adminAddress
        self._capabilities = capabilities
        self._added = added

    @property
    def remoteAdminAddress(self) -> Any:
        """The address of the remote system's administrator."""
        return self._remoteAdminAddress

    @property
    def remoteCapabilities(self) -> dict[str, Any] | None:
        """The remote system's capabilities."""
        return self._capabilities

    @property
    def remoteAdded(self) -> bool:
        """Whether the remote system joined (else it left)."""
        return self._added

    def __str__(self) -> str:
        what = "joined" if self._added else "left"
        return f"ActorSystemConventionUpdate({self._remoteAdminAddress} {what})"


class ValidateSource(ActorSystemMessage):
    """Source loading's request to validate loaded code (see docs/thespian.md).

    Loading actor source code at run time is not supported: workers import
    actor classes by name. The class exists so code that names it imports.
    """

    def __init__(
        self, sourceHash: str, sourceData: bytes, sourceInfo: Any = None
    ) -> None:
        self.sourceHash = sourceHash
        self.sourceData = sourceData
        self.sourceInfo = sourceInfo

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidateSource) and self.sourceHash == other.sourceHash

    __hash__ = None


class ValidatedSource(ActorSystemMessage):
    """Source loading's answer to `ValidateSource` (not supported; see above)."""

    def __init__(
        self, sourceHash: str, sourceZip: bytes, sourceInfo: Any = None
    ) -> None:
        self.sourceHash = sourceHash
        self.sourceZip = sourceZip
        self.sourceInfo = sourceInfo

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ValidatedSource) and self.sourceHash == other.sourceHash
        )

    __hash__ = None


class LoadedSource(ActorSystemMessage):
    """Source loading's notice of a loaded source (not supported; see above)."""

    def __init__(self, sourceHash: str, sourceInfo: Any) -> None:
        self.sourceHash = sourceHash
        self.sourceInfo = sourceInfo


class UnloadedSource(LoadedSource):
    """Source loading's notice of an unloaded source (not supported)."""


def for_the_system(msg: Any) -> bool:
    """Whether `msg` is the system's business, never handed to a caller outside.

    Callers outside the system (`ask()`, `listen()`) get their own messages
    and `PoisonMessage`s of them; system messages, and poison made of them,
    are dropped on the way, as in Thespian.
    """
    if isinstance(msg, PoisonMessage):
        msg = msg.poisonMessage
    return isinstance(msg, ActorSystemMessage) and not isinstance(msg, PoisonMessage)

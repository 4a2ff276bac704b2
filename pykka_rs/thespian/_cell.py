"""What happens to a message Thespian delivers: the same in every system base.

A cell is one actor as its system base sees it. The rules of delivery live
here once, so the synchronous base and the process base cannot drift apart:

- a handler that raises gets the message once more; a second failure sends
  the message back to its sender inside a `PoisonMessage` (a failing
  `PoisonMessage` is dropped, so two actors cannot bounce one for ever);
- an `ActorExitRequest` is shown to the actor, then the actor exits, after
  passing the request on to its children if it is recursive;
- a `ChildActorExited` first removes the child from the actor's children;
- `sys.exit()` in a handler ends that actor alone, abruptly: in Thespian an
  actor has a process of its own, which `sys.exit()` ends. The parent gets
  `ChildActorExited`; the children are left running, as orphans are there.

The bases implement how messages travel, how actors are made, and what
exiting means for them.
"""

from __future__ import annotations

import logging
import traceback
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ._messages import ActorAddress, ActorExitRequest, ChildActorExited, PoisonMessage

if TYPE_CHECKING:
    from ._actor import Actor

logger = logging.getLogger("Thespian")


class Cell(ABC):
    """One actor as its system base sees it (see the module docstring)."""

    def __init__(
        self,
        instance: Actor,
        address: ActorAddress,
        parent: ActorAddress | None,
        global_name: str | None,
    ) -> None:
        self.instance = instance
        self.address = address
        self.parent = parent
        self.global_name = global_name
        self.children: list[ActorAddress] = []
        self.exited = False
        instance._cell = self  # noqa: SLF001  # the actor reaches its system through this

    def deliver(self, msg: Any, sender: ActorAddress) -> None:
        """Show `msg` to the actor under Thespian's rules (module docstring)."""
        if self.exited:
            self.dead_letter(self.address, msg, sender)
            return
        if isinstance(msg, ChildActorExited):
            self._forget_child(msg.childAddress)
        if isinstance(msg, ActorExitRequest):
            self._exit_after(msg, sender)
            return
        details = None
        for attempt in (1, 2):
            try:
                self.instance.receiveMessage(msg, sender)
            except SystemExit:
                logger.info("Actor %s called sys.exit(): it exits", self.address)
                self.exited = True
                self.finish()
                return
            except Exception:
                logger.warning(
                    "Failure of Actor %s during message processing (attempt %s)",
                    self.address,
                    attempt,
                    exc_info=True,
                )
                details = traceback.format_exc()
            else:
                return
        if not isinstance(msg, PoisonMessage | ChildActorExited):
            self.send(sender, PoisonMessage(msg, details))

    def _forget_child(self, child: ActorAddress) -> None:
        if child in self.children:
            self.children.remove(child)

    def _exit_after(self, request: ActorExitRequest, sender: ActorAddress) -> None:
        try:
            self.instance.receiveMessage(request, sender)
        except Exception:
            logger.warning(
                "Actor %s failed on ActorExitRequest; it exits all the same",
                self.address,
                exc_info=True,
            )
        self.exited = True
        if request.isRecursive:
            for child in self.children:
                self.send(child, ActorExitRequest())
        self.finish()

    # What each base provides.

    @abstractmethod
    def send(self, target: ActorAddress, msg: Any) -> None:
        """Send `msg` from this actor to `target`."""

    @abstractmethod
    def create(
        self,
        actor_class: Any,
        requirements: dict[str, Any] | None,
        global_name: str | None,
        source_hash: str | None,
    ) -> ActorAddress:
        """Create a child of this actor (or find the one named `global_name`)."""

    @abstractmethod
    def wakeup_after(self, period: Any, payload: Any) -> None:
        """Deliver a `WakeupMessage` to this actor after `period`."""

    @abstractmethod
    def handle_dead_letters(self, *, enable: bool) -> None:
        """Register (or unregister) this actor as a dead letter handler."""

    @abstractmethod
    def update_capability(self, name: str, value: Any) -> None:
        """Set (None: remove) a capability of the system."""

    @abstractmethod
    def system_shutdown(self) -> None:
        """Shut the whole system down."""

    @abstractmethod
    def dead_letter(self, target: ActorAddress, msg: Any, sender: ActorAddress) -> None:
        """Hand a message for an actor that has exited to the dead letter handlers."""

    @abstractmethod
    def finish(self) -> None:
        """The actor has exited: release it and tell its parent."""

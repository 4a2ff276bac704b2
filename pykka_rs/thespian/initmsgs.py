"""`@initializing_messages`: an actor that first collects its set-up messages.

    @initializing_messages([("config", Config, True), ("peer", ActorAddress)],
                           initdone="ready")
    class Worker(ActorTypeDispatcher): ...

Each entry is (attribute, type[, keep sender]): a message of that type is
stored on the actor as the attribute (the latest one wins), and with a true
third item its sender as `<attribute>_sender`. Until every attribute is set,
other messages wait (system messages, and every message with
`init_passthru=True`, go through at once); then the `initdone` method runs,
and the waiting messages are delivered in order. The decorator changes the
class itself, keeping its importable name.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._messages import ActorSystemMessage

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._actor import Actor
    from ._messages import ActorAddress


def initializing_messages(  # noqa: C901  # the rules of one decorator, together
    initset: Sequence[tuple[Any, ...]],
    initdone: str | None = None,
    init_passthru: bool = False,  # noqa: FBT001, FBT002
) -> Callable[[type[Actor]], type[Actor]]:
    """Make an actor class collect `initset` before its normal work (see the module)."""

    def decorate(actor_class: type[Actor]) -> type[Actor]:  # noqa: C901
        handle = actor_class.receiveMessage

        def receiveMessage(self: Actor, msg: Any, sender: ActorAddress) -> Any:  # noqa: C901
            state = vars(self)
            if state.get("_init_done"):
                return handle(self, msg, sender)
            waiting = state.setdefault("_init_waiting", [])
            matched = False
            for entry in initset:
                if isinstance(msg, entry[1]):
                    matched = True
                    setattr(self, entry[0], msg)
                    if len(entry) > 2 and entry[2]:
                        setattr(self, f"{entry[0]}_sender", sender)
            if init_passthru or isinstance(msg, ActorSystemMessage):
                handle(self, msg, sender)
            elif not matched:
                waiting.append((msg, sender))
            if all(hasattr(self, entry[0]) for entry in initset):
                state["_init_done"] = True
                if initdone is not None:
                    done = getattr(self, initdone, None)
                    if done is None:
                        logging.getLogger("Thespian").warning(
                            "The initdone method %r is not defined by %s",
                            initdone,
                            type(self).__name__,
                        )
                    else:
                        done()
                while waiting:
                    handle(self, *waiting.pop(0))
            return None

        actor_class.receiveMessage = receiveMessage  # type: ignore[method-assign]
        return actor_class

    return decorate

"""Actors that exit on their own: `@transient` and `@transient_idle`.

`@transient(period)`: the actor exits `period` after its first message.
`@transient_idle(period)`: it exits once it has had no message of its own
(system messages do not count) for `period`. Periods are what
`wakeupAfter()` takes; 10 seconds by default. The decorators change the
class itself, so it keeps its name and importable place (it must: process
workers import actor classes by name).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._messages import ActorExitRequest, ActorSystemMessage, WakeupMessage
from .timing import timePeriodSeconds

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._actor import Actor
    from ._messages import ActorAddress

_DEFAULT = timedelta(seconds=10)


def transient(exit_delay: Any = _DEFAULT) -> Callable[[type[Actor]], type[Actor]]:
    """The actor exits `exit_delay` after its first message."""
    seconds = timePeriodSeconds(exit_delay) or 0.0

    def decorate(actor_class: type[Actor]) -> type[Actor]:
        handle = actor_class.receiveMessage

        def receiveMessage(self: Actor, msg: Any, sender: ActorAddress) -> Any:
            now = time.monotonic()
            exit_at = vars(self).get("_transient_exit_at")
            if exit_at is None:
                exit_at = self._transient_exit_at = now + seconds  # type: ignore[attr-defined]
                self.wakeupAfter(exit_delay)
            if isinstance(msg, WakeupMessage) and now >= exit_at:
                self.send(self.myAddress, ActorExitRequest())
            return handle(self, msg, sender)

        actor_class.receiveMessage = receiveMessage  # type: ignore[method-assign]
        return actor_class

    return decorate


def transient_idle(exit_delay: Any = _DEFAULT) -> Callable[[type[Actor]], type[Actor]]:
    """The actor exits once idle (no message of its own) for `exit_delay`."""
    seconds = timePeriodSeconds(exit_delay) or 0.0

    def decorate(actor_class: type[Actor]) -> type[Actor]:
        handle = actor_class.receiveMessage

        def receiveMessage(self: Actor, msg: Any, sender: ActorAddress) -> Any:
            now = time.monotonic()
            exit_at = vars(self).get("_transient_idle_exit_at")
            if exit_at is None:
                exit_at = self._transient_idle_exit_at = now + seconds  # type: ignore[attr-defined]
                self.wakeupAfter(exit_delay)
            if isinstance(msg, WakeupMessage):
                if now >= exit_at:
                    self.send(self.myAddress, ActorExitRequest())
                else:
                    self.wakeupAfter(timedelta(seconds=exit_at - now))
            elif not isinstance(msg, ActorSystemMessage):
                self._transient_idle_exit_at = now + seconds  # type: ignore[attr-defined]
            return handle(self, msg, sender)

        actor_class.receiveMessage = receiveMessage  # type: ignore[method-assign]
        return actor_class

    return decorate

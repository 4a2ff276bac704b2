"""The exceptions of Thespian's `thespian.actors`, under the same names."""

from __future__ import annotations


class ActorSystemException(Exception):  # noqa: N818  # Thespian's name
    """The base of every exception the actor system raises."""


class InvalidActorAddress(ActorSystemException):
    """Something used as an address is not an `ActorAddress`."""

    def __init__(self, addr: object, desc: str) -> None:
        self.actorAddress = addr
        super().__init__(f"{addr} is {desc}")


class ActorSystemFailure(ActorSystemException):
    """A request to the actor system failed."""


class ActorSystemStartupFailure(ActorSystemFailure):
    """The actor system could not start."""


class ActorSystemRequestTimeout(ActorSystemFailure):
    """The actor system could not complete a request in time."""


class NoCompatibleSystemForActor(ActorSystemException):
    """No actor system has the capabilities an actor class requires."""

    def __init__(self, actorClass: object, msg: str) -> None:
        super().__init__(f"{msg} for Actor {actorClass}")


class InvalidActorSourceHash(ActorSystemException):
    """A source hash names no loaded source."""

    def __init__(self, badHash: str) -> None:
        super().__init__(f"Source hash {badHash} does not match any loaded sources.")


class InvalidActorSpecification(ActorSystemException):
    """`createActor()` was given something that is not an actor class."""

    def __init__(
        self, badActorClassSpecification: object, reason: str | None = None
    ) -> None:
        suffix = f" ({reason})" if reason else ""
        super().__init__(
            f"Invalid Actor Specification: {badActorClassSpecification}{suffix}"
        )

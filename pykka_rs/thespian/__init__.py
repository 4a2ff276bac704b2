"""Thespian's API on pykka_rs: a stand-in for `thespian.actors`.

`from pykka_rs.thespian import ActorSystem, Actor` where a program had
`from thespian.actors import ...`. See docs/thespian.md for the migration:
what is the same, what differs, and what running on pykka_rs adds.
"""

from __future__ import annotations

from ._actor import Actor, ActorTypeDispatcher, requireCapability
from ._errors import (
    ActorSystemException,
    ActorSystemFailure,
    ActorSystemRequestTimeout,
    ActorSystemStartupFailure,
    InvalidActorAddress,
    InvalidActorSourceHash,
    InvalidActorSpecification,
    NoCompatibleSystemForActor,
)
from ._messages import (
    ActorAddress,
    ActorExitRequest,
    ActorSystemConventionUpdate,
    ActorSystemMessage,
    ChildActorExited,
    DeadEnvelope,
    LoadedSource,
    PoisonMessage,
    UnloadedSource,
    ValidatedSource,
    ValidateSource,
    WakeupMessage,
)
from ._system import THESPIAN_GENERATION, ActorSystem

ThespianGeneration = THESPIAN_GENERATION

__all__ = [
    "Actor",
    "ActorAddress",
    "ActorExitRequest",
    "ActorSystem",
    "ActorSystemConventionUpdate",
    "ActorSystemException",
    "ActorSystemFailure",
    "ActorSystemMessage",
    "ActorSystemRequestTimeout",
    "ActorSystemStartupFailure",
    "ActorTypeDispatcher",
    "ChildActorExited",
    "DeadEnvelope",
    "InvalidActorAddress",
    "InvalidActorSourceHash",
    "InvalidActorSpecification",
    "LoadedSource",
    "NoCompatibleSystemForActor",
    "PoisonMessage",
    "ThespianGeneration",
    "UnloadedSource",
    "ValidateSource",
    "ValidatedSource",
    "WakeupMessage",
    "requireCapability",
]

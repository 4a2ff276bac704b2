"""Making an actor object from what `createActor()` was given, in any base."""

from __future__ import annotations

import importlib
from typing import Any

from ._actor import Actor
from ._errors import InvalidActorSpecification, NoCompatibleSystemForActor
from .utilis import withPossibleInitArgs


def actor_class(spec: Any, source_hash: str | None = None) -> type[Actor]:
    """The actor class `spec` names: a class, or a "module.Class" string.

    Raises:
        ImportError: the module of a "module.Class" string does not import.
        InvalidActorSpecification: `spec` names no Actor class, or a source
            hash was given (loading actor source is not supported).
    """
    if source_hash is not None:
        raise InvalidActorSpecification(
            spec, f"source hash {source_hash}: loading actor source is not supported"
        )
    if isinstance(spec, str):
        module_name, _, class_name = spec.rpartition(".")
        if not module_name:
            raise InvalidActorSpecification(
                spec, "a string names a class as 'module.Class'"
            )
        # A module that does not import raises ImportError, as in Thespian.
        module = importlib.import_module(module_name)
        try:
            spec = getattr(module, class_name)
        except AttributeError as error:
            raise InvalidActorSpecification(spec, str(error)) from error
    if not (isinstance(spec, type) and issubclass(spec, Actor)):
        raise InvalidActorSpecification(spec, "not a subclass of Actor")
    return spec


def check_capabilities(
    cls: type[Actor], capabilities: dict[str, Any], requirements: dict[str, Any] | None
) -> None:
    """Raise `NoCompatibleSystemForActor` unless the system suits `cls`."""
    check = getattr(cls, "actorSystemCapabilityCheck", None)
    if check is not None and not check(capabilities, requirements or {}):
        raise NoCompatibleSystemForActor(
            cls, "No compatible ActorSystem could be found"
        )


def new_actor(
    cls: type[Actor], capabilities: dict[str, Any], requirements: dict[str, Any] | None
) -> Actor:
    """An instance of `cls`, given the capabilities and requirements it names."""
    check_capabilities(cls, capabilities, requirements)
    instance = withPossibleInitArgs(
        capabilities=dict(capabilities), requirements=requirements
    ).create(cls)
    if not isinstance(instance, Actor):
        raise InvalidActorSpecification(cls, "its constructor made no Actor")
    return instance

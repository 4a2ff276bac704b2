from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pykka_rs import ActorProxy
    from pykka_rs._types import AttrPath

logger = logging.getLogger("pykka")


class AttrInfo(NamedTuple):
    callable: bool
    traversable: bool


def introspect_attrs(
    *,
    root: Any,
    proxy: ActorProxy[Any],
    quiet: bool = False,
) -> dict[AttrPath, AttrInfo]:
    """Map the public attributes of `root`, and of its traversables, for a proxy.

    An attribute that is a proxy to `root` itself is left out, with a
    warning unless `quiet` (the proxy being pickled has warned already).
    """
    return _walk(root, dir(root), get_obj_dict(root), proxy, quiet=quiet)


def introspect_class(
    *,
    actor_class: type,
    proxy: ActorProxy[Any],
) -> dict[AttrPath, AttrInfo]:
    """Map what an actor of `actor_class` has from its class alone.

    These are the entries `introspect_attrs` gives for the class's
    attributes (its methods, class attributes and class-level traversables),
    as long as the instance does not shadow one of them: a proxy of an actor
    in another process starts from this, so it can call methods without
    asking the actor first.
    """
    return _walk(actor_class, dir(actor_class), get_class_dict(actor_class), proxy)


def _walk(
    root: Any,
    names: list[str],
    root_dict: dict[str, Any],
    proxy: ActorProxy[Any],
    *,
    quiet: bool = False,
) -> dict[AttrPath, AttrInfo]:
    from pykka_rs._proxy import ActorProxy  # noqa: PLC0415 (import cycle)

    result: dict[AttrPath, AttrInfo] = {}
    to_visit: list[AttrPath] = [(name,) for name in names]

    while to_visit:
        attr_path = to_visit.pop(0)

        # Names starting with "_" are private: proxies do not expose them.
        if attr_path[-1].startswith("_"):
            continue

        if len(attr_path) == 1:
            try:
                attr = root_dict[attr_path[0]]
            except KeyError:
                msg = (
                    f"type object {root.__class__.__name__!r} "
                    f"has no attribute {attr_path[0]!r}"
                )
                raise AttributeError(msg) from None
        else:
            attr = get_attr_from_parent(root, attr_path)

        # `proxy` on the left, so its __eq__ is used, not one the attribute
        # may have broken.
        if proxy == attr:
            if quiet:
                continue
            logger.warning(
                f"{root} attribute {'.'.join(attr_path)!r} "
                f"is a proxy to itself. "
                f"Consider making it private "
                f"by renaming it to {'_' + attr_path[-1]!r}."
            )
            continue

        if isinstance(attr, ActorProxy):
            # What the lookups below would find, without asking the other
            # actor: a proxy is not callable, and its `pykka_traversable`
            # is a future or a proxy, never True.
            info = AttrInfo(callable=False, traversable=False)
        else:
            info = AttrInfo(
                callable=callable(attr),
                traversable=(
                    getattr(attr, "_pykka_traversable", False) is True
                    or getattr(attr, "pykka_traversable", False) is True
                ),
            )
        result[attr_path] = info

        if info.traversable:
            to_visit.extend([(*attr_path, name) for name in dir(attr)])

    return result


def get_attr_from_parent(
    root: Any,
    attr_path: AttrPath,
) -> Any:
    """Look the attribute up in its parent's (and the parent's classes') `__dict__`.

    Unlike `getattr`, this does not run properties, so building a proxy has
    no side effects.
    """
    parent = get_attr_directly(root, attr_path[:-1])
    attr_name = attr_path[-1]
    try:
        return get_obj_dict(parent)[attr_name]
    except KeyError:
        msg = (
            f"type object {parent.__class__.__name__!r} has no attribute {attr_name!r}"
        )
        raise AttributeError(msg) from None


def get_attr_directly(
    root: Any,
    attr_path: AttrPath,
) -> Any:
    """Follow `attr_path` from `root` with `getattr` and return what is at its end."""
    attr = root
    for attr_name in attr_path:
        attr = getattr(attr, attr_name)
    return attr


def get_class_dict(cls: type) -> dict[str, Any]:
    """Merge the `__dict__` of `cls` and of its bases, most derived last."""
    result: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        result.update(base.__dict__)
    return result


def get_obj_dict(obj: Any) -> dict[str, Any]:
    """Merge the `__dict__` of `obj` over those of its classes, most derived last."""
    result: dict[str, Any] = {}
    for cls in reversed(obj.__class__.mro()):
        result.update(cls.__dict__)
    if hasattr(obj, "__dict__"):
        result.update(obj.__dict__)
    return result

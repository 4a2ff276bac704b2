"""Thespian's small helpers that actor code imports from `thespian.system.utilis`."""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any


def thesplog(msg: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
    """Log `msg % args` on the "Thespian" logger, at `level` (INFO by default)."""
    logging.getLogger("Thespian").log(level, msg, *args, **kwargs)


def fmap(func: Any, obj: Any) -> Any:
    """Apply `func` to every leaf of nested tuples, lists and dict values.

    Tuples stay tuples, dicts stay dicts (`func` sees each `(key, value)`
    pair's parts), other iterables such as `map` or `range` become lists,
    and an object with an `fmap` method maps itself.
    """
    recurse = functools.partial(fmap, func)
    if isinstance(obj, tuple):
        return tuple(map(recurse, obj))
    if isinstance(obj, dict):
        return dict(map(recurse, obj.items()))
    if isinstance(obj, list | filter | map | zip | range):
        return list(map(recurse, obj))
    if hasattr(obj, "fmap"):
        return obj.fmap(func)
    return func(obj)


class withPossibleInitArgs:  # Thespian's name
    """Make objects, passing only the keyword arguments `__init__` names.

    `withPossibleInitArgs(capabilities=c, requirements=r).create(cls)` calls
    `cls(capabilities=c)` when `__init__` takes `capabilities` and not
    `requirements`. Only parameters named so count: `**kwargs` gets nothing.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def create(self, klass: Any) -> Any:
        """An instance of `klass`, with the arguments its `__init__` accepts."""
        try:
            parameters = inspect.signature(klass.__init__).parameters.values()
        except (TypeError, ValueError):
            return klass()
        names = {
            p.name
            for p in parameters
            if p.kind not in {p.VAR_KEYWORD, p.VAR_POSITIONAL}
        }
        return klass(**{k: v for k, v in self.kwargs.items() if k in names})

"""Make `pykka` and every `pykka.<submodule>` name the pykka_rs module objects."""

from __future__ import annotations

import importlib
import sys

import pykka_rs

# Pykka's public and private modules, all of which its tests may import.
SUBMODULES = (
    "_actor",
    "_envelope",
    "_exceptions",
    "_future",
    "_introspection",
    "_proxy",
    "_ref",
    "_registry",
    "_threading",
    "_types",
    "debug",
    "messages",
    "typing",
)


def install() -> None:
    """Make `pykka` and its submodules the pykka_rs modules themselves."""
    sys.modules["pykka"] = pykka_rs
    for name in SUBMODULES:
        sys.modules[f"pykka.{name}"] = importlib.import_module(f"pykka_rs.{name}")

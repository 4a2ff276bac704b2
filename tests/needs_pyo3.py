"""An actor whose module imports a PyO3 extension, which subinterpreters refuse.

The extension is pykka_rs's own core, loaded from its file under its own
name: in the main interpreter and in worker processes that is the module
already loaded; in a subinterpreter CPython refuses it, as it refuses
every PyO3 module today.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

import pykka_rs as pykka


def _load_core() -> object:
    directory = os.path.dirname(pykka.__file__)  # noqa: PTH120
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(directory, "_core" + suffix)  # noqa: PTH118
        if os.path.exists(path):  # noqa: PTH110
            loader = importlib.machinery.ExtensionFileLoader("pykka_rs._core", path)
            spec = importlib.util.spec_from_file_location(
                "pykka_rs._core", path, loader=loader
            )
            assert spec is not None
            return loader.create_module(spec)
    raise ImportError("no _core extension beside pykka_rs")


core = _load_core()


class UsesPyO3(pykka.InterpreterActor):
    def where(self) -> int:
        return os.getpid()

    def interpreter(self) -> str:
        return type(sys.modules.get("pykka_rs._core")).__name__

"""Which `pykka_rs._core` this interpreter gets: the Rust extension, or its stand-in.

The Rust core is a PyO3 module, and PyO3 modules refuse to load in a
subinterpreter. So the package's first import, here, looks at where it is
being imported: in the main interpreter `pykka_rs._core` is the extension;
in any other it is `_subcore`, the same interface in plain Python (see that
module), installed under the core's name before anything imports it, so the
rest of the package runs unchanged.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["in_subinterpreter"]


def in_subinterpreter() -> bool:
    """Whether this code runs in an interpreter other than the main one."""
    for name in ("_interpreters", "_xxsubinterpreters"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        current, main = module.get_current(), module.get_main()
        # 3.13 and later: (id, whence) pairs; 3.12: interpreter IDs.
        if isinstance(current, tuple):
            current, main = current[0], main[0]
        return int(current) != int(main)
    return False


if "pykka_rs._core" not in sys.modules and in_subinterpreter():
    from pykka_rs import _subcore

    sys.modules["pykka_rs._core"] = _subcore
    # As the import system would for a submodule it loaded.
    sys.modules["pykka_rs"]._core = _subcore  # type: ignore[attr-defined]  # noqa: SLF001

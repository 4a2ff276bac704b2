"""Pykka's own benchmark cases, from the Pykka sdist on PyPI (fetched at run time)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "compat"))

from sdist import unpacked_pykka  # noqa: E402

SDIST = unpacked_pykka()


def pykka_benchmarks() -> dict[str, Callable[[int], float]]:
    """`BENCHMARKS` of Pykka's `benchmarks/threading_actors.py`, with whatever
    `pykka` is importable at the time."""
    path = SDIST / "benchmarks" / "threading_actors.py"
    spec = importlib.util.spec_from_file_location("pykka_threading_actors", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    benchmarks: dict[str, Callable[[int], float]] = module.BENCHMARKS
    return benchmarks


def alias_pykka_to_pykka_rs() -> None:
    """Make `import pykka` give pykka_rs, as in the compatibility tests."""
    from alias import install  # noqa: PLC0415 (tests/compat, put on sys.path above)

    install()

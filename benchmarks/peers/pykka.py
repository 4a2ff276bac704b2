"""Pykka 4.5.0 itself, imported from its sdist's sources."""

from __future__ import annotations

import sys

from peers._cpu import burn, cpu_cases
from peers._pykka_sdist import SDIST, pykka_benchmarks

sys.path.insert(0, str(SDIST / "src"))

import pykka

assert pykka.__file__ is not None
assert pykka.__file__.startswith(str(SDIST)), pykka.__file__


class Burner(pykka.ThreadingActor):
    def on_receive(self, message: int) -> int:
        return burn(message)


NAME = "Pykka 4.5.0"
CASES = pykka_benchmarks() | cpu_cases(lambda _: Burner.start())

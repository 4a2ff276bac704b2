"""pykka_rs thread actors, running Pykka's benchmark code through the `pykka` alias."""

from __future__ import annotations

import pykka_rs
from peers._cpu import burn, cpu_cases
from peers._pykka_sdist import alias_pykka_to_pykka_rs, pykka_benchmarks

alias_pykka_to_pykka_rs()


class Burner(pykka_rs.ThreadingActor):
    def on_receive(self, message: int) -> int:
        return burn(message)


NAME = "pykka_rs threads"
CASES = pykka_benchmarks() | cpu_cases(lambda _: Burner.start())

"""pykka_rs thread actors, running Pykka's benchmark code through the `pykka` alias."""

from __future__ import annotations

from peers._pykka_sdist import alias_pykka_to_pykka_rs, pykka_benchmarks

alias_pykka_to_pykka_rs()

NAME = "pykka_rs threads"
CASES = pykka_benchmarks()

"""pykka_rs thread actors, running Pykka's benchmark code through the `pykka` alias."""

from __future__ import annotations

from peers._pykka_sdist import pykka_benchmarks

import pykka_alias  # from tests/compat, put on sys.path by _pykka_sdist

pykka_alias.install()

NAME = "pykka_rs threads"
CASES = pykka_benchmarks()

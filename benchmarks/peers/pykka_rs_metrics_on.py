"""pykka_rs with metrics on (the default): every message timed and counted."""

from __future__ import annotations

from peers._metrics import cases

NAME = "metrics on"
CASES = cases(metrics=True)

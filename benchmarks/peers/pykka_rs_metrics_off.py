"""pykka_rs with `configure(metrics=False)`: only the mailbox's own counters."""

from __future__ import annotations

from peers._metrics import cases

NAME = "metrics off"
CASES = cases(metrics=False)

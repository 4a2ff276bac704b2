"""The CPU-bound cases: one job on one actor, then split over K actors.

Pure-Python work holds the GIL, so it runs in parallel only on actors in
different processes. A loop is `BLOCK` iterations of `burn`; the case asks
its actors for their share of `loops * BLOCK` iterations at once and times
until all have answered. Starting and stopping the actors is not timed.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

K = os.cpu_count() or 1
BLOCK = 10_000


def burn(n: int) -> int:
    """Pure-Python work: about 0.1 s per million iterations on CPython 3.11."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def cpu_cases(start: Callable[[int], Any]) -> dict[str, Callable[[int], float]]:
    """`cpu_1` and `cpu_k` for actors started by `start(i)` (the i-th of K),
    each answering a message `n` with `burn(n)`."""

    def on_actors(count: int, loops: int) -> float:
        refs = [start(i) for i in range(count)]
        share = loops * BLOCK // count
        begin = time.perf_counter()
        futures = [ref.ask(share, block=False) for ref in refs]
        for future in futures:
            future.get()
        elapsed = time.perf_counter() - begin
        for ref in refs:
            ref.stop()
        return elapsed

    return {
        "cpu_1": lambda loops: on_actors(1, loops),
        "cpu_k": lambda loops: on_actors(K, loops),
    }

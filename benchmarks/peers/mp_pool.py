"""multiprocessing.Pool (spawn context): the CPU-bound cases without actors,
for what parallel processes get on this machine."""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import time
from typing import Any

from peers._cpu import BLOCK, K, burn


@functools.cache
def pool() -> Any:
    """K worker processes, started once, before timing."""
    workers = multiprocessing.get_context("spawn").Pool(K)
    workers.map(burn, [1] * K)
    atexit.register(workers.terminate)
    return workers


def on_processes(count: int, loops: int) -> float:
    workers = pool()
    start = time.perf_counter()
    workers.map(burn, [loops * BLOCK // count] * count, chunksize=1)
    return time.perf_counter() - start


NAME = "multiprocessing.Pool"
CASES = {
    "cpu_1": lambda loops: on_processes(1, loops),
    "cpu_k": lambda loops: on_processes(K, loops),
}

"""Ray actors on a local cluster that this process starts (and stops at exit)."""

from __future__ import annotations

import atexit
import functools
import logging
import time
from typing import Any

from peers import Unavailable

try:
    import ray
except ImportError as exc:
    raise Unavailable(f"ray is not installed: {exc}") from exc


@ray.remote
class Echo:
    def __init__(self) -> None:
        self.count = 0

    def ask(self, message: Any) -> Any:
        return message

    def tell(self, _message: Any) -> None:
        self.count += 1

    def told(self) -> int:
        return self.count


@functools.cache
def echo() -> Any:
    """An actor on a local cluster started once, before timing."""
    try:
        ray.init(
            num_cpus=1,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
        )
    except Exception as exc:
        raise Unavailable(f"Ray did not start: {exc}") from exc
    atexit.register(ray.shutdown)
    actor = Echo.remote()  # type: ignore[attr-defined]
    ray.get(actor.ask.remote("warm up"))
    return actor


def bench_ask(loops: int) -> float:
    actor = echo()
    start = time.perf_counter()
    for _ in range(loops):
        ray.get(actor.ask.remote("ping"))
    return time.perf_counter() - start


def bench_tell(loops: int) -> float:
    actor = echo()
    before = ray.get(actor.told.remote())
    start = time.perf_counter()
    for _ in range(loops):
        actor.tell.remote("ping")
    # Wait until all were handled: Ray runs one caller's calls in order.
    told = ray.get(actor.told.remote())
    elapsed = time.perf_counter() - start
    assert told - before == loops, (told - before, loops)
    return elapsed


NAME = "Ray"
CASES = {"ask": bench_ask, "tell": bench_tell}

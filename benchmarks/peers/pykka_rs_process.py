"""pykka_rs process actors (`ProcessActor`), on a pool started before timing.

Round trips and starts use a pool of one worker, the CPU-bound cases one
worker per core. Workers import this module to unpickle the actor classes,
so importing it starts nothing: the pool starts on a case's first run,
untimed.
"""

from __future__ import annotations

import functools
import statistics
import time
from typing import Any

import pykka_rs
from peers._cpu import K, burn, cpu_cases


class Echo(pykka_rs.ProcessActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Burner(pykka_rs.ProcessActor):
    def on_receive(self, message: int) -> int:
        return burn(message)


@functools.cache
def warm_pool(workers: int = 1) -> None:
    """Start the pool (each measurement process runs one case: one pool size)."""
    pykka_rs.configure(workers=workers)
    Echo.start().stop()


def bench_ask(loops: int) -> float:
    warm_pool()
    ref = Echo.start()
    start = time.perf_counter()
    for _ in range(loops):
        ref.ask("ping")
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed


def bench_tell(loops: int) -> float:
    warm_pool()
    ref = Echo.start()
    start = time.perf_counter()
    for _ in range(loops):
        ref.tell("ping")
    ref.ask("ping")  # Wait until the actor has handled all messages.
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed


def bench_start(loops: int) -> float:
    """`loops` times the median start(), so the per-loop time is the median."""
    warm_pool()
    times, refs = [], []
    for _ in range(loops):
        start = time.perf_counter()
        refs.append(Echo.start())
        times.append(time.perf_counter() - start)
    for future in [ref.stop(block=False) for ref in refs]:
        future.get()
    return statistics.median(times) * loops


def start_burner(worker: int) -> pykka_rs.ActorRef[Burner]:
    warm_pool(K)
    return Burner.start_on(worker)


NAME = "pykka_rs processes"
CASES = {
    "ask": bench_ask,
    "tell": bench_tell,
    "start": bench_start,
    **cpu_cases(start_burner),
}

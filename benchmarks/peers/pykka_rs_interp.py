"""pykka_rs interpreter actors (`InterpreterActor`), on a pool started before timing.

Round trips use a pool of one subinterpreter, the CPU-bound cases one per
core. Subinterpreters import this module to unpickle the actor classes, so
importing it starts nothing: the pool starts on a case's first run, untimed.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any

import pykka_rs
from peers import Unavailable
from peers._cpu import K, burn, cpu_cases
from peers._memory import pss

if sys.version_info < (3, 12):
    msg = "InterpreterActor needs CPython 3.12 or later"
    raise Unavailable(msg)


class Echo(pykka_rs.InterpreterActor):
    def on_receive(self, message: Any) -> Any:
        return message

    def size(self, data: bytes) -> int:
        return len(data)


class Burner(pykka_rs.InterpreterActor):
    def on_receive(self, message: int) -> int:
        return burn(message)


@functools.cache
def warm_pool(interpreters: int = 1) -> None:
    """Start the pool (each measurement process runs one case: one pool size)."""
    pykka_rs.configure(interpreters=interpreters)
    Echo.start().stop()


def bench_ask(loops: int) -> tuple[float, float]:
    warm_pool()
    ref = Echo.start()
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(loops):
        ref.ask("ping")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    ref.stop()
    return elapsed, cpu


def bench_bytes_10mb(loops: int) -> float:
    warm_pool()
    ref = Echo.start()
    data = os.urandom(10_000_000)
    start = time.perf_counter()
    for _ in range(loops):
        ref.tell(data)
    ref.ask("done")  # the actor has taken every message
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed


def start_burner(worker: int) -> pykka_rs.ActorRef[Burner]:
    warm_pool(K)
    return Burner.start_on(worker)


def memory(workers: int) -> int:
    """Bytes this process grows by for a pool of `workers` subinterpreters."""
    before = pss([os.getpid()])
    warm_pool(workers)
    refs = [Echo.start_on(i) for i in range(workers)]
    for ref in refs:
        ref.ask("ready")
    return pss([os.getpid()]) - before


NAME = "pykka_rs interpreters"
CASES = {
    "ask": bench_ask,
    "bytes_10mb": bench_bytes_10mb,
    **cpu_cases(start_burner),
}

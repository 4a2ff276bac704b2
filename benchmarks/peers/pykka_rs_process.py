"""pykka_rs process actors (`ProcessActor`), on a pool started before timing.

Round trips and starts use a pool of one worker, the CPU-bound cases one
worker per core. Workers import this module to unpickle the actor classes,
so importing it starts nothing: the pool starts on a case's first run,
untimed.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pykka_rs
from peers._cpu import K, burn, cpu_cases
from peers._memory import pss


class Echo(pykka_rs.ProcessActor):
    def on_receive(self, message: Any) -> Any:
        return message


class Pid(pykka_rs.ProcessActor):
    def on_receive(self, _message: Any) -> int:
        return os.getpid()


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of `pids` so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class Burner(pykka_rs.ProcessActor):
    def on_receive(self, message: int) -> int:
        return burn(message)


@functools.cache
def warm_pool(workers: int = 1) -> None:
    """Start the pool (each measurement process runs one case: one pool size)."""
    pykka_rs.configure(workers=workers)
    Echo.start().stop()


def bench_ask(loops: int) -> tuple[float, float]:
    """Wall time, and CPU time of this process and the worker together."""
    warm_pool()
    ref = Echo.start()
    worker = [w["pid"] for w in pykka_rs._process.workers()]  # noqa: SLF001
    cpu = time.process_time() + _cpu_seconds(worker)
    start = time.perf_counter()
    for _ in range(loops):
        ref.ask("ping")
    elapsed = time.perf_counter() - start
    cpu = time.process_time() + _cpu_seconds(worker) - cpu
    ref.stop()
    return elapsed, cpu


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


def bench_bytes_10mb(loops: int) -> float:
    """A 10 MB `bytes` to an actor and back: in shared memory both ways."""
    warm_pool()
    ref = Echo.start()
    data = os.urandom(10_000_000)
    start = time.perf_counter()
    for _ in range(loops):
        ref.ask(data)
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


def memory(workers: int) -> int:
    """Bytes this process and its `workers` worker processes grow by."""
    before = pss([os.getpid()])
    warm_pool(workers)
    refs = [Pid.start_on(i) for i in range(workers)]
    pids = [ref.ask("pid") for ref in refs]
    return pss([os.getpid(), *pids]) - before


NAME = "pykka_rs processes"
CASES = {
    "ask": bench_ask,
    "tell": bench_tell,
    "start": bench_start,
    "bytes_10mb": bench_bytes_10mb,
    **cpu_cases(start_burner),
}

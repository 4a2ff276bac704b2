"""The metrics suite's cases, with metrics on or off (the peers say which).

`tell` and `ask` time a thread actor, `tell_process` a process actor on a
pool of one worker; `depth` and `depth_process` time one read of
`ActorRef.waiting` (a process actor's from the parent, which reads what the
worker pushed); `stats_actor` times one `ActorRef.stats`, `stats_system`
one `pykka_rs.stats()` over ten thread actors and one worker.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

import pykka_rs

if TYPE_CHECKING:
    from collections.abc import Callable


class Echo(pykka_rs.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class ProcessEcho(pykka_rs.ProcessActor):
    def on_receive(self, message: Any) -> Any:
        return message


@functools.cache
def warm_pool() -> None:
    pykka_rs.configure(workers=1)
    ProcessEcho.start().stop()


def _tell(ref: pykka_rs.ActorRef[Any], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        ref.tell("ping")
    ref.ask("ping")  # Wait until the actor has handled all messages.
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed


def bench_tell(loops: int) -> float:
    return _tell(Echo.start(), loops)


def bench_tell_process(loops: int) -> float:
    warm_pool()
    return _tell(ProcessEcho.start(), loops)


def bench_ask(loops: int) -> float:
    ref = Echo.start()
    start = time.perf_counter()
    for _ in range(loops):
        ref.ask("ping")
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed


def _read(ref: pykka_rs.ActorRef[Any], loops: int, read: Callable[[Any], Any]) -> float:
    for _ in range(10):
        ref.tell("queued")
    inbox = ref.actor_inbox
    if isinstance(inbox, pykka_rs._core.RemoteMailbox):  # noqa: SLF001
        # Until its worker's first report (100 ms at most), a read asks the
        # worker: time the reads of what the worker pushed.
        while inbox.waiting() is None:
            time.sleep(0.01)
    start = time.perf_counter()
    for _ in range(loops):
        read(ref)
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed


def bench_depth(loops: int) -> float:
    return _read(Echo.start(), loops, lambda ref: ref.waiting)


def bench_depth_process(loops: int) -> float:
    warm_pool()
    return _read(ProcessEcho.start(), loops, lambda ref: ref.waiting)


def bench_stats_actor(loops: int) -> float:
    return _read(Echo.start(), loops, lambda ref: ref.stats)


def bench_stats_system(loops: int) -> float:
    warm_pool()
    refs = [Echo.start() for _ in range(10)]
    remote = ProcessEcho.start()
    start = time.perf_counter()
    for _ in range(loops):
        pykka_rs.stats()
    elapsed = time.perf_counter() - start
    for ref in [*refs, remote]:
        ref.stop()
    return elapsed


def cases(*, metrics: bool) -> dict[str, Callable[[int], float]]:
    pykka_rs.configure(metrics=metrics)
    return {
        "tell": bench_tell,
        "ask": bench_ask,
        "tell_process": bench_tell_process,
        "depth": bench_depth,
        "depth_process": bench_depth_process,
        "stats_actor": bench_stats_actor,
        "stats_system": bench_stats_system,
    }

"""multiprocessing.Queue to a spawned consumer: one-way messages, no replies."""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import time
from typing import Any


def consume(inbox: Any, done: Any) -> None:
    """Take messages; on "flush", say how many came before it."""
    count = 0
    while (message := inbox.get()) is not None:
        if message == "flush":
            done.put(count)
            count = 0
        else:
            count += 1


@functools.cache
def consumer() -> tuple[Any, Any]:
    """The queues to a consumer started once, before timing."""
    context = multiprocessing.get_context("spawn")
    inbox, done = context.Queue(), context.Queue()
    process = context.Process(target=consume, args=(inbox, done), daemon=True)
    process.start()
    inbox.put("flush")
    done.get()

    def stop() -> None:
        inbox.put(None)
        process.join()

    atexit.register(stop)
    return inbox, done


def bench_tell(loops: int) -> float:
    inbox, done = consumer()
    start = time.perf_counter()
    for _ in range(loops):
        inbox.put("ping")
    inbox.put("flush")  # Wait until the consumer has taken all messages.
    taken = done.get()
    elapsed = time.perf_counter() - start
    assert taken == loops, (taken, loops)
    return elapsed


NAME = "multiprocessing.Queue"
CASES = {"tell": bench_tell}

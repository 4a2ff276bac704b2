"""CPU-bound work on N process actors uses N cores; on N thread actors, one.

Each actor counts primes below a limit, the plain-Python way. Thread actors
share one GIL, so N of them take about as long as one doing all the work.
Process actors each have a process, and a GIL, of their own.

Run it: `python examples/cpu_parallel.py [LIMIT]`.
"""

from __future__ import annotations

import os
import sys
import time

import pykka_rs as pykka


def count_primes(start: int, stop: int) -> int:
    found = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            found += 1
    return found


class ThreadCounter(pykka.ThreadingActor):
    def count(self, start: int, stop: int) -> int:
        return count_primes(start, stop)


class ProcessCounter(pykka.ProcessActor):
    def count(self, start: int, stop: int) -> int:
        return count_primes(start, stop)


def timed(
    actor_class: type[ThreadCounter | ProcessCounter], actors: int, limit: int
) -> tuple[float, int]:
    counters = [actor_class.start().proxy() for _ in range(actors)]
    # Interleaved slices, so every actor gets as many large numbers as the others.
    step = actors * 1000
    started = time.perf_counter()
    futures = [
        counter.count(start, min(start + 1000, limit))
        for first in range(0, limit, step)
        for counter, start in zip(
            counters, range(first, first + step, 1000), strict=False
        )
    ]
    total = sum(pykka.get_all(futures))
    elapsed = time.perf_counter() - started
    for counter in counters:
        counter.stop()
    return elapsed, total


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    cores = os.cpu_count() or 1
    print(f"Counting primes below {limit:,} with {cores} actors ({cores} CPUs):")
    for label, actor_class in (
        ("thread actors", ThreadCounter),
        ("process actors", ProcessCounter),
    ):
        # Start the pool first, so its start-up is not counted.
        actor_class.start().stop()
        one, expected = timed(actor_class, 1, limit)
        many, total = timed(actor_class, cores, limit)
        assert total == expected
        print(
            f"  {label:>14}: 1 actor {one:5.2f} s, {cores} actors {many:5.2f} s,"
            f" speedup {one / many:4.2f}x ({total:,} primes)"
        )
    pykka.ActorRegistry.stop_all()


if __name__ == "__main__":
    main()

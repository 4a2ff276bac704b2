"""A supervised pool of process actors survives the death of a worker.

A `Supervisor` with the `simple_one_for_one` strategy runs one `Cruncher`
per CPU, each a process actor, counting primes in slices of a range: real
CPU work, on every core. Halfway through, one worker process is killed
with SIGKILL. Its cruncher is restarted on a live worker under the same
ref; the slices it was working on fail with `ActorDeadError`, and are
sent again. The work completes with the right answer; the restart is
printed. Then the same work runs on a pool of thread actors, which share
one GIL, and the speedup is shown.

With `--top` (and `rich` installed: `pip install 'pykka_rs[top]'`), the
crunchers' mailboxes are shown live while the process actors work: the
work goes on in a thread, and the main thread draws `pykka_rs.top()` until
it is done.

Run it: `python examples/supervised_pool.py [--top] [LIMIT]`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections import OrderedDict, deque
from itertools import cycle
from typing import TYPE_CHECKING

import pykka_rs as pykka

if TYPE_CHECKING:
    from collections.abc import Callable

SLICE = 2000


def count_primes(start: int, stop: int) -> int:
    found = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            found += 1
    return found


class ProcessCruncher(pykka.ProcessActor):
    def count(self, start: int, stop: int) -> int:
        return count_primes(start, stop)

    def pid(self) -> int:
        return os.getpid()


class ThreadCruncher(pykka.ThreadingActor):
    def count(self, start: int, stop: int) -> int:
        return count_primes(start, stop)


_printing = threading.Lock()


def say(line: str) -> None:
    """Print `line` whole: the supervisor's thread prints its restarts while
    the main thread prints, and `print()` writes a line and its end apart."""
    with _printing:
        sys.stdout.write(f"{line}\n")


class Printer(logging.Handler):
    """Prints the supervisor's restarts as they happen."""

    def emit(self, record: logging.LogRecord) -> None:
        if "restarts" in record.getMessage():
            say(f"  restarted: {record.getMessage()}")


def crunch(
    cruncher: type[ProcessCruncher | ThreadCruncher],
    limit: int,
    *,
    kill: bool,
    before_stop: Callable[[], None] | None = None,
) -> tuple[int, float, int]:
    """Count the primes below `limit` on a supervised pool; return the
    count, the seconds it took and how many slices were lost and sent again.

    `before_stop` is called once the work is done, before the pool stops."""
    workers = os.cpu_count() or 1
    pool = pykka.Supervisor.start(
        [pykka.ChildSpec(cruncher)],
        strategy="simple_one_for_one",
        max_restarts=workers,
        within=10.0,
    )
    crunchers = [pool.proxy().start_child().get().proxy() for _ in range(workers)]
    victim = crunchers[0].pid().get() if kill else None
    pending = deque(
        (start, min(start + SLICE, limit)) for start in range(0, limit, SLICE)
    )
    total_slices = len(pending)
    in_flight: OrderedDict[pykka.Future[int], tuple[int, int]] = OrderedDict()
    done: dict[tuple[int, int], int] = {}
    lost = 0
    next_cruncher = cycle(crunchers)
    started = time.perf_counter()
    while pending or in_flight:
        while pending and len(in_flight) < 2 * workers:
            piece = pending.popleft()
            in_flight[next(next_cruncher).count(*piece)] = piece
        future, piece = in_flight.popitem(last=False)
        try:
            done[piece] = future.get()
        except pykka.ActorDeadError:
            lost += 1
            pending.append(piece)
        if victim is not None and len(done) == total_slices // 2:
            os.kill(victim, signal.SIGKILL)
            say(f"  killed worker process {victim} halfway through")
            victim = None
    elapsed = time.perf_counter() - started
    if before_stop is not None:
        before_stop()
    pool.stop()
    return sum(done.values()), elapsed, lost


def crunch_watched(limit: int) -> tuple[int, float, int]:
    """`crunch` of process actors in a thread, with the live view of the
    crunchers' mailboxes drawn here until the work is done: the last screen
    is drawn before the pool stops, so it shows what each cruncher did."""
    finished = threading.Event()
    drawn = threading.Event()
    result: list[tuple[int, float, int]] = []

    def last_screen() -> None:
        finished.set()
        drawn.wait()

    def work() -> None:
        try:
            result.append(
                crunch(ProcessCruncher, limit, kill=True, before_stop=last_screen)
            )
        finally:
            finished.set()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        pykka.top(interval=0.5, until=finished)
    finally:
        drawn.set()
    worker.join()
    if not result:
        sys.exit("the work on process actors failed")
    return result[0]


def main() -> None:
    args = sys.argv[1:]
    watch = "--top" in args
    numbers = [a for a in args if a != "--top"]
    limit = int(numbers[0]) if numbers else 300_000
    cpus = os.cpu_count() or 1
    # One worker process per CPU, and a spare: a cruncher whose worker dies
    # is restarted at once on the least busy live worker, the spare, while
    # the pool replaces the dead one (the next spare).
    pykka.configure(workers=cpus + 1)
    logging.basicConfig(level=logging.CRITICAL)
    supervision = logging.getLogger("pykka_rs.supervisor")
    supervision.addHandler(Printer())
    supervision.setLevel(logging.INFO)
    supervision.propagate = False
    # Start the worker pool first, so its start-up is not counted.
    ProcessCruncher.start().stop()
    print(f"Counting primes below {limit:,} on {cpus} supervised actors ({cpus} CPUs):")
    if watch:
        primes, on_processes, lost = crunch_watched(limit)
    else:
        primes, on_processes, lost = crunch(ProcessCruncher, limit, kill=True)
    print(
        f"  process actors: {primes:,} primes in {on_processes:.2f} s"
        f" ({lost} slices lost with the worker, sent again)"
    )
    expected, on_threads, _ = crunch(ThreadCruncher, limit, kill=False)
    print(f"  thread actors:  {expected:,} primes in {on_threads:.2f} s")
    assert primes == expected
    speedup = on_threads / on_processes
    print(f"  speedup of process actors over thread actors: {speedup:.2f}x")
    pykka.ActorRegistry.stop_all()


if __name__ == "__main__":
    main()

"""A pipeline over bounded channels: work in, results out, across processes.

The main process puts slices of a range into a `jobs` channel; one
`Cruncher` per CPU, each a process actor, takes slices from it as it is
free, counts the primes in each, and sends the count to a `results`
channel. Both channels are bounded: the main process waits while `jobs` is
full, so the work queued never exceeds its capacity, however long the
range. Closing `jobs` ends the crunchers' loops once it is drained. The
answer is checked against a count made here, and the channels' counters
are printed as `pykka_rs.stats()` shows them.

Run it: `python examples/channel_pipeline.py [LIMIT]`.
"""

from __future__ import annotations

import os
import sys

import pykka_rs as pykka

SLICE = 2000


def count_primes(start: int, stop: int) -> int:
    found = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            found += 1
    return found


class Cruncher(pykka.ProcessActor):
    def crunch(
        self,
        jobs: pykka.Channel[tuple[int, int]],
        results: pykka.Channel[int],
    ) -> int:
        """Count primes in each slice from `jobs` until it is closed and empty."""
        done = 0
        for start, stop in jobs:
            results.send(count_primes(start, stop))
            done += 1
        return done


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    workers = os.cpu_count() or 1
    pykka.configure(workers=workers)
    jobs: pykka.Channel[tuple[int, int]] = pykka.Channel(2 * workers, name="jobs")
    # Room for more results than the crunchers can make while the main
    # process waits on a full `jobs`: the two channels never wait on each other.
    results: pykka.Channel[int] = pykka.Channel(4 * workers + 8, name="results")
    crunchers = [Cruncher.start_on(seat).proxy() for seat in range(workers)]
    try:
        running = [cruncher.crunch(jobs, results) for cruncher in crunchers]
        slices = [(n, min(n + SLICE, limit)) for n in range(0, limit, SLICE)]
        total = 0
        for job in slices:
            jobs.send(job)  # waits while the crunchers are behind
            while True:  # meanwhile, take whatever results are ready
                try:
                    total += results.try_receive()
                except pykka.ChannelEmpty:
                    break
        jobs.close()
        handled = [done.get() for done in running]
        while len(results):
            total += results.receive()
        print(f"{len(slices)} slices over {workers} crunchers: {handled}")
        print(f"primes below {limit}: {total}")
        assert total == count_primes(0, limit), "the pipeline lost or repeated a slice"
        print("checked against a count made here: right")
        for channel in pykka.stats().channels:
            print(
                f"{channel.name}: sent {channel.sent}, received {channel.received},"
                f" at most {channel.high_water} of {channel.capacity} waiting"
            )
    finally:
        pykka.ActorRegistry.stop_all()


if __name__ == "__main__":
    main()

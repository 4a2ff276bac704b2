"""Measure one case of one peer, in this fresh interpreter.

Usage: python measure.py PEER CASE TARGET_SECONDS REPEATS [CPU]

Calibrates a loop count that takes about TARGET_SECONDS, runs the case once
to warm up, then REPEATS times, and prints a JSON list of seconds per loop.
A case that returns (wall, cpu) seconds gets `{"wall": [...], "cpu": [...]}`,
CPU time per loop beside wall time. CASE `memory:N` prints the bytes per
worker the peer's `memory(N)` reports for a pool of N workers.
With CPU, the process is first pinned to that one CPU. Prints `null` if the
peer has no such case, and `{"unavailable": REASON}` if the peer raises
`peers.Unavailable` (it cannot run on this machine).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from peers import Unavailable


def main() -> None:
    peer_name, case, target, repeats = sys.argv[1:5]
    if len(sys.argv) > 5:
        os.sched_setaffinity(0, {int(sys.argv[5])})
    try:
        peer = importlib.import_module(f"peers.{peer_name}")
        if case.startswith("memory:"):
            workers = int(case.split(":")[1])
            measure_memory = getattr(peer, "memory", None)
            result = (
                None if measure_memory is None else measure_memory(workers) / workers
            )
            print(json.dumps(None if result is None else [result]))
            return
        timed = peer.CASES.get(case)
        if timed is None:
            print(json.dumps(None))
            return

        def wall(loops: int) -> float:
            result = timed(loops)
            return float(result[0] if isinstance(result, tuple) else result)

        run = wall
        if run is None:
            print(json.dumps(None))
            return
        loops = 10
        while (elapsed := run(loops)) < float(target) / 4 and loops < 10_000_000:
            loops *= 4
        loops = max(10, int(loops * float(target) / max(elapsed, 1e-9)))
        run(loops)
        results = [timed(loops) for _ in range(int(repeats))]
        if isinstance(results[0], tuple):
            print(json.dumps({
                "wall": [r[0] / loops for r in results],
                "cpu": [r[1] / loops for r in results],
            }))  # fmt: skip
        else:
            print(json.dumps([r / loops for r in results]))
    except Unavailable as exc:
        print(json.dumps({"unavailable": str(exc)}))


if __name__ == "__main__":
    main()

"""The floor under any transfer: copying the bytes, in this process.

A round trip of a 10 MB message is two copies of 10 MB into memory that is
already there (no page faults): what no transport between processes can beat.
"""

from __future__ import annotations

import os
import time


def bench_bytes_10mb(loops: int) -> float:
    data = os.urandom(10_000_000)
    there, back = bytearray(len(data)), bytearray(len(data))
    start = time.perf_counter()
    for _ in range(loops):
        there[:] = data
        back[:] = there
    return time.perf_counter() - start


NAME = "memcpy (the floor)"
CASES = {"bytes_10mb": bench_bytes_10mb}

"""multiprocessing.Pipe to a spawned child that echoes: the bare round trip."""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


def echo(conn: Connection) -> None:
    while (message := conn.recv()) is not None:
        conn.send(message)


@functools.cache
def child() -> Connection:
    """The parent's end of a pipe to a child started once, before timing."""
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    process: Any = multiprocessing.get_context("spawn").Process(
        target=echo, args=(theirs,), daemon=True
    )
    process.start()
    ours.send("warm up")
    ours.recv()

    def stop() -> None:
        ours.send(None)
        process.join()

    atexit.register(stop)
    return ours


def bench_ask(loops: int) -> float:
    conn = child()
    start = time.perf_counter()
    for _ in range(loops):
        conn.send("ping")
        conn.recv()
    return time.perf_counter() - start


def bench_bytes_10mb(loops: int) -> float:
    """A 10 MB `bytes` to the child and back, pickled as `send` does."""
    conn = child()
    data = os.urandom(10_000_000)
    start = time.perf_counter()
    for _ in range(loops):
        conn.send(data)
        conn.recv()
    return time.perf_counter() - start


NAME = "multiprocessing.Pipe"
CASES = {"ask": bench_ask, "bytes_10mb": bench_bytes_10mb}

"""Channels: a round trip between two process actors, and the receive wake-up.

Usage:
    python benchmarks/channel.py [--rounds N] [--seconds S] [--wakeups W]
                                 [--python314 PYTHON] [--write FILE]

Measures, in one run, side by side:

- **round trip between two processes**: one process sends an item, the
  other takes it and sends it back, the first takes that; per round trip.
  Peers: `multiprocessing.Pipe` between two spawned processes (the bare
  round trip), and `pykka_rs.Channel` between two `ProcessActor`s on two
  workers, with each channel made in its receiver's worker (the placement
  the guide recommends), and with both made in the main process. Rounds
  alternate between the peers; the ratio is the median over rounds of the
  channel's time over the Pipe's, within each round.
- **receive wake-up**: a receiver waits on an empty channel; the sender
  stamps `time.perf_counter_ns()` (the system's monotonic clock, the same
  in every process and interpreter) and sends it; the receiver reads the
  clock as it wakes. The sender pauses before each send so the receiver is
  asleep, not spinning. Peers: `queue.Queue` between two threads (the
  standard library's condition variable), `pykka_rs.Channel` between two
  threads, from the main process to a process actor, and to an interpreter
  actor (CPython 3.12+); and, on CPython 3.14, `concurrent.interpreters`
  queues to a subinterpreter, whose `get()` polls every 10 ms. `--python314`
  runs the 3.14-only rows with that interpreter (which needs pykka_rs
  installed).

Targets (issue 8): the channel round trip <= the Pipe's; a wake-up that no
polling interval bounds. `--write FILE` replaces the section of FILE between
`<!-- bench:channel:begin -->` and `<!-- bench:channel:end -->`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import queue
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# --- What the workers import (this file, as __mp_main__) ---------------------

import pykka_rs as pykka  # noqa: E402 (after the docstring and constants)

sys.path.insert(0, str(HERE))
from provenance import commit, machine, percentile, write_section  # noqa: E402


class Player:
    """One end of a ping-pong over two channels."""

    def pid(self) -> int:
        return os.getpid()

    def inbox(self, capacity: int) -> pykka.Channel[Any]:
        """A channel made here, in this actor's process, for it to receive on."""
        self.made = pykka.Channel(capacity, name=f"inbox-{os.getpid()}")
        return self.made

    def serve(self, inbox: pykka.Channel[Any], outbox: pykka.Channel[Any]) -> None:
        """Send back every item until None."""
        while (item := inbox.receive()) is not None:
            outbox.send(item)

    def ping(
        self, outbox: pykka.Channel[Any], inbox: pykka.Channel[Any], seconds: float
    ) -> float:
        """Round trips for about `seconds`; return seconds per round trip."""
        loops = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(50):
                outbox.send("ping")
                inbox.receive()
            loops += 50
            now = time.perf_counter()
            if now >= deadline:
                return (now - start) / loops

    def wakeups(self, inbox: pykka.Channel[int], count: int) -> list[int]:
        """Nanoseconds from each stamp's send to this receiver waking."""
        woken = []
        for _ in range(count):
            stamp = inbox.receive()
            woken.append(time.perf_counter_ns() - stamp)
        return woken


class ProcessPlayer(Player, pykka.ProcessActor):
    pass


if sys.version_info >= (3, 12):

    class InterpreterPlayer(Player, pykka.InterpreterActor):
        pass


def pipe_echo(conn: Any) -> None:
    while (message := conn.recv()) is not None:
        conn.send(message)


def pipe_ping(conn: Any, seconds: float, result: Any) -> None:
    loops = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            conn.send("ping")
            conn.recv()
        loops += 50
        now = time.perf_counter()
        if now >= deadline:
            result.send((now - start) / loops)
            return


# --- Round trips --------------------------------------------------------------


def pipe_round(seconds: float) -> float:
    """One round of Pipe round trips between two spawned processes."""
    spawn = multiprocessing.get_context("spawn")
    a_end, b_end = spawn.Pipe()
    result_here, result_there = spawn.Pipe()
    echo = spawn.Process(target=pipe_echo, args=(b_end,), daemon=True)
    ping = spawn.Process(target=pipe_ping, args=(a_end, seconds, result_there))
    echo.start()
    # Warm both up: the echo answers once before the timed loop.
    a_end.send("warm")
    a_end.recv()
    ping.start()
    per_trip: float = result_here.recv()
    ping.join()
    a_end.send(None)
    echo.join()
    return per_trip


def channel_rounds(rounds: int, seconds: float) -> dict[str, list[float]]:
    """Interleaved rounds of every round-trip peer."""
    pykka.configure(workers=2)
    first = ProcessPlayer.start_on(0).proxy()
    second = ProcessPlayer.start_on(1).proxy()
    assert first.pid().get() != second.pid().get(), "both on one worker"
    # Each channel in its receiver's worker.
    to_second = second.inbox(16).get()
    to_first = first.inbox(16).get()
    # Both in the main process.
    main_a = pykka.Channel(16, name="main-a")
    main_b = pykka.Channel(16, name="main-b")
    results: dict[str, list[float]] = {"pipe": [], "receivers": [], "main": []}
    try:
        for _ in range(rounds):
            results["pipe"].append(pipe_round(seconds))
            for label, (a, b) in (
                ("receivers", (to_second, to_first)),
                ("main", (main_a, main_b)),
            ):
                served = second.serve(a, b)
                results[label].append(first.ping(a, b, seconds).get())
                a.send(None)
                served.get()
    finally:
        pykka.ActorRegistry.stop_all()
    return results


# --- Wake-ups -------------------------------------------------------------------

PAUSE = 0.002  # before each send: the receiver is asleep by then


def stamps(send: Any, count: int) -> None:
    for _ in range(count):
        time.sleep(PAUSE)
        send(time.perf_counter_ns())


def thread_wakeups(count: int, make: Any) -> list[int]:
    """A receiver thread waits on `make()`'s queue-like object; stamps go to it."""
    channel = make()
    got: list[int] = []

    def receive() -> None:
        for _ in range(count):
            stamp = channel.get()
            got.append(time.perf_counter_ns() - stamp)

    receiver = threading.Thread(target=receive)
    receiver.start()
    stamps(channel.put, count)
    receiver.join()
    return got


class _ChannelAsQueue:
    def __init__(self) -> None:
        self.channel: pykka.Channel[int] = pykka.Channel(16)

    def get(self) -> int:
        return self.channel.receive()

    def put(self, item: int) -> None:
        self.channel.send(item)


def actor_wakeups(kind: type[Player], count: int) -> list[int]:
    actor = kind.start().proxy()  # type: ignore[attr-defined]
    try:
        channel: pykka.Channel[int] = pykka.Channel(16, name="wakeups")
        got = actor.wakeups(channel, count)
        stamps(channel.send, count)
        result: list[int] = got.get()
        return result
    finally:
        pykka.ActorRegistry.stop_all()


STDLIB_ECHO = """
import time
while (stamp := requests.get()) is not None:
    woken = time.perf_counter_ns()
    replies.put(woken - stamp)
"""


def stdlib_interp_wakeups(count: int) -> list[int]:
    from concurrent import interpreters  # type: ignore[attr-defined, unused-ignore]  # noqa: PLC0415

    requests, replies = interpreters.create_queue(), interpreters.create_queue()
    interpreter = interpreters.create()
    interpreter.prepare_main(requests=requests, replies=replies)
    worker = threading.Thread(target=interpreter.exec, args=(STDLIB_ECHO,))
    worker.start()
    got = []
    for _ in range(count):
        time.sleep(PAUSE)
        requests.put(time.perf_counter_ns())
        got.append(replies.get())
    requests.put(None)
    worker.join()
    interpreter.close()
    return got


def wakeup_samples(count: int, only_314: bool) -> dict[str, list[int]]:  # noqa: FBT001
    samples: dict[str, list[int]] = {}
    if not only_314:
        samples["queue.Queue, thread to thread"] = thread_wakeups(count, queue.Queue)
        samples["Channel, thread to thread"] = thread_wakeups(count, _ChannelAsQueue)
        samples["Channel, main process to a process actor"] = actor_wakeups(
            ProcessPlayer, count
        )
    version = platform.python_version()
    if sys.version_info >= (3, 12):
        label = f"Channel, main interpreter to an interpreter actor ({version})"
        samples[label] = actor_wakeups(InterpreterPlayer, count)
    if sys.version_info >= (3, 14):
        label = f"concurrent.interpreters queue, to a subinterpreter ({version})"
        samples[label] = stdlib_interp_wakeups(count)
    return samples


# --- The report -----------------------------------------------------------------


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def round_trip_rows(results: dict[str, list[float]]) -> list[str]:
    pipe = us(statistics.median(results["pipe"]))
    rows = [
        "| Round trip between two processes | Median | Ratio to Pipe | Target |",
        "|---|---|---|---|",
        f"| multiprocessing.Pipe | {pipe} | 1.00x | |",
    ]
    for label, key in (
        ("Channel, each made in its receiver's worker", "receivers"),
        ("Channel, both made in the main process", "main"),
    ):
        ratio = statistics.median(
            ours / pipe
            for ours, pipe in zip(results[key], results["pipe"], strict=True)
        )
        verdict = "met" if ratio <= 1 else "**not met**"
        rows.append(
            f"| {label} | {us(statistics.median(results[key]))} | {ratio:.2f}x"
            f" | <= Pipe: {verdict} |"
        )
    return rows


def wakeup_rows(samples: dict[str, list[int]]) -> list[str]:
    rows = [
        "| Receive wake-up | Samples | Median | 90th percentile |",
        "|---|---|---|---|",
    ]
    for label, nanos in samples.items():
        seconds = [n / 1e9 for n in nanos]
        rows.append(
            f"| {label} | {len(nanos)} | {us(statistics.median(seconds))}"
            f" | {us(percentile(seconds, 0.9))} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--wakeups", type=int, default=300)
    parser.add_argument("--python314", help="a CPython 3.14 with pykka_rs installed")
    parser.add_argument(
        "--only-wakeups-314", action="store_true", help=argparse.SUPPRESS
    )
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    if args.only_wakeups_314:
        print(json.dumps(wakeup_samples(args.wakeups, only_314=True)))
        return
    results = channel_rounds(args.rounds, args.seconds)
    samples = wakeup_samples(args.wakeups, only_314=False)
    if args.python314:
        extra = subprocess.run(
            [
                args.python314,
                "-P",
                __file__,
                "--only-wakeups-314",
                "--wakeups",
                str(args.wakeups),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.update(json.loads(extra))
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python " + " ".join(
        shlex.quote(a) for a in ["benchmarks/channel.py", *sys.argv[1:]]
    )
    text = "\n".join(
        [
            "### Channels: round trips between processes, and the receive wake-up",
            "",
            (
                f"Measured {when} on {machine()}, at {commit()}, with"
                f" `{command}`: {args.rounds} rounds of about {args.seconds} s per"
                f" round-trip peer, interleaved; {args.wakeups} wake-ups per row,"
                f" each after a {PAUSE * 1000:.0f} ms pause."
            ),
            "",
            *round_trip_rows(results),
            "",
            *wakeup_rows(samples),
        ]
    )
    print(text)
    if args.write:
        write_section(args.write, "channel", text)


if __name__ == "__main__":
    main()

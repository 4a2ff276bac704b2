"""Thespian's ActorSystem("multiprocQueueBase"): actors in processes, queues between."""

from __future__ import annotations

import atexit
import functools
import time
from typing import Any

from peers import Unavailable

try:
    from thespian.actors import Actor, ActorSystem
except ImportError as exc:
    raise Unavailable(f"thespian is not installed: {exc}") from exc

TIMEOUT = 10.0


class Echo(Actor):  # type: ignore[misc]
    """Answers "ping"; counts "told"; answers "count" with the count so far."""

    count = 0

    def receiveMessage(self, message: Any, sender: Any) -> None:  # noqa: N802
        if message == "told":
            self.count += 1
        elif message == "count":
            self.send(sender, self.count)
        elif isinstance(message, str):
            self.send(sender, message)


@functools.cache
def echo() -> tuple[Any, Any]:
    """The actor system and an actor in it, started once, before timing."""
    try:
        system = ActorSystem(
            "multiprocQueueBase", logDefs={"version": 1, "root": {"level": "ERROR"}}
        )
    except Exception as exc:
        raise Unavailable(f"Thespian did not start: {exc}") from exc
    atexit.register(system.shutdown)
    actor = system.createActor(Echo)
    if system.ask(actor, "warm up", TIMEOUT) != "warm up":
        msg = "Thespian's actor did not answer"
        raise Unavailable(msg)
    return system, actor


def bench_ask(loops: int) -> float:
    system, actor = echo()
    start = time.perf_counter()
    for _ in range(loops):
        system.ask(actor, "ping", TIMEOUT)
    return time.perf_counter() - start


def bench_tell(loops: int) -> float:
    system, actor = echo()
    before = system.ask(actor, "count", TIMEOUT)
    start = time.perf_counter()
    for _ in range(loops):
        system.tell(actor, "told")
    # Wait until all were handled, whatever order they arrive in.
    while system.ask(actor, "count", TIMEOUT) - before < loops:
        pass
    return time.perf_counter() - start


NAME = "Thespian multiprocQueueBase"
CASES = {"ask": bench_ask, "tell": bench_tell}

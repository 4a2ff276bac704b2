"""The Thespian API's cases, shared by Thespian itself and pykka_rs.thespian.

A peer module defines its `Echo` actor (on its own `Actor` class, at module
level so that worker processes can import it) and builds its cases here, for
one system base: `ask` (a round trip), `tell` (throughput: all told, then
one ask for the count), and `memory(n)`: what n more actors cost, after n
others, in PSS, in this process and every process under it.
"""

from __future__ import annotations

import atexit
import functools
import os
import time
from pathlib import Path
from typing import Any

from peers import Unavailable
from peers._memory import pss

TIMEOUT = 10.0
QUIET = {"version": 1, "root": {"level": "ERROR"}}


def echo_receive(self: Any, message: Any, sender: Any) -> None:
    """Echo's receiveMessage: answers strings; counts "told"; answers "count"."""
    if message == "told":
        self.count = getattr(self, "count", 0) + 1
    elif message == "count":
        self.send(sender, getattr(self, "count", 0))
    elif isinstance(message, str):
        self.send(sender, message)


def pss_of_tree() -> int:
    """The PSS of this process and every process it started, still running.

    Thespian's multiproc bases start their administrator as a daemon, in a
    session of its own led by a child of this process: every process of
    such a session counts too.
    """
    mine = descendants(os.getpid())
    sessions = set(mine)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in mine:
            try:
                if os.getsid(int(entry.name)) in sessions:
                    mine.append(int(entry.name))
            except OSError:
                continue
    total = 0
    for pid in [os.getpid(), *mine]:
        try:
            total += pss([pid])
        except OSError:
            continue  # it ended meanwhile, or is a zombie
    return total


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, as /proc lists children."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def build(  # noqa: C901  # the cases close over one system
    system_class: Any, echo_class: Any, base: str
) -> tuple[dict[str, Any], Any]:
    """The CASES and the memory(n) function of one API on one base."""

    @functools.cache
    def echo() -> tuple[Any, Any]:
        try:
            system = system_class(base, logDefs=QUIET)
        except Exception as exc:
            raise Unavailable(f"{base} did not start: {exc}") from exc
        atexit.register(system.shutdown)
        actor = system.createActor(echo_class)
        if system.ask(actor, "warm up", TIMEOUT) != "warm up":
            msg = "the actor did not answer"
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
        # Wait until all were handled.
        while system.ask(actor, "count", TIMEOUT) - before < loops:
            pass
        return time.perf_counter() - start

    def memory(actors: int) -> int:
        system, _ = echo()
        # As many actors first, unmeasured: a worker of a pool imports the
        # actor's module with its first actor, a cost per worker, not per
        # actor. What is measured is what each further actor costs.
        warm = [system.createActor(echo_class) for _ in range(actors)]
        for actor in warm:
            system.ask(actor, "up?", TIMEOUT)
        before = pss_of_tree()
        made = [system.createActor(echo_class) for _ in range(actors)]
        for actor in made:
            system.ask(actor, "up?", TIMEOUT)
        return pss_of_tree() - before

    return {"ask": bench_ask, "tell": bench_tell}, memory

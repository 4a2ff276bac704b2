"""Actor classes for the process tests; workers import them by name."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import pykka_rs as pykka

log = logging.getLogger("tests.process_actors")


class Unpicklable(Exception):  # noqa: N818
    """An exception that cannot cross processes: it holds a lock."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


@pykka.traversable
class Counter:
    def __init__(self) -> None:
        self.count = 0

    def add(self, n: int) -> int:
        self.count += n
        return self.count


class Echo(pykka.ProcessActor):
    """Answers with what it is sent, and reports where it runs."""

    greeting = "hello"

    def __init__(self, tag: str = "echo") -> None:
        super().__init__()
        self.tag = tag
        self.counter = Counter()
        self.seen: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        self.seen.append(message)
        return message

    def pid(self) -> int:
        return os.getpid()

    def history(self) -> list[Any]:
        return self.seen

    def run(self, function: Any) -> Any:
        return function()

    def make_lock(self) -> threading.Lock:
        return threading.Lock()

    def fail(self, message: str) -> None:
        raise LookupError(message)

    def fail_unpicklably(self, message: str) -> None:
        raise Unpicklable(message)

    def log_something(self, text: str) -> None:
        log.warning("actor says %s", text)

    def ask_other(self, other: pykka.ActorProxy[Any], value: Any) -> Any:
        return other.echo(value).get(timeout=10)

    def echo(self, value: Any) -> Any:
        return value

    def future_of_self(self) -> pykka.Future[Any]:
        """A future this actor's process owns, resolved later by the actor."""
        return self.actor_ref.proxy().echo("from the future")

    def resolve(self, future: pykka.Future[Any], value: Any) -> None:
        future.set(value)

    def tell_many(self, other: pykka.ActorRef[Any], sender: int, count: int) -> None:
        for seq in range(count):
            other.tell((sender, seq))

    def sleep_then(self, seconds: float, value: Any) -> Any:
        threading.Event().wait(seconds)
        return value

    def start_another(self, tag: str) -> pykka.ActorRef[Echo]:
        return Echo.start(tag)


class FailsToStart(pykka.ProcessActor):
    def __init__(self) -> None:
        super().__init__()
        raise ValueError("refusing to start")


class SlowStart(pykka.ProcessActor):
    """Takes `seconds` in its constructor."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        time.sleep(seconds)

    def on_receive(self, message: Any) -> Any:
        return message


class Burner(pykka.ProcessActor):
    """CPU-bound work, to show process actors run in parallel."""

    def burn(self, n: int) -> int:
        total = 0
        for i in range(n):
            total += i * i % 7
        return total


class LocalEcho(pykka.ThreadingActor):
    """A thread actor in the parent, for process actors to talk to."""

    def echo(self, value: Any) -> Any:
        return value

    def ask_other(self, other: pykka.ActorProxy[Any], value: Any) -> Any:
        return other.echo(value).get(timeout=10)


class Announcer(pykka.ProcessActor):
    """Creates the file `path` in on_stop(): news of its stop by other means."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def on_stop(self) -> None:
        with open(self.path, "w"):  # noqa: PTH123 (plain file, any path)
            pass


class Tally:
    """Counts what it handles; a message "fail" raises, "block" waits on a FIFO."""

    def on_receive(self, message: Any) -> Any:
        if message == "fail":
            raise ValueError("asked to fail")
        return message

    def block(self, fifo: str) -> None:
        """Handle nothing else until a byte arrives on the FIFO `fifo`."""
        with open(fifo, "rb") as gate:  # noqa: PTH123 (a FIFO, any path)
            gate.read(1)


class ProcessTally(Tally, pykka.ProcessActor):
    pass


class ThreadTally(Tally, pykka.ThreadingActor):
    pass

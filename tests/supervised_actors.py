"""Actors for the supervision tests; workers import them by name.

A `Journal` (a thread actor of the test process) records what the members
report: each start and stop, with where it ran. Tests wait on it without
sleeping (`Journal.wait_for`).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pykka_rs as pykka

# Set by a test to let a thread member's blocking handler return.
RELEASE = threading.Event()


class Journal(pykka.ThreadingActor):
    """Records the events members tell it, in the order they arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[Any, ...]] = []
        self.changed = threading.Condition()

    def on_receive(self, message: Any) -> Any:
        with self.changed:
            self.events.append(message)
            self.changed.notify_all()

    @staticmethod
    def of(ref: pykka.ActorRef[Any]) -> Journal:
        journal = ref._actor_weakref()
        assert isinstance(journal, Journal)
        return journal

    def wait_for(self, predicate: Any, timeout: float = 20) -> list[tuple[Any, ...]]:
        """Wait until `predicate(events)` holds; return the events."""
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.events), timeout), (
                f"the journal never matched; it holds {self.events}"
            )
            return list(self.events)

    def count(self, *event: Any) -> int:
        with self.changed:
            return sum(1 for e in self.events if e[: len(event)] == event)


class Member:
    """What thread and process members share; tells `journal` its life."""

    def __init__(
        self,
        name: str,
        journal: pykka.ActorRef[Any] | None = None,
        *,
        fail_start: bool = False,
        fail_on_start: bool = False,
        trap: bool = False,
    ) -> None:
        super().__init__()  # type: ignore[call-arg]
        if fail_start:
            msg = f"{name} refuses to start"
            raise RuntimeError(msg)
        self.name = name
        self.journal = journal
        self.handled = 0
        self.trap_exits = trap
        self.fail_on_start = fail_on_start

    def _note(self, *event: Any) -> None:
        if self.journal is not None:
            self.journal.tell(event)

    def on_start(self) -> None:
        if self.fail_on_start:
            msg = f"{self.name} cannot begin"
            raise ConnectionError(msg)
        self._note("start", self.name, os.getpid())

    def on_stop(self) -> None:
        self._note("stop", self.name)

    def on_receive(self, message: Any) -> Any:
        self._note("received", self.name, message)
        return message

    def ping(self) -> tuple[str, int]:
        self.handled += 1
        return (self.name, self.handled)

    def crash(self) -> None:
        msg = f"{self.name} crashed"
        raise ZeroDivisionError(msg)

    def quit(self) -> None:
        self.stop()  # type: ignore[attr-defined]

    def pid(self) -> int:
        return os.getpid()

    def watch(self, other: pykka.ActorRef[Any]) -> None:
        """Monitor `other`, from this actor's process; tell the journal its end."""
        name, journal = self.name, self.journal
        assert journal is not None

        def told(end: pykka.ActorExit) -> None:
            journal.tell(("told", name, end.reason, str(end.actor_ref)))

        pykka.monitor(other, told)

    def ping_other(self, other: pykka.ActorRef[Any]) -> Any:
        return other.proxy().ping().get(timeout=20)

    def block(self, seconds: float) -> None:
        """Keep busy: a thread member until `RELEASE`, a process one `seconds`."""
        self._note("blocked", self.name)
        if isinstance(self, pykka.ProcessActor):
            time.sleep(seconds)
        else:
            RELEASE.wait(seconds)


class ThreadMember(Member, pykka.ThreadingActor):
    pass


class ProcessMember(Member, pykka.ProcessActor):
    pass


class Recorder(pykka.ThreadingActor):
    """Keeps `(child, sender, seq)` in the order children report them."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int, int]] = []

    def on_receive(self, message: Any) -> Any:
        self.seen.append(message)

    def history(self) -> list[tuple[str, int, int]]:
        return list(self.seen)


class Sequenced(pykka.ProcessActor):
    """Reports each message it handles to a `Recorder`, then answers it."""

    def __init__(self, name: str, recorder: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.name = name
        self.recorder = recorder

    def on_receive(self, message: Any) -> Any:
        sender, seq, work = message
        # A little CPU work, so the worker is busy when it is killed.
        total = sum(i * i for i in range(work))
        self.recorder.tell((self.name, sender, seq))
        return (self.name, sender, seq, total)

    def pid(self) -> int:
        return os.getpid()


class Nested(pykka.Supervisor):
    """A supervisor child with one thread member, for trees."""

    strategy = "one_for_one"
    max_restarts = 1
    within = 60.0

    def __init__(self, journal: pykka.ActorRef[Any], name: str = "leaf") -> None:
        super().__init__([pykka.ChildSpec(ThreadMember, (name, journal), id=name)])

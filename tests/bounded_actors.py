"""Actors with bounded mailboxes, for tests/test_bounded_mailbox.py.

Worker processes import them by name, from here. Each class holds two
messages at most; one class per kind of actor and overflow policy.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pykka_rs as pykka

CAPACITY = 2


class Bounded:
    """Records what it handles; `("hold", started, gate)` keeps it busy.

    `started` and `gate` are futures of the test's process: the actor sets
    the first when it begins the message, then waits for the test to set
    the second. `("crash", started, gate)` does the same, then raises,
    which stops the actor.
    """

    actor_stopped: Any
    actor_ref: Any

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, tuple) and message[0] in {"hold", "crash"}:
            kind, started, gate = message
            started.set(True)
            gate.get(timeout=60)
            if kind == "crash":
                msg = "crashed on purpose"
                raise RuntimeError(msg)
            return "held"
        self.seen.append(message)
        return message

    def received(self) -> list[Any]:
        return list(self.seen)

    def fill_myself(self, count: int) -> int:
        """Tell myself `count` messages; return how many went in."""
        sent = 0
        for i in range(count):
            self.actor_ref.tell(("self", i))
            sent += 1
        return sent

    def letters(self) -> list[tuple[str, str, str]]:
        return [(d.receiver, d.message, d.reason) for d in pykka.dead_letters()]

    def pid(self) -> int:
        return os.getpid()


class Consumer:
    """Counts what it takes, doing a little work for each.

    Every `PAUSE_EVERY` messages it also waits until its mailbox is full
    (if it is bounded), so that its senders meet the bound whatever the
    speeds of the two sides on the machine.
    """

    PAUSE_EVERY = 100_000

    mailbox_size: int | None
    actor_inbox: Any

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.total = 0
        self.out_of_order = 0

    def on_receive(self, message: Any) -> Any:
        number = message[0]
        if number != self.count:
            self.out_of_order += 1
        self.count += 1
        self.total += number + sum(range(40))
        if self.count % self.PAUSE_EVERY == 1:
            self._wait_until_full()
        return None

    def _wait_until_full(self) -> None:
        if self.mailbox_size is None:
            return
        deadline = time.monotonic() + 30
        while len(self.actor_inbox) < self.mailbox_size and time.monotonic() < deadline:
            time.sleep(0.0005)

    def result(self) -> tuple[int, int, int]:
        return self.count, self.total, self.out_of_order

    def pid(self) -> int:
        return os.getpid()


def _bounded(name: str, kind: type[pykka.Actor], overflow: str, base: type) -> type:
    return type(
        name,
        (base, kind),
        {
            "__module__": __name__,
            "__qualname__": name,
            "mailbox_size": CAPACITY,
            "mailbox_overflow": overflow,
        },
    )


ThreadBlock = _bounded("ThreadBlock", pykka.ThreadingActor, "block", Bounded)
ThreadFail = _bounded("ThreadFail", pykka.ThreadingActor, "fail", Bounded)
ThreadDrop = _bounded("ThreadDrop", pykka.ThreadingActor, "drop", Bounded)
ProcessBlock = _bounded("ProcessBlock", pykka.ProcessActor, "block", Bounded)
ProcessFail = _bounded("ProcessFail", pykka.ProcessActor, "fail", Bounded)
ProcessDrop = _bounded("ProcessDrop", pykka.ProcessActor, "drop", Bounded)


class ThreadConsumer(Consumer, pykka.ThreadingActor):
    mailbox_size = 100


class ProcessConsumer(Consumer, pykka.ProcessActor):
    mailbox_size = 100


CLASSES = {
    ("thread", "block"): ThreadBlock,
    ("thread", "fail"): ThreadFail,
    ("thread", "drop"): ThreadDrop,
    ("process", "block"): ProcessBlock,
    ("process", "fail"): ProcessFail,
    ("process", "drop"): ProcessDrop,
}


class Telling:
    """Sends on another actor's behalf, from where it runs."""

    def tell_each(self, ref: pykka.ActorRef[Any], messages: list[Any]) -> list[str]:
        """Tell each message to `ref`; say for each what the tell did."""
        outcomes = []
        for message in messages:
            try:
                ref.tell(message)
            except pykka.MailboxFull:
                outcomes.append("full")
            except pykka.ActorDeadError:
                outcomes.append("dead")
            else:
                outcomes.append("ok")
        return outcomes


class Sender(Telling, pykka.ProcessActor):
    """Sends from a worker process."""


class InterpreterSender(Telling, pykka.InterpreterActor):
    """Sends from a subinterpreter."""

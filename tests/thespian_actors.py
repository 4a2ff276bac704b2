"""Thespian actors for tests/test_thespian.py, importable by worker processes."""

from __future__ import annotations

import os
import threading
from typing import Any

from pykka_rs.thespian import (
    Actor,
    ActorAddress,
    ActorExitRequest,
    ActorSystemMessage,
    ChildActorExited,
    DeadEnvelope,
    PoisonMessage,
    WakeupMessage,
)


class Echo(Actor):
    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if msg == "pid":
            self.send(sender, os.getpid())
        elif not isinstance(msg, ActorSystemMessage):
            self.send(sender, msg)


class Announcer(Actor):
    """Says "bye" to whoever said "hello" when it is asked to exit."""

    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if msg == "hello":
            self.friend = sender
            self.send(sender, "hi")
        elif isinstance(msg, ActorExitRequest):
            self.send(self.friend, "bye")


class Flaky(Actor):
    """Fails on "fail"; counts the attempts so a test can see the one retry."""

    def __init__(self) -> None:
        self.attempts = 0

    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if msg == "fail":
            self.attempts += 1
            raise ValueError("flaky")
        if msg == "attempts":
            self.send(sender, self.attempts)


class Parent(Actor):
    """Makes a child on "child" and answers its address; reports its exit."""

    def __init__(self) -> None:
        self.asker: ActorAddress | None = None

    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if isinstance(msg, str) and msg in {"child", "announcer"}:
            self.asker = sender
            self.send(sender, self.createActor(Echo if msg == "child" else Announcer))
        elif isinstance(msg, ChildActorExited) and self.asker is not None:
            self.send(self.asker, ("exited", msg.childAddress))


class Poisoner(Actor):
    """Sends "fail" to a Flaky and tells its asker the PoisonMessage that returns."""

    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if isinstance(msg, ActorAddress):
            self.asker = sender
            self.send(msg, "fail")
        elif isinstance(msg, PoisonMessage):
            self.send(self.asker, ("poisoned", msg.poisonMessage))


class DeadLetters(Actor):
    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if msg == "start":
            self.handleDeadLetters()
            self.send(sender, "handling")
        elif msg == "listen":
            self.asker = sender
        elif isinstance(msg, DeadEnvelope):
            self.send(self.asker, ("dead", msg.deadMessage))


class Sleeper(Actor):
    def receiveMessage(self, msg: Any, sender: ActorAddress) -> None:
        if isinstance(msg, float):
            self.asker = sender
            self.wakeupAfter(msg, payload="up")
        elif isinstance(msg, WakeupMessage):
            self.send(self.asker, msg.payload)


class Unpicklable:
    def __init__(self) -> None:
        self.lock = threading.Lock()

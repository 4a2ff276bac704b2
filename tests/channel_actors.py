"""Actor classes for the channel tests; workers import them by name."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pykka_rs as pykka


class ChannelUser:
    """What every test actor does with channels, whatever kind of actor it is."""

    def pid(self) -> int:
        return os.getpid()

    def produce(self, channel: pykka.Channel[Any], items: list[Any]) -> int:
        for item in items:
            channel.send(item)
        return len(items)

    def produce_range(self, channel: pykka.Channel[Any], start: int, stop: int) -> int:
        for item in range(start, stop):
            channel.send(item)
        return stop - start

    def produce_and_close(self, channel: pykka.Channel[Any], items: list[Any]) -> None:
        self.produce(channel, items)
        channel.close()

    def produce_payloads(
        self, channel: pykka.Channel[Any], count: int, size: int
    ) -> int:
        """Send `count` (number, bytes of `size`) items; return the count."""
        payload = b"x" * size
        for number in range(count):
            channel.send((number, bytes(payload)))
        channel.close()
        return count

    def consume(self, channel: pykka.Channel[Any], count: int) -> list[Any]:
        return [channel.receive(timeout=30) for _ in range(count)]

    def drain(self, channel: pykka.Channel[Any]) -> list[Any]:
        """Every item until the channel is closed and empty."""
        return list(channel)

    def check_sum(
        self, channel: pykka.Channel[Any], count: int, pause: float
    ) -> tuple[int, int, int]:
        """Receive `count` ints, slowly; return their count, sum and how many
        were out of order."""
        total = 0
        disorder = 0
        last = -1
        for _ in range(count):
            item = channel.receive(timeout=60)
            total += item
            disorder += item <= last
            last = item
            if pause:
                time.sleep(pause)
        return count, total, disorder

    def outcome(self, channel: pykka.Channel[Any], operation: str, *args: Any) -> Any:
        """Run `channel.<operation>(*args)`; return its value or the name of
        what it raised."""
        try:
            return getattr(channel, operation)(*args)
        except Exception as exc:
            return type(exc).__name__

    def timed_receive(
        self, channel: pykka.Channel[Any], timeout: float
    ) -> tuple[str, float]:
        started = time.monotonic()
        try:
            channel.receive(timeout=timeout)
        except pykka.Timeout:
            return "Timeout", time.monotonic() - started
        return "item", time.monotonic() - started

    def impatient_receive(
        self,
        channel: pykka.Channel[Any],
        count: int,
        timed_out: pykka.Channel[int],
    ) -> tuple[list[Any], int]:
        """Receive `count` items with a tiny timeout each try; return them
        and how many tries timed out. The first timeout is announced on
        `timed_out`, so a producer can wait for one before it sends."""
        got: list[Any] = []
        timeouts = 0
        give_up = time.monotonic() + 60  # a failed test must not hang here
        while len(got) < count and time.monotonic() < give_up:
            try:
                got.append(channel.receive(timeout=0.0005))
            except pykka.Timeout:
                if not timeouts:
                    timed_out.send(timeouts)
                timeouts += 1
        return got, timeouts

    def make_channel(self, capacity: int) -> pykka.Channel[Any]:
        self.made = pykka.Channel(capacity, name="made-in-a-worker")
        return self.made

    def echo(
        self, inbox: pykka.Channel[Any], outbox: pykka.Channel[Any], count: int
    ) -> None:
        for _ in range(count):
            outbox.send(inbox.receive())

    def unpicklable_send(self, channel: pykka.Channel[Any]) -> str:
        try:
            channel.send(lambda: None)
        except Exception as exc:
            return type(exc).__name__
        return "sent"

    def crash_process(self) -> None:
        os._exit(1)


class ThreadUser(ChannelUser, pykka.ThreadingActor):
    pass


class ProcessUser(ChannelUser, pykka.ProcessActor):
    pass


if sys.version_info >= (3, 12):

    class InterpreterUser(ChannelUser, pykka.InterpreterActor):
        pass

"""Actors and probes for the tests of large messages; workers import them by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pykka_rs as pykka

if TYPE_CHECKING:
    import threading

# How a memfd of pykka_rs shows in /proc (`rust/payload.rs`).
MEMFD_NAME = "memfd:pykka_rs-buffer"


def shared_descriptors() -> int:
    """How many descriptors of shared buffers this process holds open."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:  # the directory's own descriptor, closed by now
            continue
        count += target.startswith(f"/{MEMFD_NAME}")
    return count


def shared_mappings() -> int:
    """How many mappings of shared buffers this process has."""
    with Path("/proc/self/maps").open() as maps:
        return sum(MEMFD_NAME in line for line in maps)


def open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def rss_bytes() -> int:
    resident = int(Path("/proc/self/statm").read_text().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def probe() -> dict[str, int]:
    """This process's descriptors, shared buffers, mappings and memory."""
    return {
        "pid": os.getpid(),
        "shared": shared_descriptors(),
        "mappings": shared_mappings(),
        "open": open_descriptors(),
        "rss": rss_bytes(),
    }


class Keeper(pykka.ProcessActor):
    """Echoes what it is sent, and reports on its process."""

    def on_receive(self, message: Any) -> Any:
        return message

    def echo(self, value: Any) -> Any:
        return value

    def probe(self) -> dict[str, int]:
        return probe()

    def shared_while_handling(self, _value: Any) -> int:
        """How many shared buffers this process holds while it handles
        `_value`: those it came with, if it came with any."""
        return shared_descriptors()

    def make(self, size: int) -> bytes:
        return os.urandom(size)

    def block(self, fifo: str) -> None:
        """Handle nothing else until a byte arrives on the FIFO `fifo`."""
        with open(fifo, "rb") as gate:  # noqa: PTH123 (a FIFO, any path)
            gate.read(1)

    def tell_many(self, other: pykka.ActorRef[Any], value: Any, count: int) -> None:
        for _ in range(count):
            other.tell(value)

    def fingerprint(self, value: Any) -> tuple[str, int, int]:
        """The type, size and a hash of what arrived, without sending it back."""
        data = bytes(value)
        return (type(value).__name__, len(data), hash(data))


class Deep:
    """Holds its data where no shallow look finds it."""

    def __init__(self, data: Any) -> None:
        self.inner = {"level": [{"data": data}]}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deep) and other.inner == self.inner

    __hash__ = None  # type: ignore[assignment]


class Collector(pykka.ThreadingActor):
    """Waits for its gate, then keeps a fingerprint of every message."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate
        self.seen: list[tuple[int, int]] = []

    def on_receive(self, message: Any) -> Any:
        self.gate.wait(60)
        self.seen.append((len(message), hash(bytes(message))))
        return None

    def fingerprints(self) -> list[tuple[int, int]]:
        return self.seen

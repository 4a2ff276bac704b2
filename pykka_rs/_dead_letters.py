"""The dead-letter log: messages that reached no actor, and why.

The core records every message it refuses for good (an actor that had
stopped or is gone, a full bounded mailbox, a stop that ended a sender's
wait for room, what a stopped actor left unhandled) in a ring of the latest
letters of each process, and counts it in `stats().dead_letters`. This
module reads the ring and lets programs watch it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykka_rs import _core

__all__ = ["DeadLetter", "dead_letters", "keep_dead_letters"]


@dataclass(frozen=True)
class DeadLetter:
    """A message that reached no actor."""

    receiver: str
    """Who it was for: `"MyActor (urn:uuid:...)"`, or, for a message that
    came from another process, `"actor 7 of process 2"`."""

    message: str
    """The message's `repr()`, cut at 200 characters, or a description of
    one that arrived pickled from another process."""

    reason: str
    """Why it was not delivered, e.g. `"the mailbox was full"`."""

    time: float
    """When, in seconds since the epoch (as `time.time()`)."""


def dead_letters() -> list[DeadLetter]:
    """The latest messages that reached no actor, oldest first.

    Each process keeps its own log of the latest 1000 (see
    `keep_dead_letters()`); a message from another process that finds no
    actor, or no room, is logged in the process that refused it. In the
    program's process this returns its own letters and those of every
    worker process (asked in turn), by time; in a worker, the worker's.
    Interpreter workers keep no log. `stats().dead_letters` counts every
    letter, in every process.

    Returns:
        the letters kept, oldest first
    """
    letters = list(_core.dead_letters())
    if _core.process() == 0:
        from pykka_rs._process import workers_dead_letters  # noqa: PLC0415 (import cycle)

        letters += workers_dead_letters()
        letters.sort(key=lambda letter: letter[3])
    return [DeadLetter(*letter) for letter in letters]


def keep_dead_letters(count: int) -> None:
    """Keep at most the latest `count` dead letters in this process's log.

    0 keeps none; letters are still counted in `stats()`. The default is
    1000.

    Raises:
        TypeError: if `count` is not an int
        ValueError: if `count` is negative
    """
    if isinstance(count, bool) or not isinstance(count, int):
        msg = f"count must be an int, not {type(count).__name__}"
        raise TypeError(msg)
    _core.keep_dead_letters(count)

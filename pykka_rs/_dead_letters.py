"""The dead-letter log: messages that reached no actor, and why.

The core records every message it refuses for good (an actor that had
stopped or is gone, a full bounded mailbox, a stop that ended a sender's
wait for room, what a stopped actor left unhandled) in a ring of the latest
letters of each process, and counts it in `stats().dead_letters`. This
module reads the ring and lets programs watch it.

Hooks run on a thread of their own, which waits in the core for newer
letters: the places that record letters (a link's reader among them) never
wait for Python, and a slow hook slows nobody but the hooks.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pykka_rs import _core

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DeadLetter", "dead_letters", "keep_dead_letters", "on_dead_letter"]

logger = logging.getLogger("pykka_rs.dead_letters")

# How long the hooks' thread waits for letters before it looks whether any
# hook is left.
_TICK = 0.5


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


_hooks: list[Callable[[DeadLetter], object]] = []
_hooks_lock = threading.Lock()
_watcher: threading.Thread | None = None


def on_dead_letter(hook: Callable[[DeadLetter], object]) -> Callable[[], None]:
    """Call `hook` with each dead letter of this process from now on.

    Hooks run one after the other, in the order added, on a daemon thread of
    their own ("pykka_rs-dead-letters"), soon after each letter is recorded;
    an exception a hook raises is logged on the `pykka_rs.dead_letters`
    logger, and the hook stays. Letters recorded faster than the hooks take
    them, beyond what the log keeps (see `keep_dead_letters()`), are counted
    in a warning instead. Letters of worker processes are not passed on.

    Args:
        hook: called with a `DeadLetter`

    Returns:
        a function that removes the hook

    Raises:
        TypeError: if `hook` is not callable
    """
    global _watcher  # noqa: PLW0603
    if not callable(hook):
        msg = f"hook must be callable, not {type(hook).__name__}"
        raise TypeError(msg)
    with _hooks_lock:
        _hooks.append(hook)
        if _watcher is None:
            _watcher = threading.Thread(
                target=_watch,
                args=(_core.last_dead_letter(),),
                name="pykka_rs-dead-letters",
                daemon=True,
            )
            _watcher.start()

    def remove() -> None:
        with _hooks_lock:
            if hook in _hooks:
                _hooks.remove(hook)

    return remove


def _watch(seen: int) -> None:
    """Pass each newer letter to the hooks, until no hook is left."""
    global _watcher  # noqa: PLW0603
    while True:
        latest, letters = _core.newer_dead_letters(seen, _TICK)
        with _hooks_lock:
            hooks = list(_hooks)
            if not hooks:
                _watcher = None
                return
        missed = latest - seen - len(letters)
        seen = latest
        if missed > 0:
            logger.warning(
                f"{missed} dead letter(s) were recorded faster than the hooks "
                "took them, and left the log unseen"
            )
        for letter in letters:
            for hook in hooks:
                try:
                    hook(DeadLetter(*letter))
                except Exception:
                    logger.exception(f"a dead-letter hook failed: {hook!r}")

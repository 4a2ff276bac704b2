"""Actors talking: a pipeline of pykka_rs actors counting words.

A Reader tells each line to one of several Counters; each Counter tells its
counts to one Tally; the main thread asks the Tally for the result, then
shows every mailbox as the live view (`pykka_rs.top()`) draws it. Run it
with `make demo`, or `python examples/demo.py` once pykka_rs is installed.
"""

from __future__ import annotations

import collections
import threading

import pykka_rs as pykka

TEXT = """\
Actors keep their state to themselves and talk only by messages.
A message goes into a mailbox; the actor takes messages one at a time.
Nobody shares memory, so nobody needs a lock, and nobody waits for a lock.
With pykka_rs the mailboxes and futures live in Rust, and the actors in Python.
"""


class Tally(pykka.ThreadingActor):
    """Adds up the counts it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: collections.Counter[str] = collections.Counter()
        self.lines = 0

    def add(self, counts: dict[str, int], counter: str) -> None:
        self.totals.update(counts)
        self.lines += 1
        thread = threading.current_thread().name
        print(f"  {thread:>9} got {len(counts)} words from {counter}")

    def top(self, n: int) -> list[tuple[str, int]]:
        return self.totals.most_common(n)


class Counter(pykka.ThreadingActor):
    """Counts the words of each line and tells the tally."""

    def __init__(self, name: str, tally: pykka.ActorProxy[Tally]) -> None:
        super().__init__()
        self.name = name
        self.tally = tally

    def count(self, line: str) -> None:
        words = [w.strip(".,;").lower() for w in line.split()]
        self.tally.add.defer(dict(collections.Counter(words)), self.name)

    def flush(self) -> None:
        """Answer once every line told before this call is counted."""


def main() -> None:
    tally = Tally.start().proxy()
    counters = [Counter.start(f"counter-{i}", tally).proxy() for i in range(3)]

    print("Reader tells each line to a counter:")
    lines = TEXT.splitlines()
    for i, line in enumerate(lines):
        counters[i % len(counters)].count.defer(line)

    # Asking each counter waits until it has handled every line told to it;
    # the tally then has every count, since counters tell it before replying.
    pykka.get_all([counter.flush() for counter in counters])
    top = tally.top(5).get(timeout=10)
    print("Most common words:")
    for word, count in top:
        print(f"  {word:>8} {count}")
    assert tally.lines.get(timeout=10) == len(lines)

    # Every mailbox, as the live view shows it (run for a while with
    # pykka.top(), or from another terminal with python -m pykka_rs top).
    print("Their mailboxes:")
    try:
        pykka.top(duration=0)
    except ImportError:  # the live view needs rich: pip install 'pykka_rs[top]'
        for actor in pykka.stats().actors:
            print(f"  {actor.actor_class:>8} handled {actor.handled}")

    pykka.ActorRegistry.stop_all()


if __name__ == "__main__":
    main()

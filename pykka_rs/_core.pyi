"""The Rust core of pykka_rs (`rust/py/`). Private: use the `pykka_rs` package."""

from typing import Any, final

from pykka_rs._envelope import Envelope

__all__ = ["Event", "Mailbox", "Slot", "_panic", "run_actor_loop", "set_spin", "spin"]

@final
class Event:
    """A flag threads can wait for, with the methods of `threading.Event`.

    An actor's `actor_stopped` is one of these; its mailbox refuses messages
    once it is set. Waiting releases the GIL.
    """

    def __init__(self) -> None: ...
    def is_set(self) -> bool:
        """Return True if and only if the flag is set."""
    def set(self) -> None:
        """Set the flag and wake every thread waiting for it."""
    def clear(self) -> None:
        """Reset the flag."""
    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or `timeout` seconds pass; return the flag."""

@final
class Slot:
    """The state of one `ThreadingFuture`: a value, an exception or a get hook, set once.

    Waiting releases the GIL and checks for signals between slices.
    """

    def __init__(self) -> None: ...
    def set(self, value: Any) -> bool:
        """Store `value`; return False if the slot already holds something."""
    def set_exception(self, kind: Any, value: Any, traceback: Any) -> bool:
        """Store an exception as `(type, value, traceback)`; return False if the slot already holds something."""
    def set_hook(self, hook: Any) -> bool:
        """Store a get hook, called with the timeout on the first `get()`; return False if the slot already holds something."""
    def done(self) -> bool:
        """Whether the slot holds something."""
    def get(self, timeout: float | None = None) -> Any:
        """Wait for the slot, then return its value, raise its exception or run its get hook."""
    def add_done_callback(self, callback: Any) -> None:
        """Call `callback()` once the slot holds something."""

@final
class Mailbox:
    """An actor's inbox: an unbounded queue of envelopes, closed by the actor's stopped flag."""

    def __init__(self) -> None: ...
    @property
    def stopped(self) -> Event:
        """The actor's stopped flag; once it is set, the mailbox refuses messages."""
    @property
    def label(self) -> str:
        """How errors name the actor."""
    @label.setter
    def label(self, label: str) -> None: ...
    def put(self, envelope: Envelope[Any]) -> None:
        """Queue an `Envelope`."""
    def get(self) -> Envelope[Any]:
        """Take the next `Envelope`, waiting as long as it takes."""
    def empty(self) -> bool:
        """Whether no message is waiting."""
    def qsize(self) -> int:
        """How many messages are waiting."""
    def __len__(self) -> int: ...
    def tell(self, message: Any) -> None:
        """Queue `message` with no reply."""
    def ask(self, message: Any, future: Any) -> None:
        """Queue `message` with `future` for the reply."""
    def ask_blocking(self, message: Any, timeout: float | None = None) -> Any:
        """Queue `message` and wait for the reply."""
    def drain(self) -> list[Envelope[Any]]:
        """Take every envelope left after the actor stopped."""
    def stats(self) -> dict[str, int]:
        """Return the mailbox's counters: waiting, sent, processed, failed, dropped, high_water."""

def run_actor_loop(actor: Any, mailbox: Mailbox) -> None:
    """Run `actor`'s message loop on the calling thread until the actor stops."""

def set_spin(seconds: float) -> None:
    """Set how long a waiting thread spins before it sleeps, in seconds; 0 turns spinning off."""

def spin() -> float:
    """How long a waiting thread spins before it sleeps, in seconds."""

def _panic(message: str) -> None:
    """Panic inside the core with `message`."""

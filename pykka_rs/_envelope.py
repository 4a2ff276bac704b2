from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from pykka_rs import Future


T = TypeVar("T")


class Envelope(Generic[T]):
    """A message together with the future its reply goes to.

    Internal; not part of the public API. Actors with a pykka_rs mailbox keep
    envelopes in Rust and only build these for `actor_inbox.get()` and for
    envelopes left over when an actor stops.
    """

    __slots__ = ["message", "reply_to"]

    message: T
    """The message."""

    reply_to: Future[Any] | None
    """The future the reply goes to, or `None` for a message that was told."""

    def __init__(self, message: T, reply_to: Future[Any] | None = None) -> None:
        self.message = message
        self.reply_to = reply_to

    def __repr__(self) -> str:
        return f"Envelope(message={self.message!r}, reply_to={self.reply_to!r})"

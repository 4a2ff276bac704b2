"""The exceptions pykka_rs raises; the Rust core raises these same classes."""

__all__ = ["ActorDeadError", "Timeout"]


class ActorDeadError(Exception):
    """Raised when a message is sent to, or waits on, an actor that is not running."""


class Timeout(Exception):  # noqa: N818 (Pykka's name)
    """Raised when a future's value does not arrive within the timeout."""

"""The exceptions pykka_rs raises; the Rust core raises these same classes."""

import queue

__all__ = [
    "ActorDeadError",
    "ChannelClosed",
    "ChannelEmpty",
    "ChannelFull",
    "MailboxFull",
    "RemoteError",
    "Timeout",
]


class ActorDeadError(Exception):
    """Raised when a message is sent to, or waits on, an actor that is not running."""


class Timeout(Exception):  # noqa: N818 (Pykka's name)
    """Raised when a future's value does not arrive within the timeout."""


class MailboxFull(queue.Full):
    """Raised when a message does not fit in an actor's bounded mailbox.

    A send to a full mailbox whose `mailbox_overflow` is `"fail"` raises it,
    and the asker of a message that a full mailbox refused (`"drop"`, or
    from another process) gets it from the future. A `"block"` send raises
    it when it could never end: an actor sending into its own full mailbox.
    It is a `queue.Full`, as a bounded `queue.Queue` raises when full.
    """


class RemoteError(Exception):
    """An exception raised in another process that cannot be re-raised here.

    Raised when an actor in a worker process raises an exception that does
    not pickle, or whose class cannot be imported in this process. It keeps
    what can be kept: the type's name, the message and the traceback text.
    """

    def __init__(self, type_name: str, message: str, traceback: str) -> None:
        super().__init__(type_name, message, traceback)
        self.type_name = type_name
        """The original exception's module and qualified class name."""
        self.message = message
        """`str()` of the original exception."""
        self.traceback = traceback
        """The original traceback, formatted, from the actor's process."""

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}\n\n{self.traceback.rstrip()}"


class ChannelClosed(Exception):  # noqa: N818 (a state, as queue.Full and queue.Empty)
    """Raised by a `Channel` that is closed, or whose process is gone.

    A send raises it at once; a receive once everything queued before the
    close was taken.
    """


class ChannelFull(queue.Full):
    """Raised by `Channel.try_send()` (or `send(block=False)`) on a full channel."""


class ChannelEmpty(queue.Empty):
    """Raised by `Channel.try_receive()` (or `receive(block=False)`) when empty."""

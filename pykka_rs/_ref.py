from __future__ import annotations

import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    TypeVar,
    cast,
    overload,
)

from pykka_rs import ActorDeadError, ActorProxy, _system
from pykka_rs._core import Mailbox, Relay, RemoteMailbox, catch_up
from pykka_rs._envelope import Envelope
from pykka_rs._stats import ActorStats, actor_stats
from pykka_rs.messages import _ActorStop

if TYPE_CHECKING:
    from collections.abc import Callable
    from threading import Event

    from pykka_rs import Actor, Future
    from pykka_rs._actor import ActorInbox
    from pykka_rs._introspection import AttrInfo
    from pykka_rs._types import AttrPath

__all__ = ["ActorRef"]


A = TypeVar("A", bound="Actor")


class ActorRef(Generic[A]):
    """A reference to a running actor, safe to pass around and use from any thread.

    `Actor.start()` and the lookups of `ActorRegistry` return these; there is
    no need to create one yourself.

    A ref pickles to its actor's address in the program that started the
    actor (its system): it works in every process of that program, worker
    processes included. Unpickled in another program it is dead, and using
    it raises `ActorDeadError` saying so, whatever actor has the same
    address there.
    """

    actor_class: type[A]
    """The class of the referenced actor."""

    actor_urn: str
    """See `Actor.actor_urn`."""

    actor_inbox: ActorInbox
    """See `Actor.actor_inbox`."""

    actor_stopped: Event
    """See `Actor.actor_stopped`."""

    # Why the actor cannot be reached from this process at all (a ref of
    # another system), and where it lives there; None for every other ref.
    _unreachable: str | None = None
    _home: tuple[str, int, int] | None = None

    # For an actor in another process: the latest attribute table a proxy
    # in this process learned, which new proxies start from.
    _attr_table: dict[AttrPath, AttrInfo] | None = None

    # For a supervised actor's stable ref, in its supervisor's process: the
    # supervisor's ref.
    _supervised_by: ActorRef[Any] | None = None

    def __init__(
        self,
        actor: A,
    ) -> None:
        self._actor_weakref = weakref.ref(actor)
        self.actor_class = actor.__class__
        self.actor_urn = actor.actor_urn
        self.actor_inbox = actor.actor_inbox
        self.actor_stopped = actor.actor_stopped
        # With a pykka_rs mailbox, tell and ask go straight to the core, and
        # a blocking ask needs no Python future when the actor's futures are
        # plain ThreadingFutures.
        inbox = self.actor_inbox
        self._mailbox: Mailbox | RemoteMailbox | Relay | None = (
            inbox if isinstance(inbox, Mailbox) else None
        )
        if self._mailbox is not None:
            self._mailbox.label = str(self)
        self._ask_in_core = self._mailbox is not None and getattr(
            self.actor_class._create_future,  # noqa: SLF001
            "_makes_threading_future",
            False,
        )

    @classmethod
    def _remote(
        cls, actor_class: type[A], actor_urn: str, inbox: RemoteMailbox
    ) -> ActorRef[A]:
        """A ref to an actor in another process, reached through `inbox`."""
        ref = cls.__new__(cls)
        ref._actor_weakref = _no_actor  # type: ignore[assignment]  # noqa: SLF001
        ref.actor_class = actor_class
        ref.actor_urn = actor_urn
        ref.actor_inbox = inbox
        ref.actor_stopped = inbox.stopped  # type: ignore[assignment]
        ref._mailbox = inbox  # noqa: SLF001
        inbox.label = str(ref)
        ref._ask_in_core = True  # noqa: SLF001
        _confirm_sends(actor_class, inbox)
        return ref

    @classmethod
    def _stable(
        cls,
        actor_class: type[A],
        actor_urn: str,
        inbox: Mailbox | Relay,
        supervisor: ActorRef[Any],
    ) -> ActorRef[A]:
        """The ref of a supervised actor, valid across its restarts.

        `inbox` outlives the actor's runs: the mailbox they take over in
        turn (a thread actor), or the relay to the mailbox of the current
        run (a process actor). Its supervisor closes it once the actor will
        not run again.
        """
        ref = cls.__new__(cls)
        ref._actor_weakref = _no_actor  # type: ignore[assignment]  # noqa: SLF001
        ref.actor_class = actor_class
        ref.actor_urn = actor_urn
        ref.actor_inbox = inbox
        ref.actor_stopped = inbox.stopped  # type: ignore[assignment]
        ref._mailbox = inbox  # noqa: SLF001
        inbox.label = str(ref)
        ref._ask_in_core = isinstance(inbox, Relay) or getattr(  # noqa: SLF001
            actor_class._create_future,  # noqa: SLF001
            "_makes_threading_future",
            False,
        )
        ref._supervised_by = supervisor  # noqa: SLF001
        if isinstance(inbox, Relay):
            _confirm_sends(actor_class, inbox)
        return ref

    @classmethod
    def _foreign(
        cls,
        actor_class: type[A],
        actor_urn: str,
        home: tuple[str, int, int],
        reason: str,
    ) -> ActorRef[A]:
        """A ref of another system, unpickled here: dead, for `reason`.

        `home` is its system and address there, which it pickles back to.
        """
        ref = cls.__new__(cls)
        ref._actor_weakref = _no_actor  # type: ignore[assignment]  # noqa: SLF001
        ref.actor_class = actor_class
        ref.actor_urn = actor_urn
        ref.actor_stopped = threading.Event()
        ref.actor_stopped.set()
        ref._mailbox = None  # noqa: SLF001
        ref._ask_in_core = False  # noqa: SLF001
        ref._unreachable = reason  # noqa: SLF001
        ref._home = home  # noqa: SLF001
        ref.actor_inbox = _Unreachable(str(ref._not_found()))  # noqa: SLF001
        return ref

    def _not_found(self) -> ActorDeadError:
        """The error for using this ref while its actor is not alive."""
        if self._unreachable is not None:
            return ActorDeadError(f"{self} not found: {self._unreachable}")
        return ActorDeadError(f"{self} not found")

    def __reduce__(self) -> tuple[Callable[..., ActorRef[Any]], tuple[Any, ...]]:
        """Pickle to the actor's address in its system.

        The ref works in any process of the system; in another system it
        is dead (see `pykka_rs._remote`).
        """
        from pykka_rs._remote import remember, unpickle_ref  # noqa: PLC0415

        if self._home is not None:
            return (unpickle_ref, (*self._home, self.actor_urn, self.actor_class))
        mailbox = self._mailbox
        if mailbox is None:
            msg = (
                f"cannot pickle {self!r}: only actors with a pykka_rs mailbox "
                "can be reached from other processes"
            )
            raise TypeError(msg)
        address = mailbox.export()
        remember(address, self)
        return (
            unpickle_ref,
            (_system.identity(), *address, self.actor_urn, self.actor_class),
        )

    def __repr__(self) -> str:
        return f"<ActorRef for {self}>"

    def __str__(self) -> str:
        return f"{self.actor_class.__name__} ({self.actor_urn})"

    def is_alive(self) -> bool:
        """Whether the actor has not stopped yet.

        Reads the actor's stopped flag: an actor that is alive by this test
        may still stop before it handles a message sent now. For an actor in
        another process, every stop announced so far is taken in first, so a
        stop is seen here before the actor's `on_stop()` can tell of it.

        Returns:
            `True` if actor is alive, `False` otherwise.

        """
        if self.actor_stopped.is_set():
            return False
        if isinstance(self.actor_inbox, RemoteMailbox):
            catch_up()
            return not self.actor_stopped.is_set()
        return True

    def tell(
        self,
        message: Any,
    ) -> None:
        """Send `message` to the actor and return at once, without a reply.

        Args:
            message: message to send

        Raises:
            ActorDeadError: if the actor is not alive, or belongs to another
                pykka_rs system (a ref unpickled in another program)

        """
        mailbox = self._mailbox
        if mailbox is not None:
            mailbox.tell(message)
            return
        if not self.is_alive():
            raise self._not_found()
        self.actor_inbox.put(Envelope(message))

    @overload
    def ask(
        self,
        message: Any,
        *,
        block: Literal[False],
        timeout: float | None = None,
    ) -> Future[Any]: ...

    @overload
    def ask(
        self,
        message: Any,
        *,
        block: Literal[True],
        timeout: float | None = None,
    ) -> Any: ...

    @overload
    def ask(
        self,
        message: Any,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> Any | Future[Any]: ...

    def ask(
        self,
        message: Any,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> Any | Future[Any]:
        """Send `message` to the actor and wait for its reply.

        With `block=False`, return a `Future` of the reply at once instead.
        A blocking ask waits `timeout` seconds, or forever when it is `None`.

        Args:
            message: message to send
            block: whether to wait for the reply
            timeout: seconds to wait, if waiting

        Raises:
            Timeout: if the reply does not arrive within `timeout`
            ActorDeadError: if the actor is not alive, or belongs to another
                pykka_rs system (with `block=False`, the future holds this
                error instead)
            RuntimeError: if an actor asks itself with no timeout, which could
                never be answered
            Exception: whatever the actor raised while handling the message

        Returns:
            the reply, or a future of it when not blocking

        """
        mailbox = self._mailbox
        if mailbox is not None:
            if block and self._ask_in_core:
                return mailbox.ask_blocking(message, timeout)
            future = self.actor_class._create_future()  # noqa: SLF001
            mailbox.ask(message, future)
            return future.get(timeout=timeout) if block else future

        future = self.actor_class._create_future()  # noqa: SLF001
        if self.is_alive():
            self.actor_inbox.put(Envelope(message, reply_to=future))
        else:
            try:
                raise self._not_found()
            except ActorDeadError:
                future.set_exception()
        return future.get(timeout=timeout) if block else future

    @overload
    def stop(
        self,
        *,
        block: Literal[True],
        timeout: float | None = None,
    ) -> bool: ...

    @overload
    def stop(
        self,
        *,
        block: Literal[False],
        timeout: float | None = None,
    ) -> Future[bool]: ...

    @overload
    def stop(
        self,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> bool | Future[bool]: ...

    def stop(
        self,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> bool | Future[bool]:
        """Ask the actor to stop, after the messages sent before this call.

        Messages sent after the stop request get `ActorDeadError` once the
        actor has stopped. A stopped actor cannot be started again.

        `block` and `timeout` work as for `ask()`.

        Returns:
            `True` if the actor stopped (or was stopping) because of this
            call, `False` if it was already dead; a future of that when not
            blocking

        """
        if block:
            try:
                self.ask(_ActorStop(), timeout=timeout)
            except ActorDeadError:
                return False
            return True

        ask_future = self.ask(_ActorStop(), block=False)

        def _stopped_by_this_call(timeout: float | None) -> bool:
            try:
                ask_future.get(timeout=timeout)
            except ActorDeadError:
                return False
            return True

        converted_future = ask_future.__class__()
        converted_future.set_get_hook(_stopped_by_this_call)
        return cast("Future[bool]", converted_future)

    @property
    def stats(self) -> ActorStats:
        """The actor's mailbox and handling times, read without disturbing it.

        Read from the core's atomic counters: it never waits on the actor,
        even one busy with a long message. For an actor of a worker process,
        the program's process reads what the worker last reported (at most
        about 100 ms old: see `ActorStats.age`), and a worker asks the
        program's process (one round trip).

        For a supervised actor, the counters of every run it had in its
        current process (its runs share one mailbox there); while a process
        actor restarts, this waits for its next run.

        Raises:
            TypeError: for an actor whose inbox is not a pykka_rs mailbox
            ActorDeadError: for an actor of a worker process that is gone
            Timeout: for a supervised actor still restarting after 5 s

        """
        return actor_stats(self)

    @property
    def waiting(self) -> int:
        """How many messages wait in the actor's mailbox; see `stats`.

        For an actor of this process this reads two atomic counters, well
        under a microsecond, and never waits on the actor.
        """
        mailbox = self._mailbox
        if isinstance(mailbox, Mailbox):
            return len(mailbox)
        if isinstance(mailbox, RemoteMailbox):
            pushed = mailbox.waiting()
            if pushed is not None:
                return pushed
        return self.stats.waiting

    def proxy(self: ActorRef[A]) -> ActorProxy[A]:
        """Return an `ActorProxy` for this actor, like `ActorProxy(actor_ref=ref)`.

        For an actor in another process, this sends the actor nothing; see
        `ActorProxy`.

        Raises:
            ActorDeadError: if the actor is not alive, or belongs to another
                pykka_rs system

        Returns:
            a proxy of the actor

        """
        return ActorProxy(actor_ref=self)


def _confirm_sends(actor_class: type[Actor], inbox: object) -> None:
    """Make sends to a bounded actor of another process wait until queued.

    For an actor whose bound makes senders wait (`"block"`) or refuses them
    (`"fail"`), a send through `inbox` (a `RemoteMailbox` or `Relay`) then
    waits until the actor's process has queued the message, so the bound
    holds for senders here too.
    """
    if (
        actor_class.mailbox_size is not None
        and actor_class.mailbox_overflow != "drop"
        and hasattr(type(inbox), "confirmed")
    ):
        inbox.confirmed = True  # type: ignore[attr-defined]


def _no_actor() -> None:
    """The actor object of a ref to another process: not reachable from here."""


class _Unreachable:
    """The inbox of a ref whose actor cannot be reached from this process.

    Putting raises `ActorDeadError` with `why`; nothing is ever taken out.
    """

    def __init__(self, why: str) -> None:
        self._why = why

    def put(self, envelope: Envelope[Any], /) -> None:  # noqa: ARG002
        raise ActorDeadError(self._why)

    def get(self) -> Envelope[Any]:
        raise ActorDeadError(self._why)

    def empty(self) -> bool:
        return True

from __future__ import annotations

import abc
import logging
import sys
import threading
import uuid
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self

from pykka_rs import ActorDeadError, ActorRef, ActorRegistry, _monitor, messages
from pykka_rs._core import ActorThread, Mailbox, run_actor_loop
from pykka_rs._introspection import get_attr_directly
from pykka_rs._pickling import exception_repr

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from pykka_rs import Future
    from pykka_rs._envelope import Envelope
    from pykka_rs._incarnation import Run

__all__ = ["Actor"]


logger = logging.getLogger("pykka")

# The URN a worker process was told to give the actor it is making.
_assigned = threading.local()


@contextmanager
def assigned_urn(urn: str) -> Iterator[None]:
    """Give the next actor made on this thread `urn` instead of a new one."""
    _assigned.urn = urn
    try:
        yield
    finally:
        _assigned.urn = None


@contextmanager
def assigned_run(run: Run) -> Iterator[None]:
    """Make the next actor made on this thread `run`, a run of a supervised actor.

    It takes the run's URN, inbox and (stable) ref instead of new ones.
    """
    _assigned.run = run
    try:
        yield
    finally:
        _assigned.run = None


class ActorInbox(Protocol):
    def put(self, envelope: Envelope[Any], /) -> None: ...

    def get(self) -> Envelope[Any]: ...

    def empty(self) -> bool: ...


class Actor(abc.ABC):
    """A unit of execution that handles its messages one at a time.

    To make an actor:

    1.  subclass an actor implementation, such as `ThreadingActor`;
    2.  write its methods, including `__init__()` if it needs one, which must
        call `super().__init__()`;
    3.  call `start()` on the class, with the constructor's arguments.

    Stop it with `ActorRef.stop()`, or `Actor.stop()` from inside.

    Example:
        ```py
        import pykka_rs as pykka

        class MyActor(pykka.ThreadingActor):
            def __init__(self, my_arg=None):
                super().__init__()
                ...  # runs in the thread calling start()

            def on_start(self):
                ...  # runs in the actor, before the first message

            def on_stop(self):
                ...  # runs in the actor, after the last message

            def on_failure(self, exception_type, exception_value, traceback):
                ...  # runs in the actor when an exception stops it

            def on_receive(self, message):
                ...  # handles messages that are not proxy calls

            def a_method(self, *args):
                ...  # callable through a proxy

        my_actor_ref = MyActor.start(my_arg=...)
        my_actor_ref.stop()
        ```

    """

    @classmethod
    def start(
        cls,
        *args: Any,
        **kwargs: Any,
    ) -> ActorRef[Self]:
        """Create the actor, register it and start its message loop.

        The arguments go to the class's constructor. In order: the actor is
        made (its URN, inbox and ref first, then your `__init__()`), it is
        registered in `ActorRegistry`, and its loop starts, running
        `on_start()` before the first message.

        Returns:
            a ref for talking to the actor safely

        """
        obj = cls(*args, **kwargs)
        if not hasattr(obj, "_actor_ref"):
            msg = (
                f"{cls.__name__}.__init__() did not call Actor.__init__(). "
                "Did you forget to call super().__init__() in your override?"
            )
            raise AttributeError(msg)
        ActorRegistry.register(obj.actor_ref)
        inbox = obj.actor_inbox
        if isinstance(inbox, Mailbox):
            # Listed in pykka_rs.stats() until it stops, by its class's name
            # or the name it gives itself (a host of another API's actor).
            listed_as = getattr(obj, "_listed_as", type(obj).__name__)
            inbox.enroll(listed_as, obj.actor_urn)
        logger.debug(f"Starting {obj}")
        obj._start_actor_loop()
        return obj.actor_ref

    @staticmethod
    @abc.abstractmethod
    def _create_actor_inbox() -> ActorInbox:
        """Create an inbox for the actor (for implementors of actor types)."""
        msg = "Use a subclass of Actor"
        raise NotImplementedError(msg)

    @staticmethod
    @abc.abstractmethod
    def _create_future() -> Future[Any]:
        """Create a future for the actor (for implementors of actor types)."""
        msg = "Use a subclass of Actor"
        raise NotImplementedError(msg)

    @abc.abstractmethod
    def _start_actor_loop(self) -> None:
        """Start running `_actor_loop()` (for implementors of actor types)."""
        msg = "Use a subclass of Actor"
        raise NotImplementedError(msg)

    actor_urn: str
    """A universally unique URN for the actor, for `ActorRegistry.get_by_urn()`."""

    actor_inbox: ActorInbox
    """The actor's inbox; send to it with `ActorRef.tell()`, `ask()` and friends."""

    _actor_ref: ActorRef[Any]

    @property
    def actor_ref(self) -> ActorRef[Self]:
        """The actor's `ActorRef`."""
        return self._actor_ref

    actor_stopped: threading.Event
    """Set once the actor stops handling messages; use `stop()` to set it.

    For actors with a pykka_rs mailbox this is a `pykka_rs._core.Event`, which
    has `threading.Event`'s methods and closes the mailbox when set.
    """

    mailbox_size: ClassVar[int | None] = None
    """The most messages that may wait in the actor's mailbox; `None` (the
    default) leaves it unbounded. Read by `start()`; checked when the class
    is defined and again at `start()`: an `int` of at least 1 or `None`.

    What a send to the full mailbox does is `mailbox_overflow`'s choice.
    Stop requests and links' signals pass the bound, so an actor with a
    full mailbox can still be stopped. See "Bounded mailboxes and dead
    letters" in the monitoring guide.
    """

    mailbox_overflow: ClassVar[str] = "block"
    """What a send to the actor's full mailbox does (with `mailbox_size` set):

    - `"block"` (the default): the sender waits, GIL released, until there
      is room. The actor sending into its own full mailbox raises
      `MailboxFull` instead of waiting for itself, and a sender still
      waiting when the actor stops gets `ActorDeadError`.
    - `"fail"`: `tell()` and `ask()` raise `MailboxFull`; nothing is queued.
    - `"drop"`: the message is not queued; `tell()` returns as usual and an
      ask's future fails with `MailboxFull`.

    Every refused message goes to the dead-letter log
    (`pykka_rs.dead_letters()`).
    """

    trap_exits: ClassVar[bool] = False
    """Whether the end of a linked actor (see `pykka_rs.link()`) reaches this
    actor as a message, a `pykka_rs.ActorExit` for `on_receive()`, instead
    of stopping it. May also be set on an instance, e.g. in `__init__()`.
    """

    # For a supervised actor: the run this object is (see _incarnation.py).
    _incarnation: Run | None = None
    # How the actor ended: the first of ("normal" | "shutdown" | "failure",
    # the exception) noted; then the ActorExit its monitors were told.
    _exit_reason: tuple[str, BaseException | None] | None = None
    _exit: _monitor.ActorExit | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Check the class's mailbox bound as soon as the class is defined."""
        super().__init_subclass__(**kwargs)
        check_mailbox_bound(cls)

    def __init__(
        self,
        *_args: Any,
        **_kwargs: Any,
    ) -> None:
        """Set up the actor's URN, inbox, stopped flag and ref.

        Override it freely, but call `super().__init__()` (or
        `pykka_rs.ThreadingActor.__init__(self)`). It runs before the actor is
        started and registered.
        """
        run: Run | None = getattr(_assigned, "run", None)
        _assigned.run = None
        urn = getattr(_assigned, "urn", None)
        _assigned.urn = None
        if run is not None:
            # A supervised actor's next run: its mailbox and ref are the actor's own.
            self._incarnation = run
            self.actor_urn = run.ref.actor_urn
            self.actor_inbox = run.hosted.mailbox
            self.actor_stopped = run.hosted.mailbox.stopped  # type: ignore[assignment]
            self._actor_ref = run.ref
            return
        self.actor_urn = urn or uuid.uuid4().urn
        self.actor_inbox = self._create_actor_inbox()
        inbox = self.actor_inbox
        bound_mailbox(inbox, type(self))
        self.actor_stopped = (
            inbox.stopped if isinstance(inbox, Mailbox) else threading.Event()  # type: ignore[assignment]
        )
        self._actor_ref = ActorRef(self)

    def __str__(self) -> str:
        return f"{self.__class__.__name__} ({self.actor_urn})"

    def stop(self) -> None:
        """Ask the actor to stop, like `ActorRef.stop(block=False)`."""
        self.actor_ref.tell(messages._ActorStop())  # noqa: SLF001

    def _stop(self) -> None:
        """Stop now, leaving the rest of the inbox unhandled.

        A supervised actor's run ends instead, leaving its mailbox, and the
        messages in it, to the next run, if its supervisor starts one.
        """
        self._note_exit("normal")
        run = self._incarnation
        if run is None:
            ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
        else:
            run.end()
        logger.debug(f"Stopped {self}")
        try:
            self.on_stop()
        except Exception:  # noqa: BLE001
            self._handle_failure(*sys.exc_info())

    def _note_exit(self, reason: str, exception: BaseException | None = None) -> None:
        """Note why the actor ends; the first reason noted stands."""
        if self._exit_reason is None:
            self._exit_reason = (reason, exception)

    def _actor_loop(self) -> None:
        """Run the actor: `on_start()`, the messages, then the leftovers.

        This is what the actor's thread runs.
        """
        inbox = self.actor_inbox
        run = self._incarnation
        if run is not None:
            # The run before this one may still be finishing a message.
            run.wait_for_predecessor()
        # From on_start() on, this thread is the actor's: waiting here for a
        # reply only the actor could send is refused instead of hanging.
        scope = ActorThread(inbox) if isinstance(inbox, Mailbox) else nullcontext()
        try:
            with scope:
                try:
                    self._actor_loop_setup()
                finally:
                    if run is not None:
                        run.began.set()
                try:
                    self._actor_loop_running()
                except BaseException:  # noqa: BLE001
                    # The loop itself broke, not a message handler (those failures
                    # are handled per message): stop the actor, as for any failure.
                    self._handle_failure(*sys.exc_info())
                finally:
                    self._actor_loop_teardown()
        finally:
            self._actor_ended()

    def _actor_ended(self) -> None:
        """Tell whoever watches how the actor ended: its last message is handled.

        A supervised actor's run tells its supervisor; any other actor, its
        monitors (see `pykka_rs.monitor()`).
        """
        _monitor.drop_links(self)
        reason, exception = self._exit_reason or ("normal", None)
        run = self._incarnation
        if run is not None:
            self._exit = run.finish(reason, exception)
        else:
            self._exit = _monitor.ended(self.actor_ref, reason, exception)

    def _actor_loop_setup(self) -> None:
        try:
            self.on_start()
        except Exception:  # noqa: BLE001
            self._handle_failure(*sys.exc_info())

    def _actor_loop_running(self) -> None:
        inbox = self.actor_inbox
        if isinstance(inbox, Mailbox):
            run = self._incarnation
            run_actor_loop(self, inbox, None if run is None else run.ended)
            return
        # An inbox of another kind, from a custom actor type: the same loop in Python.
        while not self.actor_stopped.is_set():
            envelope = inbox.get()
            failure: BaseException | None = None
            try:
                response = self._handle_receive(envelope.message)
                if envelope.reply_to is not None:
                    envelope.reply_to.set(response)
            except BaseException as exc:  # noqa: BLE001
                failure = exc
            if failure is not None:
                self._handle_envelope_failure(failure, envelope.reply_to)

    def _handle_envelope_failure(
        self, exc: BaseException, reply_to: Future[Any] | None
    ) -> None:
        """Deal with `exc`, raised while handling a message.

        An exception goes to the asker's future, if there is one, else it
        stops the actor through `on_failure()`. A `BaseException` that is not
        an `Exception` stops every actor.
        """
        try:
            raise exc  # noqa: TRY301 (re-raised to be handled as in Pykka's loop)
        except Exception:
            _hide_this_frame(exc)
            if reply_to is not None:
                logger.info(
                    f"Exception returned from {self} to caller:",
                    exc_info=sys.exc_info(),
                )
                reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:  # noqa: BLE001
                    self._handle_failure(*sys.exc_info())
        except BaseException:  # noqa: BLE001
            _hide_this_frame(exc)
            logger.debug(f"{exception_repr(exc)} in {self}. Stopping all actors.")
            # The actors running now, taken before on_stop() can tell anyone
            # this one stopped: an actor started after that is left alone.
            others = [ref for ref in ActorRegistry.get_all() if ref != self.actor_ref]
            self._note_exit("failure", exc)
            self._stop()
            ActorRegistry._stop_each(others, block=True, timeout=None)  # noqa: SLF001
            if reply_to is not None:
                # Pykka leaves this asker waiting forever; tell it why instead.
                dead = ActorDeadError(
                    f"{self.actor_ref} stopped: {exception_repr(exc)}"
                )
                dead.__cause__ = exc
                reply_to.set_exception((ActorDeadError, dead, None))

    def _actor_loop_teardown(self) -> None:
        inbox = self.actor_inbox
        run = self._incarnation
        if run is not None and not self.actor_stopped.is_set():
            # A supervised actor's run is over, its mailbox open for the next.
            if run.stop_requested and self._exit_reason is None:
                # Its supervisor ended it between two messages.
                self._note_exit("shutdown")
                logger.debug(f"Stopped {self}")
                try:
                    self.on_stop()
                except Exception:  # noqa: BLE001
                    self._handle_failure(*sys.exc_info())
            return
        if isinstance(inbox, Mailbox):
            if not self.actor_stopped.is_set():
                self.actor_stopped.set()
            left = inbox.drain()
        else:
            left = []
            while not inbox.empty():
                left.append(inbox.get())
        answer_leftovers(str(self), self.actor_ref, left)

    def on_start(self) -> None:  # noqa: B027
        """Run code at the beginning of the actor's life.

        Runs in the actor, after it has started and before its first message;
        for `ThreadingActor`, in the actor's thread, whereas `__init__()` runs
        in the thread that called `start()`. If it raises, the exception is
        logged and the actor stops.
        """

    def on_stop(self) -> None:  # noqa: B027
        """Run code at the end of the actor's life.

        Runs in the actor after its last message, before it stops; not when an
        unhandled exception stops it (`on_failure()` runs then). If it raises,
        the exception is logged and the actor stops.
        """

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Log an unexpected failure, unregister the actor and stop it.

        A supervised actor's run ends instead, for its supervisor to restart.
        """
        logger.error(
            f"Unhandled exception in {self}:",
            exc_info=(exception_type, exception_value, traceback),  # type: ignore[arg-type]
        )
        self._note_exit("failure", exception_value)
        run = self._incarnation
        if run is None:
            ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
        else:
            run.end()

    def on_failure(  # noqa: B027
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Run code when an unhandled exception stops the actor.

        Runs in the actor, with the arguments `sys.exc_info()` gives, after the
        exception is logged and before the actor stops. If it raises, that is
        logged too.
        """

    def _handle_receive(self, message: Any) -> Any:  # noqa: PLR0911 (one per kind)
        """Handle a message: Pykka's own messages here, the rest in `on_receive()`.

        Actors with a pykka_rs mailbox do this dispatch in the core unless a
        subclass overrides this method.
        """
        if isinstance(message, messages._ActorStop):  # noqa: SLF001
            return self._stop()
        if isinstance(message, messages._Shutdown):  # noqa: SLF001
            if message.incarnation is None:
                self._note_exit("shutdown")
                return self._stop()
            # Its supervisor ended the run already, and this woke it (another
            # run ignores it).
            return None
        if isinstance(message, messages._Link):  # noqa: SLF001
            return _monitor.handle_link(self, message)
        if isinstance(message, messages._Exit):  # noqa: SLF001
            return _monitor.handle_exit_signal(self, message)
        if isinstance(message, messages.ProxyCall):
            callee = get_attr_directly(self, message.attr_path)
            return callee(*message.args, **message.kwargs)
        if isinstance(message, messages.ProxyGetAttr):
            return get_attr_directly(self, message.attr_path)
        if isinstance(message, messages.ProxySetAttr):
            parent_attr = get_attr_directly(self, message.attr_path[:-1])
            attr_name = message.attr_path[-1]
            return setattr(parent_attr, attr_name, message.value)
        if isinstance(message, messages._Introspect):  # noqa: SLF001
            from pykka_rs import ActorProxy  # noqa: PLC0415 (import cycle)

            # What a proxy made here learns is what a proxy elsewhere needs.
            return ActorProxy(actor_ref=self.actor_ref)._known_attrs  # noqa: SLF001
        return self.on_receive(message)

    def _report_undecodable(self, exc: BaseException) -> None:
        """Log a message told from another process that does not unpickle here."""
        logger.error(
            f"A message told to {self} could not be unpickled; it was dropped:",
            exc_info=(type(exc), exc, exc.__traceback__),
        )

    def on_receive(self, message: Any) -> Any:
        """Handle a message that is not a proxy call or a stop request.

        The default logs the message at `WARNING` and returns `None`; call
        `super().on_receive(message)` for messages you do not handle, to get
        the same log record.

        Args:
            message: the message to handle

        Returns:
            the reply for an ask

        """
        logger.warning(f"Unexpected message received by {self}: {message}")


_OVERFLOWS = ("block", "fail", "drop")


def check_mailbox_bound(cls: type[Actor]) -> tuple[int, str] | None:
    """`cls`'s mailbox bound, `(size, overflow)`, or None if unbounded.

    Raises:
        TypeError: for a `mailbox_size` that is not an int or None, or a
            `mailbox_overflow` that is not a str
        ValueError: for a size below 1 or an unknown overflow policy
    """
    size = cls.mailbox_size
    overflow = cls.mailbox_overflow
    if not isinstance(overflow, str):
        msg = (
            f"{cls.__name__}.mailbox_overflow must be 'block', 'fail' or 'drop', "
            f"not {type(overflow).__name__}"
        )
        raise TypeError(msg)
    if overflow not in _OVERFLOWS:
        msg = (
            f"{cls.__name__}.mailbox_overflow must be 'block', 'fail' or 'drop', "
            f"not {overflow!r}"
        )
        raise ValueError(msg)
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int):
        msg = (
            f"{cls.__name__}.mailbox_size must be an int or None, "
            f"not {type(size).__name__}"
        )
        raise TypeError(msg)
    if size < 1:
        msg = f"{cls.__name__}.mailbox_size must be at least 1 (or None), not {size}"
        raise ValueError(msg)
    return size, overflow


def bound_mailbox(inbox: object, cls: type[Actor]) -> None:
    """Give a new actor's `inbox` the bound its class `cls` asks for.

    Raises:
        TypeError: for a class whose bound is set but whose inbox is not a
            pykka_rs mailbox, which is the only kind that can hold one
        ValueError: as `check_mailbox_bound()`
    """
    bound = check_mailbox_bound(cls)
    if bound is None:
        return
    if not isinstance(inbox, Mailbox):
        msg = (
            f"{cls.__name__}.mailbox_size needs a pykka_rs mailbox, "
            f"and its inbox is a {type(inbox).__name__}"
        )
        raise TypeError(msg)
    inbox.set_bound(*bound)


def answer_leftovers(who: str, actor_ref: object, left: list[Envelope[Any]]) -> None:
    """Answer what a stopped actor's inbox still held, and log the tells lost.

    Each ask fails with `ActorDeadError` (a stop request is answered as
    done); the messages sent with `tell()` are counted in a warning.
    """
    unanswered = 0
    for envelope in left:
        if envelope.reply_to is None:
            unanswered += 1
        elif isinstance(envelope.message, messages._ActorStop):  # noqa: SLF001
            envelope.reply_to.set(None)
        else:
            envelope.reply_to.set_exception(
                exc_info=(
                    ActorDeadError,
                    ActorDeadError(f"{actor_ref} stopped before handling the message"),
                    None,
                )
            )
    if unanswered:
        logger.warning(
            f"{who} stopped before handling {unanswered} message(s) "
            "sent to it with tell(); they were dropped"
        )


def _hide_this_frame(exc: BaseException) -> None:
    """Drop the frame that re-raised `exc` from its traceback.

    Tracebacks and `sys.exc_info()` then start where the handler raised.
    """
    traceback = exc.__traceback__
    if traceback is not None:
        exc.__traceback__ = traceback.tb_next

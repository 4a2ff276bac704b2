"""The runs of a supervised actor, in the process that hosts its mailbox.

A supervised actor keeps one mailbox across its restarts: a run (an
incarnation, in the supervisor core's words) that crashes, or that its
supervisor stops to restart it, ends its loop without closing the mailbox
(`_core.run_actor_loop`'s `until`), and the next run takes the mailbox
over, with every message still in it. So the actor's ref stays valid and
messages sent while it restarts reach the next run. That costs nothing on
the happy path: the mailbox is an ordinary one.

A thread actor's mailbox is hosted in its supervisor's process; a process
actor's in its worker, where the supervisor's directives (`_worker.py`)
start, end and close its runs.

Two runs never take from the mailbox at once: a run waits, before its
`on_start()`, for the loop of the one before to be over. A run that its
supervisor gave up waiting for (a thread that cannot be killed) goes on
with the message it is handling, then ends; the next run starts after it.

A run tells how it ended through its `done` future, set once with an
`ActorExit`; the supervisor may set it first (a run it killed, or whose
worker died), and then the run's own word is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

from pykka_rs import _core, messages
from pykka_rs._actor import Actor, answer_leftovers, assigned_run, bound_mailbox
from pykka_rs._exceptions import ActorDeadError
from pykka_rs._monitor import ActorExit
from pykka_rs._pickling import describe_traceback

if TYPE_CHECKING:
    from pykka_rs import ActorRef, Future

logger = logging.getLogger("pykka_rs.supervisor")


class Hosted:
    """A supervised actor's mailbox, across its runs, where it is hosted.

    Its label is its stable ref's name, given where that ref is known.
    """

    def __init__(self, actor_class: type[Actor], urn: str, supervisor: str) -> None:
        self.mailbox = _core.Mailbox()
        # The runs share the mailbox, so its bound is the actor's, and it
        # is listed once in pykka_rs.stats(), with the counts of every run.
        bound_mailbox(self.mailbox, actor_class)
        self.mailbox.enroll(actor_class.__name__, urn, supervisor)
        self.lock = threading.Lock()
        # Set once the loop of the latest run is over.
        self.last_over: threading.Event | None = None
        self.current: Run | None = None

    def close(self, actor_ref: object) -> None:
        """Close the mailbox for good, answering what it still holds."""
        with self.lock:
            self.current = None
        self.mailbox.stopped.set()
        answer_leftovers(str(actor_ref), actor_ref, self.mailbox.drain())


class Run:
    """One run of a supervised actor (see the module)."""

    def __init__(
        self,
        hosted: Hosted,
        number: int,
        actor_ref: ActorRef[Any],
        done: Future[ActorExit],
    ) -> None:
        self.hosted = hosted
        self.number = number
        self.ref = actor_ref
        self.done = done
        # Ends the loop between two messages; the mailbox stays open.
        self.ended = _core.Event()
        self.stop_requested = False
        # Set once its on_start() has run; then `over` once its loop is over.
        self.began = threading.Event()
        self.over = threading.Event()
        with hosted.lock:
            self.previous = hosted.last_over
            hosted.last_over = self.over
            hosted.current = self

    def cancel(self) -> None:
        """The run never started (its constructor raised): forget it."""
        with self.hosted.lock:
            if self.hosted.last_over is self.over:
                self.hosted.last_over = self.previous
            if self.hosted.current is self:
                self.hosted.current = None
        self.over.set()

    def end(self) -> None:
        """End the run after the message it handles (a crash, a stop)."""
        self.ended.set()

    def request_stop(self) -> None:
        """End the run for its supervisor.

        After the message it handles, if any, it runs `on_stop()` and ends,
        leaving the mailbox to the next run.
        """
        self.stop_requested = True
        self.ended.set()
        # Wakes a loop that waits for a message (the next run ignores it);
        # a closed mailbox ends the loop anyway.
        with contextlib.suppress(ActorDeadError):
            self.hosted.mailbox.tell(messages._Shutdown(self.number))  # noqa: SLF001

    def wait_for_predecessor(self) -> None:
        """Wait until the run before this one has left the mailbox."""
        if self.previous is not None:
            self.previous.wait()

    def finish(self, reason: str, exception: BaseException | None) -> ActorExit:
        """The run is over: tell its supervisor how it ended."""
        traceback = None if exception is None else describe_traceback(exception)
        exit = ActorExit(self.ref, reason, exception, traceback)  # noqa: A001
        self.over.set()
        try:
            self.done.set(exit)
        except queue.Full:
            pass  # its supervisor decided first (killed it, or saw its worker die)
        except Exception:
            logger.exception(f"{self.ref} could not tell its supervisor how it ended")
        return exit


def start_run(
    actor_class: type[Actor],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    run: Run,
) -> Actor:
    """Make the actor of `run`, start its thread, and wait for its `on_start()`.

    As OTP's start of a child waits for its `init`, so that children start
    in order and a failing `on_start()` is a failed start. Unless the run
    before it is still finishing a message (a thread its supervisor gave up
    waiting for): then this returns at once, and the run starts after it.

    Raises:
        Exception: whatever the constructor or `on_start()` raised; the run
            is forgotten (a failed `on_start()` also ends it)
    """
    try:
        with assigned_run(run):
            actor = actor_class(*args, **kwargs)
        if getattr(actor, "_incarnation", None) is not run:
            msg = (
                f"{actor_class.__name__}.__init__() did not call Actor.__init__(). "
                "Did you forget to call super().__init__() in your override?"
            )
            raise AttributeError(msg)  # noqa: TRY301 (cleaned up below, as any failure)
    except BaseException:
        run.cancel()
        raise
    logger.debug(f"Starting run {run.number} of {actor}")
    actor._start_actor_loop()  # noqa: SLF001
    if run.previous is None or run.previous.is_set():
        run.began.wait()
        failed = actor._exit_reason  # noqa: SLF001
        if failed is not None and failed[0] == "failure" and failed[1] is not None:
            raise failed[1]
    return actor


# --- In a worker process: the supervised process actors hosted here ---------

_hosted: dict[int, Hosted] = {}
_hosted_lock = threading.Lock()


def spawn(
    actor_class: type[Actor],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    context: dict[str, Any],
) -> int:
    """Start a run of a supervised process actor here; return its mailbox's number.

    `context` holds the run's `incarnation` number, the actor's stable
    `ref`, the `done` future of its supervisor, the `supervisor`'s URN, and
    `reuse`: the number of the mailbox an earlier run here left, or None for
    a new one.

    Raises:
        ActorDeadError: if the mailbox to reuse is gone
        Exception: whatever the constructor raised
    """
    actor_ref: ActorRef[Any] = context["ref"]
    reuse: int | None = context["reuse"]
    if reuse is None:
        hosted = Hosted(actor_class, actor_ref.actor_urn, context["supervisor"])
        hosted.mailbox.label = str(actor_ref)
        number = hosted.mailbox.export()[1]
        with _hosted_lock:
            _hosted[number] = hosted
    else:
        with _hosted_lock:
            found = _hosted.get(reuse)
        if found is None:
            msg = f"{actor_ref}'s mailbox is gone from this process"
            raise ActorDeadError(msg)
        hosted, number = found, reuse
    run = Run(hosted, context["incarnation"], actor_ref, context["done"])
    try:
        start_run(actor_class, args, kwargs, run)
    except BaseException:
        if reuse is None:
            with _hosted_lock:
                _hosted.pop(number, None)
            hosted.close(actor_ref)
        raise
    return number


def end(number: int, incarnation: int) -> None:
    """End run `incarnation` of the actor whose mailbox is `number` here."""
    with _hosted_lock:
        hosted = _hosted.get(number)
    if hosted is None:
        return
    with hosted.lock:
        run = hosted.current
    if run is not None and run.number == incarnation:
        run.request_stop()


def close(number: int) -> None:
    """Close mailbox `number` here for good: its actor will not run again."""
    with _hosted_lock:
        hosted = _hosted.pop(number, None)
    if hosted is None:
        return
    with hosted.lock:
        run = hosted.current
    hosted.close(run.ref if run is not None else hosted.mailbox.label)


def stop_all() -> list[Run]:
    """At the worker's shutdown: ask every run hosted here to end; return them."""
    with _hosted_lock:
        everyone = list(_hosted.values())
    runs = []
    for hosted in everyone:
        with hosted.lock:
            run = hosted.current
        if run is not None:
            run.request_stop()
            runs.append(run)
    return runs

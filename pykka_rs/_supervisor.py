"""`Supervisor`: Erlang/OTP's supervisor, for thread and process actors.

The core decides, this module carries out. `_core.SupervisorCore` (see
docs/supervision-core.md) holds the children's specs and states and decides,
as OTP's `supervisor` module does, what each event leads to; the
`Supervisor` actor feeds it events (a child ended, a timer ran out, an API
call) and carries out the actions it returns: start a child, stop one,
schedule a restart, answer a call, report that it is ready, escalate.

A supervisor is a `ThreadingActor` in the process that starts it. Like
OTP's, it does one thing at a time: while it starts or stops a child it
handles no other message, so events queue in its mailbox and are taken in
order. Starting a child returns once its constructor has run (and, for a
supervisor child, once its own children have started); stopping one waits
for its end, up to the child's shutdown timeout.

Children keep their `ActorRef` across restarts (`_incarnation.py`): a
thread child's runs take over one mailbox in turn; a process child is
reached through a relay in the supervisor's process, which holds messages
while the child restarts on another worker after its worker died.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import sys
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, cast

from pykka_rs import _core, _monitor
from pykka_rs._exceptions import ActorDeadError, Timeout
from pykka_rs._incarnation import Hosted, Run, start_run
from pykka_rs._monitor import ActorExit
from pykka_rs._pickling import exception_repr
from pykka_rs._process import ProcessActor, _system
from pykka_rs._ref import ActorRef
from pykka_rs._registry import ActorRegistry
from pykka_rs._threading import ThreadingActor, ThreadingFuture

if TYPE_CHECKING:
    from pykka_rs import Actor
    from pykka_rs._core import _Backoff, _ChildCounts, _ChildSpec

__all__ = ["Backoff", "ChildSpec", "Supervisor", "SupervisorError"]

logger = logging.getLogger("pykka_rs.supervisor")

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"]
Restart = Literal["permanent", "transient", "temporary"]
ShutdownSetting = float | Literal["brutal_kill", "infinity"]

_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one")
_RESTARTS = ("permanent", "transient", "temporary")

# How long a supervisor waits for a killed process child's worker to be
# reported dead before it reports the child dead anyway.
KILL_PATIENCE = 10.0


@dataclass(frozen=True)
class Backoff:
    """An exponential backoff with jitter before each restart.

    The delay before a child's restart number n (counting from 0) is
    `min(max, min * 2**n) * (1 + jitter * r)`, `r` uniform in [0, 1); n
    goes back to 0 once the child ran for `reset_after` seconds (default:
    `max`). OTP restarts at once: leave a supervisor's `backoff` at None
    for that.

    Attributes:
        min: the first delay, in seconds
        max: the longest delay, in seconds
        jitter: how much random delay to add, as a fraction of the delay
        reset_after: how long a child must run to count as healthy again
    """

    min: float
    max: float
    jitter: float = 0.0
    reset_after: float | None = None

    def _for_core(self) -> _Backoff:
        return {
            "min": self.min,
            "max": self.max,
            "jitter": self.jitter,
            "reset_after": self.reset_after,
        }


@dataclass(frozen=True)
class ChildSpec:
    """How a supervisor starts one of its children, and when it restarts it.

    Example:
        ```py
        ChildSpec(Cache, kwargs={"size": 100}, restart="transient", shutdown=2.0)
        ```

    Attributes:
        actor_class: a `ThreadingActor` or `ProcessActor` subclass
            (`Supervisor` included, for a supervisor of its own)
        args: positional arguments for the class's constructor
        kwargs: keyword arguments for it
        id: the child's name among its siblings; the class's name if None
        restart: `"permanent"` (always restarted), `"transient"` (restarted
            only after it failed or was killed) or `"temporary"` (never)
        shutdown: seconds the child has to stop when its supervisor stops
            it, after which it is killed; `"brutal_kill"` to kill it at
            once; `"infinity"` to wait as long as it takes. None: 5 seconds
            for an actor, `"infinity"` for a supervisor. A thread cannot be
            killed: see `Supervisor`.
    """

    actor_class: type[Actor]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None
    restart: Restart = "permanent"
    shutdown: ShutdownSetting | None = None

    def __post_init__(self) -> None:
        cls = self.actor_class
        if not (
            isinstance(cls, type) and issubclass(cls, ThreadingActor | ProcessActor)
        ):
            msg = (
                "a ChildSpec's actor_class is a ThreadingActor or ProcessActor "
                f"subclass, not {cls!r}"
            )
            raise TypeError(msg)
        if not isinstance(self.args, tuple):
            msg = f"a ChildSpec's args is a tuple, not {type(self.args).__name__}"
            raise TypeError(msg)
        if not isinstance(self.kwargs, Mapping):
            msg = f"a ChildSpec's kwargs is a mapping, not {type(self.kwargs).__name__}"
            raise TypeError(msg)
        if self.id is not None and not isinstance(self.id, str):
            msg = f"a ChildSpec's id is a str or None, not {type(self.id).__name__}"
            raise TypeError(msg)
        if self.restart not in _RESTARTS:
            msg = (
                'a ChildSpec\'s restart is "permanent", "transient" or '
                f'"temporary", not {self.restart!r}'
            )
            raise ValueError(msg)
        shutdown = self.shutdown
        if shutdown is not None and shutdown not in ("brutal_kill", "infinity"):
            if isinstance(shutdown, bool) or not isinstance(shutdown, int | float):
                msg = (
                    'a ChildSpec\'s shutdown is a number of seconds, "brutal_kill" '
                    f'or "infinity", not {shutdown!r}'
                )
                raise (
                    TypeError(msg) if not isinstance(shutdown, str) else ValueError(msg)
                )
            if not shutdown >= 0:
                msg = (
                    f"a ChildSpec's shutdown must be 0 seconds or more, not {shutdown}"
                )
                raise ValueError(msg)

    @property
    def child_id(self) -> str:
        """The child's name among its siblings."""
        return self.id if self.id is not None else self.actor_class.__name__

    @property
    def kind(self) -> Literal["worker", "supervisor"]:
        """`"supervisor"` for a `Supervisor` subclass, else `"worker"`."""
        return "supervisor" if issubclass(self.actor_class, Supervisor) else "worker"

    def _for_core(self) -> _ChildSpec:
        spec: _ChildSpec = {
            "id": self.child_id,
            "restart": self.restart,
            "kind": self.kind,
        }
        if self.shutdown is not None:
            spec["shutdown"] = self.shutdown
        return spec


class SupervisorError(Exception):
    """A supervisor gave up, or refused a call.

    Attributes:
        code: OTP's name for what happened: `"reached_max_restart_intensity"`
            or `"failed_to_start_child"` when the supervisor gave up (it
            stopped its children and failed), else why a call was refused:
            `"not_found"`, `"running"`, `"restarting"`, `"already_started"`,
            `"already_present"`, `"simple_one_for_one"`, `"start_failed"`,
            `"shutting_down"`
        child: the id of the child concerned, if any
    """

    def __init__(self, code: str, message: str, child: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.child = child


# --- The supervisor's own messages ---------------------------------------------


# Both carry what they are about by identity (the run's `done` future, the
# supervisor object that set the timer): a supervisor that is itself
# supervised keeps its mailbox across its runs, and its next run, with a
# core of its own, numbers children and timers afresh, so a message from
# an earlier run could otherwise pass for one of its own.


class _ChildEnded:
    """A child's run ended (told by its `done` future)."""

    __slots__ = ("done", "incarnation", "key")

    def __init__(
        self, key: str | int, incarnation: int, done: ThreadingFuture[ActorExit]
    ) -> None:
        self.key = key
        self.incarnation = incarnation
        self.done = done


class _TimerFired:
    """A restart timer ran out."""

    __slots__ = ("owner", "timer")

    def __init__(self, timer: int, owner: Supervisor) -> None:
        self.timer = timer
        self.owner = owner


# --- Children -------------------------------------------------------------------


def _resolve(done: ThreadingFuture[ActorExit], end: ActorExit) -> None:
    """Give a run's `done` its end, unless it has one already (the first stands)."""
    with contextlib.suppress(queue.Full):
        done.set(end)


class _Child:
    """A child as its supervisor holds it: a stable ref, and its runs."""

    def __init__(
        self,
        supervisor: Supervisor,
        key: str | int,
        spec: ChildSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.key = key
        self.spec = spec
        self.args = args
        self.kwargs = kwargs
        self.supervisor_ref: ActorRef[Any] = supervisor.actor_ref
        self.urn = uuid.uuid4().urn
        self.runs: dict[int, ThreadingFuture[ActorExit]] = {}
        self.last_exit: ActorExit | None = None
        self.ref: ActorRef[Any]

    def start_run(self, incarnation: int) -> ThreadingFuture[ActorExit]:
        raise NotImplementedError

    def request_stop(self, incarnation: int) -> None:
        raise NotImplementedError

    def kill(self, incarnation: int, why: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _watch(self, incarnation: int, done: ThreadingFuture[ActorExit]) -> None:
        self.runs[incarnation] = done
        supervisor, key = self.supervisor_ref, self.key

        def tell() -> None:
            # Sent as an ask nobody waits for: one still queued when the
            # supervisor stops is answered quietly, not logged as dropped.
            # If the supervisor is gone, nobody waits for this.
            with contextlib.suppress(ActorDeadError):
                supervisor.ask(_ChildEnded(key, incarnation, done), block=False)

        done._slot.add_done_callback(tell)  # noqa: SLF001

    def _ended(self) -> ActorExit:
        """How the child ended for good: its last run's end."""
        last = self.last_exit
        if last is None:
            return ActorExit(self.ref, "shutdown")
        return last


class _ThreadChild(_Child):
    """A thread actor (or supervisor) child: its runs share one mailbox here."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.hosted = Hosted(
            self.spec.actor_class, self.urn, self.supervisor_ref.actor_urn
        )
        self.ref = ActorRef._stable(  # noqa: SLF001
            self.spec.actor_class, self.urn, self.hosted.mailbox, self.supervisor_ref
        )
        self.actor: Actor | None = None

    def start_run(self, incarnation: int) -> ThreadingFuture[ActorExit]:
        done: ThreadingFuture[ActorExit] = ThreadingFuture()
        run = Run(self.hosted, incarnation, self.ref, done)
        actor = start_run(self.spec.actor_class, self.args, self.kwargs, run)
        self.actor = actor
        self.ref._actor_weakref = weakref.ref(actor)  # noqa: SLF001
        self._watch(incarnation, done)
        if isinstance(actor, Supervisor):
            actor._ready.get()  # noqa: SLF001 (raises if its children failed to start)
        return done

    def request_stop(self, incarnation: int) -> None:
        with self.hosted.lock:
            run = self.hosted.current
        if run is not None and run.number == incarnation:
            run.request_stop()

    def kill(self, incarnation: int, why: str) -> None:
        logger.warning(
            f"{self.ref} {why}; a thread cannot be killed: it is left to finish "
            "the message it is handling, and its next run, if any, starts after it"
        )
        done = self.runs.get(incarnation)
        if done is not None:
            _resolve(
                done, ActorExit(self.ref, "killed", detail=f"{why}; it was abandoned")
            )

    def close(self) -> None:
        self.hosted.close(self.ref)


class _ProcessChild(_Child):
    """A process actor child: a relay here, its mailbox in a worker."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.relay = _core.Relay()
        self.ref = ActorRef._stable(  # noqa: SLF001
            self.spec.actor_class, self.urn, self.relay, self.supervisor_ref
        )
        # The mailbox of its runs: (process, number), while that worker lives.
        self.where: tuple[int, int] | None = None
        self.lock = threading.Lock()
        self.dead: str | None = None
        self.current: ThreadingFuture[ActorExit] | None = None
        self.watching: _monitor.Monitor | None = None

    def start_run(self, incarnation: int) -> ThreadingFuture[ActorExit]:
        done: ThreadingFuture[ActorExit] = ThreadingFuture()
        side = _system()
        cls = self.spec.actor_class
        with self.lock:
            reuse = self.where if self.dead is None else None
        context = {
            "incarnation": incarnation,
            "ref": self.ref,
            "done": done,
            "supervisor": self.supervisor_ref.actor_urn,
            "reuse": None if reuse is None else reuse[1],
        }
        try:
            where = side.start_supervised(
                cls,
                None if reuse is None else reuse[0],
                self.args,
                self.kwargs,
                context,
            )
        except ActorDeadError:
            if reuse is None:
                raise
            # Its worker died since: start afresh, on a live one.
            with self.lock:
                self.dead = self.dead or "its worker process is gone"
            context["reuse"] = None
            where = side.start_supervised(cls, None, self.args, self.kwargs, context)
        if where != reuse:
            self._moved_to(where)
        with self.lock:
            self.current = done
            dead = self.dead
        self._watch(incarnation, done)
        if dead is not None:
            self._killed(dead)
        return done

    def _moved_to(self, where: tuple[int, int]) -> None:
        """The child's runs now take messages from the mailbox at `where`."""
        if self.watching is not None:
            self.watching.cancel()
        with self.lock:
            self.where = where
            self.dead = None
        self.watching = _monitor.watch_address(self.ref, where, self._hosted_ended)
        # If its worker died already, the watch says so.
        with contextlib.suppress(ActorDeadError):
            self.relay.redirect(*where)

    def _hosted_ended(self, exit: ActorExit) -> None:  # noqa: A002
        """The mailbox's worker died (or the mailbox was closed)."""
        if exit.reason == "killed":
            with self.lock:
                self.dead = exit.detail
            self._killed(exit.detail)

    def _killed(self, cause: str) -> None:
        with self.lock:
            done = self.current
        if done is not None:
            _resolve(done, ActorExit(self.ref, "killed", detail=cause))

    def request_stop(self, incarnation: int) -> None:
        with self.lock:
            where, dead = self.where, self.dead
        if where is None or dead is not None:
            return
        # If its worker died, the watch reports it killed.
        with contextlib.suppress(ActorDeadError):
            _system().direct(where[0], ("end", where[1], incarnation))

    def kill(self, incarnation: int, why: str) -> None:
        with self.lock:
            where, dead = self.where, self.dead
        done = self.runs.get(incarnation)
        if where is None or dead is not None or done is None:
            return
        logger.warning(
            f"{self.ref} {why}; its worker process {where[0]} is killed, with "
            "every actor it hosts"
        )
        _system().kill(where[0], f"was killed by the supervisor of {self.ref}: {why}")
        try:
            done.get(timeout=KILL_PATIENCE)
        except Timeout:
            self._killed(f"{why}; its worker process was killed")
        except Exception:
            logger.debug("a killed run's end could not be read", exc_info=True)

    def close(self) -> None:
        dropped = self.relay.close()
        if dropped:
            logger.warning(
                f"{self.ref} stopped before handling {dropped} message(s) sent to "
                "it with tell() while it restarted; they were dropped"
            )
        if self.watching is not None:
            self.watching.cancel()
        with self.lock:
            where, dead = self.where, self.dead
        if where is not None and dead is None:
            try:
                _system().direct(where[0], ("close", where[1]))
            except Exception:
                logger.debug(f"{self.ref}'s mailbox could not be closed", exc_info=True)


# --- The supervisor -------------------------------------------------------------


class Supervisor(ThreadingActor):
    """An actor that starts, watches and restarts actors, as OTP's supervisor does.

    Declare the children and the strategy on a subclass, or pass them to
    `start()`:

        ```py
        class App(pykka_rs.Supervisor):
            strategy = "rest_for_one"
            max_restarts = 3
            within = 10.0
            children = [
                pykka_rs.ChildSpec(Database),
                pykka_rs.ChildSpec(Cache, restart="transient"),
                pykka_rs.ChildSpec(Web, args=(8080,)),
            ]

        app = App.start()
        web = app.proxy().get_child("Web").get()
        ```

    Children start in order when the supervisor starts; `start()` returns
    once they all have, or raises `SupervisorError` if one failed to start.
    When a child ends, its spec's `restart` decides whether it is restarted,
    and the `strategy` which of its siblings restart with it:
    `"one_for_one"` (none), `"one_for_all"` (all), `"rest_for_one"` (those
    started after it), or `"simple_one_for_one"` (a pool of children made
    from one spec by `start_child()`). More than `max_restarts` restarts
    within `within` seconds, and the supervisor stops its children (newest
    first) and fails with `SupervisorError`: its own supervisor, if it has
    one, then decides. With `backoff`, each restart waits first.

    A child's `ActorRef` stays valid across its restarts: messages sent
    while it restarts reach its next run. Its monitors are told when the
    supervisor gives up on it (see `pykka_rs.monitor`). Stopping a child
    with `ActorRef.stop()` is an end like any other: a permanent child is
    started again; use `terminate_child()` to stop one for good.

    When the supervisor stops, it stops its children, newest first, each
    within its spec's `shutdown`. A child that does not stop in time is
    killed: a process actor with its worker process (and every other actor
    there); a thread actor cannot be killed, so it is left to finish the
    message it is handling and counts as killed, and its next run starts
    after it. A warning says which.

    The supervisor runs in a thread of the process that starts it, and
    handles one thing at a time: starting or stopping a child, a child's
    end, a call. Starting a child returns once the child's `on_start()` has
    run (as OTP's start waits for `init`), and an `on_start()` that raises
    is a failed start: so a child must not wait on its supervisor from its
    `on_start()`. Subclasses that override `on_stop()`, `on_failure()` or
    `on_receive()` must call the supervisor's own.
    """

    strategy: ClassVar[Strategy] = "one_for_one"
    """How a restart spreads to a child's siblings (see the class)."""

    max_restarts: ClassVar[int] = 1
    """At most this many restarts within `within` seconds (OTP's default: 1)."""

    within: ClassVar[float] = 5.0
    """The window of the restart intensity, in seconds (OTP's default: 5)."""

    backoff: ClassVar[Backoff | None] = None
    """A delay before each restart, or None to restart at once (as OTP does)."""

    children: ClassVar[Sequence[ChildSpec]] = ()
    """The children, in start order (for `"simple_one_for_one"`, one: the template)."""

    def __init__(
        self,
        children: Sequence[ChildSpec] | None = None,
        *,
        strategy: Strategy | None = None,
        max_restarts: int | None = None,
        within: float | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """Set the supervisor up; arguments left out come from the class.

        Raises:
            TypeError: for a child that is not a `ChildSpec`, or settings of
                the wrong type
            ValueError: for duplicate child ids, an unknown strategy, a
                negative number of restarts or a window that is not positive
        """
        super().__init__()
        cls = type(self)
        specs = list(cls.children if children is None else children)
        for spec in specs:
            if not isinstance(spec, ChildSpec):
                msg = (
                    f"a supervisor's children are ChildSpecs, not {type(spec).__name__}"
                )
                raise TypeError(msg)
        strategy = cls.strategy if strategy is None else strategy
        if strategy not in _STRATEGIES:
            msg = f"strategy must be one of {', '.join(_STRATEGIES)}, not {strategy!r}"
            raise ValueError(msg)
        max_restarts = cls.max_restarts if max_restarts is None else max_restarts
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int):
            msg = f"max_restarts must be an int, not {type(max_restarts).__name__}"
            raise TypeError(msg)
        within = cls.within if within is None else within
        if isinstance(within, bool) or not isinstance(within, int | float):
            msg = f"within must be a number of seconds, not {type(within).__name__}"
            raise TypeError(msg)
        if not within > 0:
            msg = f"within must be more than 0 seconds, not {within}"
            raise ValueError(msg)
        backoff = cls.backoff if backoff is None else backoff
        if backoff is not None and not isinstance(backoff, Backoff):
            msg = f"backoff must be a Backoff or None, not {type(backoff).__name__}"
            raise TypeError(msg)
        self._core = _core.SupervisorCore(
            strategy,
            [spec._for_core() for spec in specs],  # noqa: SLF001
            max_restarts=max_restarts,
            within=float(within),
            backoff=None if backoff is None else backoff._for_core(),  # noqa: SLF001
        )
        self._specs = {spec.child_id: spec for spec in specs}
        self._children: dict[str | int, _Child] = {}
        self._dynamic: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        self._reported: set[int] = set()
        self._calls = itertools.count(1)
        self._replies: dict[int, tuple[bool, Any]] = {}
        self._timers: dict[int, threading.Timer] = {}
        self._ready: ThreadingFuture[None] = ThreadingFuture()
        self._finished = False
        self._adding: ChildSpec | None = None

    @classmethod
    def start(cls, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Start the supervisor and its children; return once they all started.

        Raises:
            SupervisorError: if a child failed to start (code
                `"failed_to_start_child"`); the children started before it
                were stopped, and the supervisor stopped too
            Exception: whatever the constructor raised
        """
        ref = super().start(*args, **kwargs)
        actor = ref._actor_weakref()  # noqa: SLF001
        if actor is not None:
            try:
                actor._ready.get()  # noqa: SLF001
            except SupervisorError:
                # It stops itself; raise once it has, leaving nothing behind.
                ref.actor_stopped.wait()
                raise
        return ref

    # --- Lifecycle ------------------------------------------------------------

    def on_start(self) -> None:
        """Start the children, in order."""
        self._carry_out(self._core.start())

    def on_stop(self) -> None:
        """Stop the children, newest first."""
        self._shut_down()

    def on_failure(
        self,
        exception_type: type[BaseException] | None,  # noqa: ARG002
        exception_value: BaseException | None,  # noqa: ARG002
        traceback: Any,  # noqa: ARG002
    ) -> None:
        """Stop the children, newest first, if they are still running."""
        self._shut_down()

    def _shut_down(self) -> None:
        if self._finished:
            return
        try:
            self._carry_out(self._core.shutdown())
        finally:
            self._finish()

    def _finish(self) -> None:
        """Nothing more will happen: close every child, cancel the timers."""
        self._finished = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for key in list(self._children):
            self._close(key)
        if not self._ready._slot.done():  # noqa: SLF001
            error = SupervisorError("shutting_down", f"{self} stopped while starting")
            self._ready.set_exception((SupervisorError, error, None))

    def on_receive(self, message: Any) -> Any:
        """Handle the supervisor's own messages: children's ends and timers."""
        if isinstance(message, _ChildEnded):
            child = self._children.get(message.key)
            run = None if child is None else child.runs.get(message.incarnation)
            if run is message.done:
                self._child_ended(message.key, message.incarnation)
            return None
        if isinstance(message, _TimerFired):
            if message.owner is not self:
                return None  # an earlier run's
            self._timers.pop(message.timer, None)
            if not self._finished:
                self._carry_out(self._core.timer_fired(message.timer))
            return None
        return super().on_receive(message)

    # --- The API --------------------------------------------------------------

    def which_children(self) -> list[tuple[str | int, ActorRef[Any] | str | None, str]]:
        """Every child, in start order, as `(id, ref, kind)`.

        `ref` is the child's `ActorRef` while it runs, `"restarting"` while
        it waits for a restart, None when it does not run; `kind` is
        `"worker"` or `"supervisor"`.
        """
        listed: list[tuple[str | int, ActorRef[Any] | str | None, str]] = []
        for key, state, kind in self._core.which_children():
            if isinstance(state, int):
                child = self._children.get(key)
                listed.append((key, None if child is None else child.ref, kind))
            else:
                listed.append((key, state, kind))
        return listed

    def count_children(self) -> _ChildCounts:
        """Counts: `specs`, `active` (running), `supervisors`, `workers`."""
        return self._core.count_children()

    def child_spec(self, child_id: str | int) -> ChildSpec | None:
        """The spec of child `child_id`, or None.

        A dynamic child's is its template's, with the child's own arguments.
        """
        if self._core.child_spec(child_id) is None:
            return None
        spec, args, kwargs = self._spec(child_id)
        if isinstance(child_id, int):
            return ChildSpec(
                spec.actor_class,
                args,
                kwargs,
                spec.id,
                spec.restart,
                spec.shutdown,
            )
        return spec

    def get_child(self, child_id: str | int) -> ActorRef[Any] | None:
        """The `ActorRef` of child `child_id`, valid across its restarts.

        None if no child by that id runs or waits for a restart.
        """
        child = self._children.get(child_id)
        return None if child is None else child.ref

    def start_child(self, *args: Any, **kwargs: Any) -> ActorRef[Any]:
        """Add a child and start it; return its ref.

        With `"simple_one_for_one"`, the arguments are added to the
        template's (its `args` then these, its `kwargs` updated with these)
        and the child's id is a number. With any other strategy, the one
        argument is the new child's `ChildSpec`, started after the others.

        Raises:
            SupervisorError: if the child was not started (code
                `"already_started"`, `"already_present"`, `"start_failed"`...)
            TypeError: for a strategy other than `"simple_one_for_one"`,
                anything but one `ChildSpec`
        """
        call = next(self._calls)
        if self._core.strategy == "simple_one_for_one":
            number, actions = self._core.start_dynamic_child(call)
            self._dynamic[number] = (args, kwargs)
            self._carry_out(actions)
        else:
            if len(args) != 1 or kwargs or not isinstance(args[0], ChildSpec):
                msg = "start_child() takes one ChildSpec"
                raise TypeError(msg)
            spec = args[0]
            actions = self._core.start_child(call, spec._for_core())  # noqa: SLF001
            # The spec is the core's now if it starts the child; kept aside
            # until then, so that a refused one replaces nothing.
            self._adding = spec
            try:
                self._carry_out(actions)
            finally:
                self._adding = None
            ok, _ = self._replies.get(call, (False, None))
            if ok:
                self._specs[spec.child_id] = spec
        key, _ = self._reply(call)
        return self._children[key].ref

    def terminate_child(self, child_id: str | int) -> None:
        """Stop child `child_id` for good: its ref dies.

        Its spec is kept, for `restart_child()`, unless it is temporary or
        dynamic.

        Raises:
            SupervisorError: code `"not_found"`
        """
        call = next(self._calls)
        self._carry_out(self._core.terminate_child(call, child_id))
        self._reply(call)

    def restart_child(self, child_id: str | int) -> ActorRef[Any]:
        """Start child `child_id` again after `terminate_child()`; return its new ref.

        Raises:
            SupervisorError: code `"running"`, `"restarting"` or `"not_found"`
        """
        call = next(self._calls)
        self._carry_out(self._core.restart_child(call, child_id))
        key, _ = self._reply(call)
        return self._children[key].ref

    def delete_child(self, child_id: str | int) -> None:
        """Forget the spec of child `child_id`, which must not be running.

        Raises:
            SupervisorError: code `"running"`, `"restarting"` or `"not_found"`
        """
        call = next(self._calls)
        self._carry_out(self._core.delete_child(call, child_id))
        self._reply(call)
        self._specs.pop(cast("str", child_id), None)

    def _reply(self, call: int) -> Any:
        ok, value = self._replies.pop(call)
        if not ok:
            code, message = value
            raise SupervisorError(code, message)
        return value

    # --- Carrying out the core's decisions --------------------------------------

    def _carry_out(self, actions: list[tuple[Any, ...]]) -> None:
        """Carry out `actions` in order, with those they lead to."""
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            kind = action[0]
            if kind == "start":
                pending += self._start_run(action[1], action[2])
            elif kind == "stop":
                # Stops handed out at once (a simple_one_for_one supervisor
                # ending) are carried out together.
                batch = [action]
                while pending and pending[0][0] == "stop":
                    batch.append(pending.pop(0))
                pending += self._stop_runs(batch)
            elif kind == "schedule":
                self._schedule(action[1], action[2])
            elif kind == "reply":
                self._replies[action[1]] = (action[2], action[3])
            elif kind == "ready":
                self._ready.set(None)
            elif kind == "escalate":
                self._escalate(action[1], action[2], action[3])
            elif kind == "stopped":
                self._finish()
        self._close_ended()

    def _spec(
        self, key: str | int
    ) -> tuple[ChildSpec, tuple[Any, ...], dict[str, Any]]:
        if isinstance(key, int):
            template = next(iter(self._specs.values()))
            args, kwargs = self._dynamic[key]
            return template, (*template.args, *args), {**template.kwargs, **kwargs}
        adding = self._adding
        spec = (
            adding
            if adding is not None and adding.child_id == key
            else self._specs[key]
        )
        return spec, spec.args, dict(spec.kwargs)

    def _start_run(self, key: str | int, incarnation: int) -> list[tuple[Any, ...]]:
        child = self._children.get(key)
        if child is None:
            spec, args, kwargs = self._spec(key)
            kind = (
                _ProcessChild
                if issubclass(spec.actor_class, ProcessActor)
                else _ThreadChild
            )
            child = kind(self, key, spec, args, kwargs)
            ActorRegistry.register(child.ref)
            self._children[key] = child
        elif child.last_exit is not None:
            last = child.last_exit
            why = f"{last.reason}: {last.detail}" if last.detail else last.reason
            if last.exception is not None:
                why = f"{why}: {exception_repr(last.exception)}"
            logger.info(f"{self} restarts {child.ref} (run {incarnation}) after {why}")
        try:
            child.start_run(incarnation)
        except Exception as exc:  # noqa: BLE001 (reported to the core: a failed start)
            logger.error(  # noqa: TRY400 (the child's own failure is logged by the child)
                f"{self} could not start {child.ref}: {exception_repr(exc)}"
            )
            self._reported.add(incarnation)
            return self._core.start_failed(incarnation, exception_repr(exc))
        return self._core.started(incarnation)

    def _stop_runs(self, batch: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Stop the children of `batch` (each `("stop", id, incarnation, shutdown)`)."""
        for _, key, incarnation, _ in batch:
            self._children[key].request_stop(incarnation)
        actions: list[tuple[Any, ...]] = []
        for _, key, incarnation, shutdown in batch:
            child = self._children[key]
            done = child.runs[incarnation]
            wait = (
                None
                if shutdown == "infinity"
                else 0.0
                if shutdown == "brutal_kill"
                else shutdown
            )
            try:
                done.get(timeout=wait)
            except Timeout:
                why = (
                    "was killed at once (brutal_kill)"
                    if shutdown == "brutal_kill"
                    else f"did not stop within {shutdown} seconds"
                )
                child.kill(incarnation, why)
            actions += self._report(key, incarnation)
        return actions

    def _report(self, key: str | int, incarnation: int) -> list[tuple[Any, ...]]:
        """Tell the core how run `incarnation` of child `key` ended."""
        if incarnation in self._reported:
            return []
        child = self._children.get(key)
        if child is None:
            return []
        done = child.runs.pop(incarnation, None)
        if done is None:
            return []
        exit = done.get(timeout=0)  # noqa: A001
        self._reported.add(incarnation)
        child.last_exit = exit
        reason = exit.reason
        if reason in {"killed", "noproc"}:
            reason = "failure"
        elif (
            reason == "failure"
            and isinstance(exit.exception, SupervisorError)
            and exit.exception.code
            in ("reached_max_restart_intensity", "failed_to_start_child")
        ):
            # A supervisor that gave up exits with "shutdown", as in OTP.
            reason = "shutdown"
        detail = exit.detail
        if exit.exception is not None:
            detail = exception_repr(exit.exception)
        return self._core.exited(incarnation, reason, detail)

    def _child_ended(self, key: str | int, incarnation: int) -> None:
        if self._finished:
            return
        self._carry_out(self._report(key, incarnation))

    def _schedule(self, timer: int, seconds: float) -> None:
        me = self.actor_ref

        def fire() -> None:
            with contextlib.suppress(ActorDeadError):
                me.ask(_TimerFired(timer, self), block=False)  # see _Child._watch

        thread = threading.Timer(seconds, fire)
        thread.daemon = True
        self._timers[timer] = thread
        thread.start()

    def _escalate(self, code: str, key: str | int, message: str) -> None:
        error = SupervisorError(code, f"{self}: {message}", key)
        if not self._ready._slot.done():  # noqa: SLF001
            self._ready.set_exception((SupervisorError, error, None))
        self._finish()
        try:
            raise error
        except SupervisorError:
            self._handle_failure(*sys.exc_info())

    def _close_ended(self) -> None:
        """Close the children that will not run again: their refs die."""
        if self._finished:
            return
        running = {
            key for key, state, _ in self._core.which_children() if state is not None
        }
        for key in list(self._children):
            if key not in running:
                self._close(key)

    def _close(self, key: str | int) -> None:
        child = self._children.pop(key)
        if isinstance(key, int):
            self._dynamic.pop(key, None)
        child.close()
        ActorRegistry.unregister(child.ref)
        end = child._ended()  # noqa: SLF001
        _monitor.ended(child.ref, end.reason, end.exception, end.detail)


def supervisor_of(actor_ref: ActorRef[Any]) -> ActorRef[Any] | None:
    """The supervisor of a supervised actor, from its ref, or None.

    Known in the supervisor's process (where the actor's stable ref was
    made), which is where the registry lists supervised actors; for
    `pykka_rs.stats()` and tools that show the tree.
    """
    return actor_ref._supervised_by  # noqa: SLF001

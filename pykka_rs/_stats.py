"""What every mailbox, worker and channel is doing: `stats()` and its records.

The numbers come from the Rust core's atomics, so reading them never waits
on an actor and never stops one:

- an actor of this process: its mailbox's counters, read directly;
- an actor of a worker process, seen from the parent: the counters its
  worker last pushed (every 100 ms, when they changed), with their age; if
  none has arrived yet, one report is gathered from the worker;
- an actor of another process, seen from a worker: one round trip to the
  parent, which answers as above.

`stats()` gathers a fresh report from every worker (the `GatherStats`
frame, answered by the worker's core without its interpreter) and adds this
process's own. Records are frozen dataclasses; their names end in `Stats`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pykka_rs import _core
from pykka_rs._exceptions import ActorDeadError, Timeout
from pykka_rs._pickling import dumps

if TYPE_CHECKING:
    from collections.abc import Callable

    from pykka_rs._ref import ActorRef

__all__ = ["ActorStats", "ChannelStats", "SystemStats", "WorkerStats", "stats"]

logger = logging.getLogger("pykka_rs.stats")

# How long stats() waits for a worker's report.
GATHER_PATIENCE = 5.0

# Each pool's view of its workers, by the kind of worker, registered by the
# pool's module (which this module must not import: the registry of hooks
# goes the other way).
_pool_views: dict[str, Callable[[], list[dict[str, int]]]] = {}


def _set_pool_view(kind: str, workers: Callable[[], list[dict[str, int]]]) -> None:
    """Let `stats()` list a pool's workers of `kind` ("process", "interpreter")."""
    _pool_views[kind] = workers


@dataclass(frozen=True)
class ActorStats:
    """One actor's mailbox and handling times.

    Times are in seconds. Percentiles cover the actor's life since it
    started, from the timed messages (see `timed`), within 1/16 of the exact
    value; they are `None` before the first message, and while metrics are
    off (`configure(metrics=False)`) nothing is timed.
    """

    actor_class: str
    """The name of the actor's class."""
    actor_urn: str
    """The actor's URN."""
    process: int
    """Where it runs: 0 for the program's own process, N for worker process N."""
    waiting: int
    """Messages in its mailbox, not yet taken by the actor."""
    sent: int
    """Messages its mailbox accepted since the actor started."""
    handled: int
    """Messages it handled without an exception."""
    failed: int
    """Messages whose handling raised an exception."""
    dropped: int
    """Messages told to it that it never handled, because it stopped first."""
    high_water: int
    """The most messages ever waiting at once."""
    busy: float
    """Time spent handling messages, all of them (while metrics were on)."""
    timed: int
    """Messages timed one by one, for the percentiles: every message the
    actor handles on its own, and of a run of queued messages the first and
    one in sixteen after it (a clock read costs as much as the rest of a
    one-way message's bookkeeping)."""
    timed_seconds: float
    """Time spent handling the timed messages."""
    p50: float | None
    """Median handling time."""
    p90: float | None
    """90th percentile of the handling time."""
    p99: float | None
    """99th percentile of the handling time."""
    age: float = 0.0
    """How old these numbers are: 0 when read here and now; for an actor of a
    worker, the time since the worker sent them."""
    supervisor: str | None = None
    """The URN of the actor's supervisor; `None` for an unsupervised actor."""


@dataclass(frozen=True)
class WorkerStats:
    """One worker of a pool: a worker process, or a pooled subinterpreter."""

    process: int
    """Its process number (as `ActorStats.process` names it)."""
    seat: int
    """Its seat in the pool (what `ProcessActor.start_on()` takes); a
    replacement worker gets the same seat and a new process number."""
    pid: int
    """The operating system's process id."""
    cpu_seconds: float
    """CPU time used by all its threads so far."""
    rss_bytes: int | None
    """Resident memory, where the system tells (Linux does)."""
    actors: int
    """Actors running in it."""
    waiting: int
    """Messages waiting in their mailboxes."""
    restarts: int
    """How often the worker in this seat died or hung and was replaced."""
    kind: str = "process"
    """`"process"`, or `"interpreter"` for a subinterpreter of this process,
    whose pid, CPU time and memory are then this whole process's."""


@dataclass(frozen=True)
class ChannelStats:
    """One channel: its depth and traffic, as `ActorStats` gives a mailbox's.

    `stats()` lists every live channel of every process;
    `Channel.stats()` gives one channel's.
    """

    name: str
    """What the channel is called."""
    process: int
    """The process that holds its buffer."""
    capacity: int
    """The most items it holds."""
    waiting: int
    """Items in it, not yet received."""
    sent: int
    """Items it accepted."""
    received: int
    """Items taken out."""
    high_water: int
    """The most items ever in it at once."""
    closed: bool
    """Whether it was closed."""


@dataclass(frozen=True)
class SystemStats:
    """A snapshot of the whole system: every actor, worker and channel."""

    taken_at: float
    """When it was taken, as `time.time()` gives it."""
    pid: int
    """The program's own process id."""
    cpu_seconds: float
    """CPU time the program's own process used so far."""
    rss_bytes: int | None
    """The program's own resident memory, where the system tells."""
    metrics: bool
    """Whether handling times, outcomes and peaks are being recorded."""
    dead_letters: int
    """Messages that reached no actor (sent to one that was gone), in every process."""
    actors: list[ActorStats] = field(default_factory=list)
    """Every running actor, of every process."""
    workers: list[WorkerStats] = field(default_factory=list)
    """Every worker process of the pool."""
    channels: list[ChannelStats] = field(default_factory=list)
    """Every channel."""

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as plain dicts and lists, for JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SystemStats:
        """The snapshot `to_dict()` made.

        Raises:
            TypeError: for data of another shape
        """
        nested = {
            "actors": [ActorStats(**actor) for actor in data["actors"]],
            "workers": [WorkerStats(**worker) for worker in data["workers"]],
            "channels": [ChannelStats(**channel) for channel in data["channels"]],
        }
        return cls(**{**data, **nested})


def _seconds(nanos: int | None) -> float | None:
    return None if nanos is None else nanos / 1e9


def _from_counters(
    actor_class: str,
    actor_urn: str,
    process: int,
    counters: dict[str, Any],
    age: float = 0.0,
) -> ActorStats:
    """An `ActorStats` from a mailbox's counters as the core gives them."""
    return ActorStats(
        actor_class=actor_class,
        actor_urn=actor_urn,
        process=process,
        waiting=counters["waiting"],
        sent=counters["sent"],
        handled=counters["processed"],
        failed=counters["failed"],
        dropped=counters["dropped"],
        high_water=counters["high_water"],
        busy=counters["busy_nanos"] / 1e9,
        timed=counters["timed"],
        timed_seconds=counters["timed_nanos"] / 1e9,
        p50=_seconds(counters["p50_nanos"]),
        p90=_seconds(counters["p90_nanos"]),
        p99=_seconds(counters["p99_nanos"]),
        age=age,
    )


def _actors_of(report: dict[str, Any]) -> list[ActorStats]:
    process = report["process"]
    return [
        dataclasses.replace(
            _from_counters(actor["class"], actor["urn"], process, actor["mailbox"]),
            supervisor=actor.get("supervisor"),
        )
        for actor in report["actors"]
    ]


def _gather(process: int, timeout: float = GATHER_PATIENCE) -> dict[str, Any]:
    """Worker `process`'s report, asked for now.

    Raises:
        ActorDeadError: if the worker is gone
        Timeout: if it did not answer in time
    """
    report: dict[str, Any] = _core.gather_stats(process).get(timeout)
    return report


def actor_stats(ref: ActorRef[Any]) -> ActorStats:
    """The metrics of the actor `ref` refers to; see `ActorRef.stats`.

    Raises:
        TypeError: for an actor whose inbox is not a pykka_rs mailbox
        ActorDeadError: for an actor of a worker that is gone
    """
    inbox = ref.actor_inbox
    name, urn = ref.actor_class.__name__, ref.actor_urn
    supervisor = ref._supervised_by  # noqa: SLF001
    if isinstance(inbox, _core.Mailbox):
        return dataclasses.replace(
            _from_counters(name, urn, _core.process(), inbox.stats()),
            supervisor=None if supervisor is None else supervisor.actor_urn,
        )
    if isinstance(inbox, _core.Relay):
        return _relayed_stats(ref, inbox)
    if not isinstance(inbox, _core.RemoteMailbox):
        msg = (
            f"{ref} has an inbox of type {type(inbox).__name__}: metrics are "
            "kept by pykka_rs mailboxes only"
        )
        raise TypeError(msg)
    process = inbox.export()[0]
    if _core.process() != 0:
        # A worker has no copy of other processes' counters: ask the parent.
        answer: ActorStats = _core.request(dumps(("actor_stats", ref))).get(
            GATHER_PATIENCE
        )
        return answer
    pushed = inbox.stats()
    if pushed is not None:
        age, counters = pushed
        return _from_counters(name, urn, process, counters, age)
    # Nothing pushed yet (a new actor): ask its worker.
    return _found_in(process, ref)


def _relayed_stats(ref: ActorRef[Any], relay: _core.Relay) -> ActorStats:
    """The metrics of a supervised process actor: its current run's mailbox's.

    While the actor restarts, its relay holds its messages and points
    nowhere, or still at the worker that died, until its supervisor moves
    it; this waits for the next run, as long as a worker's report may take.

    Raises:
        ActorDeadError: if the actor stopped for good
        Timeout: if it is still restarting after that
    """
    deadline = time.monotonic() + GATHER_PATIENCE
    while True:
        target = relay.target
        if target is not None:
            try:
                return _found_in(target[0], ref)
            except ActorDeadError:
                pass  # its worker died, or its run ended: the relay moves next
        if relay.stopped.is_set():
            msg = f"{ref} is not alive"
            raise ActorDeadError(msg)
        if time.monotonic() > deadline:
            msg = f"{ref} is still restarting: its counters are out of reach"
            raise Timeout(msg)
        time.sleep(0.01)


def _found_in(process: int, ref: ActorRef[Any]) -> ActorStats:
    """The metrics of `ref`'s actor, from worker `process`'s report, asked for now.

    Raises:
        ActorDeadError: if the worker is gone or no longer has the actor
    """
    for found in _actors_of(_gather(process)):
        if found.actor_urn == ref.actor_urn:
            return found
    msg = f"{ref} not found"
    raise ActorDeadError(msg)


def _channels_of(report: dict[str, Any]) -> list[ChannelStats]:
    """The channels of one process's report (none from an interpreter worker)."""
    return [
        ChannelStats(
            name=channel["name"],
            process=report["process"],
            capacity=channel["capacity"],
            waiting=channel["waiting"],
            sent=channel["sent"],
            received=channel["received"],
            high_water=channel["high_water"],
            closed=channel["closed"],
        )
        for channel in report.get("channels", ())
    ]


def stats() -> SystemStats:
    """Take a snapshot of the whole system: every actor, worker and channel.

    In the program's own process, it reads its actors' counters and asks
    every worker for a fresh report (answered by the worker's core, even
    while its actors keep its interpreter busy); in a worker, it asks the
    program's process to take the snapshot. A worker that dies meanwhile is
    left out. Reading never waits on an actor.

    Returns:
        the snapshot; actors are sorted by process, then class and URN
    """
    if _core.process() != 0:
        snapshot: SystemStats = _core.request(dumps(("stats",))).get(
            GATHER_PATIENCE * 2
        )
        return snapshot
    # Ask every worker first, then read here while they answer.
    slots = [
        (kind, worker, _core.gather_stats(worker["process"]))
        for kind, view in _pool_views.items()
        for worker in view()
    ]
    here = _core.local_stats()
    actors = _actors_of(here)
    dead_letters = here["dead_letters"]
    channels = _channels_of(here)
    workers = []
    deadline = time.monotonic() + GATHER_PATIENCE
    for kind, worker, slot in slots:
        try:
            report = slot.get(max(0.0, deadline - time.monotonic()))
        except Exception:  # a worker that died or hung is left out
            logger.debug(
                f"worker process {worker['process']} is left out", exc_info=True
            )
            continue
        mine = _actors_of(report)
        actors += mine
        channels += _channels_of(report)
        dead_letters += report["dead_letters"]
        usage = report["usage"]
        workers.append(
            WorkerStats(
                process=worker["process"],
                seat=worker["seat"],
                pid=worker.get("pid", usage["pid"]),
                cpu_seconds=usage["cpu_seconds"],
                rss_bytes=usage["rss_bytes"],
                actors=len(mine),
                waiting=sum(actor.waiting for actor in mine),
                restarts=worker.get("restarts", 0),
                kind=kind,
            )
        )
    usage = here["usage"]
    return SystemStats(
        taken_at=time.time(),
        pid=os.getpid(),
        cpu_seconds=usage["cpu_seconds"],
        rss_bytes=usage["rss_bytes"],
        metrics=_core.metrics(),
        dead_letters=dead_letters,
        actors=sorted(actors, key=lambda a: (a.process, a.actor_class, a.actor_urn)),
        workers=sorted(workers, key=lambda w: (w.kind != "process", w.seat)),
        channels=sorted(channels, key=lambda c: (c.process, c.name)),
    )

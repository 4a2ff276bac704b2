"""Per-actor metrics and `pykka_rs.stats()`, for thread and process actors.

Every number is checked against what the test sent and what the actor
handled. Process actors' counters come through the worker's reports, so
each check names the route: a fresh gather (`stats()`) is exact at once; a
ref's view in the parent reads the last push, which catches up within a
report period.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

import pytest
from helpers import wait_until
from process_actors import Echo, ProcessTally, ThreadTally

import pykka_rs as pykka
from pykka_rs import _core

if TYPE_CHECKING:
    from pathlib import Path

KINDS = {"thread": ThreadTally, "process": ProcessTally}


@pytest.fixture(params=list(KINDS))
def tally(request: pytest.FixtureRequest) -> type[pykka.Actor]:
    return KINDS[request.param]  # type: ignore[return-value]


def fresh(ref: pykka.ActorRef[Any]) -> pykka.ActorStats:
    """The actor's record in a snapshot taken now."""
    (found,) = [a for a in pykka.stats().actors if a.actor_urn == ref.actor_urn]
    return found


def test_metrics_agree_with_what_was_sent_and_handled_under_concurrent_load(
    tally: type[pykka.Actor],
) -> None:
    ref = tally.start()
    senders, tells, fails = 4, 400, 25
    failures: list[pykka.Future[Any]] = []
    lock = threading.Lock()

    def send() -> None:
        mine = []
        for i in range(tells):
            ref.tell(i)
            if i % (tells // fails) == 0:
                mine.append(ref.ask("fail", block=False))
        with lock:
            failures.extend(mine)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in failures:
        with pytest.raises(ValueError, match="asked to fail"):
            future.get(timeout=30)
    assert ref.ask("last", timeout=30) == "last"

    total = senders * (tells + fails) + 1
    failed = senders * fails
    expected = {
        "sent": total,
        "handled": total - failed,
        "failed": failed,
        "waiting": 0,
        "dropped": 0,
    }
    record = fresh(ref)
    assert {key: getattr(record, key) for key in expected} == expected
    assert 1 <= record.high_water <= total
    assert record.p50 is not None
    assert record.p90 is not None
    assert record.p99 is not None
    assert 0 < record.p50 <= record.p90 <= record.p99
    # Every message on its own is timed; in a queue, one in sixteen or more.
    assert total // 16 <= record.timed <= total
    assert 0 < record.timed_seconds <= record.busy
    assert (record.actor_class, record.process == 0) == (
        tally.__name__,
        tally is ThreadTally,
    )
    # The ref's own view agrees, once the worker's report has caught up.
    wait_until(lambda: ref.stats.handled == total - failed)
    view = ref.stats
    assert {key: getattr(view, key) for key in expected} == expected
    ref.stop()


def test_depth_counts_the_messages_queued_behind_a_busy_actor_without_waiting_on_it(
    tally: type[pykka.Actor], tmp_path: Path
) -> None:
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    ref = tally.start()
    proxy = ref.proxy()
    blocked = proxy.block(str(fifo))
    # The actor is inside block() once it opened the FIFO: opening the
    # writing end waits for that.
    with fifo.open("wb") as gate:
        for i in range(7):
            ref.tell(i)
        # Read while the actor is stuck in a handler: never waits on it.
        assert fresh(ref).waiting == 7
        wait_until(lambda: ref.waiting == 7)
        assert ref.stats.high_water >= 7
        gate.write(b"!")
    blocked.get(timeout=30)
    assert ref.ask("after", timeout=30) == "after"
    assert fresh(ref).waiting == 0
    wait_until(lambda: ref.waiting == 0)
    ref.stop()


def test_stats_lists_every_actor_every_worker_and_every_channel() -> None:
    here = ThreadTally.start()
    channel: pykka.Channel[str] = pykka.Channel(3, name="listed")
    channel.send("waiting")
    there = [ProcessTally.start_on(seat) for seat in (0, 1)]
    snapshot = pykka.stats()
    listed = {(a.actor_class, a.actor_urn, a.process) for a in snapshot.actors}
    workers = {w.seat: w for w in snapshot.workers}
    assert listed == {
        ("ThreadTally", here.actor_urn, 0),
        *(
            ("ProcessTally", ref.actor_urn, workers[seat].process)
            for seat, ref in enumerate(there)
        ),
    }
    assert sorted(workers) == [0, 1]
    for worker in workers.values():
        assert worker.pid not in (0, os.getpid())
        assert worker.actors == 1
        assert worker.restarts == 0
        assert worker.cpu_seconds > 0
        assert worker.rss_bytes is not None
        assert worker.rss_bytes > 1 << 20
    assert snapshot.pid == os.getpid()
    assert snapshot.cpu_seconds > 0
    assert [c for c in snapshot.channels if c.name == "listed"] == [
        pykka.ChannelStats(
            name="listed",
            process=0,
            capacity=3,
            waiting=1,
            sent=1,
            received=0,
            high_water=1,
            closed=False,
        )
    ]
    assert snapshot.metrics is True
    # It survives a trip through plain data, as top's endpoint sends it.
    assert pykka.SystemStats.from_dict(snapshot.to_dict()) == snapshot
    for ref in [here, *there]:
        ref.stop()
    assert pykka.stats().actors == []


def test_a_message_for_an_actor_that_is_gone_counts_as_a_dead_letter() -> None:
    ref = ProcessTally.start()
    before = pykka.stats().dead_letters
    process, _ = ref.actor_inbox.export()  # type: ignore[attr-defined]
    # No such actor there: the worker drops it, then answers the gather
    # (which follows the tell on the same link).
    _core.RemoteMailbox(process, 2**40).tell("lost")
    assert pykka.stats().dead_letters == before + 1
    ref.stop()


def test_a_worker_reads_the_stats_of_other_processes_through_the_parent() -> None:
    local = ThreadTally.start()
    local.ask("counted")
    remote = Echo.start().proxy()
    seen = remote.run(functools.partial(getattr, local, "stats")).get(timeout=30)
    assert (seen.actor_urn, seen.process, seen.handled) == (local.actor_urn, 0, 1)
    whole = remote.run(pykka.stats).get(timeout=30)
    assert {a.actor_urn for a in whole.actors} >= {local.actor_urn}
    local.stop()
    remote.actor_ref.stop()


def test_a_replaced_worker_counts_as_a_restart_of_its_seat() -> None:
    ref = ProcessTally.start_on(1)
    (victim,) = [w for w in pykka.stats().workers if w.seat == 1]
    os.kill(victim.pid, signal.SIGKILL)

    def replaced() -> bool:
        seat = [w for w in pykka.stats().workers if w.seat == 1]
        return bool(seat) and seat[0].restarts == 1 and seat[0].pid != victim.pid

    wait_until(replaced, timeout=30)
    with pytest.raises(pykka.ActorDeadError):
        _ = ref.stats


def test_metrics_off_stops_timing_and_counting_outcomes_but_not_the_depth(
    tally: type[pykka.Actor],
) -> None:
    # Set before the pool starts: its workers take the setting.
    pykka.configure(metrics=False)
    try:
        ref = tally.start()
        for i in range(10):
            ref.tell(i)
        ref.ask("last")
        off = fresh(ref)
        assert (off.sent, off.waiting) == (11, 0)
        assert (off.handled, off.timed, off.high_water, off.p50) == (0, 0, 0, None)
        assert pykka.stats().metrics is False
        if tally is ProcessTally:
            # Its counters are still pushed: no round trip to read them.
            wait_until(lambda: ref.stats.sent == 11 and ref.stats.age > 0)
    finally:
        pykka.configure(metrics=True)
    ref.ask("timed")
    if tally is ThreadTally:
        assert (ref.stats.handled, ref.stats.timed) == (1, 1)
    ref.stop()


def test_stats_of_an_actor_without_a_pykka_rs_mailbox_is_a_type_error() -> None:
    import queue  # noqa: PLC0415 (this test alone needs it)

    class QueueActor(pykka.ThreadingActor):
        @staticmethod
        def _create_actor_inbox() -> Any:
            return queue.Queue()

    ref = QueueActor.start()
    with pytest.raises(TypeError, match="inbox of type Queue"):
        _ = ref.stats
    ref.stop()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_configure_metrics_takes_a_bool_only(value: Any) -> None:
    if value is None:
        pykka.configure(metrics=value)  # None leaves it as it is
        assert _core.metrics() is True
        return
    with pytest.raises(TypeError, match="metrics must be True or False"):
        pykka.configure(metrics=value)
    assert _core.metrics() is True


def test_supervised_children_are_listed_once_across_their_restarts() -> None:
    from supervised_actors import ProcessMember, ThreadMember  # noqa: PLC0415

    supervisor = pykka.Supervisor.start(
        [
            pykka.ChildSpec(ThreadMember, ("thread",), id="thread"),
            pykka.ChildSpec(ProcessMember, ("process",), id="process"),
        ]
    )
    children = {key: ref for key, ref, _ in supervisor.proxy().which_children().get()}
    thread, process = children["thread"], children["process"]

    def listed() -> dict[str, tuple[str, int, int]]:
        rows = [a for a in pykka.stats().actors if a.actor_class != "Supervisor"]
        assert {a.supervisor for a in rows} <= {supervisor.actor_urn}
        return {a.actor_urn: (a.actor_class, a.handled, a.failed) for a in rows}

    for child in (thread, process):
        child.proxy().ping().get(timeout=30)
    assert listed() == {
        thread.actor_urn: ("ThreadMember", 1, 0),
        process.actor_urn: ("ProcessMember", 1, 0),
    }
    for child in (thread, process):
        with pytest.raises(ZeroDivisionError):
            child.proxy().crash().get(timeout=30)
        child.proxy().ping().get(timeout=30)  # handled by the next run
    # One row each, with the counts of every run: the runs share a mailbox.
    assert listed() == {
        thread.actor_urn: ("ThreadMember", 2, 1),
        process.actor_urn: ("ProcessMember", 2, 1),
    }
    assert (thread.stats.handled, process.stats.failed) == (2, 1)
    assert thread.stats.supervisor == process.stats.supervisor == supervisor.actor_urn
    supervisor.stop()
    assert listed() == {}


def test_stats_of_a_supervised_process_actor_wait_through_its_restart() -> None:
    from supervised_actors import ProcessMember  # noqa: PLC0415

    supervisor = pykka.Supervisor.start(
        [pykka.ChildSpec(ProcessMember, ("process",), id="process")]
    )
    ((_, child, _),) = supervisor.proxy().which_children().get()
    child.proxy().ping().get(timeout=30)
    before = child.stats
    os.kill(child.proxy().pid().get(timeout=30), signal.SIGKILL)
    # Read at once: the relay may still point at the dead worker.
    after = child.stats
    assert (before.handled, after.handled) == (1, 0)
    assert after.process != before.process
    assert after.supervisor == supervisor.actor_urn
    listed = [a.process for a in pykka.stats().actors if a.actor_urn == child.actor_urn]
    assert listed == [after.process]
    supervisor.stop()
    with pytest.raises(pykka.ActorDeadError):
        _ = child.stats

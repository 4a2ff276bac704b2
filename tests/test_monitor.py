"""`pykka_rs.monitor()` and `link()`: told once, with the reason, in any process."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Any

import pytest
from supervised_actors import Journal, ProcessMember, ThreadMember

import pykka_rs as pykka
from pykka_rs import ActorDeadError, ActorExit

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def journal() -> Iterator[pykka.ActorRef[Any]]:
    ref = Journal.start()
    yield ref
    pykka.ActorRegistry.stop_all()


class Collector:
    """A monitor callback that keeps what it is told and lets a test wait."""

    def __init__(self) -> None:
        self.ends: list[ActorExit] = []
        self.told = threading.Event()

    def __call__(self, end: ActorExit) -> None:
        self.ends.append(end)
        self.told.set()

    def one(self) -> ActorExit:
        assert self.told.wait(20), "the monitor was never told"
        (end,) = self.ends
        return end


class Slow(pykka.ThreadingActor):
    """Handles each message slowly enough that a stop queues behind them."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: list[int] = []

    def on_receive(self, message: Any) -> Any:
        self.handled.append(message)
        return message


def test_a_thread_actor_stopping_tells_its_monitor_once_after_its_last_message() -> (
    None
):
    ref = Slow.start()
    actor = ref._actor_weakref()
    assert actor is not None
    collector = Collector()
    seen_at_end: list[list[int]] = []

    def callback(end: ActorExit) -> None:
        seen_at_end.append(list(actor.handled))
        collector(end)

    watch = pykka.monitor(ref, callback)
    for n in range(50):
        ref.tell(n)
    ref.stop()
    end = collector.one()
    assert (end.actor_ref, end.reason, end.exception) == (ref, "normal", None)
    assert seen_at_end == [list(range(50))]
    assert not watch.active
    assert watch.cancel() is False


def test_a_failure_is_told_with_its_exception_and_traceback() -> None:
    ref = ThreadMember.start("m")
    collector = Collector()
    pykka.monitor(ref, collector)
    ref.proxy().crash.defer()
    end = collector.one()
    assert end.reason == "failure"
    assert end.abnormal
    assert isinstance(end.exception, ZeroDivisionError)
    assert end.traceback is not None
    assert "in crash" in end.traceback
    assert "m crashed" in end.traceback


def test_an_actor_monitoring_is_told_by_a_message(journal: pykka.ActorRef[Any]) -> None:
    watched = ThreadMember.start("watched")
    pykka.monitor(watched, journal)
    watched.stop()
    (event,) = Journal.of(journal).wait_for(lambda e: len(e) == 1)
    assert isinstance(event, ActorExit)
    assert (event.actor_ref, event.reason) == (watched, "normal")


def test_a_monitor_of_an_actor_that_ended_is_told_at_once_with_the_real_reason() -> (
    None
):
    ref = ThreadMember.start("m")
    first = Collector()
    pykka.monitor(ref, first)
    ref.proxy().crash.defer()
    first.one()
    late = Collector()
    pykka.monitor(ref, late)
    assert late.told.is_set()
    assert late.one().reason == "failure"


def test_a_cancelled_monitor_is_never_told() -> None:
    ref = ThreadMember.start("m")
    collector = Collector()
    kept = Collector()
    watch = pykka.monitor(ref, collector)
    pykka.monitor(ref, kept)
    assert watch.cancel() is True
    assert watch.cancel() is False
    ref.stop()
    kept.one()
    assert collector.ends == []


def test_a_callback_that_raises_is_logged_and_others_are_still_told(
    log_records: Any,
) -> None:
    ref = ThreadMember.start("m")

    def broken(_end: ActorExit) -> None:
        msg = "monitor bug"
        raise RuntimeError(msg)

    collector = Collector()
    pykka.monitor(ref, broken)
    pykka.monitor(ref, collector)
    ref.stop()
    collector.one()
    log_records.wait_for(lambda r: "failed to take" in r.getMessage())


def test_monitor_refuses_what_it_cannot_watch_or_tell() -> None:
    ref = ThreadMember.start("m")
    with pytest.raises(TypeError, match="watches an ActorRef"):
        pykka.monitor("not a ref", print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tells a callable or an ActorRef"):
        pykka.monitor(ref, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="two ActorRefs"):
        pykka.link(ref, "other")  # type: ignore[arg-type]
    ref.stop()


def test_the_end_of_a_shut_down_actor_reads_shutdown() -> None:
    ref = ThreadMember.start("m")
    collector = Collector()
    pykka.monitor(ref, collector)
    ref.tell(pykka.messages._Shutdown())
    assert collector.one().reason == "shutdown"


# --- Across processes -------------------------------------------------------------


def test_a_process_actor_is_watched_from_the_parent() -> None:
    normal = ProcessMember.start("normal")
    failing = ProcessMember.start("failing")
    stopped, failed = Collector(), Collector()
    pykka.monitor(normal, stopped)
    pykka.monitor(failing, failed)
    normal.stop()
    failing.proxy().crash.defer()
    assert stopped.one().reason == "normal"
    end = failed.one()
    assert end.reason == "failure"
    assert isinstance(end.exception, ZeroDivisionError)
    assert "failing crashed" in (end.traceback or "")
    assert end.actor_ref is failing


def test_a_process_actor_whose_worker_is_killed_is_told_killed_with_the_cause() -> None:
    ref = ProcessMember.start("victim")
    collector = Collector()
    pykka.monitor(ref, collector)
    pid = ref.proxy().pid().get()
    os.kill(pid, signal.SIGKILL)
    end = collector.one()
    assert end.reason == "killed"
    assert f"(pid {pid}) killed by SIGKILL" in end.detail


def test_a_process_actor_watches_a_thread_actor_of_the_parent(
    journal: pykka.ActorRef[Any],
) -> None:
    watched = ThreadMember.start("watched")
    watcher = ProcessMember.start("watcher", journal)
    watcher.proxy().watch(watched).get()
    watched.proxy().crash.defer()
    events = Journal.of(journal).wait_for(lambda e: any(x[0] == "told" for x in e))
    (told,) = [x for x in events if x[0] == "told"]
    assert told[1:] == ("watcher", "failure", str(watched))


def test_a_monitor_set_up_after_the_end_of_a_process_actor_hears_the_reason() -> None:
    ref = ProcessMember.start("gone")
    first = Collector()
    pykka.monitor(ref, first)
    ref.proxy().crash.defer()
    first.one()
    late = Collector()
    pykka.monitor(ref, late)
    assert late.told.is_set()
    assert late.one().reason == "failure"


# --- Links -----------------------------------------------------------------------


def test_a_failure_stops_a_linked_actor_with_a_link_error() -> None:
    first = ThreadMember.start("first")
    second = ThreadMember.start("second")
    ends = Collector()
    pykka.monitor(second, ends)
    pykka.link(first, second)
    first.proxy().ping().get()  # both links are set up: each handled its request
    second.proxy().ping().get()
    first.proxy().crash.defer()
    end = ends.one()
    assert end.reason == "failure"
    assert isinstance(end.exception, pykka.LinkError)
    assert end.exception.exit.actor_ref == first
    assert isinstance(end.exception.__cause__, ZeroDivisionError)


def test_a_normal_end_does_not_stop_a_linked_actor() -> None:
    first = ThreadMember.start("first")
    second = ThreadMember.start("second")
    pykka.link(first, second)
    first.proxy().ping().get()
    second.proxy().ping().get()
    first.stop()
    assert second.proxy().ping().get() == ("second", 2)
    second.stop()


def test_an_actor_trapping_exits_gets_the_end_as_a_message(
    journal: pykka.ActorRef[Any],
) -> None:
    trapper = ThreadMember.start("trapper", journal, trap=True)
    crasher = ThreadMember.start("crasher")
    pykka.link(trapper, crasher)
    trapper.proxy().ping().get()
    crasher.proxy().ping().get()
    crasher.proxy().crash.defer()
    events = Journal.of(journal).wait_for(
        lambda e: any(x[0] == "received" and isinstance(x[2], ActorExit) for x in e)
    )
    (exit_message,) = [x[2] for x in events if x[0] == "received"]
    assert (exit_message.actor_ref, exit_message.reason) == (crasher, "failure")
    assert trapper.is_alive()
    trapper.stop()


def test_unlinked_actors_go_their_own_ways() -> None:
    first = ThreadMember.start("first")
    second = ThreadMember.start("second")
    pykka.link(first, second)
    pykka.unlink(first, second)
    first.proxy().ping().get()
    second.proxy().ping().get()
    first.proxy().crash.defer()
    assert first.actor_stopped.wait(20)
    assert second.proxy().ping().get() == ("second", 2)
    second.stop()


def test_linking_to_an_actor_that_ended_stops_the_other_at_once() -> None:
    dead = ThreadMember.start("dead")
    dead.proxy().crash.defer()
    assert dead.actor_stopped.wait(20)
    alive = ThreadMember.start("alive")
    ends = Collector()
    pykka.monitor(alive, ends)
    pykka.link(alive, dead)
    assert ends.one().reason == "failure"
    with pytest.raises(ActorDeadError):
        dead.tell("the link did not bring it back")


def test_a_worker_killed_under_a_linked_process_actor_stops_the_thread_actor() -> None:
    victim = ProcessMember.start("victim")
    partner = ThreadMember.start("partner")
    ends = Collector()
    pykka.monitor(partner, ends)
    pykka.link(victim, partner)
    victim.proxy().ping().get()
    partner.proxy().ping().get()
    os.kill(victim.proxy().pid().get(), signal.SIGKILL)
    end = ends.one()
    assert end.reason == "failure"
    assert isinstance(end.exception, pykka.LinkError)
    assert end.exception.exit.reason == "killed"

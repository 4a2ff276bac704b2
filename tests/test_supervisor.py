"""`pykka_rs.Supervisor` with real thread and process actors.

The supervisor's decisions are checked against a model of OTP's in
tests/stateful/ and tests/test_supervisor_core.py; here the driver carries
them out on actors. OTP's supervisor_SUITE (lib/stdlib/test) as a
checklist, case by case:

- sup_start_normal:
  test_a_supervisor_starts_its_children_in_order_and_stops_them_newest_first
- sup_start_ignore_init, sup_start_ignore_child,
  sup_start_ignore_temporary_child, sup_start_ignore_temporary_child_start_child,
  sup_start_ignore_temporary_child_start_child_simple,
  sup_start_ignore_permanent_child_start_child_simple: do not apply. A
  Pykka actor's constructor cannot answer `ignore`; it starts or raises.
- sup_start_error_return, sup_flags:
  test_settings_that_cannot_work_raise_at_the_call (there is no init
  callback to return a bad value; bad settings are the counterpart)
- sup_start_fail:
  test_a_supervisor_whose_child_fails_to_start_raises_and_stops_the_others,
  test_an_on_start_that_raises_is_a_failed_start,
  test_a_supervisor_whose_constructor_raises_raises_at_start
- sup_start_map: test_a_child_spec_reads_back_with_otps_defaults
- sup_start_map_faulty_specs, child_specs:
  test_a_faulty_child_spec_is_refused_where_it_is_made
- sup_stop_infinity: test_shutdown_infinity_waits_for_a_slow_child
- sup_stop_timeout:
  test_a_thread_child_that_does_not_stop_in_time_is_abandoned_and_reported_killed,
  test_a_process_child_that_does_not_stop_in_time_is_killed_with_its_worker
- sup_stop_brutal_kill: test_brutal_kill_does_not_wait_for_a_thread_child
- child_adm: test_children_are_added_terminated_restarted_and_deleted
- child_adm_simple, simple_one_for_one, simple_one_for_one_extra:
  test_a_simple_one_for_one_pool_grows_and_shrinks
- extra_return: does not apply (a start returns the child's ref only).
- multiple_restarts, one_for_one_escalation, rest_for_one_escalation:
  test_more_restarts_than_the_intensity_allows_escalate (the rule is the
  strategy's, checked at the core for each strategy)
- one_for_one: test_one_for_one_restarts_only_the_child_that_failed
- one_for_all: test_one_for_all_restarts_every_child
- one_for_all_escalation:
  test_one_for_all_escalates_when_restarts_keep_failing
- one_for_all_other_child_fails_restart, rest_for_one_other_child_fails_restart,
  hanging_restart_loop, hanging_restart_loop_simple:
  test_a_restart_whose_start_fails_is_retried_until_the_intensity_gives_up
- simple_one_for_one_shutdown:
  test_a_simple_one_for_one_supervisor_stops_its_pool_at_once
- simple_one_for_one_escalation:
  test_a_simple_one_for_one_pool_escalates_like_any_supervisor
- rest_for_one:
  test_rest_for_one_restarts_the_child_and_those_started_after_it
- permanent_normal, transient_normal, temporary_normal:
  test_restart_types_decide_after_a_normal_end
- permanent_shutdown, transient_shutdown, temporary_shutdown:
  test_restart_types_decide_after_a_shutdown_end
- faulty_application_shutdown: does not apply (no OTP applications).
- permanent_abnormal, transient_abnormal, temporary_abnormal:
  test_restart_types_decide_after_a_failure
- temporary_bystander:
  test_a_temporary_bystander_of_a_group_restart_is_forgotten
- child_unlink: does not apply. A child cannot unlink from its supervisor:
  the supervisor hears of each run's end through the run itself, and of a
  worker's death through the node.
- tree:
  test_a_tree_escalates_to_the_parent_supervisor_which_restarts_the_subtree
- count_children: test_count_children_counts_specs_runs_and_kinds
- do_not_save_start_parameters_for_temporary_children,
  do_not_save_child_specs_for_temporary_children:
  test_a_temporary_child_is_forgotten_once_it_ends
- simple_one_for_one_scale_many_temporary_children:
  test_a_simple_one_for_one_pool_of_many_temporary_children_scales
- simple_global_supervisor: does not apply (no global names).
- code_change, code_change_map, code_change_simple, code_change_simple_map:
  do not apply (no hot code loading).

Beyond OTP: stable refs (messages sent during a restart reach the next
run; the message being handled at the crash is reported), backoff, process
children (restarted in place after a crash, on a live worker after their
worker is killed), mixed trees, and `ActorRegistry.stop_all()` with
supervisors.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

import pytest
from helpers import wait_until
from supervised_actors import (
    RELEASE,
    Journal,
    Nested,
    ProcessMember,
    ThreadMember,
)

import pykka_rs as pykka
from pykka_rs import ActorDeadError, ActorRegistry, Backoff, ChildSpec, Supervisor
from pykka_rs._supervisor import supervisor_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from conftest import Recorder


@pytest.fixture
def journal() -> Iterator[pykka.ActorRef[Any]]:
    ref = Journal.start()
    yield ref
    ActorRegistry.stop_all()


def started(events: list[tuple[Any, ...]]) -> list[str]:
    return [e[1] for e in events if e[0] == "start"]


def stopped(events: list[tuple[Any, ...]]) -> list[str]:
    return [e[1] for e in events if e[0] == "stop"]


def starts_of(name: str) -> Callable[[list[tuple[Any, ...]]], int]:
    return lambda events: started(events).count(name)


def member(name: str, journal: pykka.ActorRef[Any], **spec: Any) -> ChildSpec:
    return ChildSpec(ThreadMember, (name, journal), id=name, **spec)


def ends(ref: pykka.ActorRef[Any]) -> list[pykka.ActorExit]:
    """A list that the end of `ref` is appended to, once it comes."""
    found: list[pykka.ActorExit] = []
    pykka.monitor(ref, found.append)
    return found


# --- Starting and stopping ---------------------------------------------------------


def test_a_supervisor_starts_its_children_in_order_and_stops_them_newest_first(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start([member(n, journal) for n in ("a", "b", "c")])
    # start() returns once every child has started: their refs answer.
    refs = children(sup)
    assert [ref.proxy().ping().get() for ref in refs] == [("a", 1), ("b", 1), ("c", 1)]
    events = Journal.of(journal).wait_for(lambda e: len(started(e)) == 3)
    assert started(events) == ["a", "b", "c"]
    assert sup.stop() is True
    events = Journal.of(journal).wait_for(lambda e: len(stopped(e)) == 3)
    assert stopped(events) == ["c", "b", "a"]
    assert not any(ref.is_alive() for ref in refs)


def children(sup: pykka.ActorRef[Any]) -> list[pykka.ActorRef[Any]]:
    """The refs of a supervisor's children, which must all be running."""
    refs = [ref for _, ref, _ in sup.proxy().which_children().get()]
    assert all(isinstance(ref, pykka.ActorRef) for ref in refs), refs
    return refs


def test_a_supervisor_whose_child_fails_to_start_raises_and_stops_the_others(
    journal: pykka.ActorRef[Any],
) -> None:
    specs = [
        member("first", journal),
        ChildSpec(ThreadMember, ("second", journal), {"fail_start": True}, id="second"),
        member("third", journal),
    ]
    with pytest.raises(pykka.SupervisorError) as raised:
        Supervisor.start(specs)
    assert raised.value.code == "failed_to_start_child"
    assert raised.value.child == "second"
    assert "second refuses to start" in str(raised.value)
    events = Journal.of(journal).wait_for(lambda e: stopped(e) == ["first"])
    assert started(events) == ["first"]
    # Nothing of it is left running.
    assert ActorRegistry.get_all() == [journal]


def test_an_on_start_that_raises_is_a_failed_start(
    journal: pykka.ActorRef[Any],
) -> None:
    specs = [
        member("first", journal),
        ChildSpec(
            ThreadMember, ("second", journal), {"fail_on_start": True}, id="second"
        ),
    ]
    with pytest.raises(pykka.SupervisorError, match="second cannot begin") as raised:
        Supervisor.start(specs)
    assert raised.value.code == "failed_to_start_child"
    Journal.of(journal).wait_for(lambda e: stopped(e) == ["first"])
    assert ActorRegistry.get_all() == [journal]


class Refuses(Supervisor):
    def __init__(self) -> None:
        msg = "no"
        raise ValueError(msg)


def test_a_supervisor_whose_constructor_raises_raises_at_start() -> None:
    with pytest.raises(ValueError, match="no"):
        Refuses.start()


def test_settings_that_cannot_work_raise_at_the_call() -> None:
    with pytest.raises(ValueError, match="strategy must be one of"):
        Supervisor.start([], strategy="one_for_some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="within must be more than 0"):
        Supervisor.start([], within=0)
    with pytest.raises(ValueError, match="max_restarts"):
        Supervisor.start([], max_restarts=-1)
    with pytest.raises(TypeError, match="max_restarts must be an int"):
        Supervisor.start([], max_restarts=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ChildSpecs, not str"):
        Supervisor.start(["a"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="backoff must be a Backoff"):
        Supervisor.start([], backoff={"min": 1})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backoff"):
        Supervisor.start([], backoff=Backoff(min=2.0, max=1.0))
    spec = ChildSpec(ThreadMember, ("x",))
    with pytest.raises(ValueError, match='two child specs have the id "ThreadMember"'):
        Supervisor.start([spec, spec])
    assert ActorRegistry.get_all() == []


def test_a_faulty_child_spec_is_refused_where_it_is_made() -> None:
    with pytest.raises(TypeError, match="ThreadingActor or ProcessActor subclass"):
        ChildSpec(object)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="args is a tuple"):
        ChildSpec(ThreadMember, ["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="kwargs is a mapping"):
        ChildSpec(ThreadMember, kwargs=[1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='restart is "permanent"'):
        ChildSpec(ThreadMember, restart="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shutdown"):
        ChildSpec(ThreadMember, shutdown="never")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0 seconds or more"):
        ChildSpec(ThreadMember, shutdown=-1.0)
    with pytest.raises(TypeError, match="id is a str"):
        ChildSpec(ThreadMember, id=3)  # type: ignore[arg-type]


def test_a_child_spec_reads_back_with_otps_defaults(
    journal: pykka.ActorRef[Any],
) -> None:
    spec = ChildSpec(ThreadMember, ("w", journal))
    assert (spec.child_id, spec.kind, spec.restart) == (
        "ThreadMember",
        "worker",
        "permanent",
    )
    nested = ChildSpec(Nested, (journal,))
    assert nested.kind == "supervisor"
    sup = Supervisor.start([spec, nested])
    proxy = sup.proxy()
    assert proxy.child_spec("ThreadMember").get() == spec
    assert proxy.child_spec("Nested").get() == nested
    assert proxy.child_spec("nobody").get() is None
    kinds = [(key, kind) for key, _, kind in proxy.which_children().get()]
    assert kinds == [("ThreadMember", "worker"), ("Nested", "supervisor")]
    sup.stop()


# --- Restarts, stable refs ----------------------------------------------------


def test_one_for_one_restarts_only_the_child_that_failed(
    journal: pykka.ActorRef[Any], log_records: Recorder
) -> None:
    sup = Supervisor.start([member("a", journal), member("b", journal)], max_restarts=3)
    a, b = children(sup)
    a_ends = ends(a)
    assert a.proxy().ping().get() == ("a", 1)
    a.proxy().crash.defer()
    # The ref is the same, its actor new: its state starts afresh.
    Journal.of(journal).wait_for(lambda e: starts_of("a")(e) == 2)
    assert a.proxy().ping().get() == ("a", 1)
    assert b.proxy().ping().get() == ("b", 1)
    assert starts_of("b")(Journal.of(journal).wait_for(starts_of("b"))) == 1
    assert a.is_alive()
    assert a_ends == []  # a restart is not an end
    # The failure was logged by the child, the restart by the supervisor.
    log_records.wait_for(lambda r: r.getMessage().startswith("Unhandled exception in"))
    log_records.wait_for(
        lambda r: "restarts" in r.getMessage() and "a crashed" in r.getMessage()
    )
    sup.stop()
    assert [e.reason for e in a_ends] == ["shutdown"]


def test_messages_sent_while_a_child_restarts_reach_its_next_run(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start([member("a", journal)], max_restarts=10)
    (a,) = children(sup)
    proxy = a.proxy()
    # The crash and the messages behind it are queued at once: those after
    # the crash are handled by the next run, in order.
    for _ in range(5):
        proxy.crash.defer()
        a.tell("after a crash")
    futures = [proxy.ping() for _ in range(3)]
    assert [f.get(timeout=20) for f in futures] == [("a", 1), ("a", 2), ("a", 3)]
    events = Journal.of(journal).wait_for(
        lambda e: [x[0] for x in e].count("received") == 5
    )
    assert starts_of("a")(events) == 6
    sup.stop()


def test_an_ask_to_a_failing_method_is_answered_with_the_exception_and_no_restart(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start([member("a", journal)])
    (a,) = children(sup)
    with pytest.raises(ZeroDivisionError, match="a crashed"):
        a.proxy().crash().get()
    assert a.proxy().ping().get() == ("a", 1)
    assert starts_of("a")(Journal.of(journal).wait_for(starts_of("a"))) == 1
    sup.stop()


def test_one_for_all_restarts_every_child(journal: pykka.ActorRef[Any]) -> None:
    sup = Supervisor.start(
        [member(n, journal) for n in ("a", "b", "c")],
        strategy="one_for_all",
        max_restarts=3,
    )
    a, b, c = children(sup)
    b.proxy().crash.defer()
    events = Journal.of(journal).wait_for(lambda e: len(started(e)) == 6)
    # The others stopped newest first, then all started again in order.
    assert stopped(events) == ["c", "a"]
    assert started(events)[3:] == ["a", "b", "c"]
    assert [r.proxy().ping().get() for r in (a, b, c)] == [("a", 1), ("b", 1), ("c", 1)]
    sup.stop()


def test_rest_for_one_restarts_the_child_and_those_started_after_it(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member(n, journal) for n in ("a", "b", "c")],
        strategy="rest_for_one",
        max_restarts=3,
    )
    _, b, _ = children(sup)
    b.proxy().crash.defer()
    events = Journal.of(journal).wait_for(lambda e: len(started(e)) == 5)
    assert stopped(events) == ["c"]
    assert started(events)[3:] == ["b", "c"]
    sup.stop()


def test_more_restarts_than_the_intensity_allows_escalate(
    journal: pykka.ActorRef[Any], log_records: Recorder
) -> None:
    sup = Supervisor.start(
        [member("a", journal), member("b", journal)], max_restarts=2, within=60.0
    )
    a, b = children(sup)
    sup_ends = ends(sup)
    for n in range(3):
        Journal.of(journal).wait_for(lambda e, n=n: starts_of("a")(e) == n + 1)
        a.proxy().crash.defer()
    # The third crash in the window: every child stops, the supervisor fails.
    assert sup.actor_stopped.wait(20)
    events = Journal.of(journal).wait_for(lambda e: "b" in stopped(e))
    assert starts_of("a")(events) == 3
    assert not a.is_alive()
    assert not b.is_alive()
    with pytest.raises(ActorDeadError):
        a.tell("anyone?")
    wait_until(lambda: sup_ends != [])
    (end,) = sup_ends
    assert end.reason == "failure"
    assert isinstance(end.exception, pykka.SupervisorError)
    assert end.exception.code == "reached_max_restart_intensity"
    log_records.wait_for(
        lambda r: (
            r.name == "pykka" and "Unhandled exception in Supervisor" in r.getMessage()
        )
    )


def test_one_for_all_escalates_when_restarts_keep_failing(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal), member("b", journal)],
        strategy="one_for_all",
        max_restarts=1,
        within=60.0,
    )
    a, b = children(sup)
    b.proxy().crash.defer()
    Journal.of(journal).wait_for(lambda e: starts_of("b")(e) == 2)
    a.proxy().crash.defer()
    assert sup.actor_stopped.wait(20)
    assert not a.is_alive()
    assert not b.is_alive()


class FailsOnRestart(ThreadMember):
    """Starts once; every later start fails."""

    starts = 0

    def __init__(self, name: str, journal: pykka.ActorRef[Any]) -> None:
        type(self).starts += 1
        super().__init__(name, journal, fail_start=type(self).starts > 1)


def test_a_restart_whose_start_fails_is_retried_until_the_intensity_gives_up(
    journal: pykka.ActorRef[Any],
) -> None:
    FailsOnRestart.starts = 0
    sup = Supervisor.start(
        [member("a", journal), ChildSpec(FailsOnRestart, ("b", journal), id="b")],
        strategy="one_for_all",
        max_restarts=3,
        within=60.0,
    )
    a, b = children(sup)
    b.proxy().crash.defer()
    # The restart of b fails, and so does each retry; each counts.
    assert sup.actor_stopped.wait(20)
    assert FailsOnRestart.starts == 4  # the first start, then 3 restarts
    assert not a.is_alive()


def test_restart_types_decide_after_a_normal_end(journal: pykka.ActorRef[Any]) -> None:
    sup = Supervisor.start(
        [
            member("permanent", journal),
            member("transient", journal, restart="transient"),
            member("temporary", journal, restart="temporary"),
        ],
        max_restarts=5,
    )
    permanent, transient, temporary = children(sup)
    for ref in (permanent, transient, temporary):
        ref.proxy().quit.defer()
    Journal.of(journal).wait_for(lambda e: starts_of("permanent")(e) == 2)
    assert transient.actor_stopped.wait(20)
    assert temporary.actor_stopped.wait(20)
    assert [key for key, _, _ in sup.proxy().which_children().get()] == [
        "permanent",
        "transient",
    ]
    assert sup.proxy().count_children().get() == {
        "specs": 2,
        "active": 1,
        "supervisors": 0,
        "workers": 2,
    }
    sup.stop()


def test_restart_types_decide_after_a_shutdown_end(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [
            member("permanent", journal),
            member("transient", journal, restart="transient"),
            member("temporary", journal, restart="temporary"),
        ],
        max_restarts=5,
    )
    refs = children(sup)
    for ref in refs:
        ref.tell(pykka.messages._Shutdown())
    Journal.of(journal).wait_for(lambda e: starts_of("permanent")(e) == 2)
    assert refs[1].actor_stopped.wait(20)
    assert refs[2].actor_stopped.wait(20)
    assert refs[0].is_alive()
    sup.stop()


def test_restart_types_decide_after_a_failure(journal: pykka.ActorRef[Any]) -> None:
    sup = Supervisor.start(
        [
            member("permanent", journal),
            member("transient", journal, restart="transient"),
            member("temporary", journal, restart="temporary"),
        ],
        max_restarts=5,
    )
    permanent, transient, temporary = children(sup)
    temporary_ends = ends(temporary)
    for ref in (permanent, transient, temporary):
        ref.proxy().crash.defer()
    Journal.of(journal).wait_for(
        lambda e: starts_of("permanent")(e) == 2 and starts_of("transient")(e) == 2
    )
    assert temporary.actor_stopped.wait(20)
    wait_until(lambda: temporary_ends != [])
    (end,) = temporary_ends
    assert end.reason == "failure"
    assert isinstance(end.exception, ZeroDivisionError)
    assert "temporary crashed" in (end.traceback or "")
    sup.stop()


def test_a_temporary_bystander_of_a_group_restart_is_forgotten(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal), member("bystander", journal, restart="temporary")],
        strategy="one_for_all",
        max_restarts=3,
    )
    a, bystander = children(sup)
    a.proxy().crash.defer()
    assert bystander.actor_stopped.wait(20)
    Journal.of(journal).wait_for(lambda e: starts_of("a")(e) == 2)
    assert [key for key, _, _ in sup.proxy().which_children().get()] == ["a"]
    sup.stop()


def test_a_temporary_child_is_forgotten_once_it_ends(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start([], max_restarts=3)
    proxy = sup.proxy()
    temp = proxy.start_child(member("temp", journal, restart="temporary")).get()
    temp.proxy().quit.defer()
    assert temp.actor_stopped.wait(20)
    assert proxy.which_children().get() == []
    assert proxy.child_spec("temp").get() is None
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.restart_child("temp").get()
    assert raised.value.code == "not_found"
    sup.stop()


def test_backoff_holds_messages_until_the_delayed_restart(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal)], max_restarts=3, backoff=Backoff(min=0.05, max=0.05)
    )
    (a,) = children(sup)
    a.proxy().crash.defer()
    answer = a.proxy().ping()
    assert answer.get(timeout=20) == ("a", 1)
    Journal.of(journal).wait_for(lambda e: starts_of("a")(e) == 2)
    sup.stop()


def test_a_long_backoff_shows_the_child_restarting_and_terminating_it_fails_what_waits(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal)], max_restarts=3, backoff=Backoff(min=600.0, max=600.0)
    )
    (a,) = children(sup)
    a.proxy().crash.defer()
    waiting = a.proxy().ping()
    proxy = sup.proxy()
    wait_until(lambda: proxy.which_children().get()[0][1] == "restarting")
    assert a.is_alive()
    proxy.terminate_child("a").get()
    with pytest.raises(ActorDeadError, match="stopped before handling the message"):
        waiting.get(timeout=20)
    assert not a.is_alive()
    sup.stop()


# --- The API -------------------------------------------------------------------


def test_children_are_added_terminated_restarted_and_deleted(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start([member("a", journal)])
    proxy = sup.proxy()
    b = proxy.start_child(member("b", journal)).get()
    assert b.proxy().ping().get() == ("b", 1)
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.start_child(member("b", journal)).get()
    assert raised.value.code == "already_started"
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.delete_child("b").get()
    assert raised.value.code == "running"
    proxy.terminate_child("b").get()
    assert not b.is_alive()
    assert proxy.which_children().get()[1] == ("b", None, "worker")
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.start_child(member("b", journal)).get()
    assert raised.value.code == "already_present"
    again = proxy.restart_child("b").get()
    assert again.proxy().ping().get() == ("b", 1)
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.restart_child("b").get()
    assert raised.value.code == "running"
    proxy.terminate_child("b").get()
    proxy.delete_child("b").get()
    assert [key for key, _, _ in proxy.which_children().get()] == ["a"]
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.terminate_child("nobody").get()
    assert raised.value.code == "not_found"
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.start_child(
            ChildSpec(ThreadMember, ("c", journal), {"fail_start": True}, id="c")
        ).get()
    assert raised.value.code == "start_failed"
    assert proxy.child_spec("c").get() is None
    with pytest.raises(TypeError, match="one ChildSpec"):
        proxy.start_child("not a spec").get()
    sup.stop()


def test_count_children_counts_specs_runs_and_kinds(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal), ChildSpec(Nested, (journal,), id="nested")]
    )
    proxy = sup.proxy()
    assert proxy.count_children().get() == {
        "specs": 2,
        "active": 2,
        "supervisors": 1,
        "workers": 1,
    }
    proxy.terminate_child("a").get()
    assert proxy.count_children().get()["active"] == 1
    sup.stop()


def test_a_simple_one_for_one_pool_grows_and_shrinks(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ThreadMember, (), {"journal": journal}, id="worker")],
        strategy="simple_one_for_one",
        max_restarts=5,
    )
    proxy = sup.proxy()
    first = proxy.start_child("one").get()
    second = proxy.start_child(name="two").get()
    assert first.proxy().ping().get() == ("one", 1)
    assert second.proxy().ping().get() == ("two", 1)
    listed = proxy.which_children().get()
    assert [(ref, kind) for _, ref, kind in listed] == [
        (first, "worker"),
        (second, "worker"),
    ]
    numbers = [key for key, _, _ in listed]
    assert all(isinstance(n, int) for n in numbers)
    assert proxy.child_spec(numbers[0]).get().args == ("one",)
    first.proxy().crash.defer()
    Journal.of(journal).wait_for(lambda e: starts_of("one")(e) == 2)
    assert first.proxy().ping().get() == ("one", 1)
    proxy.terminate_child(numbers[1]).get()
    assert not second.is_alive()
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.restart_child(numbers[0]).get()
    assert raised.value.code == "simple_one_for_one"
    with pytest.raises(pykka.SupervisorError) as raised:
        proxy.delete_child(numbers[0]).get()
    assert raised.value.code == "simple_one_for_one"
    sup.stop()


def test_a_simple_one_for_one_supervisor_stops_its_pool_at_once(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ThreadMember, (), {"journal": journal})],
        strategy="simple_one_for_one",
    )
    refs = [sup.proxy().start_child(f"w{n}").get() for n in range(5)]
    sup.stop()
    assert not any(ref.is_alive() for ref in refs)
    events = Journal.of(journal).wait_for(lambda e: len(stopped(e)) == 5)
    assert sorted(stopped(events)) == [f"w{n}" for n in range(5)]


def test_a_simple_one_for_one_pool_escalates_like_any_supervisor(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ThreadMember, (), {"journal": journal})],
        strategy="simple_one_for_one",
        max_restarts=1,
        within=60.0,
    )
    worker = sup.proxy().start_child("w").get()
    worker.proxy().crash.defer()
    Journal.of(journal).wait_for(lambda e: starts_of("w")(e) == 2)
    worker.proxy().crash.defer()
    assert sup.actor_stopped.wait(20)
    assert not worker.is_alive()


def test_a_simple_one_for_one_pool_of_many_temporary_children_scales(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ThreadMember, (), restart="temporary")],
        strategy="simple_one_for_one",
    )
    proxy = sup.proxy()
    refs = [proxy.start_child(f"t{n}").get() for n in range(100)]
    assert proxy.count_children().get()["active"] == 100
    for ref in refs:
        ref.stop()
    # Ended, temporary: forgotten, arguments and all.
    wait_until(lambda: proxy.which_children().get() == [])
    assert proxy.count_children().get()["active"] == 0
    assert not any(ref.is_alive() for ref in refs)
    sup.stop()


# --- Stopping children -------------------------------------------------------------


def test_shutdown_infinity_waits_for_a_slow_child(journal: pykka.ActorRef[Any]) -> None:
    RELEASE.clear()
    sup = Supervisor.start([member("slow", journal, shutdown="infinity")])
    (slow,) = children(sup)
    slow.proxy().block.defer(5.0)
    Journal.of(journal).wait_for(lambda e: ("blocked", "slow") in e)
    stopping = sup.stop(block=False)
    RELEASE.set()
    assert stopping.get(timeout=20) is True
    events = Journal.of(journal).wait_for(lambda e: stopped(e) == ["slow"])
    assert events


def test_a_thread_child_that_does_not_stop_in_time_is_abandoned_and_reported_killed(
    journal: pykka.ActorRef[Any], log_records: Recorder
) -> None:
    RELEASE.clear()
    sup = Supervisor.start(
        [member("quick", journal), member("stuck", journal, shutdown=0.1)]
    )
    quick, stuck = children(sup)
    stuck_ends = ends(stuck)
    quick_ends = ends(quick)
    stuck.proxy().block.defer(60.0)
    Journal.of(journal).wait_for(lambda e: ("blocked", "stuck") in e)
    assert sup.stop() is True
    (end,) = stuck_ends
    assert end.reason == "killed"
    assert "did not stop within 0.1 seconds" in end.detail
    assert [e.reason for e in quick_ends] == ["shutdown"]
    log_records.wait_for(lambda r: "a thread cannot be killed" in r.getMessage())
    # The abandoned run finishes its message, and goes.
    RELEASE.set()


def test_brutal_kill_does_not_wait_for_a_thread_child(
    journal: pykka.ActorRef[Any],
) -> None:
    RELEASE.clear()
    sup = Supervisor.start([member("brute", journal, shutdown="brutal_kill")])
    (brute,) = children(sup)
    brute_ends = ends(brute)
    brute.proxy().block.defer(60.0)
    Journal.of(journal).wait_for(lambda e: ("blocked", "brute") in e)
    assert sup.stop() is True
    assert [e.reason for e in brute_ends] == ["killed"]
    RELEASE.set()


# --- Trees -------------------------------------------------------------------------


def test_a_tree_escalates_to_the_parent_supervisor_which_restarts_the_subtree(
    journal: pykka.ActorRef[Any],
) -> None:
    top = Supervisor.start(
        [member("sibling", journal), ChildSpec(Nested, (journal, "leaf"), id="nested")],
        max_restarts=3,
        within=60.0,
    )
    nested = top.proxy().get_child("nested").get()
    leaf = nested.proxy().get_child("leaf").get()
    leaf.proxy().crash.defer()
    Journal.of(journal).wait_for(lambda e: starts_of("leaf")(e) == 2)
    leaf.proxy().crash.defer()
    # The nested supervisor gave up (1 restart in 60 s); its own supervisor
    # restarts it, with a new leaf, and leaves the sibling alone.
    Journal.of(journal).wait_for(lambda e: starts_of("leaf")(e) == 3)
    assert nested.is_alive()
    assert not leaf.is_alive()
    new_leaf = nested.proxy().get_child("leaf").get()
    assert new_leaf != leaf
    assert new_leaf.proxy().ping().get() == ("leaf", 1)
    assert starts_of("sibling")(Journal.of(journal).events) == 1
    top.stop()
    events = Journal.of(journal).wait_for(lambda e: "sibling" in stopped(e))
    assert stopped(events)[-2:] == ["leaf", "sibling"]


# --- The registry ------------------------------------------------------------------


def test_stop_all_stops_a_tree_from_the_top_without_restarts(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal), ChildSpec(Nested, (journal,), id="nested")],
        max_restarts=0,
    )
    refs = ActorRegistry.get_all()
    assert sup in refs
    assert len(refs) == 5  # journal, supervisor, a, nested, leaf
    kept = Journal.of(journal)
    stopped_all = ActorRegistry.stop_all()
    assert len(stopped_all) == 5
    events = kept.events
    assert started(events) == ["a", "leaf"]
    assert stopped(events) == ["leaf", "a"]
    assert ActorRegistry.get_all() == []


def test_stopping_a_permanent_child_by_its_ref_starts_it_again(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start([member("a", journal)], max_restarts=3)
    (a,) = children(sup)
    assert a.stop() is True
    Journal.of(journal).wait_for(lambda e: starts_of("a")(e) == 2)
    assert a.is_alive()
    sup.stop()


# --- Process children ----------------------------------------------------------------


def test_a_process_child_restarts_in_place_after_a_crash_keeping_its_messages(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ProcessMember, ("p", journal), id="p")], max_restarts=5
    )
    (p,) = children(sup)
    proxy = p.proxy()
    pid = proxy.pid().get()
    assert pid != os.getpid()
    proxy.crash.defer()
    p.tell("after the crash")
    assert proxy.ping().get(timeout=20) == ("p", 1)
    events = Journal.of(journal).wait_for(
        lambda e: ("received", "p", "after the crash") in e
    )
    assert starts_of("p")(events) == 2
    assert proxy.pid().get() == pid
    sup.stop()


def test_a_process_child_whose_worker_is_killed_restarts_on_a_live_worker(
    journal: pykka.ActorRef[Any], log_records: Recorder
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ProcessMember, ("p", journal), id="p")], max_restarts=5
    )
    (p,) = children(sup)
    proxy = p.proxy()
    pid = proxy.pid().get()
    os.kill(pid, signal.SIGKILL)
    # Once its supervisor knows, it restarts the child on the live worker.
    Journal.of(journal).wait_for(lambda e: starts_of("p")(e) == 2)
    assert proxy.ping().get(timeout=30) == ("p", 1)
    new_pid = proxy.pid().get()
    assert new_pid != pid
    assert new_pid in [w["pid"] for w in pykka._process.workers()]
    log_records.wait_for(
        lambda r: "restarts" in r.getMessage() and "killed by SIGKILL" in r.getMessage()
    )
    sup.stop()


def test_a_process_child_that_does_not_stop_in_time_is_killed_with_its_worker(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [ChildSpec(ProcessMember, ("stuck", journal), id="stuck", shutdown=0.2)]
    )
    (stuck,) = children(sup)
    stuck_ends = ends(stuck)
    stuck.proxy().block.defer(60.0)
    Journal.of(journal).wait_for(lambda e: ("blocked", "stuck") in e)
    assert sup.stop() is True
    (end,) = stuck_ends
    assert end.reason == "killed"
    assert "did not stop within 0.2 seconds" in end.detail


def test_a_tree_mixes_thread_process_and_supervisor_children(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [
            member("thread", journal),
            ChildSpec(ProcessMember, ("process", journal), id="process"),
            ChildSpec(Nested, (journal, "leaf"), id="nested"),
        ],
        strategy="one_for_all",
        max_restarts=3,
    )
    thread, process, _ = children(sup)
    process.proxy().crash.defer()
    events = Journal.of(journal).wait_for(lambda e: len(started(e)) == 6)
    assert started(events) == ["thread", "process", "leaf"] * 2
    assert stopped(events)[:2] == ["leaf", "thread"]
    assert thread.proxy().ping().get() == ("thread", 1)
    assert process.proxy().ping().get() == ("process", 1)
    sup.stop()


def test_a_child_ref_passed_to_another_process_follows_its_restarts(
    journal: pykka.ActorRef[Any],
) -> None:
    sup = Supervisor.start(
        [member("a", journal), ChildSpec(ProcessMember, ("p", journal), id="p")],
        max_restarts=5,
    )
    a, p = children(sup)
    # Each is given the other's ref, pickled across processes.
    assert p.proxy().ping_other(a).get() == ("a", 1)
    assert a.proxy().ping_other(p).get() == ("p", 1)
    a.proxy().crash.defer()
    p.proxy().crash.defer()
    Journal.of(journal).wait_for(
        lambda e: starts_of("a")(e) == 2 and starts_of("p")(e) == 2
    )
    assert p.proxy().ping_other(a).get(timeout=20) == ("a", 1)
    assert a.proxy().ping_other(p).get(timeout=20) == ("p", 1)
    sup.stop()


def test_a_supervised_ref_names_its_supervisor(journal: pykka.ActorRef[Any]) -> None:
    sup = Supervisor.start([member("a", journal)])
    (a,) = children(sup)
    assert supervisor_of(a) == sup
    assert supervisor_of(sup) is None
    assert supervisor_of(journal) is None
    sup.stop()

"""`_core.SupervisorCore` from Python: its actions, its fake clock, and a
clear error for every input it cannot use, with nothing else disturbed.

The decisions themselves are checked against a model of OTP's supervisor in
tests/stateful/test_supervisor_model.py and in the Rust tests.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from pykka_rs import _core


def started_core(
    strategy: str = "one_for_one",
    children: list[Any] | None = None,
    **options: Any,
) -> tuple[_core.SupervisorCore, dict[str, int]]:
    """A started core whose children all started; their incarnations by id."""
    core = _core.SupervisorCore(strategy, children or [], **options)  # type: ignore[arg-type]
    actions = core.start()
    running = {}
    while actions[-1][0] == "start":
        _, child, incarnation = actions[-1]
        running[child] = incarnation
        actions = core.started(incarnation)
    assert actions == [("ready",)]
    return core, running


def test_children_start_one_at_a_time_in_order_then_the_core_is_ready() -> None:
    core = _core.SupervisorCore("one_for_one", [{"id": "a"}, {"id": "b"}])
    assert core.phase == "created"
    assert core.start() == [("start", "a", 0)]
    assert core.busy
    assert core.phase == "starting"
    assert core.started(0) == [("start", "b", 1)]
    assert core.started(1) == [("ready",)]
    assert not core.busy
    assert core.phase == "running"
    assert core.which_children() == [("a", 0, "worker"), ("b", 1, "worker")]


def test_every_kind_of_action_is_a_tuple_named_by_its_first_item() -> None:
    clock = _core.FakeClock()
    core, running = started_core(
        "one_for_one",
        [
            {"id": "a", "shutdown": 0.25},
            {"id": "b", "shutdown": "brutal_kill"},
            {"id": "c", "kind": "supervisor"},
        ],
        backoff={"min": 0.5, "max": 4.0},
        clock=clock,
    )
    # A crash waits for the backoff; the timer then starts the child.
    assert core.exited(running["a"], "failure", "ZeroDivisionError") == [
        ("schedule", 0, 0.5)
    ]
    assert core.which_children()[0] == ("a", "restarting", "worker")
    assert core.timer_fired(0) == [("start", "a", 3)]
    assert core.started(3) == []
    # Replies: done, started, refused with OTP's code and a message.
    assert core.terminate_child(1, "a") == [("stop", "a", 3, 0.25)]
    assert core.exited(3, "shutdown") == [("reply", 1, True, None)]
    assert core.restart_child(2, "a") == [("start", "a", 4)]
    assert core.started(4) == [("reply", 2, True, ("a", 4))]
    assert core.delete_child(3, "nobody") == [
        ("reply", 3, False, ("not_found", "no child has that id"))
    ]
    # Shutdown: newest first, each with its shutdown.
    assert core.shutdown() == [("stop", "c", 2, "infinity")]
    assert core.exited(2, "shutdown") == [("stop", "b", 1, "brutal_kill")]
    assert core.exited(1, "failure", "killed") == [("stop", "a", 4, 0.25)]
    assert core.exited(4, "shutdown") == [("stopped",)]
    assert core.phase == "terminated"


def test_exceeding_the_intensity_stops_the_others_and_escalates() -> None:
    clock = _core.FakeClock()
    core, running = started_core(
        "rest_for_one", [{"id": "db"}, {"id": "web"}], clock=clock
    )
    assert core.exited(running["web"], "failure") == [("start", "web", 2)]
    assert core.started(2) == []
    clock.advance(4.5)
    assert core.exited(running["db"], "failure") == [("stop", "web", 2, 5.0)]
    assert core.exited(2, "shutdown") == [
        (
            "escalate",
            "reached_max_restart_intensity",
            "db",
            'restarting child "db" would exceed the restart intensity',
        )
    ]


def test_restarts_further_apart_than_the_window_never_escalate() -> None:
    clock = _core.FakeClock()
    core, running = started_core("one_for_one", [{"id": "a"}], clock=clock)
    incarnation = running["a"]
    for _ in range(5):
        (start,) = core.exited(incarnation, "failure")
        incarnation = start[2]
        assert core.started(incarnation) == []
        clock.advance(5.001)
    assert core.phase == "running"


def test_the_fake_clock_moves_only_when_advanced() -> None:
    clock = _core.FakeClock()
    assert clock.now() == 0.0
    clock.advance(0.25)
    clock.advance(1)
    assert clock.now() == 1.25
    assert repr(clock) == "<pykka_rs._core.FakeClock: 1.25s>"


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_a_fake_clock_refuses_to_go_back_or_to_infinity(seconds: float) -> None:
    clock = _core.FakeClock()
    clock.advance(2)
    with pytest.raises(
        ValueError, match="the time to advance by must be a finite number"
    ):
        clock.advance(seconds)
    assert clock.now() == 2.0


def test_the_same_seed_gives_the_same_jitter_within_its_bounds() -> None:
    def delays(seed: int) -> list[float]:
        core, running = started_core(
            "one_for_one",
            [{"id": "a"}],
            max_restarts=100,
            backoff={"min": 1.0, "max": 8.0, "jitter": 0.5},
            clock=_core.FakeClock(),
            seed=seed,
        )
        incarnation = running["a"]
        found = []
        for _ in range(5):
            ((_, timer, delay),) = core.exited(incarnation, "failure")
            found.append(delay)
            ((_, _, incarnation),) = core.timer_fired(timer)
            core.started(incarnation)
        return found

    first = delays(7)
    assert delays(7) == first
    assert delays(8) != first
    for attempt, delay in enumerate(first):
        base = min(8.0, 2.0**attempt)
        assert base <= delay <= base * 1.5


def test_a_childs_spec_reads_back_with_otps_defaults() -> None:
    core = _core.SupervisorCore(
        "one_for_one",
        [
            {"id": "w"},
            {"id": "s", "kind": "supervisor"},
            {"id": "t", "restart": "temporary", "shutdown": 1},
        ],
    )
    assert core.child_spec("w") == {
        "id": "w",
        "restart": "permanent",
        "shutdown": 5.0,
        "kind": "worker",
    }
    assert core.child_spec("s") == {
        "id": "s",
        "restart": "permanent",
        "shutdown": "infinity",
        "kind": "supervisor",
    }
    assert core.child_spec("t") == {
        "id": "t",
        "restart": "temporary",
        "shutdown": 1.0,
        "kind": "worker",
    }
    assert core.child_spec("nobody") is None
    assert core.count_children() == {
        "specs": 3,
        "active": 0,
        "supervisors": 1,
        "workers": 2,
    }


def test_a_dynamic_child_is_numbered_and_shares_the_template() -> None:
    core, _ = started_core(
        "simple_one_for_one", [{"id": "conn", "restart": "transient"}]
    )
    number, actions = core.start_dynamic_child(10)
    assert (number, actions) == (0, [("start", 0, 0)])
    assert core.started(0) == [("reply", 10, True, (0, 0))]
    assert core.child_spec(0) == core.child_spec(number)
    assert core.child_spec(0) == {
        "id": "conn",
        "restart": "transient",
        "shutdown": 5.0,
        "kind": "worker",
    }
    assert core.which_children() == [(0, 0, "worker")]
    assert core.terminate_child(11, "conn") == [
        (
            "reply",
            11,
            False,
            (
                "simple_one_for_one",
                "a simple_one_for_one supervisor's children have no such id",
            ),
        )
    ]


SPEC_ERRORS = [
    ("not a dict", TypeError, "a child spec is a dict"),
    ({"restart": "permanent"}, ValueError, "a child spec needs an id"),
    ({"id": 3}, TypeError, "a child spec's id is a str, not int"),
    ({"id": "a", "name": "x"}, ValueError, "unknown key 'name' in a child spec"),
    ({"id": "a", "restart": "prmanent"}, ValueError, "a child's restart is"),
    ({"id": "a", "shutdown": -10}, ValueError, "a child's shutdown must be a finite"),
    ({"id": "a", "shutdown": "soon"}, ValueError, "a child's shutdown is a number"),
    ({"id": "a", "shutdown": [1]}, TypeError, "a child's shutdown is a number"),
    ({"id": "a", "kind": "wrker"}, ValueError, "a child's kind is"),
]


@pytest.mark.parametrize(("spec", "error", "message"), SPEC_ERRORS)
def test_a_bad_child_spec_is_refused_with_what_is_wrong(
    spec: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        _core.SupervisorCore("one_for_one", [spec])
    core, running = started_core("one_for_one", [{"id": "b"}])
    with pytest.raises(error, match=message):
        core.start_child(1, spec)
    assert core.which_children() == [("b", running["b"], "worker")]
    assert not core.busy


SETTING_ERRORS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"strategy": "none_for_one"}, ValueError, "strategy must be one of"),
    (
        {"children": [{"id": "a"}, {"id": "a"}]},
        ValueError,
        'two child specs have the id "a"',
    ),
    (
        {"strategy": "simple_one_for_one", "children": []},
        ValueError,
        "takes exactly one child spec, not 0",
    ),
    ({"within": 0}, ValueError, "the restart window must be longer than zero"),
    ({"within": -1}, ValueError, "within must be a positive number of seconds"),
    ({"max_restarts": -1}, ValueError, "max_restarts must be a whole number from 0 to"),
    ({"backoff": 1.0}, TypeError, "backoff is a dict"),
    ({"backoff": {"min": 1}}, ValueError, "backoff needs max"),
    (
        {"backoff": {"min": 1, "max": 2, "mx": 3}},
        ValueError,
        "unknown key 'mx' in a backoff",
    ),
    ({"backoff": {"min": 0, "max": 2}}, ValueError, "min delay must be more than zero"),
    (
        {"backoff": {"min": 2, "max": 1}},
        ValueError,
        "max delay must be at least its min",
    ),
    (
        {"backoff": {"min": 1, "max": 2, "jitter": -0.5}},
        ValueError,
        "jitter must be a finite number, zero or more",
    ),
    (
        {"backoff": {"min": "1", "max": 2}},
        TypeError,
        "backoff's min is a number of seconds",
    ),
    ({"clock": "fake"}, TypeError, "FakeClock"),
]


@pytest.mark.parametrize(("options", "error", "message"), SETTING_ERRORS)
def test_settings_that_cannot_work_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    options = {"strategy": "one_for_one", "children": [], **options}
    with pytest.raises(error, match=message):
        _core.SupervisorCore(**options)


def test_misuse_is_an_error_and_changes_nothing() -> None:
    core = _core.SupervisorCore("one_for_one", [{"id": "a"}])
    with pytest.raises(RuntimeError, match="the supervisor has not been started"):
        core.shutdown()
    with pytest.raises(RuntimeError, match="has not been started"):
        core.terminate_child(1, "a")
    assert core.start() == [("start", "a", 0)]
    with pytest.raises(RuntimeError, match="the supervisor was started already"):
        core.start()
    with pytest.raises(ValueError, match="no start of incarnation 5 is awaited"):
        core.started(5)
    with pytest.raises(
        ValueError, match="incarnation 0 exited before its start was reported"
    ):
        core.exited(0, "failure")
    assert core.started(0) == [("ready",)]
    with pytest.raises(ValueError, match="no incarnation 9 was handed out"):
        core.exited(9, "normal")
    with pytest.raises(
        ValueError, match='reason must be "normal", "shutdown" or "failure"'
    ):
        core.exited(0, "crashed")
    with pytest.raises(ValueError, match="timer 0 is not scheduled"):
        core.timer_fired(0)
    with pytest.raises(TypeError, match=r"a child id is a str .* or an int"):
        core.terminate_child(2, 1.5)
    with pytest.raises(TypeError, match="not bool"):
        core.restart_child(2, True)  # noqa: FBT003
    with pytest.raises(ValueError, match="a dynamic child's number is 0 or more"):
        core.delete_child(2, -1)
    with pytest.raises(OverflowError):
        core.started(-1)
    with pytest.raises(
        RuntimeError, match="start_dynamic_child is not for a one_for_one"
    ):
        core.start_dynamic_child(3)
    # None of it disturbed the supervisor.
    assert core.which_children() == [("a", 0, "worker")]
    assert core.exited(0, "failure") == [("start", "a", 1)]


def test_start_child_is_not_for_a_pool() -> None:
    core, _ = started_core("simple_one_for_one", [{"id": "t"}])
    with pytest.raises(
        RuntimeError, match="start_child is not for a simple_one_for_one"
    ):
        core.start_child(1, {"id": "x"})
    assert core.which_children() == []


def test_after_the_end_calls_are_refused_and_reports_ignored() -> None:
    core, running = started_core("one_for_one", [{"id": "a"}])
    assert core.shutdown() == [("stop", "a", running["a"], 5.0)]
    assert core.exited(running["a"], "shutdown") == [("stopped",)]
    assert core.restart_child(1, "a") == [
        ("reply", 1, False, ("shutting_down", "the supervisor is shutting down"))
    ]
    assert core.exited(running["a"], "failure") == []
    assert core.shutdown() == []
    assert (
        repr(core)
        == "<pykka_rs._core.SupervisorCore: one_for_one, terminated, 1 children>"
    )

"""Stopping with messages queued, failures, and BaseException."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

import pytest

import pykka_rs as pykka

if TYPE_CHECKING:
    from types import TracebackType

    from tests.conftest import Recorder


class Gate(pykka.ThreadingActor):
    """Blocks on its first message until the test opens the gate."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate
        self.handled: list[Any] = []
        self.failures: list[Any] = []
        self.exc_info_inside_on_failure: Any = None

    def on_receive(self, message: Any) -> Any:
        if message == "wait":
            self.gate.wait(10)
        elif message == "fail":
            raise ValueError("bad message")
        elif message == "exit":
            raise SystemExit(3)
        elif message == "stop self":
            self.stop()
        self.handled.append(message)
        return message

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.failures.append((exception_type, exception_value))
        self.exc_info_inside_on_failure = sys.exc_info()


def test_stop_while_messages_are_queued_answers_every_asker() -> None:
    gate = threading.Event()
    ref = Gate.start(gate)
    ref.tell("wait")
    before = ref.ask("before stop", block=False)
    stopped = ref.stop(block=False)
    second_stop = ref.stop(block=False)
    after = ref.ask("after stop", block=False)
    gate.set()

    assert before.get(timeout=5) == "before stop"
    assert stopped.get(timeout=5) is True
    assert second_stop.get(timeout=5) is True
    with pytest.raises(
        pykka.ActorDeadError, match="stopped before handling the message"
    ):
        after.get(timeout=5)
    with pytest.raises(pykka.ActorDeadError, match="not found"):
        ref.tell("too late")


def test_tells_dropped_by_a_stopping_actor_are_reported(log_records: Recorder) -> None:
    gate = threading.Event()
    ref = Gate.start(gate)
    ref.tell("wait")
    ref.tell("fail")  # stops the actor at once, without reaching the rest
    ref.tell("lost 1")
    ref.tell("lost 2")
    gate.set()
    ref.actor_stopped.wait(5)

    (record,) = log_records.wait_for(lambda r: "dropped" in r.getMessage())
    assert record.name == "pykka"
    assert record.levelno == logging.WARNING
    assert f"{ref} stopped before handling 2 message(s)" in record.getMessage()
    assert ref.actor_inbox.stats()["dropped"] == 2  # type: ignore[attr-defined]


def test_on_failure_runs_in_the_except_context_and_the_actor_stops(
    log_records: Recorder,
) -> None:
    ref = Gate.start(threading.Event())
    actor = ref._actor_weakref()
    assert actor is not None
    ref.tell("fail")
    ref.actor_stopped.wait(5)

    assert not ref.is_alive()
    assert pykka.ActorRegistry.get_all() == []
    ((kind, value),) = actor.failures
    assert kind is ValueError
    assert str(value) == "bad message"
    # sys.exc_info() inside on_failure sees the exception, as in an except block.
    assert actor.exc_info_inside_on_failure[1] is value
    (record,) = log_records.wait_for(lambda r: r.levelno == logging.ERROR)
    assert record.getMessage() == f"Unhandled exception in {ref}:"
    assert record.exc_info is not None
    # The traceback starts in the handler, not in pykka_rs's machinery.
    tb = record.exc_info[2]
    assert tb is not None
    assert tb.tb_frame.f_code.co_name == "on_receive"


def test_an_exception_for_an_asker_is_raised_and_the_actor_keeps_running() -> None:
    ref = Gate.start(threading.Event())
    with pytest.raises(ValueError, match="bad message") as info:
        ref.ask("fail")
    assert info.traceback[-1].name == "on_receive"
    assert ref.ask("still here") == "still here"
    ref.stop()


def test_base_exception_stops_every_actor_and_fails_the_asker() -> None:
    bystander = Gate.start(threading.Event())
    ref = Gate.start(threading.Event())
    reply = ref.ask("exit", block=False)

    with pytest.raises(pykka.ActorDeadError, match=r"stopped: SystemExit\(3\)") as info:
        reply.get(timeout=5)
    assert isinstance(info.value.__cause__, SystemExit)
    bystander.actor_stopped.wait(5)
    assert not bystander.is_alive()
    assert not ref.is_alive()
    assert pykka.ActorRegistry.get_all() == []


def test_base_exception_stops_only_the_actors_running_when_it_was_raised() -> None:
    # Pykka's suite starts the next test's actor as soon as the failing
    # actor's on_stop() has run, while that actor goes on to stop the others.
    told = threading.Event()
    newcomer_started = threading.Event()

    class Failing(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> None:
            raise SystemExit(3)

        def on_stop(self) -> None:
            told.set()
            newcomer_started.wait(5)

    failing = Failing.start()
    failing.tell("exit")
    assert told.wait(5)
    newcomer = Gate.start(threading.Event())
    newcomer_started.set()
    failing.actor_stopped.wait(5)
    for thread in threading.enumerate():
        if thread.name.startswith("Failing-"):
            thread.join(5)

    assert newcomer.is_alive()
    assert newcomer.ask("still here", timeout=5) == "still here"
    newcomer.stop()


def test_stop_all_stops_actors_last_started_first() -> None:
    order: list[str] = []

    class Named(pykka.ThreadingActor):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def on_stop(self) -> None:
            order.append(self.name)

    for name in "abc":
        Named.start(name)
    assert pykka.ActorRegistry.stop_all() == [True, True, True]
    assert order == ["c", "b", "a"]


class Named(pykka.ThreadingActor):
    pass


def test_the_actors_thread_has_ended_when_a_blocking_stop_returns() -> None:
    # Pykka's own suite counts actor threads right after the previous test's
    # stop(); the stopping thread must not linger behind the stopper.
    for _ in range(20):
        ref = Named.start()
        ref.stop()
        assert [t for t in threading.enumerate() if t.name.startswith("Named-")] == []

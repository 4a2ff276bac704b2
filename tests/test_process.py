"""ProcessActor: Pykka's API on actors in worker processes."""

from __future__ import annotations

import logging
import os
import pickle
import re
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from process_actors import Announcer, Echo, FailsToStart, LocalEcho, Unpicklable

import pykka_rs as pykka
from pykka_rs import _process

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Recorder


@pytest.fixture
def echo() -> Any:
    ref = Echo.start("first")
    yield ref
    ref.stop()


def test_a_process_actor_runs_in_another_process(echo: Any) -> None:
    assert echo.proxy().pid().get(timeout=10) != os.getpid()
    assert echo.proxy().pid().get(timeout=10) in {w["pid"] for w in _process.workers()}


def test_tell_ask_and_proxies_work_as_for_thread_actors(echo: Any) -> None:
    echo.tell({"told": 1})
    assert echo.ask("asked") == "asked"
    future = echo.ask(["asked", "later"], block=False)
    assert future.get(timeout=10) == ["asked", "later"]
    proxy = echo.proxy()
    assert proxy.tag.get(timeout=10) == "first"
    assert proxy.greeting.get(timeout=10) == "hello"
    proxy.tag = "renamed"
    assert proxy.tag.get(timeout=10) == "renamed"
    assert proxy.counter.add(5).get(timeout=10) == 5
    assert proxy.counter.count.get(timeout=10) == 5
    proxy.counter.add.defer(2)
    assert proxy.history().get(timeout=10) == [{"told": 1}, "asked", ["asked", "later"]]
    assert proxy.counter.count.get(timeout=10) == 7
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        proxy.missing  # noqa: B018


def test_stop_and_is_alive(echo: Any) -> None:
    assert echo.is_alive()
    assert echo.stop() is True
    assert not echo.is_alive()
    assert echo.stop() is False
    with pytest.raises(pykka.ActorDeadError, match=re.escape(f"{echo} not found")):
        echo.tell("too late")
    with pytest.raises(pykka.ActorDeadError, match=re.escape(f"{echo} not found")):
        echo.ask("too late")


def test_the_parents_registry_sees_process_actors(echo: Any) -> None:
    other = Echo.start("second")
    local = LocalEcho.start()
    assert set(pykka.ActorRegistry.get_all()) == {echo, other, local}
    assert set(pykka.ActorRegistry.get_by_class(Echo)) == {echo, other}
    assert pykka.ActorRegistry.get_by_class_name("Echo") == [echo, other]
    assert pykka.ActorRegistry.get_by_urn(other.actor_urn) is other
    pykka.ActorRegistry.broadcast("to everyone", target_class=Echo)
    assert echo.proxy().history().get(timeout=10) == ["to everyone"]
    assert other.proxy().history().get(timeout=10) == ["to everyone"]
    other.stop()
    assert set(pykka.ActorRegistry.get_all()) == {echo, local}
    assert pykka.ActorRegistry.stop_all() == [True, True]
    assert pykka.ActorRegistry.get_all() == []


def test_actors_are_spread_over_the_workers() -> None:
    refs = [Echo.start(str(i)) for i in range(6)]
    pids = [ref.proxy().pid().get(timeout=10) for ref in refs]
    assert len(set(pids)) == 2
    assert sorted(w["actors"] for w in _process.workers()) == [3, 3]
    pykka.ActorRegistry.stop_all()


def test_start_on_chooses_the_worker() -> None:
    first = Echo.start_on(0, "a")
    second = Echo.start_on(1, "b")
    also_first = Echo.start_on(0, "c")
    pid = first.proxy().pid().get(timeout=10)
    assert also_first.proxy().pid().get(timeout=10) == pid
    assert second.proxy().pid().get(timeout=10) != pid
    with pytest.raises(IndexError, match="workers 0 to 1, not 2"):
        Echo.start_on(2)
    pykka.ActorRegistry.stop_all()


def test_an_exception_in_init_is_raised_by_start() -> None:
    with pytest.raises(ValueError, match="refusing to start"):
        FailsToStart.start()
    assert pykka.ActorRegistry.get_all() == []


def test_an_exception_reaches_the_asker_with_its_type_and_remote_traceback(
    echo: Any,
) -> None:
    with pytest.raises(LookupError, match="no such thing") as info:
        echo.proxy().fail("no such thing").get(timeout=10)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "Traceback in the actor's process" in notes
    assert "in fail" in notes
    assert echo.ask("still alive") == "still alive"


def test_an_exception_that_does_not_pickle_arrives_as_a_remote_error(echo: Any) -> None:
    with pytest.raises(pykka.RemoteError) as info:
        echo.proxy().fail_unpicklably("locked in").get(timeout=10)
    assert info.value.type_name == "process_actors.Unpicklable"
    assert info.value.message == "locked in"
    assert "in fail_unpicklably" in info.value.traceback
    assert "process_actors.Unpicklable: locked in" in str(info.value)
    assert issubclass(Unpicklable, Exception)


def test_an_unpicklable_message_raises_at_the_call_and_disturbs_nothing(
    echo: Any,
) -> None:
    lock = threading.Lock()
    with pytest.raises(TypeError, match=r"cannot pickle '_thread\.lock' object"):
        echo.tell(lock)
    with pytest.raises(TypeError, match=r"cannot pickle '_thread\.lock' object"):
        echo.ask(lock)
    with pytest.raises(TypeError, match=r"cannot pickle '_thread\.lock' object"):
        echo.proxy().echo(lock)
    assert echo.ask("fine") == "fine"
    assert echo.proxy().history().get(timeout=10) == ["fine"]


def test_an_unpicklable_reply_is_an_error_for_the_asker(echo: Any) -> None:
    with pytest.raises(TypeError, match=r"cannot pickle '_thread\.lock' object"):
        echo.proxy().make_lock().get(timeout=10)
    assert echo.ask("fine") == "fine"


def test_a_local_class_travels_by_value() -> None:
    class Doubler(pykka.ProcessActor):
        def double(self, x: int) -> tuple[int, int]:
            return x * 2, os.getpid()

        def on_receive(self, message: Any) -> Any:
            return message()

    ref = Doubler.start()
    value, pid = ref.proxy().double(21).get(timeout=10)
    assert (value, pid != os.getpid()) == (42, True)
    assert ref.ask(lambda: 7) == 7  # a lambda message travels too
    ref.stop()


def test_refs_and_proxies_work_from_any_process() -> None:
    a = Echo.start_on(0, "a")
    b = Echo.start_on(1, "b")
    local = LocalEcho.start()
    # worker 0 -> worker 1, routed through the parent
    assert a.proxy().ask_other(b.proxy(), "via parent").get(timeout=10) == "via parent"
    # worker -> thread actor in the parent
    assert (
        a.proxy().ask_other(local.proxy(), "to parent").get(timeout=10) == "to parent"
    )
    # thread actor in the parent -> worker
    assert (
        local.proxy().ask_other(b.proxy(), "from parent").get(timeout=10)
        == "from parent"
    )
    # a ref that crosses and comes back is the same ref
    assert pickle.loads(pickle.dumps(a)) is a  # noqa: S301 (our own pickle)
    pykka.ActorRegistry.stop_all()


def test_a_process_actor_can_start_another(echo: Any) -> None:
    child = echo.proxy().start_another("child").get(timeout=10)
    assert child.proxy().tag.get(timeout=10) == "child"
    assert child in pykka.ActorRegistry.get_all()
    child.stop()


def test_futures_resolve_across_processes(echo: Any) -> None:
    # A future made in the worker, handed back, resolved there later.
    remote = echo.proxy().future_of_self().get(timeout=10)
    assert remote.get(timeout=10) == "from the future"
    assert remote.map(str.upper).get(timeout=10) == "FROM THE FUTURE"
    # A future made here, resolved by the actor in its process.
    local: pykka.ThreadingFuture[str] = pykka.ThreadingFuture()
    echo.proxy().resolve(local, "set remotely")
    assert local.get(timeout=10) == "set remotely"


def test_order_is_kept_per_sender_and_receiver() -> None:
    sink = Echo.start_on(0, "sink")
    senders = [Echo.start_on(1, f"sender{i}") for i in range(3)]
    for i, sender in enumerate(senders):
        sender.proxy().tell_many.defer(sink, i, 300)
    for sender in senders:
        sender.ask("flush")  # each sender has sent everything
    seen = sink.proxy().history().get(timeout=10)
    for i in range(3):
        assert [seq for who, seq in seen if who == i] == list(range(300))
    pykka.ActorRegistry.stop_all()


def test_log_records_of_workers_reach_the_parents_logging(
    echo: Any, log_records: Recorder
) -> None:
    echo.proxy().log_something("hi").get(timeout=10)
    (record,) = log_records.wait_for(lambda r: r.name == "tests.process_actors")
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "actor says hi"
    assert record.funcName == "log_something"
    assert record.process != os.getpid()


def test_pykkas_own_log_records_come_from_the_worker(
    echo: Any, log_records: Recorder
) -> None:
    with pytest.raises(LookupError):
        echo.proxy().fail("logged").get(timeout=10)
    (record,) = log_records.wait_for(lambda r: r.levelno == logging.INFO)
    assert record.name == "pykka"
    assert record.getMessage() == f"Exception returned from {echo} to caller:"
    assert record.exc_info is not None
    assert record.exc_info[0] is LookupError
    assert str(record.exc_info[1]) == "logged"


def test_start_returns_once_the_workers_starting_record_is_logged(
    log_records: Recorder,
) -> None:
    # As with thread actors, whose start() logs "Starting ..." itself.
    for _ in range(30):
        ref = Echo.start("logged")
        try:
            logged = log_records.messages("pykka", logging.DEBUG)
        finally:
            ref.stop()
        assert f"Starting {ref}" in logged


def test_a_stop_is_seen_before_on_stop_can_tell_of_it(
    tmp_path: Path,
) -> None:
    # As with thread actors: stopped and unregistered first, then on_stop() runs.
    for i in range(20):
        path = tmp_path / f"stopped-{i}"
        ref = Announcer.start(str(path))
        ref.stop(block=False)  # not waited for: on_stop() is the news
        deadline = time.monotonic() + 10
        while not path.exists():
            assert time.monotonic() < deadline, "on_stop() did not run"
        assert not ref.is_alive()
        assert ref not in pykka.ActorRegistry.get_all()


def test_configure_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        pykka.configure(workers=0)
    with pytest.raises(TypeError, match="workers must be an int"):
        pykka.configure(workers="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        pykka.configure(spin=-1)

"""The core objects as Python sees them: Mailbox, Slot and Event."""

from __future__ import annotations

import threading
from typing import ClassVar

import pytest

import pykka_rs as pykka
from pykka_rs import _core
from pykka_rs._envelope import Envelope


def test_a_mailbox_is_a_fifo_inbox_with_pykkas_protocol() -> None:
    mailbox = _core.Mailbox()
    assert mailbox.empty()
    future = pykka.ThreadingFuture[int]()
    mailbox.put(Envelope("first"))
    mailbox.put(Envelope("second", reply_to=future))
    assert (mailbox.qsize(), len(mailbox), mailbox.empty()) == (2, 2, False)

    first = mailbox.get()
    assert (first.message, first.reply_to) == ("first", None)
    second = mailbox.get()
    assert second.message == "second"
    # The envelope's future shares its state with the one that was put.
    second.reply_to.set(5)
    assert future.get(timeout=0) == 5
    assert mailbox.empty()


def test_a_foreign_future_travels_as_itself() -> None:
    class MyFuture(pykka.ThreadingFuture[int]):
        pass

    mailbox = _core.Mailbox()
    future = MyFuture()
    mailbox.put(Envelope("msg", reply_to=future))
    assert mailbox.get().reply_to is future


def test_get_waits_for_a_message_from_another_thread() -> None:
    mailbox = _core.Mailbox()
    threading.Timer(0.05, mailbox.put, (Envelope("late"),)).start()
    assert mailbox.get().message == "late"


def test_a_stopped_mailbox_drains_once_and_then_refuses() -> None:
    mailbox = _core.Mailbox()
    mailbox.tell("left behind")
    with pytest.raises(RuntimeError, match="stopped mailbox"):
        mailbox.drain()
    mailbox.stopped.set()
    assert [e.message for e in mailbox.drain()] == ["left behind"]
    with pytest.raises(pykka.ActorDeadError):
        mailbox.tell("refused")
    future = pykka.ThreadingFuture[int]()
    mailbox.ask("refused", future)
    with pytest.raises(pykka.ActorDeadError):
        future.get(timeout=0)
    assert mailbox.drain() == []


def test_stats_count_what_went_through() -> None:
    mailbox = _core.Mailbox()
    for i in range(3):
        mailbox.tell(i)
    mailbox.get()
    assert mailbox.stats() == {
        "waiting": 2,
        "sent": 3,
        "processed": 0,
        "failed": 0,
        "dropped": 0,
        "high_water": 3,
        # Nothing was handled by an actor loop: nothing was timed.
        "busy_nanos": 0,
        "timed": 0,
        "timed_nanos": 0,
        "p50_nanos": None,
        "p90_nanos": None,
        "p99_nanos": None,
    }


def test_an_event_behaves_like_threading_event() -> None:
    event = _core.Event()
    assert not event.is_set()
    assert event.wait(0.01) is False
    threading.Timer(0.02, event.set).start()
    assert event.wait(5) is True
    event.clear()
    assert not event.is_set()
    assert "unset" in repr(event)


def test_an_actors_stopped_flag_is_its_mailbox_flag() -> None:
    class Idle(pykka.ThreadingActor):
        pass

    ref = Idle.start()
    assert isinstance(ref.actor_stopped, _core.Event)
    assert ref.actor_inbox.label == str(ref)  # type: ignore[attr-defined]
    ref.stop()
    assert ref.actor_stopped.is_set()
    assert ref.actor_inbox.stopped.is_set()  # type: ignore[attr-defined]


def test_a_get_hook_runs_once_even_with_many_waiters() -> None:
    calls: list[float | None] = []
    release = threading.Event()

    def hook(timeout: float | None) -> str:
        calls.append(timeout)
        release.wait(5)
        return "computed"

    future = pykka.ThreadingFuture[str]()
    future.set_get_hook(hook)
    results: list[str] = []
    getters = [
        threading.Thread(target=lambda: results.append(future.get(timeout=5)))
        for _ in range(4)
    ]
    for getter in getters:
        getter.start()
    release.set()
    for getter in getters:
        getter.join()
    assert results == ["computed"] * 4
    assert calls == [5]


def test_a_get_hook_that_raises_is_tried_again() -> None:
    attempts = iter([pykka.Timeout("not yet"), "done"])

    def hook(_timeout: float | None) -> str:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    future = pykka.ThreadingFuture[str]()
    future.set_get_hook(hook)
    with pytest.raises(pykka.Timeout, match="not yet"):
        future.get()
    assert future.get() == "done"
    assert future.get() == "done"


def test_what_isinstance_calls_a_pykka_message_goes_to_handle_receive() -> None:
    # A subclass of Pykka's messages, or an object that claims one for its
    # class, is handled by _handle_receive as Pykka's isinstance checks
    # would: here as a proxy call of ping(). Anything else goes to on_receive.
    class Call(pykka.messages.ProxyCall):
        pass

    class Disguised:
        attr_path = ("ping",)
        args = ()
        kwargs: ClassVar[dict[str, object]] = {}

        @property
        def __class__(self) -> type:  # type: ignore[override]
            return Call

    class Plain(pykka.ThreadingActor):
        def on_receive(self, message: object) -> object:
            return type(message).__name__

        def ping(self) -> str:
            return "pong"

    ref = Plain.start()
    try:
        assert ref.ask("text") == "str"
        assert ref.ask(Call(attr_path=("ping",), args=(), kwargs={})) == "pong"
        assert ref.ask(Disguised()) == "pong"
    finally:
        ref.stop()

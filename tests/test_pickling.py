"""What crosses between processes: exceptions, replies, and what is refused.

Exceptions keep their type, attributes, notes and chain, and one whose
`__str__`, `__repr__` or traceback formatting raises still reaches whoever
waits for it; a reply that does not pickle says so; objects that a copy
would misrepresent (open files, locks, sockets) are refused at the call.
"""

from __future__ import annotations

import io
import socket
import threading
from typing import TYPE_CHECKING, Any

import pytest
from pickling_actors import (
    BROKEN,
    BaseReprRaises,
    Breaks,
    CodedError,
    Holds,
    StartsBroken,
    StartsCoded,
)

import pykka_rs as pykka
from pykka_rs import _process

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.conftest import Recorder

KINDS = sorted(BROKEN)


@pytest.fixture
def breaks() -> Iterator[pykka.ActorRef[Breaks]]:
    ref = Breaks.start()
    yield ref
    ref.stop()


def remote_traceback(exc: BaseException) -> str:
    """The note with the actor's traceback that a process actor's error carries."""
    notes = [note for note in getattr(exc, "__notes__", []) if isinstance(note, str)]
    (note,) = [note for note in notes if note.startswith("Traceback in the actor's")]
    return note


# -- Exceptions whose methods raise -------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_start_whose_init_raises_a_broken_exception_raises_it_and_the_worker_goes_on(
    kind: str,
) -> None:
    first = Breaks.start_on(0)
    pid = first.proxy().pid().get(timeout=10)
    with pytest.raises(BROKEN[kind]) as info:
        StartsBroken.start_on(0, kind)
    assert "in __init__" in remote_traceback(info.value)
    # The same worker, its control loop alive, starts the next actor.
    second = Breaks.start_on(0)
    assert second.proxy().pid().get(timeout=10) == pid
    assert second.proxy().echo("started").get(timeout=10) == "started"
    assert set(pykka.ActorRegistry.get_all()) == {first, second}
    first.stop()
    second.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_an_ask_whose_handler_raises_a_broken_exception_fails_with_it(
    kind: str, breaks: pykka.ActorRef[Breaks]
) -> None:
    with pytest.raises(BROKEN[kind]) as info:
        breaks.proxy().raise_broken(kind).get(timeout=10)
    assert "in raise_broken" in remote_traceback(info.value)
    assert breaks.proxy().echo("still here").get(timeout=10) == "still here"


def test_an_unformattable_traceback_is_described_instead(
    breaks: pykka.ActorRef[Breaks],
) -> None:
    with pytest.raises(BROKEN["traceback"]) as info:
        breaks.proxy().raise_broken("traceback").get(timeout=10)
    text = remote_traceback(info.value)
    assert "pickling_actors.BrokenCauseError" in text
    assert "its traceback could not be formatted in full: builtins.RuntimeError" in text


def test_an_ask_whose_handler_raises_a_base_exception_with_a_broken_repr_is_answered(
    breaks: pykka.ActorRef[Breaks],
) -> None:
    with pytest.raises(pykka.ActorDeadError, match="stopped: ") as info:
        breaks.proxy().raise_base().get(timeout=10)
    assert "pickling_actors.BaseReprRaises: repr() raised builtins.RuntimeError" in str(
        info.value
    )
    assert isinstance(info.value.__cause__, BaseReprRaises)


class LocalBreaks(pykka.ThreadingActor):
    def raise_base(self) -> None:
        raise BaseReprRaises


def test_a_thread_actor_answers_for_a_base_exception_with_a_broken_repr() -> None:
    ref = LocalBreaks.start()
    with pytest.raises(pykka.ActorDeadError, match=r"repr\(\) raised"):
        ref.proxy().raise_base().get(timeout=10)


@pytest.mark.parametrize("kind", KINDS)
def test_a_log_record_with_a_broken_exception_is_still_forwarded(
    kind: str, breaks: pykka.ActorRef[Breaks], log_records: Recorder
) -> None:
    breaks.proxy().log_broken(kind).get(timeout=10)
    (record,) = log_records.wait_for(lambda r: r.name == "tests.pickling_actors")
    assert record.getMessage() == "logged with a broken exception"
    assert record.exc_info is not None
    assert record.exc_info[0] is BROKEN[kind]
    assert "in log_broken" in (record.exc_text or "")


# -- Exceptions keep what they are -------------------------------------------


def test_an_exception_with_a_custom_init_keeps_its_type_args_attributes_and_notes(
    breaks: pykka.ActorRef[Breaks],
) -> None:
    with pytest.raises(CodedError) as info:
        breaks.proxy().raise_coded().get(timeout=10)
    error = info.value
    assert error.args == ("error 7: disk on fire",)
    assert str(error) == "error 7: disk on fire"
    assert (error.code, error.detail) == (7, "disk on fire")
    assert error.extra == {"attempts": 3}  # type: ignore[attr-defined]
    assert error.__notes__[0] == "a note from the handler"
    assert "in raise_coded" in remote_traceback(error)


def test_start_raises_an_exception_with_a_custom_init_from_init_with_its_type() -> None:
    with pytest.raises(CodedError, match="error 404: no such actor") as info:
        StartsCoded.start()
    assert info.value.code == 404
    assert pykka.ActorRegistry.get_all() == []


def test_the_cause_and_context_chain_crosses_as_far_as_it_pickles(
    breaks: pykka.ActorRef[Breaks],
) -> None:
    with pytest.raises(CodedError) as info:
        breaks.proxy().raise_chained().get(timeout=10)
    top = info.value
    assert top.code == 1
    # The link in the middle holds a lock: a RemoteError stands in for it,
    # linked as it was.
    link = top.__cause__
    assert isinstance(link, pykka.RemoteError)
    assert (link.type_name, link.message) == (
        "pickling_actors.LockedError",
        "an unpicklable link",
    )
    assert "in raise_chained" in link.traceback
    assert top.__context__ is link
    assert isinstance(link.__cause__, ValueError)
    assert link.__cause__.args == ("the cause",)
    assert isinstance(link.__context__, KeyError)
    assert link.__context__.args == ("the context",)
    assert link.__suppress_context__ is True


def test_a_suppressed_context_stays_suppressed(breaks: pykka.ActorRef[Breaks]) -> None:
    with pytest.raises(CodedError) as info:
        breaks.proxy().raise_without_context().get(timeout=10)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True
    assert isinstance(info.value.__context__, KeyError)


def test_an_exception_group_keeps_its_members_with_custom_inits(
    breaks: pykka.ActorRef[Breaks],
) -> None:
    with pytest.raises(ExceptionGroup) as info:
        breaks.proxy().raise_group().get(timeout=10)
    first, second = info.value.exceptions
    assert isinstance(first, CodedError)
    assert (first.code, str(first)) == (1, "error 1: one")
    assert isinstance(second, ValueError)


# -- Replies that do not pickle -----------------------------------------------


def test_an_unpicklable_reply_names_the_actor_and_method_and_says_it_was_the_reply(
    breaks: pykka.ActorRef[Breaks],
) -> None:
    actor = rf"Breaks \({breaks.actor_urn}\)"
    with pytest.raises(TypeError) as info:
        breaks.proxy().make_lock().get(timeout=10)
    assert (
        f"the reply of Breaks ({breaks.actor_urn}).make_lock() could not be pickled "
        "to go back to the asker's process: cannot pickle '_thread.lock' object"
    ) in str(info.value)
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(TypeError, match=rf"reply of the attribute {actor}\.lock could"):
        breaks.proxy().lock.get(timeout=10)
    with pytest.raises(
        TypeError,
        match=rf"reply of {actor}\.on_receive\(\) for a builtins\.str message",
    ):
        breaks.ask("a lock, please")
    with pytest.raises(
        TypeError, match=r"make_socket\(\) .* a socket cannot be copied"
    ):
        breaks.proxy().make_socket().get(timeout=10)
    assert breaks.ask("still here") == "still here"


# -- What cannot be copied faithfully -----------------------------------------


def sends(ref: pykka.ActorRef[Breaks], thing: Any) -> dict[str, Callable[[], Any]]:
    """Every call that sends `thing` to another process."""
    return {
        "start": lambda: Holds.start(thing),
        "start_on": lambda: Holds.start_on(1, thing=thing),
        "tell": lambda: ref.tell(thing),
        "ask": lambda: ref.ask(thing),
        "ask without blocking": lambda: ref.ask(thing, block=False).get(timeout=10),
        "proxy call": lambda: ref.proxy().read(thing).get(timeout=10),
        "proxy attribute": lambda: setattr(ref.proxy(), "thing", thing),
        "nested, with what goes by value": lambda: ref.tell([{"f": lambda: 1}, thing]),
    }


@pytest.fixture
def open_file(tmp_path: Path) -> Iterator[io.TextIOWrapper]:
    path = tmp_path / "data.txt"
    path.write_text("the contents")
    with path.open() as file:
        yield file


def test_an_open_file_is_refused_at_every_call_that_sends_it(
    breaks: pykka.ActorRef[Breaks], open_file: io.TextIOWrapper, tmp_path: Path
) -> None:
    with (tmp_path / "data.txt").open("rb") as binary:
        for thing in (open_file, binary):
            for call, send in sends(breaks, thing).items():
                with pytest.raises(TypeError) as info:
                    send()
                assert (
                    "an open file or stream cannot be copied to another process"
                    in str(info.value)
                ), call
    assert breaks.ask("still here") == "still here"
    assert pykka.ActorRegistry.get_all() == [breaks]


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (threading.Lock, "a lock or other synchronisation object cannot be copied"),
        (threading.RLock, "a lock or other synchronisation object cannot be copied"),
        (threading.Event, "a lock or other synchronisation object cannot be copied"),
        (
            threading.Semaphore,
            "a lock or other synchronisation object cannot be copied",
        ),
        (socket.socket, "a socket cannot be copied to another process"),
    ],
)
def test_locks_and_sockets_are_refused_with_a_reason(
    breaks: pykka.ActorRef[Breaks], make: Callable[[], Any], why: str
) -> None:
    thing = make()
    try:
        for call, send in sends(breaks, thing).items():
            with pytest.raises(TypeError) as info:
                send()
            assert why in str(info.value), call
    finally:
        if isinstance(thing, socket.socket):
            thing.close()
    assert breaks.ask("still here") == "still here"


def test_in_memory_streams_are_values_and_cross(breaks: pykka.ActorRef[Breaks]) -> None:
    proxy = breaks.proxy()
    assert proxy.read(io.BytesIO(b"bytes")).get(timeout=10) == b"bytes"
    assert proxy.read(io.StringIO("text")).get(timeout=10) == "text"
    assert [worker["seat"] for worker in _process.workers()] == [0, 1]

"""Bounded mailboxes (`mailbox_size`, `mailbox_overflow`) and the dead-letter log.

Each policy on thread and process actors, with senders in this process, in
another worker and in the actor's own worker; interpreter actors refuse a
bound. Actors are held busy on futures of this process (see
`bounded_actors.Bounded`), never by sleeping.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from bounded_actors import (
    CAPACITY,
    CLASSES,
    InterpreterSender,
    ProcessConsumer,
    Sender,
    ThreadBlock,
    ThreadConsumer,
)
from helpers import run_script, wait_until

import pykka_rs as pykka
from pykka_rs import _dead_letters

KINDS = ["thread", "process"]


class Held:
    """An actor held busy with a message until `release()`."""

    def __init__(self, ref: pykka.ActorRef[Any], kind: str = "hold") -> None:
        self.started: pykka.ThreadingFuture[bool] = pykka.ThreadingFuture()
        self.gate: pykka.ThreadingFuture[bool] = pykka.ThreadingFuture()
        ref.tell((kind, self.started, self.gate))
        self.started.get(timeout=30)

    def release(self) -> None:
        self.gate.set(True)


def waiting(ref: pykka.ActorRef[Any]) -> int:
    """The actor's depth; a process actor's as its worker last pushed it."""
    return ref.waiting


def fill(ref: pykka.ActorRef[Any]) -> list[str]:
    """Fill the held actor's mailbox to the bound, by telling."""
    told = [f"fill {i}" for i in range(CAPACITY)]
    for message in told:
        ref.tell(message)
    return told


def call(ref: pykka.ActorRef[Any], method: str) -> Any:
    """Call `method` of the actor once its mailbox has room for the call.

    Right after an actor is let go, its mailbox is still full until it
    takes the next message: a `fail` or `drop` mailbox refuses the call.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            return getattr(ref.proxy(), method)().get(timeout=30)
        except pykka.MailboxFull:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def letters_of(ref: pykka.ActorRef[Any], kind: str) -> list[tuple[str, str, str]]:
    """The dead letters of the process that refused messages to `ref`.

    The program's process lists its workers' letters too; the actor's own
    process lists its own.
    """
    here = [(d.receiver, d.message, d.reason) for d in pykka.dead_letters()]
    if kind == "process":
        there = call(ref, "letters")
        assert set(there) <= set(here)
    return here


# --- Checking the class ------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "error"),
    [
        ("3", TypeError),
        (2.5, TypeError),
        (True, TypeError),
        (0, ValueError),
        (-1, ValueError),
    ],
)
def test_a_wrong_mailbox_size_is_refused_when_the_class_is_defined(
    size: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"Wrong\.mailbox_size must be"):

        class Wrong(pykka.ThreadingActor):
            mailbox_size = size


@pytest.mark.parametrize(
    ("overflow", "error"), [("wait", ValueError), (1, TypeError), (None, TypeError)]
)
def test_a_wrong_overflow_policy_is_refused_when_the_class_is_defined(
    overflow: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"Wrong\.mailbox_overflow must be 'block', 'fail'"):

        class Wrong(pykka.ThreadingActor):
            mailbox_size = 4
            mailbox_overflow = overflow


def test_a_bound_changed_after_the_class_was_defined_is_checked_at_start() -> None:
    class Changed(pykka.ThreadingActor):
        pass

    Changed.mailbox_size = 0
    with pytest.raises(ValueError, match="at least 1"):
        Changed.start()
    Changed.mailbox_size = 3
    Changed.mailbox_overflow = "later"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="'later'"):
        Changed.start()
    assert pykka.ActorRegistry.get_all() == []


def test_an_unbounded_actor_keeps_an_unbounded_mailbox() -> None:
    ref = pykka.ThreadingActor.start()
    assert ref.actor_inbox.bound is None  # type: ignore[attr-defined]
    ref.stop()


def test_a_bounded_actor_has_its_bound_on_its_mailbox() -> None:
    ref = ThreadBlock.start()
    assert ref.actor_inbox.bound == (CAPACITY, "block")  # type: ignore[attr-defined]
    ref.stop()


def test_the_core_mailbox_refuses_a_second_bound_once_used() -> None:
    mailbox = pykka._core.Mailbox()
    mailbox.tell("first")
    with pytest.raises(ValueError, match="before its first message"):
        mailbox.set_bound(3, "fail")
    with pytest.raises(TypeError, match="must be an int"):
        pykka._core.Mailbox().set_bound("3", "fail")  # type: ignore[arg-type]


def test_interpreter_actors_refuse_a_bound_and_say_why() -> None:
    with pytest.raises(
        TypeError, match="InterpreterActor does not support mailbox_size"
    ):

        class Bounded(pykka.InterpreterActor):
            mailbox_size = 5

    class Later(pykka.InterpreterActor):
        pass

    Later.mailbox_size = 5
    with pytest.raises(TypeError, match="does not support mailbox_size"):
        Later.start()


# --- fail -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_fail_raises_mailbox_full_and_queues_nothing(kind: str) -> None:
    ref = CLASSES[kind, "fail"].start()
    held = Held(ref)
    told = fill(ref)
    with pytest.raises(pykka.MailboxFull, match="full"):
        ref.tell("refused tell")
    with pytest.raises(pykka.MailboxFull):
        ref.ask("refused ask", block=False)
    with pytest.raises(pykka.MailboxFull):
        ref.ask("refused blocking ask", timeout=30)
    assert isinstance(pykka.MailboxFull(), __import__("queue").Full)
    held.release()
    assert call(ref, "received") == told
    ours = {"'refused tell'", "'refused ask'", "'refused blocking ask'"}
    letters = letters_of(ref, kind)
    if kind == "thread":
        refused = [(r, m, why) for r, m, why in letters if m in ours]
        assert [m for _, m, _ in refused] == [
            "'refused tell'",
            "'refused ask'",
            "'refused blocking ask'",
        ]
        assert {why for _, _, why in refused} == {"the mailbox was full"}
        assert {r for r, _, _ in refused} == {str(ref)}
    else:
        # Refused in the actor's worker, which saw them pickled.
        full = [
            receiver
            for receiver, message, why in letters
            if why == "the mailbox was full" and message.startswith("<a pickled")
        ]
        assert len(full) >= 3
        assert all(r.startswith("actor ") and "of process" in r for r in full)
    ref.stop()


# --- drop -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_drop_sends_tells_to_the_dead_letter_log_and_fails_asks(kind: str) -> None:
    ref = CLASSES[kind, "drop"].start()
    before = pykka.stats().dead_letters
    held = Held(ref)
    told = fill(ref)
    ref.tell("dropped tell")  # no error: dropped
    future = ref.ask("dropped ask", block=False)
    with pytest.raises(pykka.MailboxFull):
        future.get(timeout=30)
    held.release()
    assert call(ref, "received") == told
    assert pykka.stats().dead_letters >= before + 2
    letters = letters_of(ref, kind)
    if kind == "thread":
        dropped = [(m, why) for _, m, why in letters if "dropped" in m]
        assert dropped == [
            ("'dropped tell'", "the mailbox was full"),
            ("'dropped ask'", "the mailbox was full"),
        ]
    else:
        assert sum(why == "the mailbox was full" for _, _, why in letters) >= 2
    ref.stop()


# --- block ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_block_makes_the_sender_wait_for_room_and_loses_nothing(kind: str) -> None:
    ref = CLASSES[kind, "block"].start()
    held = Held(ref)
    messages = [f"m{i}" for i in range(CAPACITY + 5)]
    sent: list[str] = []

    def send() -> None:
        for message in messages:
            ref.tell(message)
            sent.append(message)

    sender = threading.Thread(target=send)
    sender.start()
    wait_until(lambda: len(sent) == CAPACITY)
    # The sender stays blocked while the actor is held: nothing more goes in.
    sender.join(0.2)
    assert sender.is_alive()
    assert len(sent) == CAPACITY
    held.release()
    sender.join(30)
    assert not sender.is_alive()
    assert ref.proxy().received().get(timeout=30) == messages
    stats = ref.stats
    assert stats.high_water <= CAPACITY
    ref.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_blocking_ask_waits_for_room_too(kind: str) -> None:
    ref = CLASSES[kind, "block"].start()
    held = Held(ref)
    fill(ref)
    answer: list[Any] = []
    asker = threading.Thread(target=lambda: answer.append(ref.ask("late", timeout=30)))
    asker.start()
    asker.join(0.2)
    assert asker.is_alive()
    held.release()
    asker.join(30)
    assert answer == ["late"]
    ref.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_blocking_ask_with_a_timeout_gives_up_waiting_for_room(kind: str) -> None:
    ref = CLASSES[kind, "block"].start()
    held = Held(ref)
    told = fill(ref)
    started = time.monotonic()
    with pytest.raises(pykka.Timeout):
        ref.ask("too late", timeout=0.3)
    assert time.monotonic() - started < 10
    held.release()
    if kind == "thread":
        assert call(ref, "received") == told
    else:
        # Parked in the worker, it goes in once there is room, as an ask
        # whose reply timed out was still handled.
        wait_until(lambda: call(ref, "received") == [*told, "too late"])
    ref.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_an_actor_telling_itself_into_its_own_full_mailbox_gets_mailbox_full(
    kind: str,
) -> None:
    ref = CLASSES[kind, "block"].start()
    with pytest.raises(pykka.MailboxFull, match="would wait forever"):
        ref.proxy().fill_myself(CAPACITY + 1).get(timeout=30)
    ref.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_a_sender_waiting_for_room_gets_actor_dead_error_when_the_actor_stops(
    kind: str,
) -> None:
    ref = CLASSES[kind, "block"].start()
    held = Held(ref, "crash")
    fill(ref)
    outcome: list[BaseException | None] = []

    def send() -> None:
        try:
            ref.tell("waits")
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(0.2)
    assert sender.is_alive()
    held.release()  # the actor crashes, and stops with its mailbox full
    sender.join(30)
    assert not sender.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], pykka.ActorDeadError)
    wait_until(lambda: not ref.is_alive())
    if kind == "thread":
        reasons = [d.reason for d in pykka.dead_letters()[-3:]]
        assert reasons == [
            "the actor stopped before handling it",
            "the actor stopped before handling it",
            "the actor had stopped",
        ]


@pytest.mark.parametrize("kind", KINDS)
def test_an_actor_with_a_full_mailbox_can_still_be_stopped(kind: str) -> None:
    ref = CLASSES[kind, "fail"].start()
    held = Held(ref)
    fill(ref)
    stopped = ref.stop(block=False)
    held.release()
    assert stopped.get(timeout=30) is True


# --- Senders in worker processes --------------------------------------------


@pytest.mark.parametrize("seat", [0, 1], ids=["same_worker", "other_worker"])
@pytest.mark.parametrize("policy", ["block", "fail", "drop"])
def test_a_sender_in_a_worker_meets_the_bound_as_the_parent_does(
    policy: str, seat: int
) -> None:
    ref = CLASSES["process", policy].start_on(0)
    sender = Sender.start_on(seat)
    held = Held(ref)
    fill(ref)
    extra = ["a", "b"]
    outcomes = sender.proxy().tell_each(ref, extra)
    if policy == "block":
        # The sender waits in its worker until the actor is let go.
        with pytest.raises(pykka.Timeout):
            outcomes.get(timeout=0.2)
        held.release()
        assert outcomes.get(timeout=30) == ["ok", "ok"]
        expected = [f"fill {i}" for i in range(CAPACITY)] + extra
    else:
        got = outcomes.get(timeout=30)
        held.release()
        assert got == (["full", "full"] if policy == "fail" else ["ok", "ok"])
        expected = [f"fill {i}" for i in range(CAPACITY)]
    assert call(ref, "received") == expected
    sender.stop()
    ref.stop()


@pytest.mark.parametrize("policy", ["block", "fail"])
def test_a_sender_in_a_worker_meets_the_bound_of_a_thread_actor_here(
    policy: str,
) -> None:
    ref = CLASSES["thread", policy].start()
    sender = Sender.start()
    held = Held(ref)
    told = fill(ref)
    outcomes = sender.proxy().tell_each(ref, ["a"])
    if policy == "block":
        with pytest.raises(pykka.Timeout):
            outcomes.get(timeout=0.2)
        held.release()
        assert outcomes.get(timeout=30) == ["ok"]
        assert call(ref, "received") == [*told, "a"]
    else:
        assert outcomes.get(timeout=30) == ["full"]
        held.release()
        assert call(ref, "received") == told
    sender.stop()
    ref.stop()


@pytest.mark.parametrize("policy", ["block", "fail"])
@pytest.mark.parametrize("where", ["here", "worker"])
def test_a_supervised_process_actor_keeps_its_bound_through_its_relay(
    policy: str, where: str
) -> None:
    sup = pykka.Supervisor.start(
        [pykka.ChildSpec(CLASSES["process", policy], id="bounded")]
    )
    ((_, ref, _),) = sup.proxy().which_children().get(timeout=30)
    held = Held(ref)
    told = fill(ref)
    if where == "here":
        outcome: list[str] = []

        def send() -> None:
            try:
                ref.tell("extra")
            except pykka.MailboxFull:
                outcome.append("full")
            else:
                outcome.append("ok")

        sender_thread = threading.Thread(target=send)
        sender_thread.start()
        sender_thread.join(0.2)
        if policy == "block":
            assert sender_thread.is_alive()  # waits for room
            held.release()
            sender_thread.join(30)
            assert outcome == ["ok"]
        else:
            sender_thread.join(30)
            assert outcome == ["full"]
            held.release()
    else:
        sender = Sender.start()
        outcomes = sender.proxy().tell_each(ref, ["extra"])
        if policy == "block":
            with pytest.raises(pykka.Timeout):
                outcomes.get(timeout=0.2)
            held.release()
        assert outcomes.get(timeout=30) == (["ok"] if policy == "block" else ["full"])
        if policy != "block":
            held.release()
        sender.stop()
    expected = [*told, "extra"] if policy == "block" else told
    assert call(ref, "received") == expected
    sup.stop()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="subinterpreters need 3.12")
def test_a_sender_in_a_subinterpreter_is_refused_as_drop_refuses() -> None:
    ref = CLASSES["thread", "fail"].start()
    sender = InterpreterSender.start()
    held = Held(ref)
    told = fill(ref)
    before = pykka.stats().dead_letters
    # It does not wait for its messages to be queued: refused, as dropped.
    assert sender.proxy().tell_each(ref, ["a", "b"]).get(timeout=30) == ["ok", "ok"]
    wait_until(lambda: pykka.stats().dead_letters >= before + 2)
    refused = [d for d in pykka.dead_letters() if d.reason == "the mailbox was full"]
    assert refused[-1].receiver.endswith("of process 0")
    held.release()
    assert call(ref, "received") == told
    sender.stop()
    ref.stop()


def test_large_buffers_travel_in_offers_as_in_tells() -> None:
    ref = CLASSES["process", "block"].start()
    big = b"x" * 10_000_000
    ref.tell(big)  # an Offer, its buffer in shared memory
    assert ref.ask(bytearray(big), timeout=30) == bytearray(big)  # an OfferAsk
    assert call(ref, "received") == [big, bytearray(big)]
    ref.stop()


# --- Metrics ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_racing_senders_never_push_the_depth_past_the_bound(kind: str) -> None:
    cls = ThreadConsumer if kind == "thread" else ProcessConsumer
    ref = cls.start()
    per_sender = 300
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], ref.waiting)
            time.sleep(0.001)

    def send(base: int) -> None:
        for i in range(per_sender):
            ref.tell((0, base + i))

    watcher = threading.Thread(target=watch)
    watcher.start()
    senders = [threading.Thread(target=send, args=(n * per_sender,)) for n in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    count, _, _ = ref.proxy().result().get(timeout=30)
    done.set()
    watcher.join()
    assert count == 4 * per_sender
    assert peak[0] <= cls.mailbox_size
    assert ref.stats.high_water <= cls.mailbox_size
    ref.stop()


# --- The dead-letter log ----------------------------------------------------


def test_a_tell_to_a_stopped_actor_is_a_dead_letter_with_who_what_why_and_when() -> (
    None
):
    ref = pykka.ThreadingActor.start()
    ref.stop()
    before = pykka.stats().dead_letters
    started = time.time()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell({"order": 42})
    letter = pykka.dead_letters()[-1]
    assert isinstance(letter, pykka.DeadLetter)
    assert letter.receiver == str(ref)
    assert letter.message == "{'order': 42}"
    assert letter.reason == "the actor had stopped"
    assert started <= letter.time <= time.time()
    assert pykka.stats().dead_letters == before + 1


def test_a_long_message_is_cut_in_the_log() -> None:
    ref = pykka.ThreadingActor.start()
    ref.stop()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("x" * 1000)
    message = pykka.dead_letters()[-1].message
    assert len(message) == 203
    assert message.endswith("...")


def test_tells_left_in_a_stopped_actors_mailbox_are_dead_letters() -> None:
    ref = ThreadBlock.start()
    held = Held(ref, "crash")
    ref.tell("left behind")
    held.release()  # the actor crashes, and stops with the message unhandled
    wait_until(lambda: any(d.message == "'left behind'" for d in pykka.dead_letters()))
    letter = next(d for d in pykka.dead_letters() if d.message == "'left behind'")
    assert letter.reason == "the actor stopped before handling it"


def test_the_log_keeps_the_latest_letters_and_the_count_keeps_all() -> None:
    ref = pykka.ThreadingActor.start()
    ref.stop()
    try:
        pykka.keep_dead_letters(3)
        before = pykka.stats().dead_letters
        for i in range(5):
            with pytest.raises(pykka.ActorDeadError):
                ref.tell(i)
        assert [d.message for d in pykka.dead_letters()] == ["2", "3", "4"]
        assert pykka.stats().dead_letters == before + 5
        pykka.keep_dead_letters(0)
        assert pykka.dead_letters() == []
    finally:
        pykka.keep_dead_letters(1000)


@pytest.mark.parametrize(
    ("count", "error"), [(-1, ValueError), ("3", TypeError), (True, TypeError)]
)
def test_keep_dead_letters_takes_a_count_of_zero_or_more(
    count: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        pykka.keep_dead_letters(count)


def test_a_hook_is_called_with_each_new_dead_letter_until_removed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = pykka.ThreadingActor.start()
    ref.stop()
    seen: list[pykka.DeadLetter] = []
    arrived = threading.Event()

    def hook(letter: pykka.DeadLetter) -> None:
        seen.append(letter)
        arrived.set()

    def broken(letter: pykka.DeadLetter) -> None:
        raise RuntimeError(letter.message)

    remove_broken = pykka.on_dead_letter(broken)
    remove = pykka.on_dead_letter(hook)
    with caplog.at_level(logging.ERROR, logger="pykka_rs.dead_letters"):
        with pytest.raises(pykka.ActorDeadError):
            ref.tell("for the hook")
        assert arrived.wait(10)
        wait_until(lambda: "a dead-letter hook failed" in caplog.text)
    assert [(d.receiver, d.message) for d in seen] == [(str(ref), "'for the hook'")]
    remove()
    remove_broken()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("after the hook")
    # With no hook left, the hooks' thread ends: nothing can call one now.
    wait_until(lambda: _dead_letters._watcher is None)
    assert pykka.dead_letters()[-1].message == "'after the hook'"
    assert len(seen) == 1


def test_on_dead_letter_takes_a_callable() -> None:
    with pytest.raises(TypeError, match="hook must be callable"):
        pykka.on_dead_letter("print")  # type: ignore[arg-type]


# --- A million messages ------------------------------------------------------

# Each run in a fresh interpreter, so that memory freed by earlier tests,
# which the allocator reuses without growing, cannot hide a mailbox's growth.
MILLION = """
import gc, json, sys, threading, time
from pathlib import Path

sys.path.insert(0, {tests!r})
import pykka_rs as pykka
from bounded_actors import Consumer, ProcessConsumer, ThreadConsumer


class UnboundedConsumer(Consumer, pykka.ThreadingActor):
    def _wait_until_full(self):
        # Once, at the start: let half the messages pile up, whatever the
        # speeds of the two sides.
        if self.count == 1:
            deadline = time.monotonic() + 60
            while len(self.actor_inbox) < 500_000 and time.monotonic() < deadline:
                time.sleep(0.001)


def rss(pid):
    for line in Path(f"/proc/{{pid}}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


if __name__ == "__main__":
    pykka.configure(workers=1)
    cls = {{
        "thread": ThreadConsumer,
        "process": ProcessConsumer,
        "unbounded": UnboundedConsumer,
    }}[sys.argv[1]]
    ref = cls.start()
    pid = ref.proxy().pid().get(timeout=30)
    gc.collect()
    before = rss(pid)
    peak = [before]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss(pid))
            done.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    payload = "p" * 100
    for i in range(1_000_000):
        ref.tell((i, payload))
    got = ref.proxy().result().get(timeout=300)
    done.set()
    watcher.join()
    print(json.dumps({{
        "got": got,
        "growth": peak[0] - before,
        "high_water": ref.stats.high_water,
        "capacity": cls.mailbox_size,
    }}))
    pykka.ActorRegistry.stop_all()
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("kind", [*KINDS, "unbounded"])
def test_a_million_messages_to_a_slow_consumer_keep_memory_bounded(kind: str) -> None:
    source = MILLION.format(tests=str(Path(__file__).parent))
    done = run_script(source, timeout=500, args=[kind])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    count = 1_000_000
    expected_total = sum(range(count)) + count * sum(range(40))
    # Every one, once, in order.
    assert result["got"] == [count, expected_total, 0]
    growth = result["growth"]
    print(f"{kind}: peak growth {growth / 2**20:.1f} MiB")  # noqa: T201
    if kind == "unbounded":
        # The control: the measure sees a mailbox that grows (half a
        # million messages, some 50 MiB or more), so the bound's test can fail.
        assert growth > 40 * 2**20, f"grew only {growth / 2**20:.1f} MiB"
        assert result["high_water"] > 1000
        return
    assert growth < 40 * 2**20, f"{kind}: resident memory grew {growth / 2**20:.1f} MiB"
    # The mailbox filled up (the consumer waits for that now and then), and
    # no further.
    assert result["high_water"] == result["capacity"]

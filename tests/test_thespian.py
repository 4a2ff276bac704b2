"""pykka_rs.thespian: Thespian's API on the synchronous base and on process workers.

Thespian's own suite (`.ci/run thespian-suite`) is the contract; these tests
cover what it does not: addresses across processes, bad input at the call
site, the pykka_rs machinery underneath (stats, a killed worker), and
Thespian's own examples run through the import alias.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from thespian_actors import (
    DeadLetters,
    Echo,
    Flaky,
    Parent,
    Poisoner,
    Sleeper,
    Unpicklable,
)

import pykka_rs
from pykka_rs.thespian import (
    ActorAddress,
    ActorExitRequest,
    ActorSystem,
    InvalidActorAddress,
    InvalidActorSpecification,
    NoCompatibleSystemForActor,
    PoisonMessage,
    requireCapability,
)
from pykka_rs.thespian._messages import from_the_wire, on_the_wire

if TYPE_CHECKING:
    from collections.abc import Iterator

COMPAT = Path(__file__).parent / "compat"
WAIT = 10


@pytest.fixture(params=["simpleSystemBase", "multiprocQueueBase"])
def asys(request: pytest.FixtureRequest) -> Iterator[ActorSystem]:
    system = ActorSystem(request.param, transientUnique=True)
    yield system
    system.shutdown()


@pytest.fixture
def procsys() -> Iterator[ActorSystem]:
    system = ActorSystem("multiprocQueueBase", transientUnique=True)
    yield system
    system.shutdown()


def test_ask_returns_the_reply(asys: ActorSystem) -> None:
    echo = asys.createActor(Echo)
    assert asys.ask(echo, "hi", WAIT) == "hi"


def test_a_failing_message_is_retried_once_then_returned_as_poison(
    asys: ActorSystem,
) -> None:
    flaky = asys.createActor(Flaky)
    reply = asys.ask(flaky, "fail", WAIT)
    assert isinstance(reply, PoisonMessage)
    assert reply.poisonMessage == "fail"
    assert "ValueError: flaky" in (reply.details or "")
    assert asys.ask(flaky, "attempts", WAIT) == 2


def test_an_actor_gets_the_poison_of_what_it_sent(asys: ActorSystem) -> None:
    flaky = asys.createActor(Flaky)
    poisoner = asys.createActor(Poisoner)
    assert asys.ask(poisoner, flaky, WAIT) == ("poisoned", "fail")


def test_a_parent_hears_when_its_child_exits(asys: ActorSystem) -> None:
    parent = asys.createActor(Parent)
    child = asys.ask(parent, "child", WAIT)
    asys.tell(child, ActorExitRequest())
    assert asys.listen(WAIT) == ("exited", child)


def test_an_exit_request_to_a_parent_reaches_its_children(asys: ActorSystem) -> None:
    parent = asys.createActor(Parent)
    child = asys.ask(parent, "announcer", WAIT)
    assert asys.ask(child, "hello", WAIT) == "hi"
    asys.tell(parent, ActorExitRequest())
    assert asys.listen(WAIT) == "bye"


def test_dead_letters_go_to_the_handler(asys: ActorSystem) -> None:
    handler = asys.createActor(DeadLetters)
    assert asys.ask(handler, "start", WAIT) == "handling"
    asys.tell(handler, "listen")
    gone = asys.createActor(Echo)
    asys.tell(gone, ActorExitRequest())
    # Messages from one sender keep their order: this one comes after the exit.
    asys.tell(gone, "anyone there?")
    assert asys.listen(WAIT) == ("dead", "anyone there?")


def test_a_wakeup_comes_after_its_period(asys: ActorSystem) -> None:
    sleeper = asys.createActor(Sleeper)
    asys.tell(sleeper, 0.05)
    assert asys.listen(WAIT) == "up"


def test_a_global_name_gives_the_same_actor(asys: ActorSystem) -> None:
    first = asys.createActor(Echo, globalName="echo")
    assert asys.createActor(Echo, globalName="echo") == first
    assert asys.createActor(Echo) != first


def test_addresses_pickle_and_compare_equal(asys: ActorSystem) -> None:
    echo = asys.createActor(Echo)
    copy = pickle.loads(pickle.dumps(echo))  # noqa: S301  # our own bytes
    assert copy == echo
    assert hash(copy) == hash(echo)
    assert asys.ask(copy, "via the copy", WAIT) == "via the copy"


def test_told_messages_are_answered_to_the_caller_in_order(asys: ActorSystem) -> None:
    echo = asys.createActor(Echo)
    for number in range(200):
        asys.tell(echo, number)
    assert [asys.listen(WAIT) for _ in range(200)] == list(range(200))
    assert asys.ask(echo, ("an address inside", echo), WAIT) == (
        "an address inside",
        echo,
    )


def test_an_address_travels_in_envelopes_as_its_refs_pickle(
    procsys: ActorSystem,
) -> None:
    echo = procsys.createActor(Echo)
    sent = on_the_wire(echo)
    assert isinstance(sent, bytes)
    assert from_the_wire(sent) == echo
    assert from_the_wire(echo) is echo
    # An address that is no pykka_rs ref (an actor that could not be made)
    # travels as itself.
    dead = ActorAddress("dead:nobody")
    assert on_the_wire(dead) is dead


def test_bad_addresses_raise_at_the_call_site(asys: ActorSystem) -> None:
    with pytest.raises(ValueError, match="not a valid ActorAddress"):
        asys.tell("somewhere", "hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a valid ActorAddress"):
        asys.ask(42, "hi", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidActorSpecification):
        asys.createActor(dict)  # type: ignore[arg-type]
    echo = asys.createActor(Echo)
    assert asys.ask(echo, "still fine", WAIT) == "still fine"


def test_an_unpicklable_message_raises_at_the_call_site(procsys: ActorSystem) -> None:
    echo = procsys.createActor(Echo)
    with pytest.raises(TypeError, match="lock"):
        procsys.tell(echo, Unpicklable())
    assert procsys.ask(echo, "still fine", WAIT) == "still fine"


def test_an_actor_missing_a_capability_is_refused(asys: ActorSystem) -> None:
    needy = requireCapability("GPU")(type("Needy", (Echo,), {}))
    with pytest.raises(NoCompatibleSystemForActor):
        asys.createActor(needy)


def test_an_unknown_base_and_bad_capabilities_are_refused() -> None:
    with pytest.raises(ModuleNotFoundError, match="multiprocCarrierPigeonBase"):
        ActorSystem("multiprocCarrierPigeonBase", transientUnique=True)
    with pytest.raises(TypeError, match="dict"):
        ActorSystem("simpleSystemBase", capabilities=["GPU"], transientUnique=True)  # type: ignore[arg-type]


def test_send_to_a_non_address_raises_invalid_actor_address() -> None:
    system = ActorSystem("simpleSystemBase", transientUnique=True)
    echo = system.createActor(Echo)
    actor = system._base._cells[echo].instance  # type: ignore[union-attr]
    with pytest.raises(InvalidActorAddress):
        actor.send("nowhere", "hi")  # type: ignore[arg-type]
    system.shutdown()


def test_a_shut_down_system_refuses_work() -> None:
    system = ActorSystem("simpleSystemBase", transientUnique=True)
    echo = system.createActor(Echo)
    system.shutdown()
    system.shutdown()  # twice is harmless
    with pytest.raises(Exception, match="shut down"):
        system.tell(echo, "hi")


def test_the_singleton_is_reached_again_until_shutdown() -> None:
    first = ActorSystem("simpleSystemBase")
    try:
        echo = first.createActor(Echo)
        assert ActorSystem().ask(echo, "same system", WAIT) == "same system"
    finally:
        ActorSystem().shutdown()
    assert ActorSystem.systemBase is None


def test_process_actors_run_in_workers_and_show_in_stats(procsys: ActorSystem) -> None:
    echo = procsys.createActor(Echo)
    assert procsys.ask(echo, "pid", WAIT) != os.getpid()
    urn = echo.actorAddressString
    (listed,) = [a for a in pykka_rs.stats().actors if a.actor_urn == urn]
    # Under the Thespian actor's class, in a worker.
    assert (listed.actor_class, listed.process > 0) == ("Echo", True)


def test_a_child_whose_worker_is_killed_is_reported_to_its_parent(
    procsys: ActorSystem,
) -> None:
    # The parent and child may share a worker: try until they do not.
    for _ in range(8):
        parent = procsys.createActor(Parent)
        child = procsys.ask(parent, "child", WAIT)
        parent_pid = procsys.ask(parent, "pid", WAIT)
        child_pid = procsys.ask(child, "pid", WAIT)
        if parent_pid != child_pid:
            break
    else:
        pytest.skip("every child landed on its parent's worker")
    os.kill(child_pid, signal.SIGKILL)
    assert procsys.listen(WAIT) == ("exited", child)


def _run_example(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(COMPAT / "thespian_shim"), str(path.parent)]),
    )
    return subprocess.run(
        [sys.executable, "-P", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=path.parent,
        env=env,
    )


@pytest.fixture(scope="module")
def examples() -> Path:
    sys.path.insert(0, str(COMPAT))
    from thespian_sdist import unpacked_thespian  # noqa: PLC0415

    return unpacked_thespian() / "examples"


@pytest.mark.parametrize(
    "base", ["simpleSystemBase", "multiprocQueueBase", "multiprocTCPBase"]
)
def test_thespians_hellogoodbye_example_runs(examples: Path, base: str) -> None:
    result = _run_example(examples / "hellogoodbye.py", base)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Hello,", "world!", "Goodbye"]


def test_thespians_troupe_example_runs(examples: Path) -> None:
    result = _run_example(examples / "fibtroupe" / "fibactor.py")
    assert result.returncode == 0, result.stderr
    assert "troupe" in result.stdout.lower()

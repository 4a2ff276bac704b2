"""Proxies and refs that cross processes: no hidden waits, no wrong actor.

The actors come from `tests/proxy_actors.py`, as thread actors and as
process actors. A busy actor is one handling `hold()`, which waits for a
future only the test sets: whatever would have to ask that actor waits
until then, so "returns while the actor is busy" is checked by running the
step in a thread and waiting for it with a generous patience, then
releasing the actor whatever happened.
"""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from proxy_actors import KINDS

import pykka_rs as pykka
from pykka_rs import ActorDeadError, ThreadingFuture, Timeout

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# Far longer than any step takes; reached only if the step waits for a busy
# actor, which is what these tests rule out.
PATIENCE = 20.0

HERE = Path(__file__).parent
FOREIGN = "another pykka_rs system"


@pytest.fixture(autouse=True)
def stop_actors() -> Iterator[None]:
    """Stop what the test started, as the leak guard asks."""
    yield
    pykka.ActorRegistry.stop_all(timeout=PATIENCE)


def finishes(step: Callable[[], Any]) -> Any:
    """Run `step` in a thread; return its result, or fail if it is still waiting."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = step()
        except BaseException as exc:
            outcome["error"] = exc
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(PATIENCE), "the step waited for a busy actor"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@contextmanager
def busy(proxy: pykka.ActorProxy[Any]) -> Iterator[None]:
    """Keep the actor of `proxy` busy with one message for the `with` block."""
    entered: ThreadingFuture[Any] = ThreadingFuture()
    release: ThreadingFuture[Any] = ThreadingFuture()
    held = proxy.hold(entered, release)
    entered.get(timeout=PATIENCE)
    try:
        yield
    finally:
        release.set("released")
    assert held.get(timeout=PATIENCE) == "released"


KIND_PAIRS = [
    pytest.param(a, b, id=f"{a}-{b}")
    for a in ("thread", "process")
    for b in ("thread", "process")
]


@pytest.mark.parametrize(("a_kind", "b_kind"), KIND_PAIRS)
def test_an_actor_hands_its_own_proxy_to_an_actor_it_waits_for(
    a_kind: str, b_kind: str
) -> None:
    b = KINDS[b_kind]["Taker"].start().proxy()
    a = KINDS[a_kind]["HandOver"].start(b).proxy()

    assert a.hand_over().get(timeout=PATIENCE) == "got proxy"

    # Building a proxy of an actor that holds B's proxy reads that proxy,
    # and must not ask B anything: B is busy now.
    with busy(b):
        holder = finishes(lambda: KINDS["thread"]["Holder"].start(b).proxy())
    assert holder.held.get(timeout=PATIENCE) == b
    # Neither actor was left stuck.
    assert a.hand_over().get(timeout=PATIENCE) == "got proxy"
    assert b.ping().get(timeout=PATIENCE) == "pong"


@pytest.mark.parametrize("holder_kind", ["thread", "process"])
@pytest.mark.parametrize("held_kind", ["thread", "process"])
def test_a_proxy_of_an_actor_holding_a_busy_actors_proxy_is_built_at_once(
    holder_kind: str, held_kind: str
) -> None:
    held = KINDS[held_kind]["Taker"].start().proxy()
    holder_class = KINDS[holder_kind]["Holder"]
    holder_ref = holder_class.start(held)
    with busy(held):
        # Here, from the ref, and in the holder's process, pickled back.
        proxy = finishes(holder_ref.proxy)
        pickled = finishes(lambda: proxy.own_proxy().get(timeout=PATIENCE))
        names = finishes(lambda: dir(pickled))
        # Started while the held actor is busy: the proxy it is given is
        # unpickled in the worker without asking the held actor.
        other = finishes(lambda: holder_class.start(held).proxy())
        assert finishes(lambda: other.own_proxy().get(timeout=PATIENCE)) == other
    assert "held" in names
    assert "own_proxy" in names
    assert pickled == proxy
    assert proxy.held.get(timeout=PATIENCE) == held
    assert proxy.held.get(timeout=PATIENCE).ping().get(timeout=PATIENCE) == "pong"


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_pickled_proxy_carries_attributes_added_after_the_actor_started(
    kind: str,
) -> None:
    grower = KINDS[kind]["Grower"].start().proxy()
    grown = grower.grow("socks").get(timeout=PATIENCE)
    with busy(grower):
        # `drawer` is an instance attribute, and traversable: the proxy knows
        # it from its pickle, so nothing asks the busy actor. (The lambdas
        # make the lookups, not only the calls, happen in the thread.)
        future = finishes(lambda: grown.drawer.open())  # noqa: PLW0108
        tag = finishes(lambda: grown.tag)
    assert future.get(timeout=PATIENCE) == "socks"
    assert tag.get(timeout=PATIENCE) == "grower"
    assert grown.drawer.content.get(timeout=PATIENCE) == "socks"


def test_a_proxy_built_from_a_ref_knows_the_class_without_asking() -> None:
    grower_ref = KINDS["process"]["Grower"].start()
    with busy(grower_ref.proxy()):
        proxy = finishes(grower_ref.proxy)
        # A method of the class: called without asking first.
        pinged = finishes(lambda: proxy.ping())  # noqa: PLW0108
    assert pinged.get(timeout=PATIENCE) == "pong"
    # An instance attribute is learned at its first use, from the actor.
    assert proxy.tag.get(timeout=PATIENCE) == "grower"
    grower_ref.proxy().grow("hats").get(timeout=PATIENCE)
    assert proxy.drawer.open().get(timeout=PATIENCE) == "hats"
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        proxy.missing  # noqa: B018


@pytest.mark.parametrize(
    "kinds",
    [
        pytest.param(("process", "process", "process"), id="three-processes"),
        pytest.param(("thread", "process", "process"), id="thread-and-processes"),
    ],
)
def test_three_actors_pass_proxies_of_themselves_around_a_ring(
    kinds: tuple[str, str, str],
) -> None:
    names = ["first", "second", "third"]
    ring = [
        KINDS[kind]["Ring"].start(name).proxy()
        for kind, name in zip(kinds, names, strict=True)
    ]
    for i, proxy in enumerate(ring):
        proxy.link(ring[(i + 1) % 3]).get(timeout=PATIENCE)

    came_back = ring[0].start_round().get(timeout=PATIENCE)

    assert came_back["ring"] == ring
    assert [p.name.get(timeout=PATIENCE) for p in came_back["ring"]] == names
    # The last actor sent the two waiting ones a note through the proxies
    # they had passed it; they handled it once the round was over.
    pykka.get_all(came_back["noted"], timeout=PATIENCE)
    assert ring[0].notes.get(timeout=PATIENCE) == ["third saw 3"]
    assert ring[1].notes.get(timeout=PATIENCE) == ["third saw 3"]
    assert ring[2].notes.get(timeout=PATIENCE) == []

    # Another round, from the second actor, the first one ending it.
    came_back = ring[1].start_round().get(timeout=PATIENCE)

    assert came_back["ring"] == [*ring[1:], ring[0]]
    pykka.get_all(came_back["noted"], timeout=PATIENCE)
    assert ring[1].notes.get(timeout=PATIENCE) == ["third saw 3", "first saw 3"]
    assert ring[2].notes.get(timeout=PATIENCE) == ["first saw 3"]


def test_an_actor_that_gave_up_waiting_leaves_no_one_stuck() -> None:
    b = KINDS["process"]["Taker"].start().proxy()
    a = KINDS["process"]["HandOver"].start(b).proxy()

    # A waits on B; B makes a proxy of A from its ref and reads an instance
    # attribute, which only A can tell it: B waits until A gives up.
    with pytest.raises(Timeout):
        a.hand_ref_over(1.0).get(timeout=PATIENCE)

    assert a.ping().get(timeout=PATIENCE) == "pong"
    assert b.ping().get(timeout=PATIENCE) == "pong"
    assert b.read.get(timeout=PATIENCE) == "hand-over"


# Across pykka_rs systems: refs, proxies and futures of another program.


@contextmanager
def program(mode: str) -> Iterator[subprocess.Popen[str]]:
    """Run `foreign_program.py` in `mode`: another pykka_rs system."""
    with subprocess.Popen(
        [sys.executable, "-P", str(HERE / "foreign_program.py"), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as running:
        try:
            yield running
        finally:
            assert running.stdin is not None
            running.stdin.close()
            try:
                running.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()


def exchange(program: subprocess.Popen[str], line: str) -> str:
    assert program.stdin is not None
    assert program.stdout is not None
    program.stdin.write(line + "\n")
    program.stdin.flush()
    return program.stdout.readline()


def test_refs_proxies_and_futures_of_another_program_are_dead_here() -> None:
    with program("make") as maker:
        assert maker.stdout is not None
        made = pickle.loads(base64.b64decode(maker.stdout.readline()))  # noqa: S301

        for kind in ("thread", "process"):
            ref = made[f"{kind}_ref"]
            proxy = made[f"{kind}_proxy"]
            assert not ref.is_alive()
            with pytest.raises(ActorDeadError, match=FOREIGN) as error:
                ref.tell("stray")
            assert str(error.value).startswith(f"{ref} not found: ")
            with pytest.raises(ActorDeadError, match=FOREIGN):
                ref.ask("stray", timeout=PATIENCE)
            with pytest.raises(ActorDeadError, match=FOREIGN):
                ref.ask("stray", block=False).get(timeout=PATIENCE)
            with pytest.raises(ActorDeadError, match=FOREIGN):
                ref.proxy()
            with pytest.raises(ActorDeadError, match=FOREIGN):
                proxy.record("stray").get(timeout=PATIENCE)
            with pytest.raises(ActorDeadError, match=FOREIGN):
                proxy.record.defer("stray")
            with pytest.raises(ActorDeadError, match=FOREIGN):
                proxy.tag.get(timeout=PATIENCE)
            assert ref.stop(timeout=PATIENCE) is False
            # One ref object per foreign actor, as for local ones.
            assert pickle.loads(pickle.dumps(ref)) is ref  # noqa: S301
            assert proxy.actor_ref is ref
        future = made["future"]
        with pytest.raises(ActorDeadError, match=FOREIGN):
            future.get(timeout=PATIENCE)
        with pytest.raises(ActorDeadError, match=FOREIGN):
            future.map(str).get(timeout=PATIENCE)
        with pytest.raises(ActorDeadError, match=FOREIGN):
            future.set("stray")
        with pytest.raises(ActorDeadError, match=FOREIGN):
            future.set_exception((ValueError, ValueError("stray"), None))

        # Back in their own program, they work.
        sent_back = base64.b64encode(pickle.dumps(made, protocol=5)).decode()
        result = json.loads(exchange(maker, sent_back))
    assert maker.returncode == 0
    assert result == {
        "seen": {
            "thread": ["thread ref came home", "thread proxy came home"],
            "process": ["process ref came home", "process proxy came home"],
        },
        "future": "future came home",
    }


def test_a_ref_from_another_program_never_reaches_the_actor_at_its_address() -> None:
    with program("make") as maker, program("use") as user:
        assert maker.stdout is not None
        made = maker.stdout.readline().strip()
        result = json.loads(exchange(user, made))
        exchange(maker, made)  # lets the maker finish
    assert user.returncode == 0
    assert maker.returncode == 0
    # Both programs put their actors and future at the same addresses, so a
    # ref that ignored its system would reach the user's own actors.
    assert result.pop("same_addresses") is True
    for kind in ("thread", "process"):
        outcomes = result.pop(kind)
        assert outcomes.pop("stop") is False
        for action, raised in outcomes.items():
            assert raised.startswith("ActorDeadError: "), (kind, action, raised)
            assert FOREIGN in raised, (kind, action, raised)
    future = result.pop("future")
    assert future["get"].startswith("ActorDeadError: future not reachable: ")
    assert future["set"].startswith("ActorDeadError: future not reachable: ")
    assert result == {
        "is_alive": [False, False],
        "seen": {"thread": [], "process": []},
        "own_future": "Timeout: 0 seconds",
    }


@pytest.mark.parametrize("receiver_kind", ["thread", "process"])
def test_a_message_carrying_a_proxy_of_a_stopped_actor_still_arrives(
    receiver_kind: str,
) -> None:
    gone_ref = KINDS["process"]["Grower"].start()
    gone = gone_ref.proxy()
    pickled = pickle.dumps(gone)
    assert gone_ref.stop(timeout=PATIENCE) is True
    receiver = KINDS[receiver_kind]["Taker"].start().proxy()

    assert receiver.take(gone).get(timeout=PATIENCE) == "got proxy"
    unpickled = pickle.loads(pickled)  # noqa: S301
    with pytest.raises(ActorDeadError, match="not found"):
        unpickled.ping().get(timeout=PATIENCE)
    with pytest.raises(ActorDeadError, match="not found"):
        gone_ref.proxy()


def test_a_forked_child_is_a_system_of_its_own() -> None:
    # In a program of its own, forked before any thread of pykka_rs runs.
    code = """
import os, pickle, sys
import pykka_rs
future = pykka_rs.ThreadingFuture()
data = pickle.dumps(future)
pid = os.fork()
if pid == 0:
    try:
        pickle.loads(data).set("from the child")
    except pykka_rs.ActorDeadError as error:
        os._exit(0 if "another pykka_rs system" in str(error) else 2)
    os._exit(1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    result = subprocess.run(
        [sys.executable, "-P", "-W", "ignore::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=PATIENCE * 3,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_joining_a_system_needs_its_identity_as_a_string() -> None:
    from pykka_rs import _system  # noqa: PLC0415

    before = _system.identity()
    with pytest.raises(TypeError, match="a system identity is a str, not bytes"):
        _system.adopt(b"0123456789abcdef")  # type: ignore[arg-type]
    assert _system.identity() == before

"""One registry for the whole system: `ActorRegistry` in any process lists
every actor of every process, in the order they were registered."""

from __future__ import annotations

from typing import Any

import pytest
from process_actors import Echo, LocalEcho

import pykka_rs as pykka
from pykka_rs import ActorRegistry


@pytest.fixture(autouse=True)
def _stop_everything() -> Any:
    yield
    ActorRegistry.stop_all(timeout=10)


def registry_seen_from(ref: pykka.ActorRef[Any], how: str, *args: Any) -> Any:
    """What `ActorRegistry.<how>(*args)` returns inside the actor's process."""
    return ref.proxy().run(lambda: getattr(ActorRegistry, how)(*args)).get(timeout=10)


def test_a_process_actor_sees_the_actors_of_every_process() -> None:
    local = LocalEcho.start()
    first = Echo.start_on(0, "first")
    second = Echo.start_on(1, "second")
    assert registry_seen_from(first, "get_all") == [local, first, second]
    assert registry_seen_from(second, "get_by_class", Echo) == [first, second]
    assert registry_seen_from(first, "get_by_class_name", "LocalEcho") == [local]
    assert registry_seen_from(second, "get_by_urn", first.actor_urn) == first
    assert ActorRegistry.get_all() == [local, first, second]


def test_a_thread_actor_started_in_a_worker_is_listed_everywhere_until_it_stops() -> (
    None
):
    host = Echo.start_on(0, "host")
    other = Echo.start_on(1, "other")
    inner = host.proxy().run(LocalEcho.start).get(timeout=10)
    assert inner in ActorRegistry.get_by_class(LocalEcho)
    assert registry_seen_from(other, "get_by_class", LocalEcho) == [inner]
    assert inner.proxy().echo("across").get(timeout=10) == "across"
    inner.stop()
    assert inner not in ActorRegistry.get_all()
    assert registry_seen_from(other, "get_by_class", LocalEcho) == []


def test_an_actor_unregistered_in_one_process_is_unlisted_in_every_process() -> None:
    first = Echo.start_on(0, "first")
    second = Echo.start_on(1, "second")
    ActorRegistry.unregister(first)
    assert first not in ActorRegistry.get_all()
    assert registry_seen_from(second, "get_all") == [second]
    # Unregistered in its own process: the parent's list follows.
    second.proxy().run(lambda: ActorRegistry.unregister(second)).get(timeout=10)
    assert ActorRegistry.get_all() == []
    # Both still run, and may be registered again, by hand.
    assert first.ask("alive") == "alive"
    ActorRegistry.register(first)
    assert ActorRegistry.get_all() == [first]


def test_a_broadcast_from_a_worker_reaches_the_actors_of_every_process() -> None:
    local = LocalEcho.start()
    first = Echo.start_on(0, "first")
    second = Echo.start_on(1, "second")
    first.proxy().run(lambda: ActorRegistry.broadcast("to all", Echo)).get(timeout=10)
    assert second.proxy().history().get(timeout=10) == ["to all"]
    assert first.proxy().history().get(timeout=10) == ["to all"]
    assert local.is_alive()

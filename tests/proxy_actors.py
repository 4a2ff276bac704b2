"""Actor classes for the tests of proxies across processes.

Workers import them by name, from here. Each behaviour is a mixin, made into
a thread actor and a process actor by `KINDS`.
"""

from __future__ import annotations

from typing import Any

import pykka_rs as pykka


class Busy:
    """Can be kept busy handling one message until the test lets it go."""

    actor_ref: pykka.ActorRef[Any]  # the actor class it is mixed into has it

    def hold(self, entered: pykka.Future[Any], release: pykka.Future[Any]) -> Any:
        """Say so through `entered`, then wait until `release` has a value."""
        entered.set(True)
        return release.get(timeout=60)

    def ping(self) -> str:
        return "pong"


class Taker(Busy):
    """B of the issue: takes a proxy of another actor, and can use it."""

    def take(self, proxy: pykka.ActorProxy[Any]) -> str:
        return "got proxy"

    def tag_through(self, ref: pykka.ActorRef[Any]) -> str:
        """Read `tag` of the actor of `ref` through a proxy made here."""
        tag: str = ref.proxy().tag.get(timeout=60)
        self.read = tag
        return tag


class HandOver(Busy):
    """A of the issue: hands its own proxy, or ref, to the actor it holds."""

    def __init__(self, b: pykka.ActorProxy[Any]) -> None:
        super().__init__()
        self.b = b
        self.tag = "hand-over"

    def hand_over(self) -> str:
        result: str = self.b.take(self.actor_ref.proxy()).get(timeout=5)
        return result

    def hand_ref_over(self, timeout: float) -> str:
        result: str = self.b.tag_through(self.actor_ref).get(timeout=timeout)
        return result


class Holder(Busy):
    """Holds a proxy of another actor in a public attribute."""

    def __init__(self, held: pykka.ActorProxy[Any]) -> None:
        super().__init__()
        self.held = held

    def own_proxy(self) -> pykka.ActorProxy[Any]:
        proxy: pykka.ActorProxy[Any] = self.actor_ref.proxy()
        return proxy


@pykka.traversable
class Drawer:
    def __init__(self, content: str) -> None:
        self.content = content

    def open(self) -> str:
        return self.content


class Grower(Busy):
    """Gains a traversable attribute after it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.tag = "grower"

    def grow(self, content: str) -> pykka.ActorProxy[Any]:
        """Add `drawer`, then return a proxy of itself that knows it."""
        self.drawer = Drawer(content)
        proxy: pykka.ActorProxy[Any] = self.actor_ref.proxy()
        return proxy


class Ring(Busy):
    """One of three actors in a ring, passing proxies of themselves around."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.next: pykka.ActorProxy[Any] | None = None
        self.notes: list[str] = []

    def link(self, following: pykka.ActorProxy[Any]) -> None:
        self.next = following

    def start_round(self) -> dict[str, Any]:
        """Send a round on, and wait for it to come back around the ring."""
        assert self.next is not None
        result: dict[str, Any] = self.next.relay([self.actor_ref.proxy()]).get(
            timeout=30
        )
        return result

    def relay(self, chain: list[pykka.ActorProxy[Any]]) -> dict[str, Any]:
        """Add this actor's proxy to `chain`; the last one of the ring ends it.

        Every actor in `chain` is busy waiting for this call. The last one
        sends each of them a note through its proxy, which they handle once
        the round is over, and returns the ring and the notes' futures.
        """
        assert self.next is not None
        chain = [*chain, self.actor_ref.proxy()]
        if self.next == chain[0]:
            noted = [
                proxy.note(f"{self.name} saw {len(chain)}") for proxy in chain[:-1]
            ]
            return {"ring": chain, "noted": noted}
        result: dict[str, Any] = self.next.relay(chain).get(timeout=30)
        return result

    def note(self, text: str) -> None:
        self.notes.append(text)


class Recorder(Busy):
    """Keeps what it is told; used by the programs of `foreign_program.py`."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []
        self.tag = "recorder"

    def record(self, item: Any) -> None:
        self.seen.append(item)

    def on_receive(self, message: Any) -> Any:
        self.seen.append(message)
        return message

    def history(self) -> list[Any]:
        return self.seen


class TakerThread(Taker, pykka.ThreadingActor):
    pass


class TakerProcess(Taker, pykka.ProcessActor):
    pass


class HandOverThread(HandOver, pykka.ThreadingActor):
    pass


class HandOverProcess(HandOver, pykka.ProcessActor):
    pass


class HolderThread(Holder, pykka.ThreadingActor):
    pass


class HolderProcess(Holder, pykka.ProcessActor):
    pass


class GrowerThread(Grower, pykka.ThreadingActor):
    pass


class GrowerProcess(Grower, pykka.ProcessActor):
    pass


class RingThread(Ring, pykka.ThreadingActor):
    pass


class RingProcess(Ring, pykka.ProcessActor):
    pass


class RecorderThread(Recorder, pykka.ThreadingActor):
    pass


class RecorderProcess(Recorder, pykka.ProcessActor):
    pass


KINDS: dict[str, dict[str, type[pykka.Actor]]] = {
    "thread": {
        "Taker": TakerThread,
        "HandOver": HandOverThread,
        "Holder": HolderThread,
        "Grower": GrowerThread,
        "Ring": RingThread,
        "Recorder": RecorderThread,
    },
    "process": {
        "Taker": TakerProcess,
        "HandOver": HandOverProcess,
        "Holder": HolderProcess,
        "Grower": GrowerProcess,
        "Ring": RingProcess,
        "Recorder": RecorderProcess,
    },
}

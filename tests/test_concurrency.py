"""Many threads against one actor: nothing lost, nothing reordered per sender."""

from __future__ import annotations

import threading
from typing import Any

import pykka_rs as pykka

SENDERS = 8
PER_SENDER = 2_000


class Ledger(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[int, list[int]] = {}

    def on_receive(self, message: Any) -> Any:
        sender, seq = message
        self.seen.setdefault(sender, []).append(seq)
        return seq

    def record(self, sender: int, seq: int) -> int:
        return self.on_receive((sender, seq))

    def history(self) -> dict[int, list[int]]:
        return self.seen


def run_senders(send: Any) -> None:
    start = threading.Barrier(SENDERS)
    errors: list[BaseException] = []

    def sender(me: int) -> None:
        try:
            start.wait()
            for seq in range(PER_SENDER):
                send(me, seq)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def assert_all_in_order(ref: pykka.ActorRef[Ledger]) -> None:
    history = ref.proxy().history().get(timeout=30)
    assert sorted(history) == list(range(SENDERS))
    for sender, seqs in history.items():
        assert seqs == list(range(PER_SENDER)), f"sender {sender} out of order"


def test_tells_from_many_threads_all_arrive_in_order_per_sender() -> None:
    ref = Ledger.start()
    run_senders(lambda me, seq: ref.tell((me, seq)))
    assert_all_in_order(ref)
    ref.stop()


def test_asks_from_many_threads_each_get_their_own_reply() -> None:
    ref = Ledger.start()

    def ask(me: int, seq: int) -> None:
        assert ref.ask((me, seq), timeout=30) == seq

    run_senders(ask)
    assert_all_in_order(ref)
    ref.stop()


def test_proxy_calls_from_many_threads_mixed_with_tells_keep_order() -> None:
    ref = Ledger.start()
    proxy = ref.proxy()

    def call(me: int, seq: int) -> None:
        if seq % 3 == 0:
            assert proxy.record(me, seq).get(timeout=30) == seq
        elif seq % 3 == 1:
            proxy.record.defer(me, seq)
        else:
            ref.tell((me, seq))

    run_senders(call)
    assert_all_in_order(ref)
    ref.stop()


def test_futures_can_be_collected_from_another_thread() -> None:
    ref = Ledger.start()
    futures = [ref.ask((0, seq), block=False) for seq in range(PER_SENDER)]
    results: list[Any] = []
    collector = threading.Thread(
        target=lambda: results.extend(pykka.get_all(futures, timeout=30))
    )
    collector.start()
    collector.join()
    assert results == list(range(PER_SENDER))
    ref.stop()


def test_many_actors_talking_to_each_other_in_a_ring() -> None:
    class Node(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.next: pykka.ActorProxy[Node] | None = None

        def link(self, node: pykka.ActorProxy[Node]) -> None:
            self.next = node

        def pass_on(self, hops: int) -> pykka.Future[int] | int:
            if hops == 0:
                return 0
            assert self.next is not None
            # Hand the rest of the ring a future; the caller resolves the chain.
            return self.next.pass_on(hops - 1)

    nodes = [Node.start().proxy() for _ in range(16)]
    for node, following in zip(nodes, nodes[1:] + nodes[:1], strict=True):
        node.link(following).get()
    result: Any = nodes[0].pass_on(100).get(timeout=30)
    hops = 0
    while isinstance(result, pykka.Future):
        result = result.get(timeout=30)
        hops += 1
    assert (result, hops) == (0, 100)
    pykka.ActorRegistry.stop_all()

"""Channel: a bounded channel between actors of any process of the system."""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import threading
import time
from typing import Any

import pytest
from channel_actors import ProcessUser, ThreadUser
from helpers import needs_312, wait_until

import pykka_rs as pykka
from pykka_rs import Channel, ChannelClosed, ChannelEmpty, ChannelFull

# --- one process ------------------------------------------------------------


def test_items_come_out_in_order_and_len_counts_them() -> None:
    channel: Channel[int] = Channel(3)
    channel.send(1)
    channel.send(2)
    assert len(channel) == 2
    assert channel.receive() == 1
    assert channel.try_receive() == 2
    assert len(channel) == 0


def test_a_full_channel_fails_a_try_send_and_a_non_blocking_send() -> None:
    channel: Channel[str] = Channel(1)
    channel.try_send("a")
    with pytest.raises(ChannelFull, match="full"):
        channel.try_send("b")
    with pytest.raises(ChannelFull):
        channel.send("b", block=False)
    assert len(channel) == 1


def test_full_and_empty_are_the_queue_modules_exceptions() -> None:
    import queue  # noqa: PLC0415

    channel: Channel[int] = Channel(1)
    with pytest.raises(queue.Empty):
        channel.try_recv()
    channel.send(1)
    with pytest.raises(queue.Full):
        channel.try_send(2)


def test_an_empty_channel_fails_a_try_receive_and_a_non_blocking_receive() -> None:
    channel: Channel[int] = Channel(1)
    with pytest.raises(ChannelEmpty, match="empty"):
        channel.try_receive()
    with pytest.raises(ChannelEmpty):
        channel.receive(block=False)
    assert channel.recv is not None
    assert channel.try_recv is not None


def test_send_on_a_full_channel_times_out_and_leaves_it_as_it_was() -> None:
    channel: Channel[int] = Channel(2)
    channel.send(1)
    channel.send(2)
    started = time.monotonic()
    with pytest.raises(pykka.Timeout):
        channel.send(3, timeout=0.05)
    assert time.monotonic() - started >= 0.05
    assert [channel.try_receive(), channel.try_receive()] == [1, 2]


def test_receive_on_an_empty_channel_times_out() -> None:
    channel: Channel[int] = Channel(2)
    started = time.monotonic()
    with pytest.raises(pykka.Timeout):
        channel.receive(timeout=0.05)
    assert time.monotonic() - started >= 0.05


def test_a_zero_timeout_is_a_wait_that_runs_out_at_once() -> None:
    channel: Channel[int] = Channel(1)
    with pytest.raises(pykka.Timeout):
        channel.receive(timeout=0)
    channel.send(1, timeout=0)
    with pytest.raises(pykka.Timeout):
        channel.send(2, timeout=0)
    with pytest.raises(pykka.Timeout):
        channel.send(2, timeout=-1)
    assert channel.receive(timeout=0) == 1


def test_a_blocked_sender_goes_on_when_a_receiver_makes_room() -> None:
    channel: Channel[int] = Channel(1)
    channel.send(1)
    done = threading.Event()

    def sender() -> None:
        channel.send(2, timeout=10)
        done.set()

    thread = threading.Thread(target=sender)
    thread.start()
    assert not done.wait(0.05)
    assert channel.receive() == 1
    assert done.wait(10)
    assert channel.receive() == 2
    thread.join()


def test_a_blocked_receiver_is_woken_by_a_send() -> None:
    channel: Channel[str] = Channel(1)
    got: list[str] = []
    thread = threading.Thread(target=lambda: got.append(channel.receive(timeout=10)))
    thread.start()
    channel.send("hello")
    thread.join(10)
    assert got == ["hello"]


def test_close_lets_receivers_drain_then_raises_channel_closed() -> None:
    channel: Channel[int] = Channel(4)
    channel.send(1)
    channel.send(2)
    assert channel.close() is True
    assert channel.close() is False
    assert channel.closed
    with pytest.raises(ChannelClosed):
        channel.send(3)
    with pytest.raises(ChannelClosed):
        channel.try_send(3)
    assert channel.receive() == 1
    assert channel.try_receive() == 2
    with pytest.raises(ChannelClosed):
        channel.receive()
    with pytest.raises(ChannelClosed):
        channel.try_receive()


def test_close_wakes_a_blocked_receiver_and_a_blocked_sender() -> None:
    empty: Channel[int] = Channel(1)
    full: Channel[int] = Channel(1)
    full.send(0)
    errors: list[type[BaseException]] = []

    def expect_closed(operation: Any) -> None:
        try:
            operation()
        except ChannelClosed as exc:
            errors.append(type(exc))

    threads = [
        threading.Thread(
            target=expect_closed, args=(lambda: empty.receive(timeout=10),)
        ),
        threading.Thread(
            target=expect_closed, args=(lambda: full.send(1, timeout=10),)
        ),
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # let both wait; the close must wake them either way
    empty.close()
    full.close()
    for thread in threads:
        thread.join(10)
    assert errors == [ChannelClosed, ChannelClosed]


def test_iteration_takes_everything_then_ends_at_the_close() -> None:
    channel: Channel[int] = Channel(10)
    for i in range(5):
        channel.send(i)
    channel.close()
    assert list(channel) == [0, 1, 2, 3, 4]
    assert list(channel) == []


@pytest.mark.parametrize(
    ("capacity", "error", "text"),
    [
        (0, ValueError, "at least 1"),
        (-3, ValueError, "at least 1"),
        ("3", TypeError, "must be an int, not str"),
        (2.0, TypeError, "must be an int, not float"),
        (True, TypeError, "must be an int, not bool"),
        (None, TypeError, "must be an int, not NoneType"),
    ],
)
def test_a_bad_capacity_is_refused_with_a_clear_error(
    capacity: Any, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        Channel(capacity)


def test_a_bad_timeout_or_name_is_refused_and_nothing_is_sent() -> None:
    channel: Channel[int] = Channel(1)
    with pytest.raises(TypeError, match="timeout must be a number"):
        channel.send(1, timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timeout must be a number"):
        channel.receive(timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        channel.send(1, timeout=float("nan"))
    assert len(channel) == 0
    with pytest.raises(TypeError, match="name must be a str"):
        Channel(1, name=5)  # type: ignore[arg-type]


def test_stats_count_depth_high_water_sent_and_received() -> None:
    channel: Channel[int] = Channel(5, name="counted")
    for i in range(4):
        channel.send(i)
    channel.receive()
    mine = channel.stats()
    assert (mine.name, mine.process, mine.capacity) == ("counted", 0, 5)
    assert (mine.waiting, mine.sent, mine.received, mine.high_water) == (3, 4, 1, 4)
    assert not mine.closed
    listed = [c for c in pykka.stats().channels if c.name == "counted"]
    assert listed == [mine]


def test_a_channel_dropped_leaves_the_stats() -> None:
    channel: Channel[int] = Channel(1, name="short-lived")
    assert any(c.name == "short-lived" for c in pykka.stats().channels)
    del channel
    gc.collect()
    assert not any(c.name == "short-lived" for c in pykka.stats().channels)


def test_unpickled_in_its_own_process_it_is_the_same_channel() -> None:
    channel: Channel[int] = Channel(2)
    copy: Channel[int] = pickle.loads(pickle.dumps(channel))  # noqa: S301
    copy.send(7)
    assert channel.receive() == 7


# --- thread actors ----------------------------------------------------------


def test_thread_actors_share_a_channel_and_nothing_is_lost_or_repeated() -> None:
    channel: Channel[int] = Channel(8)
    producers = [ThreadUser.start().proxy() for _ in range(3)]
    consumer = ThreadUser.start().proxy()
    try:
        sent = [
            p.produce_range(channel, n * 1000, n * 1000 + 1000)
            for n, p in enumerate(producers)
        ]
        got = consumer.consume(channel, 3000)
        assert [s.get(timeout=30) for s in sent] == [1000, 1000, 1000]
        assert sorted(got.get(timeout=30)) == list(range(3000))
        assert channel.stats().high_water <= 8
    finally:
        pykka.ActorRegistry.stop_all()


# --- process actors ---------------------------------------------------------


@pytest.fixture
def two_workers() -> Any:
    first = ProcessUser.start_on(0).proxy()
    second = ProcessUser.start_on(1).proxy()
    assert first.pid().get(timeout=60) != second.pid().get(timeout=60)
    yield first, second
    pykka.ActorRegistry.stop_all()


def test_a_producer_in_one_worker_and_a_consumer_in_another(two_workers: Any) -> None:
    producer, consumer = two_workers
    channel: Channel[int] = Channel(4, name="between-workers")
    sent = producer.produce_range(channel, 0, 2000)
    got = consumer.check_sum(channel, 2000, 0)
    assert sent.get(timeout=60) == 2000
    # All, once each, in order.
    assert got.get(timeout=60) == (2000, sum(range(2000)), 0)
    mine = channel.stats()
    assert (mine.sent, mine.received, mine.waiting) == (2000, 2000, 0)
    assert mine.high_water <= 4


def test_a_channel_made_in_a_worker_is_used_from_here_and_listed_in_stats(
    two_workers: Any,
) -> None:
    maker, other = two_workers
    channel = maker.make_channel(2).get(timeout=30)
    assert channel.name == "made-in-a-worker"
    channel.send("from the parent")
    assert other.consume(channel, 1).get(timeout=30) == ["from the parent"]
    with pytest.raises(ChannelEmpty):
        channel.try_receive()
    channel.send(1)
    channel.send(2)
    with pytest.raises(ChannelFull):
        channel.try_send(3)
    assert len(channel) == 2
    listed = [c for c in pykka.stats().channels if c.name == "made-in-a-worker"]
    assert len(listed) == 1
    assert listed[0].process > 0
    assert (listed[0].sent, listed[0].waiting, listed[0].high_water) == (3, 2, 2)


def test_timeouts_hold_across_processes_and_lose_nothing(two_workers: Any) -> None:
    maker, _ = two_workers
    channel = maker.make_channel(1).get(timeout=30)
    with pytest.raises(pykka.Timeout):
        channel.receive(timeout=0.1)
    with pytest.raises(pykka.Timeout):
        channel.receive(timeout=0)
    channel.send("only")
    with pytest.raises(pykka.Timeout):
        channel.send("more", timeout=0)
    with pytest.raises(pykka.Timeout):
        channel.send("more", timeout=0.1)
    assert channel.receive(timeout=5) == "only"
    with pytest.raises(ChannelEmpty):
        channel.try_receive()


def test_receives_that_time_out_while_items_arrive_lose_nothing(
    two_workers: Any,
) -> None:
    # Each timed-out receive is withdrawn at the owner; one answered in the
    # meantime still delivers its item, so every item arrives once, in order.
    _, consumer = two_workers
    channel: Channel[int] = Channel(2)
    timed_out: Channel[int] = Channel(1)
    got = consumer.impatient_receive(channel, 300, timed_out)
    assert timed_out.receive(timeout=30) == 0
    for n in range(300):
        channel.send(n)
        if n % 7 == 0:
            time.sleep(0.001)  # let some receives time out
    items, timeouts = got.get(timeout=60)
    assert items == list(range(300))
    assert timeouts > 0


def test_cancelled_remote_receive_async_loses_nothing(two_workers: Any) -> None:
    # Each batch starts with a receive that must time out (the producer waits
    # for it), then races short timeouts against items arriving: an item the
    # owner hands to a receive that was just cancelled must not be lost.
    maker, _ = two_workers
    channel = maker.make_channel(2).get(timeout=30)
    batches, batch = 20, 10
    go = [threading.Event() for _ in range(batches)]

    def produce() -> None:
        for b in range(batches):
            go[b].wait(timeout=30)
            for n in range(b * batch, (b + 1) * batch):
                channel.send(n)
                if n % 5 == 0:
                    time.sleep(0.001)

    async def main() -> tuple[list[int], int]:
        got: list[int] = []
        raced = 0
        for b in range(batches):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(channel.receive_async(), 0.005)
            go[b].set()
            while len(got) < (b + 1) * batch:
                try:
                    got.append(await asyncio.wait_for(channel.receive_async(), 0.0005))
                except TimeoutError:
                    raced += 1
        return got, raced

    producer = threading.Thread(target=produce)
    producer.start()
    got, _ = asyncio.run(main())
    producer.join()
    assert got == list(range(batches * batch))
    assert len(channel) == 0


def test_close_across_processes_drains_then_ends_iteration(two_workers: Any) -> None:
    producer, consumer = two_workers
    channel: Channel[int] = Channel(3)
    drained = consumer.drain(channel)
    producer.produce_and_close(channel, list(range(10))).get(timeout=30)
    assert drained.get(timeout=30) == list(range(10))
    assert consumer.outcome(channel, "send", 1).get(timeout=30) == "ChannelClosed"
    assert consumer.outcome(channel, "try_receive").get(timeout=30) == "ChannelClosed"


def test_an_unpicklable_item_raises_at_the_call_site_and_nothing_is_sent(
    two_workers: Any,
) -> None:
    maker, _ = two_workers
    channel = maker.make_channel(2).get(timeout=30)
    with pytest.raises(TypeError):
        channel.send(threading.Lock())
    assert len(channel) == 0
    channel.send("fine")
    assert channel.receive(timeout=5) == "fine"


def test_the_owner_dying_gives_channel_closed_not_a_hang(two_workers: Any) -> None:
    maker, other = two_workers
    channel = maker.make_channel(1).get(timeout=30)
    waiting = other.outcome(channel, "receive")
    time.sleep(0.1)  # let the receive wait at the owner
    maker.crash_process()
    assert waiting.get(timeout=30) == "ChannelClosed"
    with pytest.raises(ChannelClosed, match="process that held it"):
        channel.send(1)
    with pytest.raises(ChannelClosed):
        channel.receive(timeout=5)


# --- asyncio ----------------------------------------------------------------


def test_receive_async_suspends_without_blocking_the_loop() -> None:
    channel: Channel[str] = Channel(1)

    async def main() -> tuple[str, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                if ticks == 5:
                    threading.Thread(target=channel.send, args=("late",)).start()
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        item = await asyncio.wait_for(channel.receive_async(), 10)
        task.cancel()
        return item, ticks

    item, ticks = asyncio.run(main())
    assert item == "late"
    assert ticks >= 5


def test_send_async_waits_for_room_and_async_for_ends_at_the_close() -> None:
    channel: Channel[int] = Channel(2)

    async def main() -> list[int]:
        async def produce() -> None:
            for i in range(10):
                await channel.send_async(i)
            channel.close()

        task = asyncio.create_task(produce())
        got = [item async for item in channel]
        await task
        return got

    assert asyncio.run(main()) == list(range(10))
    assert channel.stats().high_water <= 2


def test_a_cancelled_receive_async_takes_nothing() -> None:
    channel: Channel[int] = Channel(1)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(channel.receive_async(), 0.05)

    asyncio.run(main())
    channel.send(1)
    assert channel.receive() == 1


def test_asyncio_on_a_channel_of_a_worker(two_workers: Any) -> None:
    maker, other = two_workers
    channel = maker.make_channel(2).get(timeout=30)

    async def main() -> list[int]:
        later = other.produce(channel, [1, 2, 3, 4])
        got = [await channel.receive_async() for _ in range(4)]
        assert later.get(timeout=30) == 4
        await channel.send_async(5)
        got.append(await channel.receive_async())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(channel.receive_async(), 0.1)
        return got

    assert asyncio.run(main()) == [1, 2, 3, 4, 5]
    channel.send(6)
    assert channel.receive(timeout=5) == 6


# --- interpreter actors -----------------------------------------------------


@needs_312
def test_interpreter_actors_send_and_receive_on_a_channel() -> None:
    from channel_actors import InterpreterUser  # noqa: PLC0415

    channel: Channel[int] = Channel(4)
    producer = InterpreterUser.start().proxy()
    consumer = ThreadUser.start().proxy()
    try:
        sent = producer.produce_range(channel, 0, 500)
        assert consumer.check_sum(channel, 500, 0).get(timeout=60) == (
            500,
            sum(range(500)),
            0,
        )
        assert sent.get(timeout=60) == 500
        channel.send(41)
        assert producer.consume(channel, 1).get(timeout=30) == [41]
        assert (
            producer.outcome(channel, "try_receive").get(timeout=30) == "ChannelEmpty"
        )
    finally:
        pykka.ActorRegistry.stop_all()


@needs_312
def test_an_interpreter_actor_cannot_make_a_channel_and_says_why() -> None:
    from channel_actors import InterpreterUser  # noqa: PLC0415

    actor = InterpreterUser.start().proxy()
    try:
        with pytest.raises(
            RuntimeError, match="cannot be made in an interpreter worker"
        ):
            actor.make_channel(1).get(timeout=30)
    finally:
        pykka.ActorRegistry.stop_all()


# --- a long run -------------------------------------------------------------


def _rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:  # noqa: PTH123
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_million_items_to_a_slow_consumer_keep_memory_bounded() -> None:
    count = 1_000_000
    channel: Channel[tuple[int, bytes]] = Channel(1000)
    payload = b"x" * 200  # 10**6 of these unbounded would be over 200 MB
    seen = bytearray(count)
    peak = [0]
    done = threading.Event()

    def consume() -> None:
        for number, _ in channel:
            seen[number] += 1
            if number % 1000 == 0:
                time.sleep(0.0005)  # slower than the producer
            if number % 50_000 == 0:
                peak[0] = max(peak[0], _rss_bytes())
        done.set()

    gc.collect()
    before = _rss_bytes()
    consumer = threading.Thread(target=consume)
    consumer.start()
    for number in range(count):
        channel.send((number, bytes(payload)))
    channel.close()
    assert done.wait(300)
    consumer.join()
    stats = channel.stats()
    assert (stats.sent, stats.received, stats.waiting) == (count, count, 0)
    assert stats.high_water == 1000  # full, and never past its bound
    assert seen.count(1) == count  # each exactly once
    assert peak[0] - before < 50 * 2**20


def test_a_drained_closed_channel_of_a_worker_still_answers_as_closed(
    two_workers: Any,
) -> None:
    maker, other = two_workers
    channel = maker.make_channel(2).get(timeout=30)
    channel.send("last")
    assert channel.close() is True
    assert other.drain(channel).get(timeout=30) == ["last"]
    # The worker forgets it at the next request; the answers stay the same.
    assert other.outcome(channel, "try_receive").get(timeout=30) == "ChannelClosed"
    assert channel.closed
    final = channel.stats()
    assert (final.sent, final.received, final.waiting, final.closed) == (1, 1, 0, True)
    assert len(channel) == 0
    assert channel.close() is False
    with pytest.raises(ChannelClosed):
        channel.send(1)
    with pytest.raises(ChannelClosed):
        channel.receive(timeout=5)


def test_top_lists_channels_fullest_first() -> None:
    rich_console = pytest.importorskip("rich.console")
    from pykka_rs import _top  # noqa: PLC0415

    calm: Channel[int] = Channel(10, name="calm")
    packed: Channel[int] = Channel(2, name="packed")
    calm.send(1)
    packed.send(1)
    packed.send(2)
    console = rich_console.Console(width=140, record=True)
    console.print(_top.render(pykka.stats(), None))
    screen = console.export_text()
    assert screen.index("packed") < screen.index("calm")
    packed_row = next(line for line in screen.splitlines() if "packed" in line)
    cells = [cell.strip() for cell in packed_row.split("│")]
    assert cells[1:6] == ["packed", "main", "2", "2", "2"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_million_items_from_a_worker_to_a_slow_consumer_keep_memory_bounded() -> None:
    count = 1_000_000
    channel: Channel[tuple[int, bytes]] = Channel(1000, name="from-a-worker")
    producer = ProcessUser.start_on(0).proxy()
    try:
        gc.collect()
        before = _rss_bytes()
        worker_before = _worker_rss(0)
        sent = producer.produce_payloads(channel, count, 200)
        # The consumer starts only once the producer has filled the channel,
        # so the bound is reached however the machine's load shares the CPUs.
        wait_until(lambda: channel.stats().waiting == 1000, timeout=30)
        time.sleep(0.05)
        assert channel.stats().waiting == 1000  # the producer is held back
        seen = bytearray(count)
        peak = worker_peak = 0
        for number, payload in channel:
            seen[number] += 1
            assert len(payload) == 200
            if number % 20 == 0:
                time.sleep(0.001)  # a slow consumer: the producer waits on it
            if number % 100_000 == 0:
                peak = max(peak, _rss_bytes())
                worker_peak = max(worker_peak, _worker_rss(0))
        assert sent.get(timeout=60) == count
    finally:
        pykka.ActorRegistry.stop_all()
    stats = channel.stats()
    assert (stats.sent, stats.received, stats.waiting) == (count, count, 0)
    assert stats.high_water == 1000  # full, and never past its bound
    assert seen.count(1) == count  # each exactly once
    # Unbounded, a million 200-byte items would take over 200 MB here.
    assert peak - before < 50 * 2**20
    assert worker_peak - worker_before < 50 * 2**20


def _worker_rss(seat: int) -> int:
    worker = next(w for w in pykka.stats().workers if w.seat == seat)
    assert worker.rss_bytes is not None
    return worker.rss_bytes

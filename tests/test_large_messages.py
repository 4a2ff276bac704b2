"""Large buffers between processes go through shared memory, and leak nowhere.

Every test counts what a process holds of the shared buffers (descriptors
and mappings, from /proc) before and after, on both sides, including when
one side is killed with SIGKILL.
"""

from __future__ import annotations

import array
import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import needs_312, wait_until
from large_actors import Collector, Deep, Keeper, probe

import pykka_rs as pykka
from pykka_rs import _buffers, _core

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MB = 1 << 20
MIN = _core.SHARED_MIN_BYTES


@pytest.fixture
def keeper() -> Iterator[pykka.ActorProxy[Keeper]]:
    ref = Keeper.start()
    yield ref.proxy()
    ref.stop()


@pytest.fixture
def fifo() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "gate"
        os.mkfifo(path)
        yield path


def open_gate(path: Path) -> None:
    with path.open("wb") as gate:
        gate.write(b"x")


def nothing_shared_here() -> bool:
    """Whether this process holds no shared buffer, once the buffers closed
    apart (`rust/payload.rs`) are closed."""
    with contextlib.suppress(AssertionError):
        wait_until(lambda: probe()["shared"] == 0, timeout=10)
    here = probe()
    return here["shared"] == 0 and here["mappings"] == 0


def nothing_shared_in(keeper: pykka.ActorProxy[Keeper]) -> bool:
    """As `nothing_shared_here`, in the keeper's process."""
    with contextlib.suppress(AssertionError):
        wait_until(lambda: keeper.probe().get(timeout=10)["shared"] == 0, timeout=10)
    there = keeper.probe().get(timeout=10)
    return there["shared"] == 0 and there["mappings"] == 0


def ten_megabytes() -> bytes:
    return os.urandom(10 * MB)


KINDS: dict[str, Callable[[], Any]] = {
    "bytes": ten_megabytes,
    "bytearray": lambda: bytearray(ten_megabytes()),
    "readonly memoryview": lambda: memoryview(ten_megabytes()),
    "writable memoryview": lambda: memoryview(bytearray(ten_megabytes())),
    "memoryview of doubles": lambda: memoryview(array.array("d", range(MB + 7))),
    "array": lambda: array.array("d", range(MB + 7)),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_ten_megabytes_of_each_kind_travel_to_a_process_actor_and_back_intact(
    keeper: pykka.ActorProxy[Keeper], kind: str
) -> None:
    value = KINDS[kind]()
    back = keeper.echo(value).get(timeout=30)
    assert type(back) is type(value)
    assert back == value
    if isinstance(value, memoryview):
        assert (back.format, back.shape, back.readonly) == (
            value.format,
            value.shape,
            value.readonly,
        )
    assert nothing_shared_here()


def test_a_message_mixing_small_and_large_buffers_arrives_whole(
    keeper: pykka.ActorProxy[Keeper],
) -> None:
    big = ten_megabytes()
    message = {
        "small": b"tiny",
        "big": big,
        "same big again": big,
        "nested": [bytearray(3 * MB), ("text", 42, b"x" * (MIN - 1))],
        "view": memoryview(b"abc"),
    }
    back = keeper.echo(message).get(timeout=30)
    assert back == message
    # One buffer, sent once, is one object on arrival, as pickle keeps it.
    assert back["big"] is back["same big again"]
    assert type(back["nested"][0]) is bytearray


def test_many_concurrent_large_asks_all_come_back_intact() -> None:
    refs = [Keeper.start() for _ in range(2)]
    payloads = [os.urandom(MB + i) for i in range(24)]
    results: dict[int, Any] = {}

    def ask_some(start: int) -> None:
        for i in range(start, len(payloads), 4):
            future = refs[i % 2].ask(payloads[i], block=False)
            results[i] = future.get(timeout=60)

    threads = [threading.Thread(target=ask_some, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    futures = [refs[i % 2].ask(p, block=False) for i, p in enumerate(payloads)]
    assert pykka.get_all(futures, timeout=60) == payloads
    for thread in threads:
        thread.join(60)
    assert [results[i] for i in range(len(payloads))] == payloads
    for ref in refs:
        assert nothing_shared_in(ref.proxy())
        ref.stop()
    assert nothing_shared_here()


def test_the_threshold_decides_which_buffers_leave_the_pickle(
    keeper: pykka.ActorProxy[Keeper],
) -> None:
    under, at = b"u" * (MIN - 1), b"a" * MIN
    assert _buffers.encode(under)[1] == []
    pickled, buffers = _buffers.encode([at, under, bytearray(at)])
    assert [len(buffer) for buffer in buffers] == [MIN, MIN]
    assert len(pickled) < 2 * MIN
    for size in (MIN - 1, MIN, MIN + 1):
        value = os.urandom(size)
        assert keeper.echo(value).get(timeout=10) == value
        assert keeper.echo(bytearray(value)).get(timeout=10) == bytearray(value)
    # What the worker holds while it handles a message: the buffers it came
    # with (once those of earlier messages are closed).
    assert nothing_shared_in(keeper)
    assert keeper.shared_while_handling(b"u" * (MIN - 1)).get(timeout=10) == 0
    assert keeper.shared_while_handling(b"a" * MIN).get(timeout=10) == 1


def test_buffers_deep_inside_objects_and_in_arrays_leave_the_pickle_too(
    keeper: pykka.ActorProxy[Keeper],
) -> None:
    deep = Deep(os.urandom(MB))
    assert nothing_shared_in(keeper)
    assert keeper.shared_while_handling(deep).get(timeout=10) == 1
    assert keeper.echo(deep).get(timeout=10) == deep
    many = Deep([array.array("b", b"x" * MIN), memoryview(b"y" * MIN), "s" * MIN])
    assert nothing_shared_in(keeper)
    assert keeper.shared_while_handling(many).get(timeout=10) == 2
    assert keeper.echo(many).get(timeout=10) == many
    # A large pickle without a large buffer stays as it is.
    assert nothing_shared_in(keeper)
    assert keeper.shared_while_handling(list(range(100_000))).get(timeout=10) == 0


def test_a_buffer_too_many_for_one_frame_stays_in_the_pickle(
    keeper: pykka.ActorProxy[Keeper],
) -> None:
    values = [os.urandom(MIN) for _ in range(_core.MAX_SHARED_BUFFERS + 3)]
    pickled, buffers = _buffers.encode(values)
    assert len(buffers) == _core.MAX_SHARED_BUFFERS
    assert len(pickled) > 3 * MIN
    assert keeper.echo(values).get(timeout=30) == values


def test_repeated_ten_megabyte_sends_keep_memory_and_descriptors_bounded(
    keeper: pykka.ActorProxy[Keeper],
) -> None:
    value = ten_megabytes()
    assert keeper.echo(value).get(timeout=30) == value
    here, there = probe(), keeper.probe().get(timeout=10)
    for _ in range(30):
        assert keeper.fingerprint(value).get(timeout=30)[1] == len(value)
        keeper.echo(value).get(timeout=30)
    assert nothing_shared_here()
    assert nothing_shared_in(keeper)
    after_here, after_there = probe(), keeper.probe().get(timeout=10)
    for before, after in ((here, after_here), (there, after_there)):
        assert after["open"] <= before["open"] + 2
        # 30 round trips of 10 MB: a leak of one copy each would be 300 MB.
        assert after["rss"] - before["rss"] < 60 * MB


def test_no_names_are_left_in_dev_shm(keeper: pykka.ActorProxy[Keeper]) -> None:
    shm = Path("/dev/shm")  # noqa: S108 (where POSIX shared memory names live)
    before = set(shm.iterdir()) if shm.is_dir() else set()
    keeper.echo(ten_megabytes()).get(timeout=30)
    after = set(shm.iterdir()) if shm.is_dir() else set()
    assert after <= before


def test_a_receiver_killed_mid_transfer_leaves_nothing_in_the_sender(
    fifo: Path,
) -> None:
    ref = Keeper.start()
    pid = ref.proxy().probe().get(timeout=10)["pid"]
    ref.proxy().block(str(fifo))
    value = ten_megabytes()
    for _ in range(6):  # queued in the worker, or still in the socket
        ref.tell(value)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not ref.is_alive(), timeout=20)
    assert nothing_shared_here()
    replacement = Keeper.start()
    assert replacement.proxy().echo(value).get(timeout=30) == value
    replacement.stop()
    assert nothing_shared_here()


def test_a_sender_killed_after_sending_leaves_nothing_in_the_receiver() -> None:
    gate = threading.Event()
    collector = Collector.start(gate)
    sender = Keeper.start()
    pid = sender.proxy().probe().get(timeout=10)["pid"]
    value = ten_megabytes()
    sender.proxy().tell_many(collector, value, 5).get(timeout=60)
    # The buffers wait in this process, in the collector's mailbox.
    wait_until(lambda: probe()["shared"] >= 4, timeout=20)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not sender.is_alive(), timeout=20)
    gate.set()
    seen = collector.proxy().fingerprints().get(timeout=30)
    assert seen == [(len(value), hash(value))] * 5
    collector.stop()
    assert nothing_shared_here()


def test_a_worker_killed_holding_buffers_from_another_worker_leaks_nowhere(
    fifo: Path,
) -> None:
    receiver = Keeper.start_on(0)
    sender = Keeper.start_on(1)
    receiver_pid = receiver.proxy().probe().get(timeout=10)["pid"]
    receiver.proxy().block(str(fifo))
    value = ten_megabytes()
    sender.proxy().tell_many(receiver, value, 4).get(timeout=60)
    # Through the parent and on: nothing of them stays here.
    os.kill(receiver_pid, signal.SIGKILL)
    wait_until(lambda: not receiver.is_alive(), timeout=20)
    assert nothing_shared_here()
    assert nothing_shared_in(sender.proxy())
    assert sender.proxy().echo(value).get(timeout=30) == value
    sender.stop()


# --- Interpreter actors: no descriptors in a subinterpreter ----------------


@needs_312
def test_large_buffers_reach_an_interpreter_actor_inline_and_come_back() -> None:
    from interpreter_actors import ProcessWhere, Where  # noqa: PLC0415 (3.12+)

    where = Where.start("large")
    elsewhere = ProcessWhere.start("process")
    value = {"big": ten_megabytes(), "array": array.array("i", range(MB))}
    try:
        # From here, from a worker process, and from the subinterpreter to
        # a worker process, whose reply comes back with shared buffers.
        assert where.ask(value, timeout=30) == value
        assert elsewhere.proxy().ask_other(where, value).get(timeout=60) == value
        assert where.proxy().ask_other(elsewhere, value).get(timeout=60) == value
    finally:
        where.stop()
        elsewhere.stop()
    assert nothing_shared_here()


def test_a_large_message_over_the_configured_limit_is_refused_where_it_is_sent() -> (
    None
):
    limit = _core.message_limit()
    pykka.configure(max_message_bytes=MB)
    try:
        ref = Keeper.start()  # its worker starts with the limit
        keeper = ref.proxy()
        with pytest.raises(ValueError, match=f"over the limit of {MB}"):
            ref.tell(ten_megabytes())
        with pytest.raises(ValueError, match=f"over the limit of {MB}"):
            ref.ask([b"x" * (MB // 2), bytearray(MB // 2 + 1)])
        # Nothing else was disturbed: the worker and its link are fine.
        assert keeper.echo(b"small").get(timeout=10) == b"small"
        # A reply over the limit fails its asker instead of hanging it.
        with pytest.raises(pykka.ActorDeadError, match="could not send its reply"):
            keeper.make(2 * MB).get(timeout=10)
        assert keeper.echo(b"still fine").get(timeout=10) == b"still fine"
        ref.stop()
    finally:
        pykka.configure(max_message_bytes=limit)
    assert nothing_shared_here()

"""Awaiting futures from asyncio while other threads resolve them."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import pytest

import pykka_rs as pykka

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Echo(pykka.ThreadingActor):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def slow_echo(self, value: int) -> int:
        self.release.wait(10)
        return value


def await_while_ticking(
    release: threading.Event, awaitable: Callable[[], Awaitable[int]]
) -> tuple[int, int]:
    """Await `awaitable()` while another task ticks; the fifth tick releases the
    actor. Returns the value and the ticks: at least five unless the await
    blocked the event loop."""

    async def main() -> tuple[int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                if ticks == 5:
                    release.set()  # only now may the actor answer
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        value = await awaitable()
        task.cancel()
        return value, ticks

    return asyncio.run(main())


def test_awaiting_a_future_lets_other_tasks_run_meanwhile() -> None:
    release = threading.Event()
    ref = Echo.start(release)
    value, ticks = await_while_ticking(release, lambda: ref.proxy().slow_echo(7))
    assert value == 7
    assert ticks >= 5
    ref.stop()


def test_awaiting_a_mapped_future_lets_other_tasks_run_meanwhile() -> None:
    release = threading.Event()
    ref = Echo.start(release)
    value, ticks = await_while_ticking(
        release, lambda: ref.proxy().slow_echo(7).map(lambda x: x * 6)
    )
    assert value == 42
    assert ticks >= 5
    ref.stop()


def test_many_futures_resolved_by_other_threads_are_awaited_concurrently() -> None:
    futures: list[pykka.ThreadingFuture[int]] = [
        pykka.ThreadingFuture() for _ in range(50)
    ]

    async def main() -> list[int]:
        def resolve() -> None:
            for i, future in enumerate(reversed(futures)):
                future.set(i)

        threading.Thread(target=resolve).start()
        return list(await asyncio.gather(*(_await(f) for f in futures)))

    assert asyncio.run(main()) == list(reversed(range(50)))


async def _await(future: pykka.Future[int]) -> int:
    return await future


def test_an_awaited_exception_is_raised_in_the_task() -> None:
    future: pykka.ThreadingFuture[int] = pykka.ThreadingFuture()

    async def main() -> int:
        def fail() -> None:
            try:
                raise LookupError("nothing here")
            except LookupError:
                future.set_exception()

        threading.Timer(0.01, fail).start()
        return await future

    with pytest.raises(LookupError, match="nothing here"):
        asyncio.run(main())


def test_a_cancelled_await_leaves_the_future_usable() -> None:
    future: pykka.ThreadingFuture[int] = pykka.ThreadingFuture()

    async def main() -> None:
        task = asyncio.create_task(_await(future))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    future.set(3)
    assert future.get(timeout=1) == 3


def test_awaiting_a_done_future_returns_its_value() -> None:
    future: pykka.ThreadingFuture[str] = pykka.ThreadingFuture()
    future.set("ready")
    assert asyncio.run(_await_str(future)) == "ready"


async def _await_str(future: pykka.Future[str]) -> str:
    return await future

"""Bad input gets a clear error at the call site and disturbs nothing else."""

from __future__ import annotations

import os
import queue
import re
import signal
import threading
import time
from typing import Any

import pytest

import pykka_rs as pykka
from pykka_rs import _core
from pykka_rs._envelope import Envelope


class Echo(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message

    def ask_myself(self, timeout: float | None) -> Any:
        return self.actor_ref.ask("me", timeout=timeout)

    def wait_on_my_own_future(self) -> Any:
        return self.actor_ref.proxy().on_receive("me").get()

    def ask_myself_later(self) -> Any:
        # Keeping the future is fine: the caller resolves it.
        return self.actor_ref.ask("me", block=False)


@pytest.fixture
def echo() -> Any:
    ref = Echo.start()
    yield ref
    ref.stop()


@pytest.mark.parametrize("timeout", ["soon", [1], object()])
def test_a_timeout_that_is_not_a_number_is_a_type_error(
    echo: Any, timeout: Any
) -> None:
    with pytest.raises(TypeError, match="timeout must be a number of seconds or None"):
        echo.ask("hi", timeout=timeout)
    future = pykka.ThreadingFuture[int]()
    with pytest.raises(TypeError, match="timeout must be a number of seconds or None"):
        future.get(timeout=timeout)
    assert echo.ask("still fine") == "still fine"


def test_a_nan_timeout_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        pykka.ThreadingFuture[int]().get(timeout=float("nan"))


def test_a_zero_or_negative_timeout_only_takes_what_is_there() -> None:
    future = pykka.ThreadingFuture[int]()
    for timeout in (0, -1.5):
        with pytest.raises(pykka.Timeout, match=f"^{timeout} seconds$"):
            future.get(timeout=timeout)
    future.set(1)
    assert future.get(timeout=-1) == 1


def test_putting_something_that_is_not_an_envelope_is_a_type_error(echo: Any) -> None:
    with pytest.raises(TypeError, match="Envelope"):
        echo.actor_inbox.put("not an envelope")
    echo.actor_inbox.put(Envelope("an envelope"))
    assert echo.ask("ok") == "ok"


def test_exc_info_that_is_not_a_triple_is_a_type_error() -> None:
    future = pykka.ThreadingFuture[int]()
    with pytest.raises(TypeError, match="exc_info must be a"):
        future.set_exception((ValueError,))  # type: ignore[arg-type]
    future.set(5)
    assert future.get() == 5


def test_a_second_result_is_refused_and_the_first_kept() -> None:
    future = pykka.ThreadingFuture[int]()
    future.set(1)
    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception((ValueError, ValueError(), None))
    with pytest.raises(queue.Full):
        future.set_get_hook(lambda _timeout: 3)
    assert future.get() == 1


def test_every_way_of_sending_to_a_dead_actor_says_it_is_dead(echo: Any) -> None:
    proxy = echo.proxy()
    echo.stop()
    message = re.escape(f"{echo} not found")
    with pytest.raises(pykka.ActorDeadError, match=message):
        echo.tell("hi")
    with pytest.raises(pykka.ActorDeadError, match=message):
        echo.ask("hi")
    with pytest.raises(pykka.ActorDeadError, match=message):
        echo.ask("hi", block=False).get()
    with pytest.raises(pykka.ActorDeadError, match=message):
        proxy.on_receive("hi").get()
    with pytest.raises(pykka.ActorDeadError, match=message):
        echo.proxy()
    with pytest.raises(pykka.ActorDeadError, match=message):
        echo.actor_inbox.put(Envelope("hi"))
    assert echo.stop() is False


def test_an_actor_blocking_forever_on_its_own_reply_gets_an_error(echo: Any) -> None:
    with pytest.raises(RuntimeError, match="only it can send"):
        echo.proxy().ask_myself(None).get(timeout=5)
    with pytest.raises(RuntimeError, match="only it can send"):
        echo.proxy().wait_on_my_own_future().get(timeout=5)
    # With a timeout it times out, as in Pykka; keeping the future is fine.
    with pytest.raises(pykka.Timeout):
        echo.proxy().ask_myself(0.05).get(timeout=5)
    assert echo.proxy().ask_myself_later().get(timeout=5).get(timeout=5) == "me"


def test_an_actor_asking_itself_in_on_start_gets_an_error_not_a_hang() -> None:
    outcome: list[BaseException] = []

    class EagerToTalk(pykka.ThreadingActor):
        def on_start(self) -> None:
            try:
                self.actor_ref.ask("hello, me")
            except RuntimeError as exc:
                outcome.append(exc)

    ref = EagerToTalk.start()
    assert ref.ask("after on_start") is None  # on_start has finished
    assert len(outcome) == 1
    assert "only it can send" in str(outcome[0])
    ref.stop()


def test_an_actor_asking_itself_in_on_stop_gets_actor_dead_error_as_in_pykka() -> None:
    outcome: list[BaseException] = []

    class Farewell(pykka.ThreadingActor):
        def on_stop(self) -> None:
            try:
                self.actor_ref.ask("goodbye, me")
            except pykka.ActorDeadError as exc:
                outcome.append(exc)

    ref = Farewell.start()
    ref.stop()
    assert len(outcome) == 1
    assert str(outcome[0]) == f"{ref} not found"


def test_a_get_hook_that_waits_on_its_own_future_gets_an_error() -> None:
    future = pykka.ThreadingFuture[int]()
    future.set_get_hook(lambda timeout: future.get(timeout=timeout))
    with pytest.raises(RuntimeError, match="own get hook"):
        future.get()


def test_a_rust_panic_is_a_python_exception_not_an_abort() -> None:
    with pytest.raises(BaseException, match="deliberate") as info:
        _core._panic("deliberate")
    assert type(info.value).__name__ == "PanicException"
    # The interpreter and the core go on working.
    ref = Echo.start()
    assert ref.ask("alive") == "alive"
    ref.stop()


def test_ctrl_c_interrupts_a_get_that_waits_forever() -> None:
    future = pykka.ThreadingFuture[int]()
    # Python ignores SIGINT when it starts with it ignored (under nohup, or a
    # CI runner in the background): take Ctrl-C as a terminal would give it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            future.get()
        timer.join()
        assert time.monotonic() - started < 5
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_signal_handler_runs_while_the_main_thread_waits() -> None:
    future = pykka.ThreadingFuture[str]()
    old = signal.signal(signal.SIGUSR1, lambda *_: future.set("handled"))
    try:
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        assert future.get(timeout=5) == "handled"
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_an_actor_class_whose_init_skips_super_gets_a_clear_error() -> None:
    class Forgetful(pykka.ThreadingActor):
        def __init__(self) -> None:
            pass

    with pytest.raises(AttributeError, match=r"did not call Actor.__init__\(\)"):
        Forgetful.start()

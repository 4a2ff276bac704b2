"""Actor classes for the interpreter tests; subinterpreters import them by name."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import pykka_rs as pykka

log = logging.getLogger("tests.interpreter_actors")


class Methods:
    """What every test actor does, whatever kind of actor it is."""

    def __init__(self, tag: str = "where") -> None:
        super().__init__()
        self.tag = tag
        self.seen: list[Any] = []

        self.ends: list[tuple[str, str | None]] = []

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise ValueError(message)
        self.seen.append(message)
        return message

    def watch(self, other: pykka.ActorRef[Any]) -> None:
        """Monitor `other`; its end is kept for `ended()`."""

        def told(end: pykka.ActorExit) -> None:
            error = None if end.exception is None else type(end.exception).__name__
            self.ends.append((end.reason, error))

        pykka.monitor(other, told)

    def ended(self) -> list[tuple[str, str | None]]:
        """The ends of the actors watched: (reason, exception class name)."""
        return self.ends

    def start_supervisor(self) -> None:
        pykka.Supervisor.start()

    def place(self) -> tuple[int, int, str]:
        """(pid, process number, the core's module name) of this actor."""
        return (os.getpid(), pykka._core.process(), pykka._core.__name__)

    def interpreter(self) -> int:
        """The number of the interpreter this actor runs in (0: the main one)."""
        try:
            import _interpreters as api  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        except ImportError:
            import _xxsubinterpreters as api  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        current = api.get_current()
        return int(current[0] if isinstance(current, tuple) else current)

    def run(self, function: Any) -> Any:
        return function()

    def thread_name(self) -> str:
        return threading.current_thread().name

    def history(self) -> list[Any]:
        return self.seen

    def fail(self, text: str) -> None:
        raise ValueError(text)

    def ask_other(self, other: pykka.ActorRef[Any], message: Any) -> Any:
        """Ask `other`, wherever it runs, and return its answer."""
        return other.ask(message, timeout=30)

    def proxy_other(self, other: pykka.ActorRef[Any]) -> Any:
        return other.proxy().place().get(timeout=30)

    def start_where(self, kind: str) -> pykka.ActorRef[Any]:
        """Start an actor of `kind` from inside this one."""
        cls: Any = {
            "interpreter": Where,
            "process": ProcessWhere,
            "thread": ThreadWhere,
        }
        return cls[kind].start(f"started by {self.tag}")  # type: ignore[no-any-return]

    def registry(self) -> list[str]:
        return sorted(ref.actor_class.__name__ for ref in pykka.ActorRegistry.get_all())

    def log(self, text: str) -> None:
        log.warning(text)

    def log_at(self, name: str, level: int, text: str) -> None:
        logging.getLogger(name).log(level, text)

    def sends(self, name: str, level: int) -> bool:
        """Whether this worker sends its parent a record of `level` from
        logger `name`, by the parent's levels as the worker knows them."""
        (handler,) = logging.getLogger().handlers
        return bool(handler.parent.takes(name, level))  # type: ignore[attr-defined]

    def wait_and_tell(self, seconds: float, observer: pykka.ActorRef[Any]) -> str:
        """Tell `observer` that the work began, then work for `seconds`."""
        observer.tell("working")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.01)
        return "done"

    def spin(self, loops: int) -> int:
        total = 0
        for i in range(loops):
            total += i * i % 7
        return total

    def echo_bytes(self, data: bytes) -> int:
        return len(data)


class Where(Methods, pykka.InterpreterActor):
    """Answers with what it is sent, and says where it runs: a subinterpreter."""


class ProcessWhere(Methods, pykka.ProcessActor):
    """The same actor in a worker process."""


class ThreadWhere(Methods, pykka.ThreadingActor):
    """The same actor on a thread of the main interpreter."""


class Printer(pykka.ThreadingActor):
    """Prints what it is told, for scripts that watch a program's output."""

    def on_receive(self, message: Any) -> None:
        print(message, flush=True)  # noqa: T201

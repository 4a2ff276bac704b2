"""Actors and exceptions for the pickling tests; workers import them by name."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pykka_rs as pykka

log = logging.getLogger("tests.pickling_actors")


class BrokenStrError(Exception):
    """An exception whose `__str__` raises."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


class BrokenReprError(Exception):
    """An exception whose `__str__` and `__repr__` raise."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ is broken")


class BrokenCauseError(Exception):
    """An exception whose traceback cannot be formatted: reading its
    `__cause__`, as the traceback module does, raises."""

    @property  # type: ignore[override]
    def __cause__(self) -> BaseException | None:
        raise RuntimeError("__cause__ is broken")


class BaseReprRaises(BaseException):
    """A BaseException (it stops the actors) whose `__repr__` raises."""

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ is broken")


class CodedError(Exception):
    """An exception whose `__init__` takes other arguments than its `args`."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"error {code}: {detail}")
        self.code = code
        self.detail = detail


class LockedError(Exception):
    """An exception that does not pickle: it holds a lock."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


BROKEN = {
    "str": BrokenStrError,
    "str and repr": BrokenReprError,
    "traceback": BrokenCauseError,
}


class Breaks(pykka.ProcessActor):
    """Raises, logs and returns what other code trips over."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def pid(self) -> int:
        import os  # noqa: PLC0415

        return os.getpid()

    def echo(self, value: Any) -> Any:
        return value

    def on_receive(self, message: Any) -> Any:
        if message == "a lock, please":
            return threading.Lock()
        return message

    def raise_broken(self, kind: str) -> None:
        raise BROKEN[kind]

    def raise_base(self) -> None:
        raise BaseReprRaises

    def log_broken(self, kind: str) -> None:
        try:
            raise BROKEN[kind]
        except Exception:
            log.exception("logged with a broken exception")

    def raise_coded(self) -> None:
        error = CodedError(7, "disk on fire")
        error.add_note("a note from the handler")
        error.extra = {"attempts": 3}  # type: ignore[attr-defined]
        raise error

    def raise_chained(self) -> None:
        try:
            try:
                raise KeyError("the context")
            except KeyError:
                raise LockedError("an unpicklable link") from ValueError("the cause")
        except LockedError as locked:
            raise CodedError(1, "on top") from locked

    def raise_without_context(self) -> None:
        try:
            raise KeyError("hidden")
        except KeyError:
            raise CodedError(2, "alone") from None

    def raise_group(self) -> None:
        raise ExceptionGroup("several", [CodedError(1, "one"), ValueError("two")])

    def make_lock(self) -> threading.Lock:
        return threading.Lock()

    def make_socket(self) -> socket.socket:
        return socket.socket()

    def read(self, thing: Any) -> Any:
        return thing.read()


class StartsBroken(pykka.ProcessActor):
    """Raises, in `__init__`, an exception that other code trips over."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        raise BROKEN[kind]


class StartsCoded(pykka.ProcessActor):
    def __init__(self) -> None:
        super().__init__()
        raise CodedError(404, "no such actor")


class Holds(pykka.ProcessActor):
    """Keeps what it is started with."""

    def __init__(self, thing: Any) -> None:
        super().__init__()
        self.thing = thing

"""Log records of worker processes, re-emitted in the parent.

A worker sends the parent every record the parent's loggers would take,
where it goes through the parent's logging configuration as if the actor
had logged there: same logger name, level, message, source location, thread
name and exception (re-raised type and value, with the worker's formatted
traceback as the record's `exc_text`).

Which records the parent would take, a worker learns from the parent's
levels: the level of each logger that has one, and `logging.disable()`'s.
The parent sends them to each worker as the worker joins and again whenever
they change (any `setLevel()` or `logging.disable()`, which clear logging's
cache of levels), ahead of everything it sends after the change: a record
logged because of a later message is judged by the new levels. A record the
levels let through can still be dropped in the parent, by a logger's
filters or a disabled logger, as if it had been logged there.
"""

from __future__ import annotations

import logging
import pickle
import threading
from typing import Any

from pykka_rs import _core
from pykka_rs._exceptions import ActorDeadError
from pykka_rs._pickling import PROTOCOL, describe_traceback, dump_error, load_error

# The record fields worth keeping; the rest are recomputed or unpicklable.
_FIELDS = (
    "name",
    "levelno",
    "levelname",
    "pathname",
    "filename",
    "module",
    "lineno",
    "funcName",
    "created",
    "msecs",
    "relativeCreated",
    "thread",
    "threadName",
    "process",
    "processName",
    "stack_info",
    "taskName",
)


def _text(value: object) -> str | None:
    """`value` as the text it is, or None for what is not text."""
    return value if isinstance(value, str) else None


def pack(record: logging.LogRecord) -> bytes:
    """A record's fields, pickled, with the message already formatted.

    Whatever the record carries (an exception whose `__str__` raises, say),
    the record is packed: what cannot be formatted is described instead.
    """
    fields: dict[str, Any] = {name: getattr(record, name, None) for name in _FIELDS}
    for name in ("stack_info", "taskName"):
        fields[name] = _text(fields[name])
    try:
        fields["msg"] = record.getMessage()
    except Exception as failure:  # noqa: BLE001 (as logging's handlers would, say why)
        fields["msg"] = (
            f"{_text(record.msg) or '<a log message>'} (its arguments could not be "
            f"formatted into it: {type(failure).__name__})"
        )
    fields["args"] = None
    error = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
    if error is not None:
        text = _text(record.exc_text) or describe_traceback(error)
        fields["exc_text"] = text.rstrip("\n")
        fields["exc"] = dump_error(error)
    return pickle.dumps(fields, protocol=PROTOCOL)


def emit(payload: bytes) -> None:
    """Re-emit a packed record through this process's logging."""
    fields = pickle.loads(payload)  # noqa: S301 (only peers that showed the pool's token)
    packed_exc = fields.pop("exc", None)
    record = logging.makeLogRecord(fields)
    if packed_exc is not None:
        exc = load_error(packed_exc)
        record.exc_info = (type(exc), exc, None)
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


def _last_resort(record: logging.LogRecord) -> None:
    """Handle `record` as logging does when no handler is set up.

    Warnings and worse go to stderr; the rest is dropped.
    """
    handler = logging.lastResort
    if handler is not None and record.levelno >= handler.level:
        handler.handle(record)


# --- The parent's levels ----------------------------------------------------------


def level_table() -> bytes:
    """This process's logger levels, pickled, as workers judge records.

    That is `logging.disable()`'s level, and the level of each logger that
    has one (the root's under "").
    """
    manager = logging.root.manager
    levels = {"": logging.root.level}
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return pickle.dumps((manager.disable, levels), protocol=PROTOCOL)


_pushing = threading.Lock()
_mirrored = False


def _push_levels() -> None:
    # One at a time: a table read before another change is never sent after it.
    with _pushing:
        _core.set_log_levels(level_table())


def mirror_levels() -> None:
    """Parent: tell the workers this process's logger levels, now and on change.

    Then they send only the records this process would take. Every change
    of a level clears logging's cache of levels, through
    `Manager._clear_cache()`; the levels are sent from there, before the
    change returns. Without that method (a logging module that lacks it),
    nothing is sent, and workers send every record, as without levels.
    """
    global _mirrored  # noqa: PLW0603
    manager = logging.root.manager
    clear = getattr(manager, "_clear_cache", None)
    if clear is None:
        return
    with _pushing:
        if not _mirrored:

            def clear_and_push() -> None:
                clear()
                try:
                    _push_levels()
                except Exception:
                    logging.getLogger("pykka_rs.pool").debug(
                        "the logger levels could not be sent", exc_info=True
                    )

            manager._clear_cache = clear_and_push  # type: ignore[attr-defined]  # noqa: SLF001
            _mirrored = True
    _push_levels()


class ParentLevels:
    """A worker's copy of the parent's logger levels, to judge records by.

    Until the first table arrives, every record passes.
    """

    def __init__(self) -> None:
        self.version = 0
        self.disable = logging.NOTSET
        self.levels: dict[str, int] = {"": logging.NOTSET}
        # Each logger name's level, as found by walking up its names.
        self.found: dict[str, int] = {}

    def takes(self, name: str, levelno: int) -> bool:
        """Whether the parent's logger `name` would take a record of `levelno`."""
        latest = _core.log_levels(self.version)
        if latest is not None:
            self.version, table = latest
            self.disable, self.levels = pickle.loads(table)  # noqa: S301 (from the parent)
            self.found = {}
        if levelno <= self.disable:
            return False
        level = self.found.get(name)
        if level is None:
            level = self.found[name] = self._level_of(name)
        return levelno >= level

    def _level_of(self, name: str) -> int:
        """The level of logger `name`: its own, or its nearest ancestor's."""
        while name:
            level = self.levels.get(name)
            if level is not None:
                return level
            name = name.rpartition(".")[0]
        return self.levels.get("", logging.NOTSET)


class ForwardHandler(logging.Handler):
    """Sends each record the parent would take to the parent process."""

    def __init__(self) -> None:
        super().__init__()
        self.parent = ParentLevels()

    def emit(self, record: logging.LogRecord) -> None:
        if _core.disowned():
            # A fork of a worker: the link to the parent is not its own.
            _last_resort(record)
            return
        if not self.parent.takes(record.name, record.levelno):
            return
        try:
            _core.send_log(pack(record))
        except ActorDeadError:
            # The parent is gone: here, as logging does with no handler.
            _last_resort(record)
        except Exception:  # noqa: BLE001
            # The record does not pickle: say so here.
            self.handleError(record)

"""Log records of worker processes, re-emitted in the parent.

A worker sends every record to the parent, where it goes through the
parent's logging configuration as if the actor had logged there: same
logger name, level, message, source location, thread name and exception
(re-raised type and value, with the worker's formatted traceback as the
record's `exc_text`).
"""

from __future__ import annotations

import logging
import pickle
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


class ForwardHandler(logging.Handler):
    """Sends each record to the parent process."""

    def emit(self, record: logging.LogRecord) -> None:
        if _core.disowned():
            # A fork of a worker: the link to the parent is not its own.
            _last_resort(record)
            return
        try:
            _core.send_log(pack(record))
        except ActorDeadError:
            # The parent is gone: here, as logging does with no handler.
            _last_resort(record)
        except Exception:  # noqa: BLE001
            # The record does not pickle: say so here.
            self.handleError(record)

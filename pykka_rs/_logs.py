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
from pykka_rs._pickling import PROTOCOL, dump_error, load_error

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


def pack(record: logging.LogRecord) -> bytes:
    """A record's fields, pickled, with the message already formatted."""
    fields: dict[str, Any] = {name: getattr(record, name, None) for name in _FIELDS}
    fields["msg"] = record.getMessage()
    fields["args"] = None
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        fields["exc_text"] = record.exc_text or logging.Formatter().formatException(
            record.exc_info  # type: ignore[arg-type]
        )
        fields["exc"] = dump_error(exc)
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


class ForwardHandler(logging.Handler):
    """Sends each record to the parent process."""

    def emit(self, record: logging.LogRecord) -> None:
        if _core.disowned():
            # A fork of a worker: the link to the parent is not its own.
            logging.lastResort.handle(record)  # type: ignore[union-attr]
            return
        try:
            _core.send_log(pack(record))
        except Exception:  # noqa: BLE001
            # The parent is gone or the record does not pickle: say so here.
            self.handleError(record)

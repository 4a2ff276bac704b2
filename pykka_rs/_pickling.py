"""Pickling for whatever crosses from one process to another.

Messages, replies and actor classes are pickled with protocol 5. What has no
importable name, such as a class defined inside a function or a lambda, is
pickled by value with cloudpickle instead, the way Ray and Dask do it; the
fast C pickler handles everything else.

Exceptions travel with their type name, message and formatted traceback next
to the pickled exception, so the receiving side can raise the original type
with the remote traceback as a note, or, if the exception does not unpickle
there, a `RemoteError` that still says what happened.
"""

from __future__ import annotations

import pickle
import traceback
from typing import Any

from pykka_rs._exceptions import RemoteError

PROTOCOL = 5


def dumps(obj: Any) -> bytes:
    """Pickle `obj` for another process.

    Raises:
        TypeError: or another exception from pickle, for an object that cannot
            be pickled even by value (a lock, an open file, ...)
    """
    try:
        return pickle.dumps(obj, protocol=PROTOCOL)
    except Exception as by_name:  # noqa: BLE001 (any failure: try by value)
        try:
            import cloudpickle  # noqa: PLC0415 (only for the rare object without a name)

            pickled: bytes = cloudpickle.dumps(obj, protocol=PROTOCOL)
        except Exception:  # noqa: BLE001
            # What the plain pickler said is the clearer explanation (also
            # when cloudpickle, a dependency, is missing from a broken install).
            raise by_name from None
        return pickled


def loads(data: bytes) -> Any:
    """Unpickle what `dumps` made."""
    return pickle.loads(data)  # noqa: S301 (only peers that showed the pool's token)


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def dump_error(exc: BaseException) -> bytes:
    """Pickle `exc` with its type name, message and formatted traceback.

    Never raises: what cannot be pickled travels as its description.
    """
    text = "".join(traceback.format_exception(exc))
    try:
        pickled: bytes | None = dumps(exc)
    except Exception:  # noqa: BLE001
        pickled = None
    return pickle.dumps(
        (pickled, _type_name(type(exc)), str(exc), text), protocol=PROTOCOL
    )


def load_error(data: bytes) -> BaseException:
    """Unpickle what `dump_error` made.

    Returns the exception, carrying the remote traceback as a note, or a
    `RemoteError` describing it if it does not unpickle here.
    """
    if not data:
        return RemoteError("?", "the exception could not be sent", "")
    pickled, type_name, message, text = pickle.loads(data)  # noqa: S301
    exc: object = None
    if pickled is not None:
        try:
            exc = loads(pickled)
        except Exception:  # noqa: BLE001
            exc = None
    if isinstance(exc, BaseException):
        exc.add_note(f"Traceback in the actor's process:\n{text.rstrip()}")
        return exc
    return RemoteError(type_name, message, text)

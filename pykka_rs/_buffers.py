"""Large buffers beside the pickle, in shared memory.

A message or reply that holds a large `bytes`, `bytearray`, memoryview,
`array.array` or any object that pickles its data as a `PickleBuffer` (numpy
arrays do, at protocol 5) is pickled with each such buffer of
`_core.SHARED_MIN_BYTES` or more taken out: the buffer is written once into
a sealed memfd (`_core.SharedBuffer`), the pickle names it by index in a
persistent id, and the link sends its descriptor with the frame
(`rust/payload.rs`, `docs/protocol.md`). The receiver copies each buffer
once into a new `bytes` (or `bytearray`, for what was writable) and closes
it: what it holds is its own, whatever the sender does next.

`encode` and `decode` are the pair; the core calls them only for a pickle
that may hold such a buffer (`rust/py/pickling.rs`), so small messages keep
the plain C pickler's path. The pickler is a subclass (from CPython 3.13
`persistent_id` is a method, read-only on an instance); this module never
runs in a subinterpreter, where 3.12 mishandles such subclasses.
"""

from __future__ import annotations

import array
import copyreg
import io
import os
import pickle
from typing import Any

from pykka_rs import _core
from pykka_rs._pickling import (
    BUFFER_TAG,
    PROTOCOL,
    loads_with_buffers,
    reduce_array,
    reduce_view,
)

_DISPATCH: dict[type, Any] = {
    **copyreg.dispatch_table,
    memoryview: reduce_view,
    array.array: reduce_array,
}


def share(data: Any) -> _core.SharedBuffer:
    """Copy the contiguous buffer `data` into a new sealed memfd.

    The copy is made by `os.write`, with the GIL released, as a socket's
    `sendall` would.
    """
    view = memoryview(data).cast("B")
    writer = _core.BufferWriter(view.nbytes)
    fd = writer.writer_fd()
    try:
        done = 0
        while done < view.nbytes:
            done += os.write(fd, view[done:])
    finally:
        os.close(fd)
    return writer.seal()


class _BufferPickler(pickle.Pickler):
    """A pickler whose persistent ids are the buffers that go beside it."""

    def __init__(self, file: io.BytesIO, name: Any) -> None:
        super().__init__(file, protocol=PROTOCOL)
        self._name = name
        self.dispatch_table = _DISPATCH

    def persistent_id(self, obj: Any) -> Any:
        return self._name(obj)


def encode(obj: Any) -> tuple[bytes, list[_core.SharedBuffer]]:
    """Pickle `obj` with its large buffers beside the pickle.

    Memoryviews and arrays pickle too (a memoryview comes back as one, of
    the same format and shape). At most `_core.MAX_SHARED_BUFFERS` buffers
    go beside it; others stay inside.

    Raises:
        TypeError: for a memoryview of a format that cannot be rebuilt, or
            what pickle raises for an object it cannot pickle
    """
    buffers: list[_core.SharedBuffer] = []
    # By id, with the item kept alive: a reducer's PickleBuffer is freed
    # once saved, and a later one could take its id.
    named: dict[int, tuple[Any, tuple[str, int, bool]]] = {}

    def persistent_id(item: Any) -> tuple[str, int, bool] | None:
        kind = type(item)
        if kind is bytes or kind is bytearray:
            size = len(item)
            data: Any = item
            writable = kind is bytearray
        elif kind is pickle.PickleBuffer:
            data = item.raw()
            size = data.nbytes
            writable = not data.readonly
        else:
            return None
        if size < _core.SHARED_MIN_BYTES:
            return None
        known = named.get(id(item))
        if known is not None:
            return known[1]
        if len(buffers) >= _core.MAX_SHARED_BUFFERS:
            return None
        buffers.append(share(data))
        pid = (BUFFER_TAG, len(buffers) - 1, writable)
        named[id(item)] = (item, pid)
        return pid

    out = io.BytesIO()
    _BufferPickler(out, persistent_id).dump(obj)
    return out.getvalue(), buffers


def decode(data: bytes, buffers: list[_core.SharedBuffer]) -> Any:
    """Unpickle what `encode` made, reading each buffer once.

    Raises:
        pickle.UnpicklingError: for a persistent id that names no buffer
    """

    def read(index: int, writable: bool) -> Any:  # noqa: FBT001 (as loads_with_buffers calls it)
        if not 0 <= index < len(buffers):
            msg = f"the pickle names buffer {index} of {len(buffers)}"
            raise pickle.UnpicklingError(msg)
        buffer = buffers[index]
        if writable:
            return buffer.read(writable=True)
        return _pread_all(buffer)

    return loads_with_buffers(data, read)


def _pread_all(buffer: _core.SharedBuffer) -> bytes:
    """The buffer as `bytes`, copied once.

    `os.pread` makes its result without zeroing it first, and releases the
    GIL while it reads.
    """
    size = len(buffer)
    data = os.pread(buffer.fileno(), size, 0)
    if len(data) == size:
        return data
    # A read stops at 2 GiB; the rest comes piece by piece.
    parts = [data]
    done = len(data)
    while done < size:
        part = os.pread(buffer.fileno(), size - done, done)
        if not part:
            msg = "a shared buffer ended early"
            raise pickle.UnpicklingError(msg)
        parts.append(part)
        done += len(part)
    return b"".join(parts)

"""Pickling for whatever crosses from one process to another.

Messages, replies and actor classes are pickled with protocol 5 by the fast
C pickler. What it cannot pickle by name is pickled by value with
cloudpickle instead, the way Ray and Dask do it: a class defined inside a
function, a lambda, and anything defined in a main module that the workers
cannot import (a REPL, a notebook, `python -c`, a script read from standard
input). Only a pickle that names `__main__` is checked for the last case, so
everything else keeps the C pickler's speed.

Objects that a copy would misrepresent are refused with a `TypeError` that
says why: open files and other I/O objects (cloudpickle would send a snapshot
of a file's contents), locks and other synchronisation objects, sockets.

Large buffers may travel beside the pickle instead of inside it (see
`pykka_rs/_buffers.py`): the pickle then names each by its index in a
persistent id, and `loads_with_buffers` reads it back. A subinterpreter,
which has no descriptors to read, gets the buffers inline, after the pickle
(`loads` reads both forms).

Exceptions travel with their type name, message and formatted traceback next
to the pickled exception, so the receiving side can raise the original type
with the remote traceback as a note, or, if the exception does not unpickle
there, a `RemoteError` that still says what happened. They are pickled so
that a custom `__init__` signature, their attributes, notes and their
`__cause__` and `__context__` (each as far as it pickles) survive. Nothing
in here trusts the exception: a `__str__`, `__repr__` or `__reduce__` that
raises makes a poorer description, never a failure to send one.
"""

from __future__ import annotations

import array
import copyreg
import functools
import io
import os
import pickle
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pykka_rs._exceptions import RemoteError

if TYPE_CHECKING:
    from types import ModuleType

PROTOCOL = 5

# How many exceptions of a `__cause__`/`__context__` chain are sent.
CHAIN_LIMIT = 64


# -- What cannot be copied faithfully --------------------------------------

_IN_MEMORY = (io.BytesIO, io.StringIO)
_LOCKS = (
    type(threading.Lock()),
    type(threading.RLock()),
    threading.Condition,
    threading.Semaphore,
    threading.Event,
    threading.Barrier,
)


class _Refused(TypeError):  # noqa: N818 (a refusal, raised as a TypeError)
    """An object that must not be copied.

    Public functions raise a plain `TypeError` with its message instead.
    """


def _refusal(obj: Any) -> str | None:
    """Why `obj` must not be copied to another process, or None if it may."""
    kind = type(obj).__qualname__
    module = type(obj).__module__
    name = kind if module == "builtins" else f"{module}.{kind}"
    if isinstance(obj, io.IOBase) and not isinstance(obj, _IN_MEMORY):
        return (
            f"cannot pickle {name!r} object: an open file or stream cannot be "
            "copied to another process (a copy would be a snapshot of its "
            "contents, not the file). Send its path, or the data, instead"
        )
    if isinstance(obj, _LOCKS):
        return (
            f"cannot pickle {name!r} object: a lock or other synchronisation "
            "object cannot be copied to another process (a copy would not "
            "synchronise with the original). Keep it in one actor and send "
            "messages to that actor instead"
        )
    if isinstance(obj, socket.socket):
        return (
            f"cannot pickle {name!r} object: a socket cannot be copied to "
            "another process. Send the address to connect to instead"
        )
    return None


# -- The main module -------------------------------------------------------

_main_seen: list[Any] = [None, False]


def _main_path(main: ModuleType) -> str | None:
    """The file a worker would run as the main module, if there is one."""
    path = getattr(main, "__file__", None)
    if not isinstance(path, str):
        return None
    return path if os.path.exists(path) else None  # noqa: PTH110 (a str is checked)


def main_travels_by_value() -> bool:
    """Whether worker processes cannot import this process's `__main__`.

    They can when it was run as a module (`python -m pkg.mod`) or from a
    file, as multiprocessing's spawn method imports it; they cannot when it
    is a REPL, a notebook, `python -c`, a script read from standard input or
    a package's `__main__` (`python -m pkg`, which spawn does not import
    either). Then what `__main__` defines is pickled by value.
    """
    main = sys.modules.get("__main__")
    seen, verdict = _main_seen
    if main is seen:
        return bool(verdict)
    if main is None:
        verdict = False
    else:
        name = getattr(getattr(main, "__spec__", None), "name", None)
        if isinstance(name, str):
            # The 3.13 REPL names its module "__main__": nothing to import.
            verdict = name == "__main__" or name.endswith(".__main__")
        else:
            verdict = _main_path(main) is None
    _main_seen[:] = [main, verdict]
    return bool(verdict)


def preparation_for_workers(data: dict[str, Any]) -> dict[str, Any]:
    """Multiprocessing's spawn preparation data, fit for our workers.

    A main file that does not exist (`<stdin>`) is left out: workers could
    not run it, and what `__main__` defines is pickled by value instead (see
    `main_travels_by_value`).
    """
    path = data.get("init_main_from_path")
    if path is not None and not os.path.exists(path):  # noqa: PTH110 (a str is checked)
        data = {
            key: value for key, value in data.items() if key != "init_main_from_path"
        }
    return data


# -- Objects -----------------------------------------------------------------


# Makes a pickler writing to a buffer; exceptions pickled with their chain
# if given a carry.
_PicklerFactory = Callable[[io.BytesIO, "_Carry | None"], pickle.Pickler]


@functools.cache
def _by_value_pickler() -> _PicklerFactory:
    """The cloudpickle pickler, refusing what cannot be copied faithfully.

    Made on first use: cloudpickle is imported only when something needs it.
    """
    import cloudpickle  # noqa: PLC0415 (only for the rare object without a name)

    class ByValue(cloudpickle.Pickler):  # type: ignore[misc]
        """Pickles by value what has no importable name."""

        def __init__(self, file: io.BytesIO, carry: _Carry | None) -> None:
            super().__init__(file, protocol=PROTOCOL)
            self.carry = carry

        def reducer_override(self, obj: Any) -> Any:
            refusal = _refusal(obj)
            if refusal is not None:
                raise _Refused(refusal)
            if self.carry is not None and isinstance(obj, BaseException):
                return self.carry.reduce(obj)
            return super().reducer_override(obj)

    return ByValue


def _pickle_by_value(obj: Any, carry: _Carry | None = None) -> bytes:
    """Pickle `obj` with cloudpickle.

    Raises:
        _Refused: if `obj` holds something that cannot be copied faithfully
    """
    buffer = io.BytesIO()
    _by_value_pickler()(buffer, carry).dump(obj)
    return buffer.getvalue()


def _names_main(data: bytes) -> bool:
    """Whether a pickle may refer to `__main__` where workers cannot find it."""
    return b"__main__" in data and main_travels_by_value()


def dumps(obj: Any) -> bytes:
    """Pickle `obj` for another process.

    Raises:
        TypeError: for an object that cannot be copied to another process
            faithfully (an open file, a lock, a socket), saying why, or
            another exception from pickle, for an object that cannot be
            pickled even by value
    """
    try:
        data = pickle.dumps(obj, protocol=PROTOCOL)
    except Exception as by_name:  # noqa: BLE001 (any failure: try by value)
        try:
            return _pickle_by_value(obj)
        except _Refused as refused:
            raise TypeError(str(refused)) from None
        except Exception:  # noqa: BLE001
            # What the plain pickler said is the clearer explanation (also
            # when cloudpickle, a dependency, is missing from a broken install).
            raise by_name from None
    if b"__main__" in data:
        return repickle_for_main(obj, data)
    return data


def repickle_for_main(obj: Any, data: bytes) -> bytes:
    """Pickle `obj` again by value if workers cannot import `__main__`.

    `data` is its pickle by the C pickler, which names `__main__`; it is
    returned as it is if the workers can import the main module.

    Raises:
        TypeError: if `obj` holds something that cannot be copied faithfully
    """
    if not main_travels_by_value():
        return data
    try:
        return _pickle_by_value(obj)
    except _Refused as refused:
        raise TypeError(str(refused)) from None


def loads(data: bytes) -> Any:
    """Unpickle what `dumps` made, or a payload with its buffers inline."""
    if data[:8] == INLINE_MAGIC:
        return _loads_inline(data)
    return pickle.loads(data)  # noqa: S301 (only peers that showed the pool's token)


# -- Buffers beside the pickle -------------------------------------------------

# What a persistent id naming a buffer starts with: ("pykka_rs.buffer",
# index, writable); a writable buffer is read back as a bytearray, any other
# as bytes, as pickle itself does for a PickleBuffer pickled in band.
BUFFER_TAG = "pykka_rs.buffer"

# How a payload with its buffers inline starts (`rust/payload.rs`, `inline`).
INLINE_MAGIC = b"PKRSBUF1"

# The formats `memoryview.cast` rebuilds a view in.
_VIEW_FORMATS = frozenset("cbB?hHiIlLqQnNefdP")


def reduce_view(view: memoryview) -> tuple[Any, ...]:
    """Pickle a memoryview as its bytes, format and shape.

    Its bytes are a `PickleBuffer`, so a large one travels beside the pickle.

    Raises:
        TypeError: for a format `memoryview.cast` cannot rebuild
    """
    form = view.format.removeprefix("@")
    if form not in _VIEW_FORMATS:
        msg = (
            f"cannot pickle a memoryview of format {view.format!r}: only native "
            "single-item formats can be rebuilt; send its bytes instead"
        )
        raise TypeError(msg)
    if view.c_contiguous:
        data: Any = pickle.PickleBuffer(view)
    else:
        copy = view.tobytes()
        data = copy if view.readonly else bytearray(copy)
    return (_rebuild_view, (data, form, tuple(view.shape or ())))


def _rebuild_view(data: bytes | bytearray, form: str, shape: tuple[int, ...]) -> Any:
    """A memoryview of `data` as `reduce_view` described it."""
    view = memoryview(data)
    if form == "B" and len(shape) == 1:
        return view
    # A format `reduce_view` checked: cast's overloads name each literal.
    return view.cast("B").cast(form, shape)  # type: ignore[call-overload]


def reduce_array(items: array.array[Any]) -> tuple[Any, ...]:
    """Pickle an `array.array` as its type code and a `PickleBuffer` of its items."""
    return (_rebuild_array, (items.typecode, pickle.PickleBuffer(items)))


def _rebuild_array(typecode: str, data: bytes | bytearray) -> array.array[Any]:
    return array.array(typecode, data)


def loads_with_buffers(data: bytes, read: Callable[[int, bool], Any]) -> Any:
    """Unpickle a pickle whose large buffers travel beside it.

    `read(index, writable)` gives buffer `index` as a bytearray (writable)
    or bytes; each is read once, however often the pickle names it.

    Raises:
        pickle.UnpicklingError: for a persistent id that names no buffer
    """
    taken: dict[int, Any] = {}

    def persistent_load(pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 3 and pid[0] == BUFFER_TAG):
            msg = f"unknown persistent id {pid!r}"
            raise pickle.UnpicklingError(msg)
        _, index, writable = pid
        if index not in taken:
            taken[index] = read(index, bool(writable))
        return taken[index]

    return _buffer_unpickler(data, persistent_load).load()


class _BufferUnpickler(pickle.Unpickler):
    """An unpickler with a `persistent_load`, where the hook is a method."""

    def __init__(self, data: bytes, load: Callable[[Any], Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._load = load

    def persistent_load(self, pid: Any) -> Any:
        return self._load(pid)


def _buffer_unpickler(data: bytes, load: Callable[[Any], Any]) -> pickle.Unpickler:
    """An unpickler of `data` whose persistent ids `load` resolves.

    A plain unpickler with the hook as an attribute where that may be (up to
    CPython 3.12): subclasses of the C pickler misbehave in 3.12's isolated
    subinterpreters. From 3.13 the hook is a method, read-only on an
    instance, and a subclass is the way.
    """
    unpickler = pickle.Unpickler(io.BytesIO(data))  # noqa: S301 (only peers that showed the pool's token)
    try:
        unpickler.persistent_load = load  # type: ignore[method-assign]
    except AttributeError:
        return _BufferUnpickler(data, load)
    return unpickler


_COUNT = struct.Struct("<I")
_LENGTH = struct.Struct("<Q")


def _loads_inline(data: bytes) -> Any:
    """Unpickle a payload with its buffers after the pickle.

    Raises:
        pickle.UnpicklingError: if the lengths do not add up
    """
    view = memoryview(data)
    offset = len(INLINE_MAGIC)
    try:
        (count,) = _COUNT.unpack_from(view, offset)
        offset += _COUNT.size
        lengths = [
            _LENGTH.unpack_from(view, offset + _LENGTH.size * i)[0]
            for i in range(count + 1)
        ]
    except struct.error as exc:
        msg = "a payload with inline buffers ends in its table"
        raise pickle.UnpicklingError(msg) from exc
    offset += _LENGTH.size * (count + 1)
    *sizes, pickle_size = lengths
    if offset + pickle_size + sum(sizes) != len(view):
        msg = "a payload with inline buffers does not add up"
        raise pickle.UnpicklingError(msg)
    pickled = view[offset : offset + pickle_size]
    offset += pickle_size
    parts = []
    for size in sizes:
        parts.append(view[offset : offset + size])
        offset += size

    def read(index: int, writable: bool) -> Any:  # noqa: FBT001 (as loads_with_buffers calls it)
        part = parts[index]
        return bytearray(part) if writable else part.tobytes()

    return loads_with_buffers(pickled.tobytes(), read)


# -- Exceptions --------------------------------------------------------------


# BaseException's own slots, read and written past any property a subclass
# may put in their place.
_CAUSE = vars(BaseException)["__cause__"]
_CONTEXT = vars(BaseException)["__context__"]
_SUPPRESS_CONTEXT = vars(BaseException)["__suppress_context__"]
_TRACEBACK = vars(BaseException)["__traceback__"]


def _type_name(kind: type) -> str:
    try:
        return f"{kind.__module__}.{kind.__qualname__}"
    except Exception:  # noqa: BLE001 (a class may break anything)
        return "<an exception class without a name>"


def _describe(exc: BaseException) -> str:
    """`str(exc)`, or what went wrong making it."""
    try:
        text = str(exc)
    except BaseException as failure:  # noqa: BLE001 (a description, whatever __str__ does)
        return f"<str() of the exception raised {_type_name(type(failure))}>"
    # A plain str, even if __str__ made an instance of a subclass.
    return str.__str__(text)


def exception_repr(exc: BaseException) -> str:
    """`repr(exc)`, or what went wrong making it; never raises."""
    try:
        text = repr(exc)
    except BaseException as failure:  # noqa: BLE001 (a description, whatever __repr__ does)
        return f"<{_type_name(type(exc))}: repr() raised {_type_name(type(failure))}>"
    return text


def describe_traceback(exc: BaseException, *, chain: bool = True) -> str:
    """The traceback of `exc`, formatted, or as much of it as can be.

    Never raises, whatever the exception's methods do: if the traceback
    module cannot format it, the stack is formatted alone, with the reason.
    """
    try:
        return "".join(traceback.format_exception(exc, chain=chain))
    except BaseException as failure:  # noqa: BLE001 (a description, whatever the exception does)
        why = f"{_type_name(type(failure))}: {_describe(failure)}"
    try:
        stack = "".join(traceback.format_tb(_TRACEBACK.__get__(exc)))
    except BaseException:  # noqa: BLE001 (a description, whatever the frames hold)
        stack = ""
    return (
        f"Traceback (most recent call last):\n{stack}"
        f"{_type_name(type(exc))}: {_describe(exc)}\n"
        f"(its traceback could not be formatted in full: {why})\n"
    )


def _links(exc: BaseException) -> tuple[BaseException | None, BaseException | None]:
    """The `__cause__` and `__context__` of `exc`."""
    return _CAUSE.__get__(exc), _CONTEXT.__get__(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions of its `__cause__` and `__context__` chain."""
    found = [exc]
    seen = {id(exc)}
    index = 0
    while index < len(found) and len(found) < CHAIN_LIMIT:
        current = found[index]
        index += 1
        for link in _links(current):
            if link is not None and id(link) not in seen:
                seen.add(id(link))
                found.append(link)
    return found


def _owner(kind: type, name: str) -> type | None:
    """The class in `kind`'s MRO that defines `name`."""
    return next((base for base in kind.__mro__ if name in vars(base)), None)


def _uses_base_reduce(kind: type) -> bool:
    """Whether `kind` pickles as `BaseException` does.

    That is `kind(*args)`, then its `__dict__`, which fails for an
    `__init__` with another signature.
    """
    return (
        kind not in copyreg.dispatch_table
        and _owner(kind, "__reduce_ex__") is object
        and _owner(kind, "__reduce__") is BaseException
    )


def _rebuild_exception(
    kind: type[BaseException], args: tuple[Any, ...]
) -> BaseException:
    """Make an exception of `kind` with `args` when unpickling.

    `kind(*args)` first, as pickle does; if the class's `__init__` takes
    other arguments than the ones it passed to `super().__init__()`, the
    exception is made without calling it. Either way its `args` are the
    original's; its attributes follow from its pickled state.
    """
    try:
        exc = kind(*args)
    except Exception:  # noqa: BLE001 (an __init__ with another signature)
        exc = kind.__new__(kind, *args)
    exc.args = args
    return exc


def _restore_exception(exc: BaseException, state: tuple[Any, ...]) -> None:
    """Give an unpickled exception its state and its chain."""
    inner, cause, context, suppress_context = state
    if inner is not None:
        exc.__setstate__(inner)
    _CAUSE.__set__(exc, cause)
    _CONTEXT.__set__(exc, context)
    _SUPPRESS_CONTEXT.__set__(exc, suppress_context)


class _Carry:
    """Pickles exceptions with their chain.

    A `RemoteError` stands in for each linked exception that does not pickle.
    """

    def __init__(self, stand_ins: dict[int, BaseException], *, chain: bool) -> None:
        self.stand_ins = stand_ins
        self.chain = chain
        # One wrapper per exception, so pickle's memo sees a chain that
        # loops back as the same object.
        self.wrappers: dict[int, _Carried] = {}

    def wrap(self, exc: BaseException) -> _Carried:
        """`exc`, to be pickled by this carry with its chain."""
        wrapper = self.wrappers.get(id(exc))
        if wrapper is None:
            wrapper = self.wrappers[id(exc)] = _Carried(exc, self)
        return wrapper

    def inner(self, value: Any) -> Any:
        """`value`, with the exceptions in it pickled by this carry too.

        Exceptions in lists and tuples, however deep: an exception group's
        members, say.
        """
        if isinstance(value, BaseException):
            return self.wrap(value)
        if type(value) in (list, tuple):
            return type(value)(self.inner(item) for item in value)
        return value

    def link(self, exc: BaseException | None) -> Any:
        if exc is None or not self.chain:
            return None
        return self.wrap(self.stand_ins.get(id(exc), exc))

    def reduce(self, exc: BaseException) -> Any:
        kind = type(exc)
        custom = copyreg.dispatch_table.get(kind)
        reduced = custom(exc) if custom is not None else exc.__reduce_ex__(PROTOCOL)
        if not isinstance(reduced, tuple) or not 2 <= len(reduced) <= 3:
            return NotImplemented
        function, args = reduced[0], self.inner(reduced[1])
        state = reduced[2] if len(reduced) == 3 else None
        if _uses_base_reduce(kind):
            function, args = _rebuild_exception, (kind, args)
        cause, context = _links(exc)
        carried = (
            state,
            self.link(cause),
            self.link(context),
            _SUPPRESS_CONTEXT.__get__(exc),
        )
        return (function, args, carried, None, None, _restore_exception)


class _Carried:
    """An exception that pickles as its carry reduces it.

    Unpickled, it is the exception itself. A wrapper rather than a
    `pickle.Pickler` subclass with a `reducer_override`: such a subclass
    corrupts memory in an isolated subinterpreter on CPython 3.12, where
    interpreter actors pickle their exceptions too.
    """

    __slots__ = ("carry", "exc")

    def __init__(self, exc: BaseException, carry: _Carry) -> None:
        self.exc = exc
        self.carry = carry

    def __reduce__(self) -> Any:
        reduced = self.carry.reduce(self.exc)
        if reduced is NotImplemented:
            return self.exc.__reduce_ex__(PROTOCOL)
        return reduced


def _pickle_exception(exc: BaseException, carry: _Carry) -> bytes:
    """Pickle `exc` by name, or by value where it must be."""
    try:
        data = pickle.dumps(carry.wrap(exc), protocol=PROTOCOL)
    except Exception:  # noqa: BLE001 (any failure: try by value)
        return _pickle_by_value(exc, carry)
    if _names_main(data):
        return _pickle_by_value(exc, carry)
    return data


def _stand_in(exc: BaseException) -> RemoteError:
    """A `RemoteError` for a linked exception that does not pickle.

    It is linked as `exc` was; its links are looked up in the stand-ins in
    turn.
    """
    stand_in = RemoteError(
        _type_name(type(exc)), _describe(exc), describe_traceback(exc, chain=False)
    )
    cause, context = _links(exc)
    _CAUSE.__set__(stand_in, cause)
    _CONTEXT.__set__(stand_in, context)
    _SUPPRESS_CONTEXT.__set__(stand_in, _SUPPRESS_CONTEXT.__get__(exc))
    return stand_in


def _dump_exception(exc: BaseException) -> bytes | None:
    """Pickle `exc` and as much of its chain as pickles, or None."""
    stand_ins: dict[int, BaseException] = {}
    alone = _Carry(stand_ins, chain=False)
    for linked in _chain(exc)[1:]:
        try:
            _pickle_exception(linked, alone)
        except BaseException:  # noqa: BLE001 (whatever pickling it runs)
            stand_ins[id(linked)] = _stand_in(linked)
    try:
        return _pickle_exception(exc, _Carry(stand_ins, chain=True))
    except BaseException:  # noqa: BLE001 (whatever pickling it runs)
        return None


def dump_error(exc: BaseException) -> bytes:
    """Pickle `exc` with its type name, message and formatted traceback.

    Never raises, whatever the exception's methods do: what cannot be
    pickled travels as its description.
    """
    text = describe_traceback(exc)
    fields = (_dump_exception(exc), _type_name(type(exc)), _describe(exc), text)
    try:
        return pickle.dumps(fields, protocol=PROTOCOL)
    except Exception:  # noqa: BLE001 (a str subclass from a broken class, say)
        return pickle.dumps(
            (None, "?", "the exception could not be described", ""), protocol=PROTOCOL
        )


def unpicklable_reply(actor: Any, message: Any, exc: BaseException) -> bytes:
    """`dump_error` of the error an asker gets when the reply does not pickle.

    It names the actor and what was asked (the method, the attribute, or
    `on_receive()`), says it was the reply that could not be sent, and has
    the pickling error as its `__cause__`.
    """
    from pykka_rs import messages  # noqa: PLC0415 (messages imports the actor)

    try:
        name = str(actor)
        if isinstance(message, messages.ProxyCall):
            asked = f"{name}.{'.'.join(message.attr_path)}()"
        elif isinstance(message, messages.ProxyGetAttr):
            asked = f"the attribute {name}.{'.'.join(message.attr_path)}"
        else:
            asked = f"{name}.on_receive() for a {_type_name(type(message))} message"
    except Exception:  # noqa: BLE001 (a description, whatever the actor's __str__ does)
        asked = f"a {_type_name(type(actor))} actor"
    kind = TypeError if isinstance(exc, TypeError) else pickle.PicklingError
    error = kind(
        f"the reply of {asked} could not be pickled to go back to the asker's "
        f"process: {_describe(exc)}"
    )
    error.__cause__ = exc
    return dump_error(error)


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
        try:
            exc.add_note(f"Traceback in the actor's process:\n{text.rstrip()}")
        except Exception:  # noqa: BLE001 (its __notes__ is not a list)
            return RemoteError(type_name, message, text)
        return exc
    return RemoteError(type_name, message, text)

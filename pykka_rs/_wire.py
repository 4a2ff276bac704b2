"""The wire protocol between the processes of a pykka_rs system, in plain Python.

The Rust core speaks this protocol (`rust/pool/frame.rs`, `rust/pool/ipc.rs`);
this module is the same codec written with the standard library only, for
workers that cannot load the core: PyO3 modules cannot be imported in a
subinterpreter, so a worker running in one speaks the protocol through this
module. It therefore never imports `pykka_rs._core`, nor `pykka_rs` itself
(whose `__init__` imports the core): load it by file path if need be.

The protocol is specified in `docs/protocol.md`. In short, a worker connects
to the parent's Unix socket, the two prove to each other that they hold the
pool's secret (`hello()`, `challenge()`, `proof()` and their checks), then
both sides exchange frames:

    u32 LE   header length H
    u64 LE   payload length P
    H bytes  header: a pickle of one control frame (see `VARIANTS`)
    P bytes  payload: opaque, usually a protocol-5 pickle made by Python

A header, as Python sees it, is either the bare name of a variant without
fields (`"Log"`, `"Shutdown"`) or a dict with one entry, the variant's name
mapped to a dict of its fields:

    {"Tell": {"to": {"process": 2, "actor": 7}}}

Headers are encoded byte for byte as the core's serde-pickle encoder writes
them (pickle protocol 3, no memo), and decoded with an unpickler that refuses
every global: a header is plain data, so nothing in one can run code.
Decoding is strict: a header must name a known variant and carry exactly its
fields, with the right types, or `ValueError` is raised.
"""

from __future__ import annotations

import io
import pickle
import struct
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypedDict, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = [
    "CHALLENGE_LEN",
    "HELLO_LEN",
    "MAGIC",
    "MAX_HEADER",
    "MAX_PAYLOAD",
    "MAX_U32",
    "MAX_U64",
    "NONCE_LEN",
    "PREFIX",
    "PROOF_LEN",
    "SECRET_LEN",
    "VARIANTS",
    "Address",
    "Buffer",
    "Frame",
    "FrameReader",
    "FutureId",
    "challenge",
    "check_challenge",
    "check_hello",
    "check_proof",
    "decode_header",
    "decode_prefix",
    "destination",
    "encode_frame",
    "encode_header",
    "encode_prefix",
    "hello",
    "make_frame",
    "proof",
    "read_frame",
    "variant_of",
]

MAGIC: Final = b"PYKKARS3"
"""Starts the hello and the challenge; changes if the handshake or the frame
layout changes."""

SECRET_LEN: Final = 32
"""The length of the pool's secret, which never crosses the socket."""

NONCE_LEN: Final = 32
"""The length of each side's random challenge."""

HELLO_LEN: Final = len(MAGIC) + 4 + NONCE_LEN
"""The worker's hello: magic, u32 LE worker number, the worker's nonce."""

CHALLENGE_LEN: Final = len(MAGIC) + NONCE_LEN + 32
"""The parent's challenge: magic, the parent's nonce, its answer to the
worker's nonce (an HMAC-SHA256)."""

PROOF_LEN: Final = 32
"""The worker's proof: its answer to the parent's nonce (an HMAC-SHA256)."""

PREFIX: Final = 12
"""The size of the two lengths that start every frame."""

MAX_HEADER: Final = 1 << 20
"""The largest header accepted, in bytes; real headers are a few dozen."""

MAX_PAYLOAD: Final = 1 << 34
"""The largest payload accepted, in bytes (16 GiB): a guard against corrupt
lengths, not a limit anyone should meet."""

MAX_U32: Final = (1 << 32) - 1
"""The largest value of a `u32` field (process numbers)."""

MAX_U64: Final = (1 << 63) - 1
"""The largest value of a `u64` field that crosses the wire.

The fields are `u64` in Rust, but the core's decoder (serde-pickle) reads
integers through `i64` and refuses anything larger, so neither side may send
more than 2**63 - 1.
"""


class Address(TypedDict):
    """Where an actor lives: its process (0 is the parent) and its number there."""

    process: int
    actor: int


class FutureId(TypedDict):
    """A future: the process that owns it and its number there."""

    process: int
    id: int


Frame: TypeAlias = str | dict[str, dict[str, Any]]
"""A decoded header: a variant's bare name, or `{name: {field: value}}`."""

Buffer: TypeAlias = bytes | bytearray | memoryview
"""Bytes, in any of the forms the functions here accept."""

# Field kinds. A struct kind names its fields in the order Rust declares them,
# which is the order serde-pickle writes them in.
_U32 = "u32"
_U64 = "u64"
_BOOL = "bool"
_STR = "str"
_STRUCTS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = MappingProxyType(
    {
        "Address": (("process", _U32), ("actor", _U64)),
        "FutureId": (("process", _U32), ("id", _U64)),
    }
)

VARIANTS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = MappingProxyType(
    {
        "Tell": (("to", "Address"),),
        "Ask": (("to", "Address"), ("reply", "FutureId")),
        "Reply": (("to", "FutureId"), ("ok", _BOOL)),
        "Undeliverable": (("to", "FutureId"), ("reason", _STR)),
        "Subscribe": (("future", "FutureId"), ("reply", "FutureId")),
        "Spawn": (("reply", "FutureId"),),
        "Request": (("reply", "FutureId"),),
        "Registered": (("actor", "Address"),),
        "Unregistered": (("actor", "Address"),),
        "Stopped": (("actor", "Address"),),
        "ProcessDied": (("process", _U32), ("cause", _STR)),
        "Log": (),
        "LogLevels": (),
        "Load": (("actors", _U64), ("waiting", _U64)),
        "Shutdown": (),
        "GatherStats": (("reply", "FutureId"),),
        "Stats": (),
        "Exited": (("actor", "Address"), ("reason", _STR)),
        "Offer": (("to", "Address"), ("ack", "FutureId")),
        "OfferAsk": (("to", "Address"), ("reply", "FutureId"), ("ack", "FutureId")),
    }
)
"""Every frame variant, in the order `rust/pool/frame.rs` declares them, with
its fields as `(name, kind)` pairs in declaration order. A kind is `"u32"`,
`"u64"`, `"bool"`, `"str"`, `"Address"` or `"FutureId"`. Variants without
fields travel as their bare name."""

_LIMITS: Final = {_U32: MAX_U32, _U64: MAX_U64}

# The pickle opcodes serde-pickle writes for these types.
_PROTO_3 = b"\x80\x03"
_STOP = b"."
_EMPTY_DICT = b"}"
_MARK = b"("
_SETITEM = b"s"
_SETITEMS = b"u"
_BINUNICODE = b"X"
_BININT = b"J"
_LONG1 = b"\x8a"
_NEWTRUE = b"\x88"
_NEWFALSE = b"\x89"

_LENGTHS = struct.Struct("<IQ")
_WORKER = struct.Struct("<I")


def _answer(
    secret: Buffer, role: bytes, first: bytes, second: bytes, worker: int
) -> bytes:
    """HMAC-SHA256 of `role`, both nonces and the worker number, keyed by `secret`.

    `hmac` is imported here, not at the top: importing it (through
    `hashlib`) breaks the teardown of an isolated subinterpreter on CPython
    3.12, and only a worker on a socket needs it.
    """
    import hmac  # noqa: PLC0415

    secret = bytes(secret)
    if len(secret) != SECRET_LEN:
        msg = f"a pool secret is {SECRET_LEN} bytes long, not {len(secret)}"
        raise ValueError(msg)
    _check_int(worker, _U32, "the worker number")
    return hmac.digest(secret, role + first + second + _WORKER.pack(worker), "sha256")


def _nonce(value: Buffer) -> bytes:
    value = bytes(value)
    if len(value) != NONCE_LEN:
        msg = f"a nonce is {NONCE_LEN} bytes long, not {len(value)}"
        raise ValueError(msg)
    return value


def hello(worker: int, nonce: Buffer) -> bytes:
    """What a worker sends first: magic, its number, its random nonce.

    Args:
        worker: this worker's process number, from the bootstrap
        nonce: `NONCE_LEN` fresh random bytes (`os.urandom`)

    Returns:
        the `HELLO_LEN` bytes to send

    Raises:
        ValueError: for a nonce of the wrong length, or a worker number
            outside 0 to 2**32 - 1
    """
    _check_int(worker, _U32, "the worker number")
    return MAGIC + _WORKER.pack(worker) + _nonce(nonce)


def check_hello(data: Buffer) -> tuple[int, bytes]:
    """Read a hello as the parent does.

    Returns:
        the worker number it claims, and the worker's nonce

    Raises:
        ValueError: for data that is not `HELLO_LEN` bytes long
        PermissionError: for a wrong magic: the peer does not speak this
            handshake, and nothing else it sends may be read
    """
    data = bytes(data)
    if len(data) != HELLO_LEN:
        msg = f"a hello is {HELLO_LEN} bytes long, not {len(data)}"
        raise ValueError(msg)
    if not _same_bytes(data[: len(MAGIC)], MAGIC):
        msg = "the peer does not speak the pykka_rs pool handshake"
        raise PermissionError(msg)
    (worker,) = _WORKER.unpack_from(data, len(MAGIC))
    return int(worker), data[len(MAGIC) + 4 :]


def challenge(
    secret: Buffer, worker: int, worker_nonce: Buffer, nonce: Buffer
) -> bytes:
    """The parent's answer to a hello, with its own nonce.

    Args:
        secret: the pool's secret
        worker: the worker number the hello claimed
        worker_nonce: the hello's nonce
        nonce: `NONCE_LEN` fresh random bytes of the parent's

    Returns:
        the `CHALLENGE_LEN` bytes to send
    """
    nonce = _nonce(nonce)
    answer = _answer(secret, b"parent", _nonce(worker_nonce), nonce, worker)
    return MAGIC + nonce + answer


def check_challenge(data: Buffer, secret: Buffer, worker: int, nonce: Buffer) -> bytes:
    """Check the parent's challenge as a worker does, before sending anything more.

    Args:
        data: the `CHALLENGE_LEN` bytes the parent sent
        secret: the pool's secret
        worker: this worker's number
        nonce: the nonce this worker sent in its hello

    Returns:
        the parent's nonce, for `proof()`

    Raises:
        ValueError: for data that is not `CHALLENGE_LEN` bytes long
        PermissionError: if the peer does not hold the pool's secret
    """
    data = bytes(data)
    if len(data) != CHALLENGE_LEN:
        msg = f"a challenge is {CHALLENGE_LEN} bytes long, not {len(data)}"
        raise ValueError(msg)
    start = len(MAGIC)
    theirs = data[start : start + NONCE_LEN]
    expected = (
        MAGIC + theirs + _answer(secret, b"parent", _nonce(nonce), theirs, worker)
    )
    if not _same_bytes(data, expected):
        msg = "the peer does not hold the pool's secret"
        raise PermissionError(msg)
    return theirs


def proof(secret: Buffer, worker: int, nonce: Buffer, parent_nonce: Buffer) -> bytes:
    """The worker's answer to the parent's nonce: the last step of the handshake."""
    return _answer(secret, b"worker", _nonce(parent_nonce), _nonce(nonce), worker)


def check_proof(
    data: Buffer, secret: Buffer, worker: int, worker_nonce: Buffer, nonce: Buffer
) -> None:
    """Check a worker's proof as the parent does, before reading any frame.

    Args:
        data: the `PROOF_LEN` bytes the worker sent
        secret: the pool's secret
        worker: the worker number the hello claimed
        worker_nonce: the hello's nonce
        nonce: the parent's own nonce, from its challenge

    Raises:
        PermissionError: if the peer does not hold the pool's secret
    """
    if not _same_bytes(bytes(data), proof(secret, worker, worker_nonce, nonce)):
        msg = "the peer does not hold the pool's secret"
        raise PermissionError(msg)


def _same_bytes(a: bytes, b: bytes) -> bool:
    """Compare in time that does not depend on where `a` and `b` differ.

    Not `hmac.compare_digest`, for the reason `_answer` gives.
    """
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b, strict=True):
        diff |= x ^ y
    return diff == 0


# --- Checking frames -------------------------------------------------------


def _check_int(value: object, kind: str, where: str) -> None:
    limit = _LIMITS[kind]
    # bool is an int subclass, but not an integer on the wire.
    if type(value) is not int or not 0 <= value <= limit:
        msg = f"{where} must be an integer from 0 to {limit} ({kind}), not {value!r}"
        raise ValueError(msg)


def _check_str(value: object, where: str) -> None:
    if type(value) is not str:
        msg = f"{where} must be a str, not {type(value).__name__}"
        raise ValueError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: pickle lets them through, Rust strings cannot hold them.
        msg = f"{where} is not valid Unicode: {value!r}"
        raise ValueError(msg) from None


def _check_fields(
    value: object, fields: tuple[tuple[str, str], ...], where: str
) -> None:
    if type(value) is not dict:
        msg = f"{where} must be a dict of its fields, not {type(value).__name__}"
        raise ValueError(msg)
    names = [name for name, _ in fields]
    if set(value) != set(names) or len(value) != len(names):
        got = sorted(map(repr, value))
        msg = f"{where} must have the fields {names}, not [{', '.join(got)}]"
        raise ValueError(msg)
    for name, kind in fields:
        _check_value(value[name], kind, f"{where}.{name}")


def _check_value(value: object, kind: str, where: str) -> None:
    if kind in _LIMITS:
        _check_int(value, kind, where)
    elif kind == _BOOL:
        if type(value) is not bool:
            msg = f"{where} must be a bool, not {value!r}"
            raise ValueError(msg)
    elif kind == _STR:
        _check_str(value, where)
    else:
        _check_fields(value, _STRUCTS[kind], f"{where} ({kind})")


def _check_frame(frame: object) -> str:
    """Check that `frame` is a well-formed header; return its variant's name."""
    if type(frame) is str:
        if frame not in VARIANTS:
            msg = f"unknown frame variant {frame!r}"
            raise ValueError(msg)
        if VARIANTS[frame]:
            msg = f"a {frame} frame has fields, so it cannot be a bare name"
            raise ValueError(msg)
        return frame
    if type(frame) is not dict:
        msg = f"a frame is a str or a dict, not {type(frame).__name__}"
        raise ValueError(msg)
    if len(frame) != 1:
        msg = f"a frame dict has exactly one entry, not {len(frame)}"
        raise ValueError(msg)
    ((name, fields),) = frame.items()
    if type(name) is not str or name not in VARIANTS:
        msg = f"unknown frame variant {name!r}"
        raise ValueError(msg)
    if not VARIANTS[name]:
        msg = f"a {name} frame has no fields: it is the bare name {name!r}"
        raise ValueError(msg)
    _check_fields(fields, VARIANTS[name], name)
    return name


def variant_of(frame: Frame) -> str:
    """The variant's name of a well-formed frame, such as `"Tell"`.

    Raises:
        ValueError: if `frame` is not a well-formed frame
    """
    return _check_frame(frame)


def make_frame(variant: str, **fields: Any) -> Frame:
    """Build a header from a variant's name and its fields, and check it.

    `make_frame("Tell", to={"process": 2, "actor": 7})` is
    `{"Tell": {"to": {"process": 2, "actor": 7}}}`; `make_frame("Log")` is
    `"Log"`.

    Raises:
        ValueError: for an unknown variant, or fields that are missing,
            extra or of the wrong type
    """
    frame: Frame = variant
    if fields or VARIANTS.get(variant):
        frame = {variant: dict(fields)}
    _check_frame(frame)
    return frame


def destination(frame: Frame) -> int | None:
    """The process an addressed frame must reach, as the parent routes it.

    `Tell`, `Ask`, `Offer` and `OfferAsk` go to the actor's process, `Reply`
    and `Undeliverable` to the future's, `Subscribe` to the process that owns
    the future. Other frames are for whoever receives them.

    Raises:
        ValueError: if `frame` is not a well-formed frame
    """
    name = _check_frame(frame)
    if isinstance(frame, str):
        return None
    fields = frame[name]
    if name in {"Tell", "Ask", "Reply", "Undeliverable", "Offer", "OfferAsk"}:
        return int(fields["to"]["process"])
    if name == "Subscribe":
        return int(fields["future"]["process"])
    return None


# --- Headers ---------------------------------------------------------------


def _str(value: str) -> bytes:
    data = value.encode("utf-8")
    return _BINUNICODE + struct.pack("<I", len(data)) + data


def _int(value: int, kind: str) -> bytes:
    if value < 0x8000_0000:
        return _BININT + struct.pack("<I", value)
    # serde-pickle: the value's bytes and a zero byte, so it reads as positive.
    width = 4 if kind == _U32 else 8
    return _LONG1 + bytes([width + 1]) + value.to_bytes(width, "little") + b"\x00"


def _struct(value: Mapping[str, Any], fields: tuple[tuple[str, str], ...]) -> bytes:
    if not fields:
        return _EMPTY_DICT
    items = b"".join(_str(name) + _value(value[name], kind) for name, kind in fields)
    return _EMPTY_DICT + _MARK + items + _SETITEMS


def _value(value: Any, kind: str) -> bytes:
    if kind in _LIMITS:
        return _int(value, kind)
    if kind == _BOOL:
        return _NEWTRUE if value else _NEWFALSE
    if kind == _STR:
        return _str(value)
    return _struct(value, _STRUCTS[kind])


def encode_header(frame: Frame) -> bytes:
    """Encode a header as the core does, byte for byte.

    Args:
        frame: a variant's bare name, or `{name: {field: value}}`

    Returns:
        the pickle (protocol 3, no memo) serde-pickle writes for this frame

    Raises:
        ValueError: if `frame` is not a well-formed frame
    """
    name = _check_frame(frame)
    if isinstance(frame, str):
        body = _str(name)
    else:
        body = (
            _EMPTY_DICT + _str(name) + _struct(frame[name], VARIANTS[name]) + _SETITEM
        )
    return _PROTO_3 + body + _STOP


class _HeaderUnpickler(pickle.Unpickler):
    """An unpickler for plain data: it refuses every global, importing none."""

    def find_class(self, module: str, name: str) -> Any:
        msg = f"a frame header may not refer to {module}.{name}"
        raise pickle.UnpicklingError(msg)


def decode_header(data: Buffer) -> Frame:
    """Decode and check a header.

    Any pickle of plain data is read (the core writes protocol 3; Python's
    own `pickle.dumps` of the same value reads the same), but nothing that
    names a global: such a header is refused before anything is imported.

    Args:
        data: the header's bytes

    Returns:
        the frame, as `encode_header` takes it

    Raises:
        ValueError: for bytes that are not a pickle of plain data, have
            bytes after the pickle, or do not make a well-formed frame
    """
    data = bytes(data)
    if len(data) > MAX_HEADER:
        msg = f"bad frame header: {len(data)} bytes, more than {MAX_HEADER}"
        raise ValueError(msg)
    stream = io.BytesIO(data)
    try:
        frame: object = _HeaderUnpickler(stream).load()
    except Exception as err:
        # Any failure of a malformed pickle, whatever the unpickler raised.
        msg = f"bad frame header: {type(err).__name__}: {err}"
        raise ValueError(msg) from err
    if stream.tell() != len(data):
        msg = f"bad frame header: {len(data) - stream.tell()} bytes after the pickle"
        raise ValueError(msg)
    try:
        _check_frame(frame)
    except ValueError as err:
        msg = f"bad frame header: {err}"
        raise ValueError(msg) from None
    return cast("Frame", frame)  # checked just above


# --- Frames ----------------------------------------------------------------


def encode_prefix(header_len: int, payload_len: int) -> bytes:
    """The two lengths that start a frame.

    A sender with a large payload can send this, the header and the payload
    without copying them together.

    Raises:
        ValueError: for lengths over `MAX_HEADER` or `MAX_PAYLOAD`, or negative
    """
    if not (0 <= header_len <= MAX_HEADER and 0 <= payload_len <= MAX_PAYLOAD):
        msg = f"frame too large: header {header_len} bytes, payload {payload_len} bytes"
        raise ValueError(msg)
    return _LENGTHS.pack(header_len, payload_len)


def decode_prefix(data: Buffer) -> tuple[int, int]:
    """Read the header and payload lengths from a frame's first `PREFIX` bytes.

    Raises:
        ValueError: for fewer than `PREFIX` bytes, or lengths over the limits
    """
    if len(data) < PREFIX:
        msg = f"a frame starts with {PREFIX} bytes of lengths, not {len(data)}"
        raise ValueError(msg)
    first, payload_len = _LENGTHS.unpack_from(data)
    header_len, buffers = first & 0x00FF_FFFF, first >> 24
    if buffers:
        # Their descriptors come with the frame's first byte (SCM_RIGHTS),
        # which a reader of plain bytes never sees.
        msg = (
            f"a frame with {buffers} shared buffers: only a reader that receives "
            "descriptors (the core's) can take it"
        )
        raise ValueError(msg)
    if header_len > MAX_HEADER or payload_len > MAX_PAYLOAD:
        msg = f"frame too large: header {header_len} bytes, payload {payload_len} bytes"
        raise ValueError(msg)
    return int(header_len), int(payload_len)


def encode_frame(frame: Frame, payload: Buffer = b"") -> bytes:
    """Encode a whole frame: lengths, header, payload.

    Args:
        frame: the header, as `encode_header` takes it
        payload: the payload's bytes; empty for frames without one

    Returns:
        the bytes to send

    Raises:
        ValueError: if `frame` is not well formed or the frame is over the limits
    """
    header = encode_header(frame)
    payload = memoryview(payload).cast("B")
    return encode_prefix(len(header), payload.nbytes) + header + payload


class FrameReader:
    """Cuts a stream of bytes into frames, as they arrive.

    Feed it whatever the socket gave, then take the frames that are whole:

        reader = FrameReader()
        while data := sock.recv(65536):
            reader.feed(data)
            for frame, payload in reader:
                handle(frame, payload)
        reader.end()
        list(reader)  # raises EOFError if the peer stopped inside a frame

    Lengths over the limits are refused as soon as the 12 bytes that carry
    them arrive, before any room is made for the frame. After an error the
    stream cannot be resynchronised: the connection is broken.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._start = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        """Whether `end()` was called: no more bytes will come."""
        return self._ended

    @property
    def buffered(self) -> int:
        """How many bytes were received and not yet taken as frames."""
        return len(self._buf) - self._start

    def feed(self, data: Buffer) -> None:
        """Add bytes received from the peer.

        Raises:
            ValueError: after `end()`
        """
        if self._ended:
            msg = "the stream has ended: no more bytes may be fed"
            raise ValueError(msg)
        if self._start and self._start >= len(self._buf) // 2:
            del self._buf[: self._start]
            self._start = 0
        self._buf += data

    def end(self) -> None:
        """Note that the peer closed the stream; frames still whole can be taken."""
        self._ended = True

    def next_frame(self) -> tuple[Frame, bytes] | None:
        """Take the next whole frame, or return None if none is whole yet.

        Raises:
            ValueError: for lengths over the limits, or a header that does
                not decode to a well-formed frame
            EOFError: once the stream has ended inside a frame
        """
        pending = len(self._buf) - self._start
        if pending >= PREFIX:
            head = self._start + PREFIX
            header_len, payload_len = decode_prefix(self._buf[self._start : head])
            split = head + header_len
            end = split + payload_len
            if len(self._buf) >= end:
                frame = decode_header(self._buf[head:split])
                # One copy of the payload; the view is gone before the buffer changes.
                with memoryview(self._buf) as view:
                    payload = bytes(view[split:end])
                self._start = end
                return frame, payload
        if self._ended and pending:
            msg = f"the peer ended the stream inside a frame ({pending} bytes of it)"
            raise EOFError(msg)
        return None

    def __iter__(self) -> Iterator[tuple[Frame, bytes]]:
        """Take every whole frame received so far, in order.

        Raises:
            ValueError: as `next_frame()` does
            EOFError: as `next_frame()` does
        """
        while (taken := self.next_frame()) is not None:
            yield taken


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """`size` bytes from `read`, fewer only where the stream ends."""
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(read: Callable[[int], bytes]) -> tuple[Frame, bytes] | None:
    """Read one frame, blocking, from a stream such as a socket.

    Args:
        read: returns up to the number of bytes asked for, waiting for at
            least one, and `b""` at the end of the stream; `socket.recv` or a
            binary file's `read`

    Returns:
        the frame and its payload, or None at a clean end of the stream
        (before a frame)

    Raises:
        EOFError: if the stream ends inside a frame
        ValueError: for lengths over the limits or a header that does not decode
    """
    prefix = _read_exactly(read, PREFIX)
    if not prefix:
        return None
    if len(prefix) < PREFIX:
        msg = "the peer ended the stream inside a frame's lengths"
        raise EOFError(msg)
    header_len, payload_len = decode_prefix(prefix)
    rest = _read_exactly(read, header_len + payload_len)
    if len(rest) < header_len + payload_len:
        msg = "the peer ended the stream inside a frame"
        raise EOFError(msg)
    return decode_header(rest[:header_len]), rest[header_len:]

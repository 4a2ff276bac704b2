"""`pykka_rs/_wire.py`, the wire codec in plain Python, against the Rust core.

`_wire.py` is loaded by file path with `pykka_rs` (and so `pykka_rs._core`)
blocked, as a worker that cannot load the core would load it. Two golden files
tie it to the core's codec (`rust/pool/frame.rs`, which lists the same frames
as `GOLDEN` below):

- `tests/golden/frames.bin`: the frames as Rust writes them. Python decodes
  them to `GOLDEN` and encodes `GOLDEN` to the same bytes. Rewrite it with
  `PYKKA_RS_BLESS=1 cargo test golden`.
- `tests/golden/frames_from_python.bin`: the frames as `_wire.py` writes them;
  `cargo test` decodes them to the same frames. Rewrite it with
  `python tests/test_wire.py --bless` (from the checkout, with the project's
  virtual environment).

Change both only together with `docs/protocol.md`: they pin the wire format.
The last test plays the parent with `_wire.py` alone against a real worker
process (started with the command the pool uses), as `docs/protocol.md` describes it.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.abc
import importlib.util
import io
import logging
import multiprocessing.spawn
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

GOLDEN_DIR = Path(__file__).parent / "golden"

_ASKER = {"process": 0, "id": 41}

# The frames of both golden files, as `golden_frames()` in rust/pool/frame.rs
# lists them: every variant, integers on both sides of each encoding's
# boundary (2**31 - 1 / 2**31, u32 max, the largest u64 the wire carries) and
# a string that is not ASCII.
GOLDEN: list[tuple[Any, bytes]] = [
    ({"Tell": {"to": {"process": 2, "actor": 7}}}, b"tell"),
    ({"Ask": {"to": {"process": 1, "actor": 0x8000_0000}, "reply": _ASKER}}, b"ask"),
    ({"Reply": {"to": _ASKER, "ok": True}}, b"value"),
    ({"Reply": {"to": {"process": 3, "id": 2**63 - 1}, "ok": False}}, b"error"),
    (
        {
            "Undeliverable": {
                "to": _ASKER,
                "reason": "died with its process: \u201ckilled\u201d \u2620",
            }
        },
        b"",
    ),
    (
        {
            "Subscribe": {
                "future": {"process": 2, "id": 9},
                "reply": {"process": 1, "id": 12},
            }
        },
        b"",
    ),
    ({"Spawn": {"reply": {"process": 0, "id": 5}}}, b"spawn"),
    ({"Request": {"reply": {"process": 1, "id": 6}}}, b"request"),
    ({"Registered": {"actor": {"process": 1, "actor": 2**32}}}, b"registered"),
    ({"Unregistered": {"actor": {"process": 1, "actor": 3}}}, b""),
    ({"Stopped": {"actor": {"process": 2**32 - 1, "actor": 0}}}, b""),
    ({"ProcessDied": {"process": 0x8000_0000, "cause": "exited with status 3"}}, b""),
    ("Log", b"log"),
    ("LogLevels", b"levels"),
    ({"Load": {"actors": 0x7FFF_FFFF, "waiting": 1 << 40}}, b""),
    ("Shutdown", b""),
    ({"GatherStats": {"reply": {"process": 0, "id": 2**63 - 1}}}, b""),
    ("Stats", b"stats"),
    (
        {
            "Exited": {
                "actor": {"process": 0x8000_0000, "actor": 2**63 - 1},
                "reason": "fa\u00eflure",
            }
        },
        b"details",
    ),
    (
        {
            "Offer": {
                "to": {"process": 2, "actor": 7},
                "ack": {"process": 0, "id": 0x8000_0000},
            }
        },
        b"offer",
    ),
    (
        {
            "OfferAsk": {
                "to": {"process": 1, "actor": 9},
                "reply": {"process": 0, "id": 41},
                "ack": {"process": 0, "id": 42},
            }
        },
        b"offered ask",
    ),
]


def wire_path() -> Path:
    """`_wire.py` of the pykka_rs under test, found without importing it."""
    spec = importlib.util.find_spec("pykka_rs")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent / "_wire.py"


def _is_ours(name: str) -> bool:
    return name == "pykka_rs" or name.startswith("pykka_rs.")


class Blocker(importlib.abc.MetaPathFinder):
    """Refuses to import pykka_rs or any of its modules, noting who asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if _is_ours(fullname):
            self.asked.append(fullname)
            raise ImportError(f"{fullname} is blocked while _wire.py loads")
        return None


class Loaded:
    """`_wire.py` loaded with pykka_rs blocked, and what the load did."""

    def __init__(self) -> None:
        # pykka_rs is imported already (by conftest): hide it, or an import of
        # it in _wire.py would come from sys.modules without asking a finder.
        path = wire_path()
        hidden = {
            name: sys.modules.pop(name) for name in list(sys.modules) if _is_ours(name)
        }
        blocker = Blocker()
        sys.meta_path.insert(0, blocker)
        before = set(sys.modules)
        try:
            spec = importlib.util.spec_from_file_location("_wire_by_path", path)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self.asked = list(blocker.asked)
            self.new_modules = set(sys.modules) - before - {spec.name}
            # The blocker itself works: the checks above could fail.
            try:
                importlib.import_module("pykka_rs._core")
            except ImportError:
                self.block_works = True
            else:
                self.block_works = False
        finally:
            sys.meta_path.remove(blocker)
            for name in [name for name in sys.modules if _is_ours(name)]:
                del sys.modules[name]
            sys.modules.update(hidden)
        self.module = module


@functools.cache
def loaded() -> Loaded:
    return Loaded()


@pytest.fixture
def wire() -> Any:
    return loaded().module


def golden_bytes(name: str) -> bytes:
    return (GOLDEN_DIR / name).read_bytes()


def encode_golden(wire: Any) -> bytes:
    return b"".join(wire.encode_frame(frame, payload) for frame, payload in GOLDEN)


# --- Loading --------------------------------------------------------------


def test_wire_loads_by_path_without_importing_pykka_rs_or_its_core() -> None:
    load = loaded()
    assert load.block_works
    assert load.asked == []
    assert "pykka_rs._core" not in load.new_modules
    outside = {
        name
        for name in load.new_modules
        if name.partition(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set()
    assert load.module.MAGIC == b"PYKKARS3"


def test_wire_imports_only_the_standard_library_anywhere_in_its_source() -> None:
    tree = ast.parse(wire_path().read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: _wire.py is loaded by path"
            assert node.module is not None
            imported.add(node.module)
    assert imported  # the walk found the imports there are
    tops = {name.partition(".")[0] for name in imported}
    assert tops <= set(sys.stdlib_module_names) | {"__future__"}, tops


def test_constants_match_the_rust_core(wire: Any) -> None:
    assert (wire.SECRET_LEN, wire.NONCE_LEN, wire.PREFIX) == (32, 32, 12)
    assert (wire.HELLO_LEN, wire.CHALLENGE_LEN, wire.PROOF_LEN) == (44, 72, 32)
    assert (wire.MAX_HEADER, wire.MAX_PAYLOAD) == (1 << 20, 1 << 34)
    assert list(wire.VARIANTS) == [
        "Tell",
        "Ask",
        "Reply",
        "Undeliverable",
        "Subscribe",
        "Spawn",
        "Request",
        "Registered",
        "Unregistered",
        "Stopped",
        "ProcessDied",
        "Log",
        "LogLevels",
        "Load",
        "Shutdown",
        "GatherStats",
        "Stats",
        "Exited",
        "Offer",
        "OfferAsk",
    ]


# --- Golden frames ----------------------------------------------------------


def test_golden_frames_cover_every_variant(wire: Any) -> None:
    assert {wire.variant_of(frame) for frame, _ in GOLDEN} == set(wire.VARIANTS)


def test_frames_written_by_rust_decode_to_the_expected_values(wire: Any) -> None:
    reader = wire.FrameReader()
    reader.feed(golden_bytes("frames.bin"))
    reader.end()
    assert list(reader) == GOLDEN
    assert reader.buffered == 0


def test_frames_written_by_rust_decode_when_fed_a_byte_at_a_time(wire: Any) -> None:
    reader = wire.FrameReader()
    got = []
    for byte in golden_bytes("frames.bin"):
        reader.feed(bytes([byte]))
        got.extend(reader)
    reader.end()
    assert list(reader) == []
    assert got == GOLDEN


def test_frames_written_by_rust_read_one_by_one_from_a_stream(wire: Any) -> None:
    stream = io.BytesIO(golden_bytes("frames.bin"))
    got = []
    while (frame := wire.read_frame(stream.read)) is not None:
        got.append(frame)
    assert got == GOLDEN


def test_python_encodes_the_golden_frames_to_the_bytes_rust_wrote(wire: Any) -> None:
    assert encode_golden(wire) == golden_bytes("frames.bin")


def test_each_rust_header_decodes_and_encodes_back_to_the_same_bytes(wire: Any) -> None:
    data = golden_bytes("frames.bin")
    at = 0
    count = 0
    while at < len(data):
        header_len, payload_len = wire.decode_prefix(data[at : at + wire.PREFIX])
        header = data[at + wire.PREFIX : at + wire.PREFIX + header_len]
        assert wire.encode_header(wire.decode_header(header)) == header
        at += wire.PREFIX + header_len + payload_len
        count += 1
    assert (at, count) == (len(data), len(GOLDEN))


def test_the_file_rust_decodes_is_what_python_encodes_now(wire: Any) -> None:
    assert golden_bytes("frames_from_python.bin") == encode_golden(wire)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_headers_pickled_by_python_itself_decode_too(wire: Any, protocol: int) -> None:
    for frame, _ in GOLDEN:
        assert wire.decode_header(pickle.dumps(frame, protocol=protocol)) == frame


def test_destinations_follow_the_routing_rules(wire: Any) -> None:
    assert [wire.destination(frame) for frame, _ in GOLDEN] == [
        2,
        1,
        0,
        3,
        0,
        2,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        2,
        1,
    ]


def test_make_frame_builds_the_dict_form(wire: Any) -> None:
    to = wire.Address(process=2, actor=7)
    assert wire.make_frame("Tell", to=to) == GOLDEN[0][0]
    assert wire.make_frame("Log") == "Log"
    with pytest.raises(ValueError, match="fields"):
        wire.make_frame("Tell")
    with pytest.raises(ValueError, match="no fields"):
        wire.make_frame("Log", extra=1)
    with pytest.raises(ValueError, match="unknown frame variant 'Nope'"):
        wire.make_frame("Nope")


# --- Handshake -----------------------------------------------------------------


def handshake(wire: Any, secret: bytes, worker: int) -> tuple[bytes, bytes, bytes]:
    """Both sides of a handshake, in Python: hello, challenge and proof."""
    nonce, parent_nonce = os.urandom(32), os.urandom(32)
    hello = wire.hello(worker, nonce)
    claimed, theirs = wire.check_hello(hello)
    challenge = wire.challenge(secret, claimed, theirs, parent_nonce)
    answer = wire.check_challenge(challenge, secret, worker, nonce)
    return hello, challenge, wire.proof(secret, worker, nonce, answer)


def test_a_hello_is_magic_worker_number_and_nonce(wire: Any) -> None:
    nonce = bytes(range(32))
    hello = wire.hello(0x01020304, nonce)
    assert hello == b"PYKKARS3" + b"\x04\x03\x02\x01" + nonce
    assert len(hello) == wire.HELLO_LEN
    assert wire.check_hello(hello) == (0x01020304, nonce)


def test_both_sides_holding_the_secret_complete_the_handshake(wire: Any) -> None:
    secret = os.urandom(32)
    hello, challenge, proof = handshake(wire, secret, 5)
    worker, nonce = wire.check_hello(hello)
    parent_nonce = challenge[8:40]
    wire.check_proof(proof, secret, worker, nonce, parent_nonce)
    # The secret itself crosses in none of the three.
    for sent in (hello, challenge, proof):
        assert secret not in sent


def test_a_challenge_without_the_secret_is_refused_by_the_worker(wire: Any) -> None:
    secret, nonce = os.urandom(32), os.urandom(32)
    squatter = wire.challenge(os.urandom(32), 3, nonce, os.urandom(32))
    with pytest.raises(PermissionError, match="does not hold the pool's secret"):
        wire.check_challenge(squatter, secret, 3, nonce)


def test_a_proof_without_the_secret_or_for_another_worker_is_refused(wire: Any) -> None:
    secret = os.urandom(32)
    nonce, parent_nonce = os.urandom(32), os.urandom(32)
    with pytest.raises(PermissionError):
        wire.check_proof(
            wire.proof(os.urandom(32), 3, nonce, parent_nonce),
            secret,
            3,
            nonce,
            parent_nonce,
        )
    with pytest.raises(PermissionError):
        wire.check_proof(
            wire.proof(secret, 4, nonce, parent_nonce), secret, 3, nonce, parent_nonce
        )
    # The parent's own answer does not pass as the worker's proof.
    parent_answer = wire.challenge(secret, 3, nonce, parent_nonce)[40:]
    with pytest.raises(PermissionError):
        wire.check_proof(parent_answer, secret, 3, nonce, parent_nonce)


def test_a_hello_with_a_wrong_magic_or_length_is_refused(wire: Any) -> None:
    hello = wire.hello(3, os.urandom(32))
    with pytest.raises(PermissionError):
        wire.check_hello(b"PYKKARS1" + hello[8:])
    for length in (0, 12, 43, 45, 88):
        with pytest.raises(ValueError, match="44 bytes"):
            wire.check_hello((hello * 2)[:length])


@pytest.mark.parametrize(
    ("nonce_len", "worker"), [(31, 1), (33, 1), (32, -1), (32, 2**32)]
)
def test_a_hello_needs_a_32_byte_nonce_and_a_u32_worker(
    wire: Any, nonce_len: int, worker: int
) -> None:
    with pytest.raises(ValueError):
        wire.hello(worker, bytes(nonce_len))


def test_a_secret_must_have_32_bytes(wire: Any) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wire.challenge(bytes(31), 1, bytes(32), bytes(32))


# --- Limits and truncation --------------------------------------------------


def test_lengths_up_to_the_limits_pass_and_beyond_them_do_not(wire: Any) -> None:
    prefix = wire.encode_prefix(wire.MAX_HEADER, wire.MAX_PAYLOAD)
    assert wire.decode_prefix(prefix) == (wire.MAX_HEADER, wire.MAX_PAYLOAD)
    for header_len, payload_len in [
        (wire.MAX_HEADER + 1, 0),
        (0, wire.MAX_PAYLOAD + 1),
    ]:
        with pytest.raises(ValueError, match="frame too large"):
            wire.encode_prefix(header_len, payload_len)
        raw = header_len.to_bytes(4, "little") + payload_len.to_bytes(8, "little")
        with pytest.raises(ValueError, match="frame too large"):
            wire.decode_prefix(raw)


def test_a_reader_refuses_absurd_lengths_before_the_frame_arrives(wire: Any) -> None:
    for header_len, payload_len in [
        (1 << 30, 0),
        (0, wire.MAX_PAYLOAD + 1),
        (2**32 - 1, 2**64 - 1),
    ]:
        prefix = header_len.to_bytes(4, "little") + payload_len.to_bytes(8, "little")
        reader = wire.FrameReader()
        reader.feed(prefix)
        # The high byte of the first word counts shared buffers.
        refused = "frame too large|shared buffers"
        with pytest.raises(ValueError, match=refused):
            reader.next_frame()
        with pytest.raises(ValueError, match=refused):
            wire.read_frame(io.BytesIO(prefix + b"x" * 64).read)


def test_a_frame_with_shared_buffers_is_refused_by_a_reader_of_bytes(
    wire: Any,
) -> None:
    header = wire.encode_header("Log")
    first = len(header) | 2 << 24
    prefix = first.to_bytes(4, "little") + (3).to_bytes(8, "little")
    with pytest.raises(ValueError, match="a frame with 2 shared buffers"):
        wire.decode_prefix(prefix)


def test_a_frame_at_the_payload_limit_is_awaited_not_refused(wire: Any) -> None:
    reader = wire.FrameReader()
    header = wire.encode_header("Log")
    reader.feed(wire.encode_prefix(len(header), wire.MAX_PAYLOAD) + header + b"abc")
    assert reader.next_frame() is None
    reader.end()
    with pytest.raises(EOFError):
        reader.next_frame()


def test_a_header_over_the_limit_cannot_be_encoded_or_decoded(wire: Any) -> None:
    frame = {"Undeliverable": {"to": _ASKER, "reason": "x" * wire.MAX_HEADER}}
    with pytest.raises(ValueError, match="frame too large"):
        wire.encode_frame(frame)
    with pytest.raises(ValueError, match="more than"):
        wire.decode_header(wire.encode_header(frame))


def test_a_frame_cut_anywhere_is_an_error_at_the_end_of_the_stream(wire: Any) -> None:
    first = wire.encode_frame(*GOLDEN[0])
    whole = wire.encode_frame(*GOLDEN[1])
    for cut in range(1, len(whole)):
        reader = wire.FrameReader()
        reader.feed(first + whole[:cut])
        assert list(reader) == [GOLDEN[0]]
        reader.end()
        with pytest.raises(EOFError, match="inside a frame"):
            reader.next_frame()
        stream = io.BytesIO(whole[:cut])
        with pytest.raises(EOFError):
            wire.read_frame(stream.read)


def test_a_stream_that_ends_between_frames_ends_cleanly(wire: Any) -> None:
    reader = wire.FrameReader()
    reader.feed(encode_golden(wire))
    reader.end()
    assert len(list(reader)) == len(GOLDEN)
    assert reader.next_frame() is None
    assert wire.read_frame(io.BytesIO(b"").read) is None
    with pytest.raises(ValueError, match="ended"):
        reader.feed(b"more")


def test_a_large_payload_travels_whole_through_a_socketpair(wire: Any) -> None:
    big = os.urandom(3 * 1024 * 1024 + 7)
    frames = [*GOLDEN, ({"Tell": {"to": {"process": 0, "actor": 1}}}, big), *GOLDEN]
    ours, theirs = socket.socketpair()
    with ours, theirs:

        def send() -> None:
            for frame, payload in frames:
                theirs.sendall(wire.encode_frame(frame, payload))
            theirs.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        ours.settimeout(30)
        reader = wire.FrameReader()
        got = []
        while data := ours.recv(65536):
            reader.feed(data)
            got.extend(reader)
        reader.end()
        got.extend(reader)
        sender.join(30)
    assert got == frames


# --- Headers that must be refused -------------------------------------------


_FID = {"process": 0, "id": 1}
_TO = {"process": 2, "actor": 7}

BAD_HEADERS: list[tuple[object, str]] = [
    ("Nope", "unknown frame variant 'Nope'"),
    ({"Nope": {}}, "unknown frame variant 'Nope'"),
    ({1: {}}, "unknown frame variant 1"),
    ("Tell", "cannot be a bare name"),
    ({"Log": None}, "no fields"),
    ({"Shutdown": {}}, "no fields"),
    ({}, "exactly one entry"),
    ({"Log": None, "Tell": {"to": _TO}}, "exactly one entry"),
    (42, "a str or a dict"),
    (("Tell", {"to": _TO}), "a str or a dict"),
    ({"Tell": [_TO]}, "must be a dict"),
    ({"Tell": {"to": [2, 7]}}, "must be a dict"),
    ({"Tell": {}}, "must have the fields"),
    ({"Tell": {"to": _TO, "extra": 1}}, "must have the fields"),
    ({"Tell": {"to": {"process": 2}}}, "must have the fields"),
    ({"Tell": {"to": {"process": 2, "actor": 7, "x": 0}}}, "must have the fields"),
    ({"Tell": {"to": {"process": -1, "actor": 7}}}, "Tell.to .Address..process"),
    ({"Tell": {"to": {"process": 2**32, "actor": 7}}}, "u32"),
    ({"Tell": {"to": {"process": 2, "actor": 2**63}}}, "u64"),
    ({"Tell": {"to": {"process": 2, "actor": True}}}, "u64"),
    ({"Tell": {"to": {"process": 2, "actor": 7.0}}}, "u64"),
    ({"Tell": {"to": {"process": "2", "actor": 7}}}, "u32"),
    ({"Reply": {"to": _FID, "ok": 1}}, "Reply.ok must be a bool"),
    ({"Reply": {"to": _FID, "ok": None}}, "Reply.ok must be a bool"),
    ({"Reply": {"to": {"process": 0, "actor": 1}, "ok": True}}, "must have the fields"),
    ({"Undeliverable": {"to": _FID, "reason": b"bytes"}}, "must be a str"),
    ({"Undeliverable": {"to": _FID, "reason": "\ud800"}}, "not valid Unicode"),
    ({"Load": {"actors": 1, "waiting": -1}}, "Load.waiting"),
]


@pytest.mark.parametrize(("value", "why"), BAD_HEADERS)
def test_ill_formed_headers_are_refused_both_ways(
    wire: Any, value: object, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        wire.encode_header(value)
    data = pickle.dumps(value, protocol=3)
    with pytest.raises(ValueError, match="bad frame header: .*" + why):
        wire.decode_header(data)
    reader = wire.FrameReader()
    reader.feed(wire.encode_prefix(len(data), 0) + data)
    with pytest.raises(ValueError, match=why):
        reader.next_frame()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pickle",
        pickle.dumps("Log")[:-1],
        pickle.dumps("Log", protocol=3) + b"x",
        b"\x80\x05\x97.",  # NEXT_BUFFER, with no out-of-band buffers
        b"(S'1'\nP",  # a persistent id
    ],
)
def test_bytes_that_are_not_one_plain_pickle_are_refused(
    wire: Any, data: bytes
) -> None:
    with pytest.raises(ValueError, match="bad frame header"):
        wire.decode_header(data)


class _RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return (os.system, (self.command,))


def test_a_header_naming_a_global_is_refused_without_running_anything(
    wire: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    command = f"touch {marker}"
    # A module that says when it is imported.
    probe = tmp_path / "wire_probe_module.py"
    probe.write_text(
        f"open({str(marker)!r}, 'w').close()\nboom = print\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    attacks = [
        f"cos\nsystem\n(S'{command}'\ntR.".encode(),  # GLOBAL, REDUCE
        f"(S'{command}'\nios\nsystem\n.".encode(),  # INST
        pickle.dumps(_RunsCommand(command), protocol=2),  # GLOBAL
        pickle.dumps(_RunsCommand(command), protocol=5),  # STACK_GLOBAL
        b"cwire_probe_module\nboom\n(S'x'\ntR.",  # a module not imported yet
        b"\x80\x02\x82\x01.",  # EXT1: an extension code names a global too
        pickle.dumps({"Tell": {"to": _RunsCommand(command)}}, protocol=3),
    ]
    for data in attacks:
        with pytest.raises(ValueError, match="bad frame header"):
            wire.decode_header(data)
    assert not marker.exists()
    assert "wire_probe_module" not in sys.modules


def test_refused_globals_are_named_in_the_error(wire: Any) -> None:
    with pytest.raises(ValueError, match=r"may not refer to (posix|os)\.system"):
        wire.decode_header(pickle.dumps(_RunsCommand("true"), protocol=5))


# --- In a subinterpreter -------------------------------------------------------

# What an isolated subinterpreter (its own GIL; the core cannot load there)
# runs: load _wire.py by path, decode and re-encode the golden frames, and
# write down what it found, and what `pykka_rs._core` is there.
SUBINTERPRETER_CODE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("_wire", WIRE_PATH)
wire = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = wire
spec.loader.exec_module(wire)
with open(GOLDEN_PATH, "rb") as file:
    golden = file.read()
reader = wire.FrameReader()
reader.feed(golden)
reader.end()
frames = list(reader)
same = b"".join(wire.encode_frame(f, p) for f, p in frames) == golden
greeted, _ = wire.check_hello(wire.hello(9, bytes(32)))
sys.path.insert(0, PACKAGE_DIR)
try:
    import pykka_rs._core as core_module
except ImportError:
    core = "refused"
else:
    # The Rust core refuses subinterpreters; pykka_rs runs on its stand-in.
    core = "stand-in" if core_module.__name__ == "pykka_rs._subcore" else "loaded"
with open(RESULT_PATH, "w") as file:
    file.write(repr((len(frames), same, greeted, core)))
"""

# Run by a fresh interpreter, which starts the subinterpreter with whichever
# API this CPython has.
SUBINTERPRETER_HOST = """
import sys
names = ("WIRE_PATH", "PACKAGE_DIR", "GOLDEN_PATH", "RESULT_PATH")
code = sys.argv[1]
for name, value in zip(names, sys.argv[2:], strict=True):
    code = code.replace(name, repr(value))
try:
    from concurrent import interpreters  # 3.14 and later
except ImportError:
    try:
        import _interpreters as low  # 3.13
        interp = low.create("isolated")
    except ImportError:
        import _xxsubinterpreters as low  # 3.12
        interp = low.create(isolated=True)
    failure = low.run_string(interp, code)
    low.destroy(interp)
    if failure is not None:
        sys.exit(f"the subinterpreter failed: {failure}")
else:
    interp = interpreters.create()
    interp.exec(code)
    interp.close()
"""


@pytest.mark.skipif(sys.version_info < (3, 12), reason="subinterpreters need 3.12")
def test_wire_works_in_a_subinterpreter_where_the_core_cannot_load(
    tmp_path: Path,
) -> None:
    result = tmp_path / "result"
    package_dir = wire_path().parent.parent
    subprocess.run(
        [
            sys.executable,
            "-c",
            SUBINTERPRETER_HOST,
            SUBINTERPRETER_CODE,
            str(wire_path()),
            str(package_dir),
            str(GOLDEN_DIR / "frames.bin"),
            str(result),
        ],
        check=True,
        timeout=60,
    )
    assert ast.literal_eval(result.read_text()) == (len(GOLDEN), True, 9, "stand-in")


# --- A real worker, with a parent made of _wire.py ----------------------------


class Parent:
    """The parent's end of a worker's connection, spoken with `_wire.py` only."""

    def __init__(self, wire: Any, conn: socket.socket) -> None:
        self.wire = wire
        self.conn = conn
        self.reader = wire.FrameReader()
        self.received: list[tuple[Any, bytes]] = []
        self.ended = False

    def send(self, frame: Any, payload: bytes = b"") -> None:
        self.conn.sendall(self.wire.encode_frame(frame, payload))

    def take(
        self, wanted: Callable[[Any, bytes], bool], timeout: float = 30
    ) -> tuple[Any, bytes]:
        """The first frame received (now or within `timeout`) that `wanted` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for index, (frame, payload) in enumerate(self.received):
                if wanted(frame, payload):
                    del self.received[index]
                    return frame, payload
            remaining = deadline - time.monotonic()
            assert not self.ended, f"the worker hung up; it sent {self.received}"
            assert remaining > 0, f"no such frame in time; got {self.received}"
            self.receive(remaining)

    def receive(self, timeout: float) -> None:
        """Read what arrives within `timeout` and add its frames to `received`."""
        self.conn.settimeout(timeout)
        data = self.conn.recv(1 << 16)
        if data:
            self.reader.feed(data)
        else:
            self.reader.end()
            self.ended = True
        self.received.extend(self.reader)

    def expect(self, variant: str, **fields: Any) -> bytes:
        """Take the next frame of `variant` and check its fields; return its payload."""
        frame, payload = self.take(lambda f, _: self.wire.variant_of(f) == variant)
        if fields:
            assert frame == {variant: fields}
        return payload

    def expect_log(self, logger: str, message: str) -> dict[str, Any]:
        """Take the log record `logger` sent with `message`; return its fields."""

        def matches(frame: Any, payload: bytes) -> bool:
            if frame != "Log":
                return False
            fields = pickle.loads(payload)  # noqa: S301
            return bool(fields["name"] == logger and fields["msg"] == message)

        _, payload = self.take(matches)
        fields: dict[str, Any] = pickle.loads(payload)  # noqa: S301
        return fields

    def wait_for_end(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.ended:
            self.receive(max(0.01, deadline - time.monotonic()))


def receive_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, "the worker hung up during the handshake"
        data += chunk
    return data


def test_a_parent_made_of_wire_runs_a_real_worker(wire: Any) -> None:
    pytest.importorskip("pykka_rs._core")
    from process_actors import Echo  # noqa: PLC0415 (tests/ is on sys.path from conftest)

    from pykka_rs._parent import worker_command  # noqa: PLC0415
    from pykka_rs.messages import ProxyCall, _ActorStop  # noqa: PLC0415

    def call(method: str, *args: Any) -> bytes:
        return pickle.dumps(ProxyCall((method,), args, {}), protocol=5)

    process = 7
    secret = os.urandom(wire.SECRET_LEN)
    directory = Path(tempfile.mkdtemp(prefix="pykka_rs-wire-test-"))
    assert directory.stat().st_mode & 0o777 == 0o700
    path = str(directory / "pool.sock")
    preparation = multiprocessing.spawn.get_preparation_data("pykka_rs-wire-test")
    preparation["authkey"] = bytes(preparation["authkey"])
    # The process number, then the rest (docs/protocol.md).
    bootstrap = process.to_bytes(4, "little") + pickle.dumps(
        {
            "socket": path,
            "secret": secret,
            "parent": os.getpid(),
            "preparation": preparation,
            "spin": 0.0,
            "message_limit": 1 << 30,
            "shutdown_grace": 5.0,
            "system": "0123456789abcdef",
        },
        protocol=5,
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(60)
        python, args = worker_command()  # the command docs/protocol.md gives
        worker = subprocess.Popen([python, *args], stdin=subprocess.PIPE)
        try:
            assert worker.stdin is not None
            worker.stdin.write(bootstrap)
            worker.stdin.close()
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(30)
                claimed, nonce = wire.check_hello(receive_exactly(conn, wire.HELLO_LEN))
                assert claimed == process
                parent_nonce = os.urandom(wire.NONCE_LEN)
                conn.sendall(wire.challenge(secret, claimed, nonce, parent_nonce))
                proof = receive_exactly(conn, wire.PROOF_LEN)
                wire.check_proof(proof, secret, claimed, nonce, parent_nonce)
                parent = Parent(wire, conn)
                run_worker_session(parent, process, Echo, call, _ActorStop)
        finally:
            if worker.poll() is None:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            shutil.rmtree(directory, ignore_errors=True)
    assert worker.returncode == 0


def check_reports(parent: Parent, actor: dict[str, int], reply: dict[str, int]) -> None:
    """A worker's load, its counters pushed in `Stats`, its answer to `GatherStats`."""
    wire = parent.wire
    here = wire.make_frame

    # The worker reports its load (its heartbeat).
    load, _ = parent.take(
        lambda f, _: wire.variant_of(f) == "Load" and f["Load"]["actors"] == 1
    )
    assert load == {"Load": {"actors": 1, "waiting": 0}}

    # Its actors' counters, pushed as they change: a plain pickle.
    def handled(payload: bytes) -> list[dict[str, Any]]:
        counters = pickle.loads(payload)  # noqa: S301
        return [c for c in counters if c["mailbox"]["processed"] >= 1]

    _, pushed = parent.take(
        lambda f, p: wire.variant_of(f) == "Stats" and bool(handled(p))
    )
    (counters,) = handled(pushed)
    assert counters["actor"] == actor["actor"]
    assert set(counters["mailbox"]) >= {"waiting", "sent", "high_water", "p99_nanos"}

    # GatherStats: the worker's core answers at once with its report.
    parent.send(here("GatherStats", reply=reply))
    report = pickle.loads(parent.expect("Reply", to=reply, ok=True))  # noqa: S301
    assert report["process"] == actor["process"]
    assert report["usage"]["pid"] not in (0, os.getpid())
    assert [a["number"] for a in report["actors"]] in ([], [actor["actor"]])


def run_worker_session(  # noqa: PLR0915 (one session, frame by frame)
    parent: Parent,
    process: int,
    echo: type,
    call: Callable[..., bytes],
    actor_stop: type,
) -> None:
    wire = parent.wire
    here = wire.make_frame

    def future(number: int) -> dict[str, int]:
        return {"process": 0, "id": number}

    # Spawn: the reply's payload is the new actor's number in the worker.
    urn = uuid.uuid4().urn
    parent.send(
        here("Spawn", reply=future(1)),
        pickle.dumps((echo, (), {"tag": "wire"}, urn), protocol=5),
    )
    number = pickle.loads(parent.expect("Reply", to=future(1), ok=True))  # noqa: S301
    assert type(number) is int
    actor = {"process": process, "actor": number}
    # Announced for every process's registry, before the reply.
    registered_urn, name, _ = pickle.loads(parent.expect("Registered", actor=actor))  # noqa: S301
    assert (registered_urn, name) == (urn, echo.__name__)

    # Ask: the reply's payload is the pickled answer.
    parent.send(here("Ask", to=actor, reply=future(2)), pickle.dumps(("hello", 42)))
    assert pickle.loads(parent.expect("Reply", to=future(2), ok=True)) == ("hello", 42)  # noqa: S301

    # A failure travels as dump_error's tuple:
    # (pickled exception, type name, message, formatted traceback).
    parent.send(here("Ask", to=actor, reply=future(3)), call("fail", "boom"))
    payload = parent.expect("Reply", to=future(3), ok=False)
    pickled, type_name, message, text = pickle.loads(payload)  # noqa: S301
    assert (type_name, message) == ("builtins.LookupError", "boom")
    assert "LookupError: boom" in text
    assert isinstance(pickle.loads(pickled), LookupError)  # noqa: S301

    # Tell, and the actor's log record comes back as a Log frame.
    parent.send(here("Tell", to=actor), call("log_something", "over the wire"))
    fields = parent.expect_log("tests.process_actors", "actor says over the wire")
    assert (fields["levelno"], fields["funcName"]) == (logging.WARNING, "log_something")

    # Nobody there: a told message becomes a dead letter (logged), an ask Undeliverable.
    nobody = {"process": process, "actor": 10**6}
    parent.send(here("Tell", to=nobody), b"never unpickled")
    dropped = (
        f"a message to actor {10**6} of process {process} was dropped: "
        "the actor is gone"
    )
    assert parent.expect_log("pykka", dropped)["levelno"] == logging.WARNING
    parent.send(here("Ask", to=nobody, reply=future(4)), b"never unpickled")
    parent.expect("Undeliverable", to=future(4), reason="not found")
    parent.send(
        here("Subscribe", future={"process": process, "id": 10**6}, reply=future(5))
    )
    parent.expect("Undeliverable", to=future(5), reason="has no such future")

    # Request: the actor starts another actor through the parent, who refuses.
    parent.send(here("Ask", to=actor, reply=future(6)), call("start_another", "second"))
    request, payload = parent.take(lambda f, _: wire.variant_of(f) == "Request")
    reply_to = request["Request"]["reply"]
    assert reply_to["process"] == process
    assert pickle.loads(payload) == ("start", "process", echo, None, ("second",), {})  # noqa: S301
    refusal = RuntimeError("no seat for it")
    parent.send(
        here("Reply", to=reply_to, ok=False),
        pickle.dumps(
            (
                pickle.dumps(refusal),
                "builtins.RuntimeError",
                "no seat for it",
                "made up\n",
            ),
            protocol=5,
        ),
    )
    _, type_name, message, _ = pickle.loads(  # noqa: S301
        parent.expect("Reply", to=future(6), ok=False)
    )
    assert (type_name, message) == ("builtins.RuntimeError", "no seat for it")

    check_reports(parent, actor, future(9))

    # Stopping the actor: it leaves the registry, the ask is answered and
    # the stop announced.
    parent.send(here("Ask", to=actor, reply=future(7)), pickle.dumps(actor_stop()))
    parent.expect("Unregistered", actor=actor)
    parent.expect("Reply", to=future(7), ok=True)
    parent.expect("Stopped", actor=actor)
    parent.send(here("Ask", to=actor, reply=future(8)), pickle.dumps("late"))
    parent.expect("Undeliverable", to=future(8), reason="not found")
    # Once it has handled its last message, its end, for monitors.
    details = parent.expect("Exited", actor=actor, reason="normal")
    assert pickle.loads(details) == (None, None, "")  # noqa: S301

    # Shutdown: the worker exits and its end of the socket closes, between frames.
    parent.send("Shutdown")
    parent.wait_for_end()
    leftovers = {wire.variant_of(frame) for frame, _ in parent.received}
    assert leftovers <= {"Load", "Log", "Stats"}, parent.received


def write_frames_from_python() -> Path:
    """Rewrite `tests/golden/frames_from_python.bin` with `_wire.py`'s encoding."""
    path = GOLDEN_DIR / "frames_from_python.bin"
    path.write_bytes(encode_golden(loaded().module))
    return path


if __name__ == "__main__":
    if sys.argv[1:] != ["--bless"]:
        sys.exit(f"usage: {sys.argv[0]} --bless   (rewrites the Python golden file)")
    sys.stdout.write(f"wrote {write_frames_from_python()}\n")

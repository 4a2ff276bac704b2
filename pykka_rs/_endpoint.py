"""A running program's statistics, for `python -m pykka_rs top` to attach to.

A program opts in with `serve_stats()`: it listens on a Unix socket in a
directory of its user's, `<tempdir>/pykka_rs-stats-<uid>/<pid>.sock`, which
must be a real directory owned by that user and closed to everyone else
(mode 0700), or serving refuses to start. Each connection gets one JSON
document, the snapshot `stats()` takes at that moment, and is closed; the
client sends nothing. Before answering, the server asks the kernel who the
peer is (`SO_PEERCRED`) and closes the connection unread if it runs as
another user: the directory's mode keeps others out, and the check holds
even where a socket's own permissions would not (some systems ignore them).

Rejected: the Prometheus endpoint for `top` too (plain HTTP on a TCP port,
which any local user can read), and pickle on the socket (JSON cannot run
code in the reader, and other tools read it).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import socket
import stat
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any, Self

from pykka_rs._stats import SystemStats, stats

logger = logging.getLogger("pykka_rs.endpoint")

# What a JSON document from serve_stats() starts with: format and version.
FORMAT = "pykka_rs.stats"
VERSION = 1

_PEERCRED = struct.Struct("3i")  # pid, uid, gid


def directory() -> Path:
    """Where this user's programs put their sockets."""
    return Path(tempfile.gettempdir()) / f"pykka_rs-stats-{os.geteuid()}"


def socket_path(pid: int | None = None) -> Path:
    """The socket of the program with process id `pid` (this one by default)."""
    return directory() / f"{os.getpid() if pid is None else pid}.sock"


def _private(folder: Path, *, create: bool) -> None:
    """Check that `folder` is a directory of this user's, closed to others.

    Raises:
        PermissionError: if it is a link, not a directory, another user's,
            or open to others
    """
    if create:
        folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        msg = f"{folder} is not a directory of this user's"
        raise PermissionError(msg)
    if info.st_mode & 0o077:
        msg = f"{folder} is open to other users (mode {info.st_mode & 0o777:o})"
        raise PermissionError(msg)


def _same_user(conn: socket.socket) -> bool:
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    _, uid, _ = _PEERCRED.unpack(raw)
    return bool(uid == os.geteuid())


def document(snapshot: SystemStats) -> bytes:
    """The JSON a connection receives."""
    return json.dumps(
        {"format": FORMAT, "version": VERSION, "stats": snapshot.to_dict()}
    ).encode()


def parse(data: bytes) -> SystemStats:
    """The snapshot in a document from `document()`.

    Raises:
        ValueError: for data that is not such a document
    """
    try:
        parsed: Any = json.loads(data)
        if parsed.get("format") != FORMAT or parsed.get("version") != VERSION:
            msg = "not a pykka_rs stats document of a version this reads"
            raise ValueError(msg)
        return SystemStats.from_dict(parsed["stats"])
    except (AttributeError, KeyError, TypeError, json.JSONDecodeError) as exc:
        msg = f"not a pykka_rs stats document: {exc}"
        raise ValueError(msg) from exc


class StatsServer:
    """The endpoint `serve_stats()` started: a Unix socket serving snapshots."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            path.unlink(missing_ok=True)
            self._listener.bind(str(path))
            self._listener.listen(8)
        except BaseException:
            self._listener.close()
            raise
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name="pykka_rs-stats-endpoint", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with conn:
                try:
                    if not _same_user(conn):
                        continue
                    conn.sendall(document(stats()))
                except Exception:
                    logger.warning("pykka_rs could not serve its stats", exc_info=True)

    def close(self) -> None:
        """Stop serving and remove the socket. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        atexit.unregister(self.close)
        # Wakes the accepting thread; an error only says there was nothing to wake.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed.is_set() else "serving"
        return f"<pykka_rs StatsServer {state} at {self.path}>"


def serve_stats(path: str | os.PathLike[str] | None = None) -> StatsServer:
    """Let `python -m pykka_rs top` (and `stats`) attach to this program.

    Serves `stats()` on a Unix socket that only this program's user can
    reach, until `close()` or the interpreter's exit. By default the socket
    is `socket_path()`, which `python -m pykka_rs top --pid PID` finds; the
    directory of any `path` given must belong to this user and be closed
    to others (mode 0700).

    Args:
        path: the socket to listen on; by default, in a directory of this
            user's named after this process's id

    Returns:
        the server; `close()` stops it

    Raises:
        PermissionError: if the socket's directory is not this user's alone
        OSError: if the socket cannot be made
    """
    if path is None:
        chosen = socket_path()
        _private(chosen.parent, create=True)
    else:
        chosen = Path(path)
        _private(chosen.parent, create=False)
    return StatsServer(chosen)


def fetch(path: str | os.PathLike[str], timeout: float = 10.0) -> SystemStats:
    """The snapshot the program serving at `path` takes now.

    Raises:
        OSError: if nothing serves there (FileNotFoundError,
            ConnectionRefusedError), or the connection fails
        ValueError: if what came back is not a snapshot (a program of
            another user closes the connection unread)
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(os.fspath(path))
        chunks = []
        while chunk := conn.recv(1 << 16):
            chunks.append(chunk)
    return parse(b"".join(chunks))


def serving() -> list[Path]:
    """The sockets of this user's programs that are still running."""
    folder = directory()
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.glob("*.sock")):
        try:
            os.kill(int(entry.stem), 0)
        except (ValueError, ProcessLookupError):
            continue
        except PermissionError:
            pass  # alive, another user's pid: its socket is still ours
        found.append(entry)
    return found

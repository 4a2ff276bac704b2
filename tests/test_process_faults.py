"""The process system from outside: strangers and squatters on the socket,
corrupt and oversized frames, hung and failing workers.

Each test plays a part a real fault or attacker would: a peer on the pool's
socket, a process of another user in the socket's place, a worker that stops
answering, a worker that cannot start.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.spawn
import os
import pickle
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import TESTS, unavailable, wait_until
from process_actors import Echo

import pykka_rs as pykka
from pykka_rs import _process, _wire
from pykka_rs._parent import worker_command

if TYPE_CHECKING:
    from collections.abc import Iterator

    from conftest import Recorder


@pytest.fixture(autouse=True)
def _stop_everything() -> Iterator[None]:
    """These tests leave their actors to be stopped with the pool."""
    yield
    pykka.ActorRegistry.stop_all(timeout=10)


class _Touch:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.path),))


def evil_frame(witness: Path) -> bytes:
    """A frame whose payload would run code if anyone unpickled it."""
    return _wire.encode_frame(
        _wire.make_frame("Tell", to={"process": 0, "actor": 1}),
        pickle.dumps(_Touch(str(witness))),
    )


def pool_socket() -> str:
    pool = _process._pool
    assert pool is not None
    return str(pool.core.socket_path)


def worker_pids() -> list[int]:
    return [worker["pid"] for worker in _process.workers()]


def test_a_stranger_without_the_secret_is_refused_before_anything_is_read(
    tmp_path: Path,
) -> None:
    ref = Echo.start("guarded")
    path = pool_socket()
    assert oct(Path(path).parent.stat().st_mode & 0o777) == "0o700"
    witness = tmp_path / "pwned"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stranger:
        stranger.settimeout(10)
        stranger.connect(path)
        stranger.sendall(_wire.hello(99, os.urandom(32)))
        challenge = b""
        while len(challenge) < _wire.CHALLENGE_LEN:
            chunk = stranger.recv(_wire.CHALLENGE_LEN)
            assert chunk
            challenge += chunk
        # Without the secret, any proof is a guess; frames follow it at once.
        stranger.sendall(os.urandom(_wire.PROOF_LEN) + evil_frame(witness))
        # The parent hangs up, having read nothing past the proof...
        with contextlib.suppress(ConnectionResetError):
            assert stranger.recv(1) == b""
    # ...and the pool goes on working.
    assert ref.ask("still fine") == "still fine"
    assert Echo.start("another").ask("fine too") == "fine too"
    assert not witness.exists()


def test_strangers_on_the_socket_neither_abort_nor_stall_a_worker_start() -> None:
    victim = Echo.start_on(0, "victim")
    pid = victim.proxy().pid().get(timeout=10)
    path = pool_socket()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(path)  # says nothing, and waits
        for _ in range(20):  # connect and close at once
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as passing:
                passing.connect(path)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: len(worker_pids()) == 2 and pid not in worker_pids())
        # The replacement was admitted while the silent stranger still
        # waited for its own handshake to time out: it did not queue behind it.
        silent.setblocking(False)  # noqa: FBT003
        with pytest.raises(BlockingIOError):
            silent.recv(1)
        assert Echo.start_on(0, "replacement").ask("hello") == "hello"
        silent.settimeout(30)
        with contextlib.suppress(ConnectionResetError):
            assert silent.recv(1) == b""


# --- A worker whose parent is not there -------------------------------------


def bootstrap(socket_path: str, secret: bytes, process: int = 7) -> bytes:
    """What a worker reads on its standard input (docs/protocol.md)."""
    preparation = multiprocessing.spawn.get_preparation_data("pykka_rs-test")
    preparation["authkey"] = bytes(preparation["authkey"])
    return process.to_bytes(4, "little") + pickle.dumps(
        {
            "socket": socket_path,
            "secret": secret,
            "parent": os.getpid(),
            "preparation": preparation,
            "spin": 0.0,
            "message_limit": 1 << 34,
            "shutdown_grace": 5.0,
            "system": "0123456789abcdef",
        },
        protocol=5,
    )


def start_worker(data: bytes) -> subprocess.Popen[bytes]:
    python, args = worker_command()
    worker = subprocess.Popen(
        [python, *args],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )
    assert worker.stdin is not None
    worker.stdin.write(data)
    worker.stdin.close()
    worker.stdin = None  # written and closed: communicate() must leave it
    return worker


def finish(worker: subprocess.Popen[bytes], timeout: float = 30) -> tuple[int, str]:
    try:
        _, err = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, err = worker.communicate()
        pytest.fail(f"the worker did not end: {err.decode(errors='replace')}")
    return worker.returncode, err.decode(errors="replace")


def test_a_worker_refuses_a_socket_that_another_user_put_in_its_parents_place(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        unavailable("needs root, to play another user (CI runs as root)")
    # The parent died; another user made a directory of the same name, and
    # listens there.
    directory = tmp_path / f"pykka_rs-{os.getpid()}-squatted"
    directory.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as squatter:
        squatter.bind(str(directory / "pool.sock"))
        squatter.listen(1)
        nobody = 65534
        os.chown(directory, nobody, nobody)
        os.chown(directory / "pool.sock", nobody, nobody)
        code, err = finish(
            start_worker(bootstrap(str(directory / "pool.sock"), os.urandom(32)))
        )
        assert code != 0
        assert "belongs to user 65534" in err, err
        # The worker never even connected.
        squatter.setblocking(False)  # noqa: FBT003
        with pytest.raises(BlockingIOError):
            squatter.accept()
    assert directory.exists()  # and it left the directory alone


def test_a_worker_reveals_nothing_to_a_listener_without_the_secret(
    tmp_path: Path,
) -> None:
    directory = Path(tempfile.mkdtemp(prefix="pykka_rs-squat-"))
    secret = os.urandom(32)
    witness = tmp_path / "pwned"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(directory / "pool.sock"))
            listener.listen(1)
            listener.settimeout(30)
            worker = start_worker(bootstrap(str(directory / "pool.sock"), secret))
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(30)
                hello = b""
                while len(hello) < _wire.HELLO_LEN:
                    chunk = conn.recv(_wire.HELLO_LEN - len(hello))
                    assert chunk
                    hello += chunk
                assert secret not in hello
                assert _wire.check_hello(hello)[0] == 7
                # A challenge made up without the secret, then a frame that
                # runs code if unpickled.
                conn.sendall(b"PYKKARS3" + os.urandom(64) + evil_frame(witness))
                rest = b""
                with contextlib.suppress(ConnectionResetError):
                    while chunk := conn.recv(1 << 16):
                        rest += chunk
            code, err = finish(worker)
        # The worker hung up without a word more, and unpickled nothing.
        assert rest == b""
        assert code != 0
        assert "does not hold the pool's secret" in err, err
        assert not witness.exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- Frames that do not fit -------------------------------------------------


@contextlib.contextmanager
def wire_parent(
    secret: bytes,
) -> Iterator[tuple[socket.socket, subprocess.Popen[bytes]]]:
    """A real worker, connected to a parent made of `_wire.py` (this test)."""
    directory = Path(tempfile.mkdtemp(prefix="pykka_rs-wire-"))
    path = str(directory / "pool.sock")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(path)
            listener.listen(1)
            listener.settimeout(30)
            worker = start_worker(bootstrap(path, secret))
            # The worker's memory is limited to 2 GiB of address space: a
            # reader that reserved what a frame announces would abort.
            resource.prlimit(worker.pid, resource.RLIMIT_AS, (2 << 30, 2 << 30))
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(30)
                hello = b""
                while len(hello) < _wire.HELLO_LEN:
                    hello += conn.recv(_wire.HELLO_LEN - len(hello))
                worker_number, nonce = _wire.check_hello(hello)
                mine = os.urandom(32)
                conn.sendall(_wire.challenge(secret, worker_number, nonce, mine))
                proof = b""
                while len(proof) < _wire.PROOF_LEN:
                    proof += conn.recv(_wire.PROOF_LEN - len(proof))
                _wire.check_proof(proof, secret, worker_number, nonce, mine)
                yield conn, worker
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(
    "trouble",
    [
        pytest.param(
            _wire.encode_prefix(4, _wire.MAX_PAYLOAD) + b"head" + b"x" * 1000,
            id="16 GiB announced, 1 KB sent",
        ),
        pytest.param(
            _wire.encode_prefix(4, 0) + b"junk",
            id="a header that is not a frame",
        ),
        pytest.param(
            (1 << 31).to_bytes(4, "little") + (0).to_bytes(8, "little"),
            id="a header over the limit",
        ),
    ],
)
def test_a_worker_survives_frames_that_do_not_fit_under_an_address_space_limit(
    trouble: bytes,
) -> None:
    with wire_parent(os.urandom(32)) as (conn, worker):
        conn.sendall(trouble)
        # The worker must neither abort nor wait for ever: it drops the
        # link, or, once the parent hangs up, leaves.
        conn.shutdown(socket.SHUT_WR)
        code, err = finish(worker)
    assert code in (0, -signal.SIGKILL), err
    assert "memory allocation" not in err, err
    assert "panicked" not in err, err


def test_a_message_over_the_configured_limit_is_refused_where_it_is_sent() -> None:
    limit = pykka._core.message_limit()
    pykka.configure(max_message_bytes=10_000)
    try:
        ref = Echo.start("limited")
        with pytest.raises(ValueError, match="over the limit of 10000"):
            ref.tell(b"x" * 20_000)
        with pytest.raises(ValueError, match="over the limit of 10000"):
            ref.ask(b"x" * 20_000)
        # Nothing else was disturbed.
        assert ref.ask(b"small") == b"small"
        # A reply over the limit fails its asker instead of hanging it.
        with pytest.raises(pykka.ActorDeadError, match="could not send its reply"):
            ref.proxy().run(lambda: b"y" * 20_000).get(timeout=10)
        assert ref.ask(b"still fine") == b"still fine"
    finally:
        pykka.configure(max_message_bytes=limit)


# --- Workers that hang or cannot start --------------------------------------


def test_a_worker_that_hangs_without_dying_is_killed_and_replaced() -> None:
    pykka.configure(heartbeat_timeout=1.0)
    try:
        hung = Echo.start_on(0, "hung")
        pid = hung.proxy().pid().get(timeout=10)
        pending = hung.proxy().sleep_then(60, "never")
        os.kill(pid, signal.SIGSTOP)
        with pytest.raises(pykka.ActorDeadError, match="no sign of life"):
            pending.get(timeout=20)
        wait_until(lambda: len(worker_pids()) == 2 and pid not in worker_pids(), 20)
        assert Echo.start_on(0, "fresh").ask("alive") == "alive"
    finally:
        pykka.configure(heartbeat_timeout=30.0)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


FAIL_WHILE = """
import os, sys
marker = os.environ.get("PYKKA_RS_TEST_FAIL_WHILE")
worker = "pykka_rs._worker" in open("/proc/self/cmdline").read()
if marker and os.path.exists(marker) and worker:
    os._exit(3)
"""


def test_an_empty_seat_is_retried_with_growing_pauses_until_a_worker_starts(
    tmp_path: Path, log_records: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sitecustomize.py").write_text(FAIL_WHILE)
    marker = tmp_path / "failing"
    victim = Echo.start_on(0, "victim")
    pid = victim.proxy().pid().get(timeout=10)
    # From now on, new workers fail at startup (a site hook exits them).
    marker.touch()
    monkeypatch.setenv("PYKKA_RS_TEST_FAIL_WHILE", str(marker))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    os.kill(pid, signal.SIGKILL)

    def retries() -> list[str]:
        return [
            message
            for message in log_records.messages("pykka_rs.pool", logging.ERROR)
            if "could not start a worker" in message
        ]

    wait_until(lambda: len(retries()) >= 3, 20)
    pauses = [
        float(message.split("trying again in ")[1].split()[0]) for message in retries()
    ]
    assert "exited with status 3 while starting" in retries()[0]
    assert pauses[:3] == sorted(pauses[:3])
    assert pauses[2] > pauses[0]
    marker.unlink()
    wait_until(lambda: len(worker_pids()) == 2, 20)
    assert Echo.start_on(0, "back").ask("hello") == "hello"


def test_a_worker_that_cannot_import_the_main_module_says_why_in_start() -> None:
    from helpers import run_script  # noqa: PLC0415

    result = run_script("""
        import pykka_rs as pykka
        from process_actors import Echo

        if __name__ == "__mp_main__":
            raise ImportError("the worker cannot have this")

        if __name__ == "__main__":
            try:
                Echo.start()
            except RuntimeError as exc:
                print("refused:", exc)
            pykka.ActorRegistry.stop_all()
    """)
    assert result.returncode == 0, result.stderr
    assert "refused: a worker process could not import the main module" in result.stdout
    assert "ImportError: the worker cannot have this" in result.stdout

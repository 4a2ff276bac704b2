"""The live view in a real terminal, and the endpoint `top` attaches to.

`python -m pykka_rs top` and `pykka_rs.top()` run in a pseudo-terminal of
their own (`pty.fork`), as a person would run them; the test reads the
screen they draw, and quits them with Ctrl-C typed into the terminal. The
program they watch has actors stuck in a handler, with messages queued
behind them, so the depths on the screen are known exactly.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import fork_quietly, script_env, write_script

import pykka_rs as pykka
from pykka_rs import _endpoint

if TYPE_CHECKING:
    from collections.abc import Callable

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>()][0-9A-Za-z]?")

# Actors stuck in a handler (until their FIFO gets a byte, when the program's
# standard input closes), with messages queued behind them.
PROGRAM = """
import os, sys
import pykka_rs as pykka
from process_actors import ProcessTally, ThreadTally

if __name__ == "__main__":
    pykka.configure(workers=1)
    folder = sys.argv[1]
    gates = [os.path.join(folder, name) for name in ("thread", "process")]
    for gate in gates:
        os.mkfifo(gate)
    refs = [ThreadTally.start(), ProcessTally.start()]
    blocked = [ref.proxy().block(gate) for ref, gate in zip(refs, gates)]
    writers = [open(gate, "wb") for gate in gates]  # once each actor is inside
    for ref, count in zip(refs, (5, 3)):
        for i in range(count):
            ref.tell(i)
    {serve}
    print("ready", flush=True)
    {wait}
    for writer in writers:
        writer.write(b"!")
        writer.close()
    for future in blocked:
        future.get(timeout=30)
    pykka.ActorRegistry.stop_all()
"""


def row(screen: str, actor: str, proc: str, waiting: int) -> bool:
    """Whether the screen has a row for `actor` in `proc` with `waiting` messages."""
    pattern = rf"{actor}\s*│[^│\n]*│\s*{proc}\s*│\s*{waiting}\s*│"
    return re.search(pattern, screen) is not None


def in_terminal(
    argv: list[str],
    until: Callable[[str], bool],
    env: dict[str, str],
    *,
    ctrl_c: bool,
    timeout: float = 60,
) -> tuple[str, int]:
    """Run `argv` in a new 120x40 terminal until its screen shows what `until` wants.

    Then type Ctrl-C if asked, and wait for it to end. Returns everything it
    drew (escape sequences removed) and its exit status.
    """
    pid, master = fork_quietly(terminal=True)
    if pid == 0:  # the child: the terminal is its own
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execve(argv[0], argv, env)  # noqa: S606 (a program of ours, no shell)
    drawn = b""
    seen = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                drawn += chunk
            if not seen and until(ANSI.sub("", drawn.decode(errors="replace"))):
                seen = True
                if not ctrl_c:
                    continue
                os.write(master, b"\x03")  # Ctrl-C, as typed
        else:
            os.kill(pid, signal.SIGKILL)  # it did not end in time
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    screen = ANSI.sub("", drawn.decode(errors="replace"))
    assert seen, f"the screen never showed what was wanted:\n{screen}"
    return screen, os.waitstatus_to_exitcode(status)


def terminal_env() -> dict[str, str]:
    env = script_env(TERM="xterm-256color")
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


def test_top_attached_to_a_running_program_shows_its_actors_and_depths(
    tmp_path: Path,
) -> None:
    source = PROGRAM.format(serve="pykka.serve_stats()", wait="sys.stdin.read()")
    script = write_script(source, tmp_path)
    with subprocess.Popen(
        [sys.executable, "-P", str(script), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=script_env(),
    ) as program:
        assert program.stdin is not None
        assert program.stdout is not None
        try:
            assert program.stdout.readline() == "ready\n"
            argv = [sys.executable, "-P", "-m", "pykka_rs", "top"]
            screen, status = in_terminal(
                [*argv, "--pid", str(program.pid), "--interval", "0.2"],
                lambda s: (
                    row(s, "ThreadTally", "main", 5) and row(s, "ProcessTally", "w1", 3)
                ),
                terminal_env(),
                ctrl_c=True,
            )
            assert status == 0, screen
            assert f"pid {program.pid}" in screen
            assert "8 waiting" in screen
        finally:
            program.stdin.close()
            assert program.wait(60) == 0


def test_top_in_the_program_itself_shows_its_actors_and_depths(tmp_path: Path) -> None:
    source = PROGRAM.format(serve="", wait="pykka.top(interval=0.2, duration=3)")
    script = write_script(source, tmp_path)
    screen, status = in_terminal(
        [sys.executable, "-P", str(script), str(tmp_path)],
        lambda s: row(s, "ThreadTally", "main", 5) and row(s, "ProcessTally", "w1", 3),
        terminal_env(),
        ctrl_c=False,
    )
    assert status == 0, screen
    assert "ready" in screen


def test_stats_command_prints_the_snapshot_as_json(tmp_path: Path) -> None:
    ref = pykka.ThreadingActor.start()
    with pykka.serve_stats() as server:
        result = subprocess.run(
            [
                sys.executable,
                "-P",
                "-m",
                "pykka_rs",
                "stats",
                "--socket",
                str(server.path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=script_env(),
        )
    assert result.returncode == 0, result.stderr
    snapshot = pykka.SystemStats.from_dict(json.loads(result.stdout))
    assert [a.actor_urn for a in snapshot.actors] == [ref.actor_urn]
    assert not server.path.exists()
    ref.stop()


def test_top_without_a_program_to_watch_says_how_to_get_one() -> None:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "pykka_rs", "top", "--pid", "999999999"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=script_env(),
    )
    assert result.returncode == 1
    assert "cannot read the stats served at" in result.stderr


def test_a_served_snapshot_is_the_one_stats_takes(tmp_path: Path) -> None:
    ref = pykka.ThreadingActor.start()
    ref.ask("hello")
    with pykka.serve_stats() as server:
        assert server.path == _endpoint.socket_path()
        assert server.path in _endpoint.serving()
        fetched = _endpoint.fetch(server.path)
    assert [(a.actor_urn, a.handled) for a in fetched.actors] == [(ref.actor_urn, 1)]
    ref.stop()


def test_serving_refuses_a_directory_open_to_other_users(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    with pytest.raises(PermissionError, match="open to other users"):
        pykka.serve_stats(tmp_path / "stats.sock")
    assert not (tmp_path / "stats.sock").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_a_peer_of_another_user_is_closed_unread() -> None:
    # A socket others could reach (as serve_stats() never makes one): the
    # peer check alone stands between them and the snapshot.
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o777)
    server = pykka.StatsServer(folder / "open.sock")
    try:
        server.path.chmod(0o777)
        child, _ = fork_quietly()
        if child == 0:
            code = 1
            try:
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX) as conn:
                    conn.settimeout(10)
                    conn.connect(str(server.path))
                    code = 0 if conn.recv(1) == b"" else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "another user got data"
        assert _endpoint.fetch(server.path).pid == os.getpid()
    finally:
        server.close()
        folder.rmdir()


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"interval": 0}, ValueError, "more than 0"),
        ({"interval": "1"}, TypeError, "number of seconds"),
        ({"duration": -1}, ValueError, "non-negative"),
        ({"interval": True}, TypeError, "number of seconds"),
        ({"until": True}, TypeError, "threading.Event"),
    ],
)
def test_top_refuses_bad_intervals_at_the_call(
    kwargs: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text):
        pykka.top(**kwargs)


def test_a_document_that_is_not_a_snapshot_is_a_value_error() -> None:
    for data in (b"nonsense", b"[]", b'{"format": "other", "version": 1}'):
        with pytest.raises(ValueError, match="not a pykka_rs stats document"):
            _endpoint.parse(data)

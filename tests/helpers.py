"""What several test modules need: scripts in fresh interpreters, waits, processes."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from collections.abc import Sequence

TESTS = Path(__file__).parent

CI = os.environ.get("CI") == "true"

# Interpreter actors need a GIL per subinterpreter.
SUBINTERPRETERS = sys.version_info >= (3, 12)
needs_312 = pytest.mark.skipif(
    not SUBINTERPRETERS,
    reason="InterpreterActor needs CPython 3.12 or later (a GIL per subinterpreter)",
)

# Set in the environment of a script's processes, so the test can find every
# one of them (its workers included) by reading /proc/<pid>/environ.
MARK = "PYKKA_RS_TEST_MARK"


def unavailable(reason: str) -> NoReturn:
    """Skip a test that cannot run here; under CI=true, fail it instead.

    A check that cannot run must never pass quietly where it is meant to run.
    """
    if CI:
        pytest.fail(f"cannot run under CI: {reason}")
    pytest.skip(reason)


def wait_until(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def script_env(mark: str = "", **extra: str) -> dict[str, str]:
    """The environment for a script: tests/ importable, and `mark` set."""
    env = {**os.environ, "PYTHONPATH": str(TESTS), **extra}
    if mark:
        env[MARK] = mark
    return env


def write_script(source: str, directory: Path | None = None) -> Path:
    directory = directory or Path(tempfile.mkdtemp())
    script = directory / "script.py"
    script.write_text(textwrap.dedent(source))
    return script


def run_script(
    source: str, timeout: float = 60, args: Sequence[str] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `source` as a script in a fresh interpreter and wait for it."""
    script = write_script(source)
    try:
        return subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=script_env(**env),
        )
    finally:
        script.unlink()
        script.parent.rmdir()


def marked_processes(mark: str) -> list[int]:
    """Pids of the running processes whose environment carries `mark`."""
    wanted = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if wanted in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def own_temp_dirs() -> list[str]:
    prefix = f"pykka_rs-{os.getpid()}-"
    temp = Path(tempfile.gettempdir())
    return [path.name for path in temp.iterdir() if path.name.startswith(prefix)]


def fork_quietly(*, terminal: bool = False) -> tuple[int, int]:
    """os.fork(), or pty.fork() with a new terminal: (pid, terminal's fd or -1).

    The tests' children only exec a program or drop their user and exit:
    none of the parent's threads' locks are touched, so the warning 3.12 and
    later give about forking a process with threads does not apply.

    A child in a new terminal gets SIGINT back as a shell gives it to the
    program it runs there, even where the tests run with it ignored (nohup,
    a background job): Ctrl-C typed in that terminal must reach it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if terminal:
            pid, fd = pty.fork()
            if pid == 0:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
            return pid, fd
        return os.fork(), -1

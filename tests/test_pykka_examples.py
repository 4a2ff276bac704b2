"""Pykka's own example programs, from its sdist, run against pykka_rs.

Each runs in a fresh interpreter through `compat/run_example.py`, which maps
`import pykka` to pykka_rs. Two examples never end on their own, with Pykka
too: `deadlock.py` deadlocks on purpose and then idles until killed (it is
checked here by signalling it, which makes it log every thread's stack), and
`proxy_typing.py` starts an actor it never stops (it exists for type
checkers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

COMPAT = Path(__file__).parent / "compat"
sys.path.insert(0, str(COMPAT))

from sdist import unpacked_pykka  # noqa: E402

EXAMPLES = unpacked_pykka() / "examples"


def run_example(name: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(COMPAT / "run_example.py"), str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=EXAMPLES,
    )


def test_basic() -> None:
    result = run_example("basic.py")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == "[{'no': 'Norway', 'se': 'Sweden'}, {'a': 3, 'b': 4, 'c': 5}]"
    )


def test_cooperation() -> None:
    result = run_example("cooperation.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Adder is adding 1 to 0"
    assert lines[-1] == "Bookkeeper got 5 back"
    assert len(lines) == 10


def test_proxy() -> None:
    result = run_example("proxy.py")
    assert result.returncode == 0, result.stderr
    # The actor's thread prints while the main thread does, and print() writes
    # a line's text and its newline separately: lines may interleave, so the
    # actor's line is looked for anywhere.
    assert "FooActor-0: this was printed by FooActor.bar()" in result.stdout
    lines = result.stdout.splitlines()
    assert "MainThread: this was returned by FooActor.baz() after a delay" in lines
    assert lines[-1] == "MainThread: new value"


def test_worker_pool() -> None:
    result = run_example("worker_pool.py")
    assert result.returncode == 0, result.stderr
    # Whether the reverse lookups succeed depends on the network; all 19 answer.
    assert result.stdout.count("IPv4Address('193.35.52.") == 19
    assert (
        result.stdout.count("Finished resolving")
        + result.stdout.count("Failed resolving")
        == 19
    )


def test_testing_example_runs_under_pytest() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "pykka_alias",
            "-p",
            "no:cacheprovider",
            # Pykka's (empty) pytest configuration, not ours from a parent directory.
            "-c",
            "../pyproject.toml",
            "--rootdir",
            ".",
            "-q",
            "testing_test.py",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=EXAMPLES,
        env={**os.environ, "PYTHONPATH": f"{COMPAT}{os.pathsep}{EXAMPLES}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_deadlock_example_logs_every_threads_stack_on_sigusr1() -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-u",
            str(COMPAT / "run_example.py"),
            str(EXAMPLES / "deadlock.py"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=EXAMPLES,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            for line in process.stdout:
                if line.startswith("Making main thread relax"):
                    break
            process.send_signal(signal.SIGUSR1)
            log = ""
            for line in process.stderr:
                log += line
                if (
                    log.count("Current state of") >= 3
                    and "This is bar calling foo" in log
                ):
                    break
            assert "Current state of MainThread" in log
            assert "Current state of ActorA-" in log
            assert "Current state of ActorB-" in log
        finally:
            process.kill()

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import pykka_rs
from pykka_rs import ActorRegistry, _interpreters

# Worker processes import the test actor classes by name, from here.
sys.path.insert(0, str(Path(__file__).parent))
pykka_rs.configure(workers=2, interpreters=2)

if TYPE_CHECKING:
    from collections.abc import Iterator


def pytest_report_header() -> str:
    return f"pykka_rs under test: {pykka_rs.__file__}"


def _actor_threads() -> set[threading.Thread]:
    return {
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
        and getattr(thread, "_target", None) is not None
        and getattr(thread._target, "__name__", "") == "_actor_loop"
    }


def worker_processes() -> list[int]:
    """Pids of this process's worker processes that are still running."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if parent == os.getpid() and b"pykka_rs._worker" in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


@pytest.fixture(autouse=True)
def leak_guard() -> Iterator[None]:
    """Fail a test that leaves actors running; stop them for the next test."""
    before = _actor_threads()
    yield
    left = ActorRegistry.get_all()
    ActorRegistry.stop_all(timeout=10)
    deadline = time.monotonic() + 10
    for thread in _actor_threads() - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in _actor_threads() - before if t.is_alive()]
    workers = worker_processes()
    interpreters = _interpreters.workers()
    assert not left, f"the test left actors running: {left}"
    assert not interpreters, f"interpreter workers still serving: {interpreters}"
    assert not alive, f"actor threads still running after the test: {alive}"
    assert not workers, f"worker processes still running after the test: {workers}"


class Recorder(logging.Handler):
    """Collects log records, and lets a test wait for them without sleeping."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self._arrived = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._arrived:
            self.records.append(record)
            self._arrived.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 5) -> list[logging.LogRecord]:
        with self._arrived:
            found = self._arrived.wait_for(
                lambda: [r for r in self.records if predicate(r)], timeout
            )
        assert found, f"no matching log record within {timeout}s: {self.records}"
        return found

    def messages(self, logger: str, level: int) -> list[str]:
        with self._arrived:
            return [
                r.getMessage()
                for r in self.records
                if r.name == logger and r.levelno == level
            ]


@pytest.fixture
def log_records() -> Iterator[Recorder]:
    recorder = Recorder()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.NOTSET)
    yield recorder
    root.removeHandler(recorder)
    root.setLevel(old_level)

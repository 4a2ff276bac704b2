"""pytest plugin: run Pykka's own test suite against pykka_rs.

Loaded with `-p pykka_alias`, before any test module is imported, it makes
`pykka` and every `pykka.<submodule>` name the pykka_rs module objects
themselves (not copies), so `from pykka import ...` and
`mocker.patch.object(pykka.ActorRegistry, ...)` reach pykka_rs.

Pykka's suite is a package named `tests`, like ours, so it runs from its own
unpacked sdist directory with this directory on `sys.path`.

`KNOWN_GAPS` marks tests pykka_rs does not pass yet as strict xfails, each
with its reason; a fixed gap then fails the run until it is removed here.

With `PYKKA_ALIAS_ACTOR=ProcessActor`, the suite runs a second time with
`pykka_rs.ProcessActor` as its runtime's actor class: actors live in worker
processes, and the runtime's event class is a `multiprocessing` manager's
`Event`, which every process can set and wait on. Tests whose meaning cannot
hold across processes are skipped, each with its reason
(`NOT_ACROSS_PROCESSES`).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any

import pytest
from alias import install

import pykka_rs

# Test id -> why pykka_rs does not pass it (yet). Empty: everything passes.
KNOWN_GAPS: dict[str, str] = {}

_COPIES = (
    "messages and replies cross processes as copies, and this one compares by "
    "identity (an exception equals only itself)"
)
_MOCKS = (
    "mocks patched onto the actor class in the test process do not exist in the "
    "worker process, and a Mock cannot be pickled to get there"
)

# Test id -> why its meaning cannot hold when the actor is in another process.
NOT_ACROSS_PROCESSES: dict[str, str] = {
    "tests/test_ref.py::"
    "test_tell_accepts_any_object_as_the_message[process-message5]": _COPIES,
    "tests/proxy/test_mocking.py::"
    "test_actor_with_noncallable_mock_property_works[process]": _MOCKS,
    "tests/proxy/test_mocking.py::"
    "test_actor_with_callable_mock_property_does_not_work[process]": _MOCKS,
    "tests/proxy/test_mocking.py::test_actor_with_mocked_method_works[process]": _MOCKS,
}

ACTOR = os.environ.get("PYKKA_ALIAS_ACTOR", "ThreadingActor")
PROCESS_RUN = ACTOR in {"ProcessActor", "InterpreterActor"}
RUNTIME = {"ProcessActor": "process", "InterpreterActor": "interpreter"}.get(ACTOR)
_manager: Any = None


install()


def pytest_report_header() -> str:
    return f"pykka -> pykka_rs ({pykka_rs.__file__}), runtime actor: {ACTOR}"


@pytest.hookimpl(tryfirst=True)
def pytest_plugin_registered(plugin: Any, plugin_name: str) -> None:
    """Give Pykka's conftest a process runtime, before its fixtures are read."""
    if not PROCESS_RUN or getattr(plugin, "__name__", "") != "tests.conftest":
        return
    global _manager  # noqa: PLW0603
    _manager = multiprocessing.get_context("spawn").Manager()
    process = pytest.param(
        plugin.Runtime(
            name=RUNTIME,
            actor_class=getattr(pykka_rs, ACTOR),
            event_class=_manager.Event,
            future_class=pykka_rs.ThreadingFuture,
            sleep_func=time.sleep,
        ),
        id=RUNTIME,
    )
    plugin.RUNTIMES.clear()
    plugin.RUNTIMES[RUNTIME] = process

    @pytest.fixture(scope="session", params=[process])
    def runtime(request: pytest.FixtureRequest) -> Any:
        return request.param

    plugin.runtime = runtime


def pytest_unconfigure() -> None:
    if _manager is not None:
        pykka_rs.ActorRegistry.stop_all()
        _manager.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        reason = KNOWN_GAPS.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
        nodeid = item.nodeid.replace(f"[{RUNTIME}", "[process")
        reason = NOT_ACROSS_PROCESSES.get(nodeid) if PROCESS_RUN else None
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"not across processes: {reason}"))

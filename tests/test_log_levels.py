"""Workers send only the log records the parent's loggers would take.

The parent's levels (each logger's, and `logging.disable()`'s) reach every
worker as it joins and after every change, ahead of whatever is sent after
the change, so a record logged because of a later message is judged by the
new levels and never lost.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
from helpers import needs_312, run_script
from interpreter_actors import ProcessWhere

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import Recorder

KINDS = ["process", pytest.param("interpreter", marks=needs_312)]
LOGGER = "tests.log_levels"


@pytest.fixture
def levels() -> Iterator[None]:
    """The root at WARNING and LOGGER without a level, restored after."""
    root = logging.getLogger()
    logger = logging.getLogger(LOGGER)
    saved = root.level, logger.level
    root.setLevel(logging.WARNING)
    logger.setLevel(logging.NOTSET)
    yield
    logging.disable(logging.NOTSET)
    root.setLevel(saved[0])
    logger.setLevel(saved[1])


def start(kind: str) -> Any:
    if kind == "process":
        return ProcessWhere.start("levels")
    from interpreter_actors import Where  # noqa: PLC0415 (3.12 and later)

    return Where.start("levels")


@pytest.fixture(params=KINDS)
def actor(request: pytest.FixtureRequest) -> Iterator[Any]:
    ref = start(request.param)
    yield ref.proxy()
    ref.stop()


@pytest.mark.usefixtures("levels")
def test_a_worker_sends_only_what_the_parents_levels_take(actor: Any) -> None:
    def sends(name: str, level: int) -> bool:
        return bool(actor.sends(name, level).get(timeout=30))

    assert not sends(LOGGER, logging.INFO)
    assert sends(LOGGER, logging.WARNING)
    assert not sends("pykka", logging.DEBUG)

    logging.getLogger(LOGGER).setLevel(logging.DEBUG)
    assert sends(LOGGER, logging.DEBUG)
    assert sends(f"{LOGGER}.child.grandchild", logging.DEBUG)
    assert not sends("tests", logging.DEBUG)
    assert not sends("root", logging.INFO)

    logging.getLogger(f"{LOGGER}.child").setLevel(logging.ERROR)
    assert not sends(f"{LOGGER}.child.grandchild", logging.WARNING)
    assert sends(f"{LOGGER}.child.grandchild", logging.ERROR)

    logging.disable(logging.ERROR)
    assert not sends(LOGGER, logging.ERROR)
    assert sends(LOGGER, logging.CRITICAL)
    logging.disable(logging.NOTSET)
    logging.getLogger(f"{LOGGER}.child").setLevel(logging.NOTSET)

    logging.getLogger().setLevel(logging.NOTSET)
    assert sends("anything", 1)


@pytest.mark.usefixtures("levels")
def test_a_record_logged_after_a_level_is_lowered_is_never_lost(
    actor: Any, log_records: Recorder
) -> None:
    logger = logging.getLogger(LOGGER)
    # The recorder's fixture leaves the root without a level.
    logging.getLogger().setLevel(logging.WARNING)
    for i in range(50):
        logger.setLevel(logging.DEBUG)
        actor.log_at(LOGGER, logging.DEBUG, f"taken {i}").get(timeout=30)
        log_records.wait_for(lambda r, i=i: r.getMessage() == f"taken {i}")
        logger.setLevel(logging.INFO)
        # Not taken now; the warning after it still arrives.
        actor.log_at(LOGGER, logging.DEBUG, f"dropped {i}").get(timeout=30)
        actor.log_at(LOGGER, logging.WARNING, f"after {i}").get(timeout=30)
        log_records.wait_for(lambda r, i=i: r.getMessage() == f"after {i}")
    assert not [r for r in log_records.records if r.getMessage().startswith("dropped")]


def test_a_worker_knows_the_levels_from_its_first_message() -> None:
    # A fresh pool: its workers get the levels set before it started.
    result = run_script("""
        import logging
        from interpreter_actors import ProcessWhere

        if __name__ == "__main__":
            logging.getLogger().setLevel(logging.ERROR)
            logging.getLogger("chatty").setLevel(logging.DEBUG)
            actor = ProcessWhere.start("first").proxy()
            print(actor.sends("pykka", logging.WARNING).get(timeout=30))
            print(actor.sends("chatty.part", logging.DEBUG).get(timeout=30))
            actor.stop()
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_a_change_of_level_never_waits_for_a_stopped_worker() -> None:
    # The worker reads nothing while stopped: tens of thousands of changes
    # fill its socket, and a change of level must not wait for room.
    result = run_script("""
        import logging, os, signal, threading
        from interpreter_actors import ProcessWhere

        if __name__ == "__main__":
            actor = ProcessWhere.start("first").proxy()
            pid = actor.place().get(timeout=30)[0]
            logger = logging.getLogger("flapping")
            os.kill(pid, signal.SIGSTOP)
            try:
                def flap():
                    for i in range(20_000):
                        logger.setLevel(logging.DEBUG if i % 2 else logging.INFO)

                changing = threading.Thread(target=flap)
                changing.start()
                changing.join(30)
                print("changed" if not changing.is_alive() else "stuck")
            finally:
                os.kill(pid, signal.SIGCONT)
            print(actor.sends("flapping.part", logging.DEBUG).get(timeout=30))
            actor.stop()
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["changed", "True"]

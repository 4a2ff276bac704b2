"""The core's log records reach Python's logging through pyo3-log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka_rs as pykka
from pykka_rs._envelope import Envelope

if TYPE_CHECKING:
    from tests.conftest import Recorder


class SelfAnswering(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        # The message is the future the reply goes to; answer it directly.
        message.set("answered by the handler")
        return "answered by the loop"


def test_a_reply_to_a_future_that_already_has_one_is_logged_by_the_core(
    log_records: Recorder,
) -> None:
    ref = SelfAnswering.start()
    future = pykka.ThreadingFuture[str]()
    ref.actor_inbox.put(Envelope(future, reply_to=future))

    assert future.get(timeout=5) == "answered by the handler"
    (record,) = log_records.wait_for(lambda r: r.name == "pykka_rs.actor")
    assert record.levelno == logging.WARNING
    assert "already been given a result" in record.getMessage()
    # The actor is unharmed.
    assert ref.ask(pykka.ThreadingFuture()) == "answered by the loop"
    ref.stop()


def test_core_records_follow_the_python_logging_configuration(
    log_records: Recorder,
) -> None:
    logging.getLogger("pykka_rs.actor").setLevel(logging.ERROR)
    try:
        ref = SelfAnswering.start()
        future = pykka.ThreadingFuture[str]()
        ref.actor_inbox.put(Envelope(future, reply_to=future))
        future.get(timeout=5)
        ref.stop()  # after the reply was published, or dropped
    finally:
        logging.getLogger("pykka_rs.actor").setLevel(logging.NOTSET)
    assert log_records.messages("pykka_rs.actor", logging.WARNING) == []

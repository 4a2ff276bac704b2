"""A Channel against a model: a bounded deque that can be closed.

A hypothesis state machine tries sends and receives (non-blocking, and with
a timeout of 0, which must fail the same way but as `Timeout`), closes, and
reads the length and the counters; the channel and the model must agree on
every outcome: the item received, the error raised, the depth, the sent and
received counts and the high-water mark.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import pykka_rs as pykka


class ChannelModel:
    """What a bounded, closable channel does, one operation at a time."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[int] = deque()
        self.closed = False
        self.sent = 0
        self.received = 0
        self.high_water = 0

    def send(self, item: int) -> str | None:
        """None if sent, else the name of the refusal."""
        if self.closed:
            return "closed"
        if len(self.items) >= self.capacity:
            return "full"
        self.items.append(item)
        self.sent += 1
        self.high_water = max(self.high_water, len(self.items))
        return None

    def receive(self) -> int | str:
        """The item, or the name of the refusal."""
        if self.items:
            self.received += 1
            return self.items.popleft()
        return "closed" if self.closed else "empty"

    def close(self) -> bool:
        was_open = not self.closed
        self.closed = True
        return was_open


def outcome(operation: Any, *args: Any) -> Any:
    """What the channel's operation gave, or the name of what it raised."""
    try:
        return operation(*args)
    except pykka.ChannelFull:
        return "full"
    except pykka.ChannelEmpty:
        return "empty"
    except pykka.ChannelClosed:
        return "closed"
    except pykka.Timeout:
        return "timeout"


class ChannelMachine(RuleBasedStateMachine):
    channel: pykka.Channel[int]
    model: ChannelModel

    model_class: type[ChannelModel] = ChannelModel

    @initialize(capacity=st.integers(1, 5))
    def make(self, capacity: int) -> None:
        self.channel = pykka.Channel(capacity)
        self.model = self.model_class(capacity)
        self.next_item = 0

    @rule()
    def try_send(self) -> None:
        self.next_item += 1
        expected = self.model.send(self.next_item)
        assert outcome(self.channel.try_send, self.next_item) == expected

    @rule()
    def send_with_no_time_to_wait(self) -> None:
        self.next_item += 1
        expected = self.model.send(self.next_item)
        # A wait that runs out at once is a Timeout, not a refusal.
        expected = "timeout" if expected == "full" else expected
        got = outcome(lambda: self.channel.send(self.next_item, timeout=0))
        assert got == expected

    @rule()
    def try_receive(self) -> None:
        assert outcome(self.channel.try_receive) == self.model.receive()

    @rule()
    def receive_with_no_time_to_wait(self) -> None:
        expected = self.model.receive()
        expected = "timeout" if expected == "empty" else expected
        assert outcome(lambda: self.channel.receive(timeout=0)) == expected

    @rule()
    def close(self) -> None:
        assert self.channel.close() == self.model.close()

    @invariant()
    def counters_agree(self) -> None:
        if not hasattr(self, "model"):
            return
        stats = self.channel.stats()
        assert len(self.channel) == len(self.model.items) == stats.waiting
        assert self.channel.closed == self.model.closed == stats.closed
        assert (stats.sent, stats.received, stats.high_water) == (
            self.model.sent,
            self.model.received,
            self.model.high_water,
        )


PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
if os.environ.get("PYKKA_RS_SHRINK"):
    PHASES.append(Phase.shrink)

ChannelMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    database=None,
    phases=PHASES,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_channel_behaves_as_its_model = ChannelMachine.TestCase


# ----- the comparison can fail -----


class ClosingDropsTheQueue(ChannelModel):
    """A wrong model: a closed channel gives nothing more, queued or not."""

    def receive(self) -> int | str:
        return "closed" if self.closed else super().receive()


class FullAtCapacityMinusOne(ChannelModel):
    """A wrong model: one item fewer fits."""

    def send(self, item: int) -> str | None:
        if not self.closed and len(self.items) + 1 >= self.capacity:
            return "full"
        return super().send(item)


@pytest.mark.parametrize("wrong", [ClosingDropsTheQueue, FullAtCapacityMinusOne])
def test_the_state_machine_tells_a_wrong_model_apart(wrong: type[ChannelModel]) -> None:
    machine = type("WrongMachine", (ChannelMachine,), {"model_class": wrong})
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=150,
                stateful_step_count=40,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )

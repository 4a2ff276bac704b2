"""Thespian 4.0.1's ActorSystem("simpleSystemBase").

The Thespian API's ask and tell.
"""

from __future__ import annotations

from peers import Unavailable
from peers._thespian_cases import build, echo_receive

try:
    from thespian.actors import Actor, ActorSystem
except ImportError as exc:
    raise Unavailable(f"thespian is not installed: {exc}") from exc


class Echo(Actor):  # type: ignore[misc]
    """Answers strings; counts "told"; answers "count" with the count so far."""

    receiveMessage = echo_receive  # noqa: N815


NAME = "Thespian simpleSystemBase"
CASES, _memory = build(ActorSystem, Echo, "simpleSystemBase")

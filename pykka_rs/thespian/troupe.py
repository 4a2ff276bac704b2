"""`@troupe`: one address, a team of actors of the class behind it.

    @troupe(max_count=10, idle_count=2)
    class Worker(Actor): ...

The first actor of the class made with `createActor()` leads the troupe:
each message it gets goes to an idle member, or to a new member while
there are fewer than `max_count`, or waits for the next member to be free.
Members are actors of the same class, children of the leader; a member
answers the original sender directly. A member whose work takes several
messages sets `self.troupe_work_in_progress = True` until it is done.
Members beyond `idle_count` that fall idle are dismissed after a short
delay. `UpdateTroupeSettings`, or the strings "troupe:status?",
"troupe:set_max_count=N" and "troupe:set_idle_count=N", change or show the
settings. The decorator changes the class itself, keeping its importable
name.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ._messages import (
    ActorAddress,
    ActorExitRequest,
    ActorSystemMessage,
    ChildActorExited,
    WakeupMessage,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._actor import Actor

# Members idle beyond the idle count for this long are dismissed.
DISMISS_EXTRA_PERIOD = timedelta(seconds=2)


class UpdateTroupeSettings:
    """Change a troupe's `max_count` and/or `idle_count`; answered with the new values."""  # noqa: E501

    def __init__(
        self, max_count: int | None = None, idle_count: int | None = None
    ) -> None:
        for name, value in (("max_count", max_count), ("idle_count", idle_count)):
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(
                    f"a troupe's {name} is an int, not {type(value).__name__}"
                )
            if value <= 0:
                raise ValueError(f"a troupe's {name} is positive, not {value}")
        self.max_count = max_count
        self.idle_count = idle_count


@dataclass(slots=True)
class _Work:
    message: Any
    sender: ActorAddress
    leader: ActorAddress
    ident: int


@dataclass(frozen=True, slots=True)
class _Ready:
    ident: int


@dataclass
class _Leader:
    max_count: int
    idle_count: int
    members: list[ActorAddress] = field(default_factory=list)
    idle: list[ActorAddress] = field(default_factory=list)
    extra: list[ActorAddress] = field(default_factory=list)
    busy: dict[ActorAddress, _Work] = field(default_factory=dict)
    pending: deque[_Work] = field(default_factory=deque)
    dismissal_due: bool = False
    next_ident: int = 0

    def status(self) -> str:
        return (
            f"Idle={self.idle_count}, Max={self.max_count}, "
            f"Troupers [{len(self.members)}, "
            f"{len(self.idle)} idle, {len(self.extra)} extra]: "
            f"{[str(m) for m in self.members]}, "
            f"Pending={len(self.pending)}"
        )

    def assign(self, actor: Actor, work: _Work) -> None:
        member = (
            self.idle.pop(0) if self.idle else self.extra.pop(0) if self.extra else None
        )
        if member is None and len(self.members) < self.max_count:
            member = actor.createActor(type(actor))
            self.members.append(member)
        if member is None:
            self.pending.append(work)
            return
        self.busy[member] = work
        actor.send(member, work)

    def ready(self, actor: Actor, member: ActorAddress) -> None:
        self.busy.pop(member, None)
        if member not in self.members:
            return
        if self.pending:
            work = self.pending.popleft()
            self.busy[member] = work
            actor.send(member, work)
        elif len(self.members) > self.idle_count and len(self.idle) >= self.idle_count:
            self.extra.append(member)
            if not self.dismissal_due:
                self.dismissal_due = True
                actor.wakeupAfter(DISMISS_EXTRA_PERIOD)
        else:
            self.idle.append(member)

    def exited(self, actor: Actor, member: ActorAddress) -> None:
        for group in (self.members, self.idle, self.extra):
            if member in group:
                group.remove(member)
        unfinished = self.busy.pop(member, None)
        if unfinished is not None:
            self.assign(actor, unfinished)

    def dismiss(self, actor: Actor) -> None:
        self.dismissal_due = False
        for member in self.extra:
            actor.send(member, ActorExitRequest())
        self.extra.clear()

    def setting(self, text: str) -> str | None:
        for name in ("max_count", "idle_count"):
            prefix = f"troupe:set_{name}="
            if text.startswith(prefix):
                try:
                    value = int(text[len(prefix) :])
                except ValueError as error:
                    return (
                        f"Error changing {name} for troupe based on message "
                        f'"{text}": {error}'
                    )
                setattr(self, name, value)
                return f"Set troupe {name} to {value}"
        return None


def troupe(  # noqa: C901
    max_count: int = 10, idle_count: int = 2
) -> Callable[[type[Actor]], type[Actor]]:
    """Make an actor class a troupe (see the module docstring)."""

    def decorate(actor_class: type[Actor]) -> type[Actor]:  # noqa: C901
        handle = actor_class.receiveMessage

        def as_member(self: Actor, msg: Any, sender: ActorAddress) -> Any:
            state = vars(self)
            was_in_progress = getattr(self, "troupe_work_in_progress", False)
            if isinstance(msg, _Work):
                state["_troupe_of"] = msg.leader
                state["_troupe_work"] = msg.ident
                outcome = handle(self, msg.message, msg.sender)
            else:
                outcome = handle(self, msg, sender)
            working = isinstance(msg, _Work) or was_in_progress
            if (
                working
                and not getattr(self, "troupe_work_in_progress", False)
                and "_troupe_of" in state
            ):
                self.send(state["_troupe_of"], _Ready(state["_troupe_work"]))
            return outcome

        def receiveMessage(self: Actor, msg: Any, sender: ActorAddress) -> Any:  # noqa: C901, PLR0912
            state = vars(self)
            leader: _Leader | None = state.get("_troupe_leader")
            if "_troupe_of" in state or isinstance(msg, _Work):
                return as_member(self, msg, sender)
            if leader is None and isinstance(msg, ActorSystemMessage):
                return handle(self, msg, sender)
            if isinstance(msg, ActorExitRequest):
                return None
            if leader is None:
                leader = state["_troupe_leader"] = _Leader(max_count, idle_count)
            if isinstance(msg, ChildActorExited):
                leader.exited(self, msg.childAddress)
            elif isinstance(msg, _Ready):
                leader.ready(self, sender)
            elif isinstance(msg, WakeupMessage):
                leader.dismiss(self)
            elif isinstance(msg, UpdateTroupeSettings):
                leader.max_count = msg.max_count or leader.max_count
                leader.idle_count = msg.idle_count or leader.idle_count
                self.send(
                    sender, UpdateTroupeSettings(leader.max_count, leader.idle_count)
                )
            elif msg == "troupe:status?":
                self.send(sender, leader.status())
            elif isinstance(msg, str) and msg.startswith("troupe:set_"):
                answer = leader.setting(msg)
                if answer is None:
                    leader.assign(
                        self, _Work(msg, sender, self.myAddress, leader.next_ident)
                    )
                else:
                    self.send(sender, answer)
            else:
                leader.next_ident += 1
                leader.assign(
                    self, _Work(msg, sender, self.myAddress, leader.next_ident)
                )
            return None

        actor_class.receiveMessage = receiveMessage  # type: ignore[method-assign]
        return actor_class

    return decorate

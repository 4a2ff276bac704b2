"""The supervision core against a small model of OTP's supervisor.

A hypothesis state machine plays the world around a supervisor: it answers
each start (succeeded or failed), makes children exit (normally, by
shutdown or by failing, asked to or not), fires the restart timers, moves a
fake clock and calls the supervisor API. Every event goes to both
`_core.SupervisorCore` and `OtpModel`, and the two must agree on every
decision: the actions in order (starts, stops with their shutdown,
schedules with their delay, replies, the supervisor's end), and after each
step the children, their counts, the phase and whether the supervisor is
busy. That covers the strategies, the restart types, the intensity window
and escalation, backoff, and start and stop order.

`OtpModel` is written after OTP's supervisor.erl, not after the core: it is
a gen_server whose operations block (here, generators that yield a start or
a stop and get its outcome back), with a mailbox for what arrives
meanwhile, children whose `pid` is a number, `Restarting(token)` or None as
in OTP's child record, and OTP's `unlink_flush` (an exit already in the
mailbox ends the stop of its child). Beyond OTP it has the core's two
additions: an optional backoff before restarts, and retries tied to the
failed start that asked for them.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pykka_rs import _core

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

ChildId = str | int
Action = tuple[Any, ...]

NANOS = 1_000_000_000
MASK = (1 << 64) - 1


def nanos(seconds: float) -> int:
    """Seconds as nanoseconds; exact for the binary fractions used here."""
    return round(seconds * NANOS)


class SplitMix64:
    """The published SplitMix64 generator, as the core's jitter source."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def unit(self) -> float:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        return (z >> 11) / float(1 << 53)


class Token:
    """One restart: a retry or a timer is stale once its child waits for another."""


@dataclass
class Restarting:
    token: Token


@dataclass
class Child:
    id: ChildId
    restart: str
    shutdown: float | str
    kind: str
    pid: int | Restarting | None = None
    attempt: int = 0
    started_at: int = 0


@dataclass
class Start:
    """What an operation yields to start a child; it gets back the outcome."""

    child: Child


@dataclass
class Stop:
    """What an operation yields to stop children (together) and wait."""

    children: list[Child]


def make_child(spec: dict[str, Any], child_id: ChildId | None = None) -> Child:
    kind = spec.get("kind", "worker")
    default = 5.0 if kind == "worker" else "infinity"
    return Child(
        id=spec["id"] if child_id is None else child_id,
        restart=spec.get("restart", "permanent"),
        shutdown=spec.get("shutdown", default),
        kind=kind,
    )


class OtpModel:
    """OTP's supervisor rules, one gen_server message at a time."""

    def __init__(
        self,
        strategy: str,
        specs: list[dict[str, Any]],
        *,
        max_restarts: int,
        within: float,
        backoff: dict[str, float] | None,
        seed: int,
    ) -> None:
        self.strategy = strategy
        self.simple = strategy == "simple_one_for_one"
        self.max_restarts = max_restarts
        self.within = nanos(within)
        self.backoff = backoff
        self.random = SplitMix64(seed)
        self.now = 0
        self.restarts: list[int] = []
        # In start order, as OTP's child list (kept newest first) read backwards.
        self.children: dict[ChildId, Child] = {}
        self.template = specs[0] if self.simple else None
        if not self.simple:
            for spec in specs:
                self.children[spec["id"]] = make_child(spec)
        self.mailbox: deque[tuple[Any, ...]] = deque()
        self.op: Generator[Start | Stop, Any, None] | None = None
        self.awaiting: tuple[str, Any] | None = None
        self.next_pid = 0
        self.next_dynamic = 0
        self.next_timer = 0
        self.timers: dict[int, Token] = {}
        self.phase = "created"
        self.out: list[Action] = []

    # ----- what the outside sees -----

    def feed(self, event: tuple[Any, ...]) -> list[Action]:
        """Take one event; return the actions it leads to, in order."""
        self.out = []
        kind = event[0]
        if kind == "start":
            self.run(self.init())
        elif kind in {"started", "start_failed"}:
            assert self.awaiting == ("start", event[1])
            self.awaiting = None
            outcome = ("ok", event[1]) if kind == "started" else ("error", event[2])
            op, self.op = self.op, None
            assert op is not None
            self.run(op, outcome)
        elif self.phase == "terminated":
            if kind == "call":
                self.reply(event[1], ok=False, value="shutting_down")
        elif kind == "exit":
            self.exit(event[1], event[2])
        elif kind == "timer":
            self.mailbox.append(("timer", event[1]))
        elif kind == "shutdown":
            self.mailbox.append(("shutdown",))
        elif kind == "call":
            self.mailbox.append(event)
        self.loop()
        return self.out

    def start_dynamic(self, call: int) -> tuple[int, list[Action]]:
        number = self.next_dynamic
        self.next_dynamic += 1
        return number, self.feed(("call", call, "start_dynamic", number))

    def which_children(self) -> list[tuple[ChildId, Any, str]]:
        return [(c.id, self.state(c), c.kind) for c in self.children.values()]

    def count_children(self) -> dict[str, int]:
        kinds = [c.kind for c in self.children.values()]
        return {
            "specs": 1 if self.simple else len(self.children),
            "active": sum(
                1
                for c in self.children.values()
                if isinstance(c.pid, int) and not self.exit_queued(c.pid)
            ),
            "supervisors": kinds.count("supervisor"),
            "workers": kinds.count("worker"),
        }

    @property
    def busy(self) -> bool:
        return self.op is not None

    # ----- the gen_server loop -----

    def exit(self, pid: int, reason: str) -> None:
        if self.awaiting is not None and self.awaiting[0] == "down":
            waits: dict[int, Child] = self.awaiting[1]
            child = waits.pop(pid, None)
            if child is not None:
                self.del_child(child)
                if not waits:
                    self.awaiting = None
                    op, self.op = self.op, None
                    assert op is not None
                    self.run(op)
                return
        self.mailbox.append(("EXIT", pid, reason))

    def loop(self) -> None:
        while self.op is None and self.phase != "terminated" and self.mailbox:
            self.run(self.handle(self.mailbox.popleft()))

    def run(self, op: Generator[Start | Stop, Any, None], value: Any = None) -> None:
        """Run `op` until it waits for a start or a stop, or ends."""
        while True:
            try:
                request = op.send(value)
            except StopIteration:
                return
            value = None
            if isinstance(request, Start):
                pid = self.next_pid
                self.next_pid += 1
                self.out.append(("start", request.child.id, pid))
                self.op, self.awaiting = op, ("start", pid)
                return
            waits = {}
            for child in request.children:
                assert isinstance(child.pid, int)
                if self.unlink_flush(child.pid):
                    self.del_child(child)
                    continue
                self.out.append(("stop", child.id, child.pid, child.shutdown))
                waits[child.pid] = child
            if waits:
                self.op, self.awaiting = op, ("down", waits)
                return

    def unlink_flush(self, pid: int) -> bool:
        """Take the child's EXIT from the mailbox, if it is there."""
        for message in self.mailbox:
            if message[0] == "EXIT" and message[1] == pid:
                self.mailbox.remove(message)
                return True
        return False

    def exit_queued(self, pid: int) -> bool:
        return any(m[0] == "EXIT" and m[1] == pid for m in self.mailbox)

    def handle(self, message: tuple[Any, ...]) -> Generator[Start | Stop, Any, None]:
        kind = message[0]
        if kind == "EXIT":
            child = self.find_pid(message[1])
            if child is not None:
                yield from self.do_restart(child, message[2])
        elif kind == "timer":
            token = self.timers.pop(message[1], None)
            members = [c for c in self.children.values() if self.waits_for(c, token)]
            if members and token is not None:
                yield from self.start_group(members, token)
        elif kind == "try_again":
            child = self.children.get(message[1])
            if child is not None and self.waits_for(child, message[2]):
                yield from self.restart(child, None)
        elif kind == "shutdown":
            yield from self.terminate(("stopped",))
        else:
            yield from self.handle_call(message[1], message[2], message[3:])

    # ----- OTP's rules -----

    def init(self) -> Generator[Start | Stop, Any, None]:
        self.phase = "starting"
        for child in list(self.children.values()):
            outcome = yield Start(child)
            if outcome[0] == "error":
                yield from self.terminate(
                    ("escalate", "failed_to_start_child", child.id)
                )
                return
            self.mark_running(child, outcome[1])
        self.phase = "running"
        self.out.append(("ready",))

    def do_restart(
        self, child: Child, reason: str
    ) -> Generator[Start | Stop, Any, None]:
        if child.restart == "permanent" or (
            child.restart == "transient" and reason == "failure"
        ):
            yield from self.restart(child, self.now - child.started_at)
        else:
            self.del_child(child)

    def add_restart(self) -> bool:
        threshold = self.now - self.within
        self.restarts = [r for r in self.restarts if r >= threshold] + [self.now]
        return len(self.restarts) <= self.max_restarts

    def restart(
        self, child: Child, ran: int | None
    ) -> Generator[Start | Stop, Any, None]:
        if not self.add_restart():
            self.del_child(child)
            yield from self.terminate(
                ("escalate", "reached_max_restart_intensity", child.id)
            )
            return
        delay = self.delay(child, ran)
        token = Token()
        ids = list(self.children)
        if self.strategy == "one_for_all":
            group = list(self.children.values())
        elif self.strategy == "rest_for_one":
            group = [self.children[i] for i in ids[ids.index(child.id) :]]
        else:
            group = [child]
        child.pid = None
        for member in self.stop_order(group):
            if isinstance(member.pid, int):
                yield Stop([member])
        survivors = [m for m in group if self.children.get(m.id) is m]
        for member in survivors:
            member.pid = Restarting(token)
        if delay is not None:
            timer = self.next_timer
            self.next_timer += 1
            self.timers[timer] = token
            self.out.append(("schedule", timer, delay))
            return
        yield from self.start_group(survivors, token)

    def stop_order(self, group: list[Child]) -> list[Child]:
        """A restart stops its group newest first."""
        return list(reversed(group))

    def delay(self, child: Child, ran: int | None) -> float | None:
        if self.backoff is None:
            return None
        reset_after = self.backoff.get("reset_after") or self.backoff["max"]
        if ran is not None and ran >= nanos(reset_after):
            child.attempt = 0
        exponential = min(
            self.backoff["max"], self.backoff["min"] * 2.0 ** min(child.attempt, 64)
        )
        jitter = self.backoff.get("jitter", 0.0)
        child.attempt += 1
        return exponential * (1.0 + jitter * self.random.unit())

    def start_group(
        self, members: list[Child], token: Token
    ) -> Generator[Start | Stop, Any, None]:
        for index, member in enumerate(members):
            if self.children.get(member.id) is not member or not self.waits_for(
                member, token
            ):
                continue
            outcome = yield Start(member)
            if outcome[0] == "ok":
                self.mark_running(member, outcome[1])
                continue
            retry = Token()
            member.pid = Restarting(retry)
            for later in members[index + 1 :]:
                if self.waits_for(later, token):
                    later.pid = None
            self.mailbox.append(("try_again", member.id, retry))
            return

    def terminate(self, final: Action) -> Generator[Start | Stop, Any, None]:
        self.phase = "terminating"
        running = [
            c for c in reversed(self.children.values()) if isinstance(c.pid, int)
        ]
        if self.simple:
            if running:
                yield Stop(running)
        else:
            for child in running:
                yield Stop([child])
        self.phase = "terminated"
        for message in self.mailbox:
            if message[0] == "call":
                self.reply(message[1], ok=False, value="shutting_down")
        self.mailbox.clear()
        self.timers.clear()
        self.out.append(final)

    def handle_call(  # noqa: C901, PLR0911, PLR0912
        self, call: int, what: str, args: tuple[Any, ...]
    ) -> Generator[Start | Stop, Any, None]:
        if what in {"start_child", "start_dynamic"}:
            if what == "start_child":
                spec = args[0]
                existing = self.children.get(spec["id"])
                if existing is not None:
                    running = isinstance(existing.pid, int)
                    code = "already_started" if running else "already_present"
                    self.reply(call, ok=False, value=code)
                    return
                child = make_child(spec)
            else:
                assert self.template is not None
                child = make_child(self.template, args[0])
            outcome = yield Start(child)
            if outcome[0] == "error":
                self.reply(call, ok=False, value="start_failed")
                return
            self.children[child.id] = child
            self.mark_running(child, outcome[1])
            self.reply(call, ok=True, value=(child.id, outcome[1]))
            return
        child_id = args[0]
        if what == "terminate":
            if self.simple and isinstance(child_id, str):
                self.reply(call, ok=False, value="simple_one_for_one")
                return
            child = self.children.get(child_id)
            if child is None:
                gone = self.simple and child_id < self.next_dynamic
                self.reply(call, ok=gone, value=None if gone else "not_found")
                return
            if isinstance(child.pid, int):
                yield Stop([child])
            else:
                self.del_child(child)
            self.reply(call, ok=True, value=None)
            return
        if self.simple:
            self.reply(call, ok=False, value="simple_one_for_one")
            return
        child = self.children.get(child_id)
        if child is None:
            self.reply(call, ok=False, value="not_found")
        elif isinstance(child.pid, int):
            self.reply(call, ok=False, value="running")
        elif isinstance(child.pid, Restarting):
            self.reply(call, ok=False, value="restarting")
        elif what == "delete":
            del self.children[child_id]
            self.reply(call, ok=True, value=None)
        else:
            outcome = yield Start(child)
            if outcome[0] == "error":
                self.reply(call, ok=False, value="start_failed")
                return
            self.mark_running(child, outcome[1])
            self.reply(call, ok=True, value=(child.id, outcome[1]))

    # ----- the child records -----

    def mark_running(self, child: Child, pid: int) -> None:
        child.pid = pid
        child.started_at = self.now

    def del_child(self, child: Child) -> None:
        """OTP's del_child: forget a temporary or dynamic child, else undefine it."""
        if child.restart == "temporary" or self.simple:
            if self.children.get(child.id) is child:
                del self.children[child.id]
        else:
            child.pid = None

    def find_pid(self, pid: int) -> Child | None:
        return next((c for c in self.children.values() if c.pid == pid), None)

    @staticmethod
    def waits_for(child: Child, token: Token | None) -> bool:
        return isinstance(child.pid, Restarting) and child.pid.token is token

    @staticmethod
    def state(child: Child) -> int | str | None:
        if isinstance(child.pid, Restarting):
            return "restarting"
        return child.pid

    def reply(self, call: int, *, ok: bool, value: Any) -> None:
        self.out.append(("reply", call, ok, value))


# ----- the state machine -----

NAMES = ["a", "b", "c", "d"]
STRATEGIES = ["one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"]


@st.composite
def child_specs(draw: st.DrawFn, child_id: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": child_id}
    if draw(st.booleans()):
        spec["restart"] = draw(st.sampled_from(["permanent", "transient", "temporary"]))
    if draw(st.booleans()):
        spec["shutdown"] = draw(st.sampled_from([0.5, 2.0, "brutal_kill", "infinity"]))
    if draw(st.booleans()):
        spec["kind"] = draw(st.sampled_from(["worker", "supervisor"]))
    return spec


backoffs = st.none() | st.fixed_dictionaries(
    {"min": st.sampled_from([0.125, 0.25]), "max": st.sampled_from([1.0, 2.0])},
    optional={
        "jitter": st.sampled_from([0.0, 0.5]),
        "reset_after": st.sampled_from([0.5, 4.0]),
    },
)
child_ids = st.sampled_from([*NAMES, "zz"]) | st.integers(0, 5)


def same(core: Any, model: Any) -> bool:
    """Equal, with floats equal to within a nanosecond's rounding."""
    if isinstance(core, float) and isinstance(model, float):
        return math.isclose(core, model, rel_tol=1e-12, abs_tol=2e-9)
    if isinstance(core, tuple) and isinstance(model, tuple):
        return len(core) == len(model) and all(map(same, core, model))
    if isinstance(core, list) and isinstance(model, list):
        return len(core) == len(model) and all(map(same, core, model))
    return bool(core == model) and type(core) is type(model)


class SupervisorMachine(RuleBasedStateMachine):
    """Drives the core and the model with the same events."""

    model_class: type[OtpModel] = OtpModel

    def __init__(self) -> None:
        super().__init__()
        self.core: _core.SupervisorCore | None = None
        self.simple = False
        self.pending: int | None = None
        self.alive: set[int] = set()
        self.stopping: set[int] = set()
        self.timers: dict[int, int] = {}
        self.done = False

    # ----- setting up -----

    @initialize(data=st.data())
    def begin(self, data: st.DataObject) -> None:
        self.build(data)

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def begin_again(self, data: st.DataObject) -> None:
        self.build(data)

    def build(self, data: st.DataObject) -> None:
        strategy = data.draw(st.sampled_from(STRATEGIES), label="strategy")
        if strategy == "simple_one_for_one":
            specs = [data.draw(child_specs("template"), label="template")]
        else:
            ids = data.draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
            specs = [data.draw(child_specs(i), label=f"spec {i}") for i in ids]
        max_restarts = data.draw(st.integers(0, 4), label="max_restarts")
        within = data.draw(st.sampled_from([1.0, 2.5, 5.0]), label="within")
        backoff = data.draw(backoffs, label="backoff")
        seed = data.draw(st.integers(0, MASK), label="seed")
        self.clock = _core.FakeClock()
        self.core = _core.SupervisorCore(
            strategy,
            specs,  # type: ignore[arg-type]
            max_restarts=max_restarts,
            within=within,
            backoff=backoff,  # type: ignore[arg-type]
            clock=self.clock,
            seed=seed,
        )
        self.model = self.model_class(
            strategy,
            specs,
            max_restarts=max_restarts,
            within=within,
            backoff=backoff,
            seed=seed,
        )
        self.simple = strategy == "simple_one_for_one"
        self.pending = None
        self.alive = set()
        self.stopping = set()
        self.timers = {}
        self.calls = 0
        self.done = False
        self.apply(lambda core: core.start(), ("start",))
        self.catch_up(data)

    # ----- comparing -----

    def apply(
        self, call: Callable[[_core.SupervisorCore], list[Any]], event: tuple[Any, ...]
    ) -> None:
        assert self.core is not None
        core_actions = call(self.core)
        model_actions = self.model.feed(event)
        self.compare(core_actions, model_actions)

    def compare(self, core_actions: list[Any], model_actions: list[Action]) -> None:
        core_seen = [
            self.normalize(a, m)
            for a, m in zip(core_actions, model_actions, strict=False)
        ]
        core_seen += core_actions[len(model_actions) :]
        assert same(core_seen, model_actions), (
            f"\ncore:  {core_actions}\nmodel: {model_actions}"
        )
        for action in core_actions:
            self.track(action)

    def normalize(self, action: tuple[Any, ...], model: Action) -> tuple[Any, ...]:
        """The core's action as the model writes it: error codes without
        their messages, and the model's timer number for the core's."""
        kind = action[0]
        if kind == "reply" and action[2] is False:
            return (*action[:3], action[3][0])
        if kind == "escalate":
            return action[:3]
        if kind == "schedule" and model[0] == "schedule":
            self.timers[action[1]] = model[1]
            return (kind, model[1], action[2])
        return action

    def track(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind == "start":
            assert self.pending is None, "one start at a time"
            self.pending = action[2]
        elif kind == "stop":
            assert action[2] in self.alive, "only a running child is stopped"
            self.stopping.add(action[2])
        elif kind in {"escalate", "stopped"}:
            self.done = True

    @invariant()
    def agree_on_the_children(self) -> None:
        if self.core is None:
            return
        assert same(self.core.which_children(), self.model.which_children())
        assert self.core.count_children() == self.model.count_children()
        assert self.core.phase == self.model.phase
        assert self.core.busy == self.model.busy
        if self.done:
            assert not self.alive, "every running child was stopped"

    # ----- the world -----

    def answer(self, incarnation: int, *, ok: bool) -> None:
        self.pending = None
        if ok:
            self.alive.add(incarnation)
            self.apply(lambda core: core.started(incarnation), ("started", incarnation))
        else:
            self.apply(
                lambda core: core.start_failed(incarnation, "cannot start"),
                ("start_failed", incarnation, "cannot start"),
            )

    def report_exit(self, incarnation: int, reason: str) -> None:
        self.alive.discard(incarnation)
        self.stopping.discard(incarnation)
        self.apply(
            lambda core: core.exited(incarnation, reason, "boom"),  # type: ignore[arg-type]
            ("exit", incarnation, reason),
        )

    def catch_up(self, data: st.DataObject) -> None:
        """Most of the time, the world answers what the supervisor asked
        for before anything else happens: starts mostly succeed, stopped
        children end (some killed). Otherwise events pile up behind."""
        if not data.draw(st.sampled_from([True, True, False]), label="catch up"):
            return
        for _ in range(40):
            if self.pending is not None:
                ok = data.draw(st.sampled_from([True] * 5 + [False]), label="start ok")
                self.answer(self.pending, ok=ok)
            elif self.stopping:
                killed = data.draw(
                    st.sampled_from([False] * 3 + [True]), label="killed"
                )
                self.report_exit(
                    min(self.stopping), "failure" if killed else "shutdown"
                )
            else:
                return

    @precondition(lambda self: self.pending is not None)
    @rule(ok=st.sampled_from([True] * 5 + [False]))
    def answer_the_start(self, ok: bool) -> None:  # noqa: FBT001
        assert self.pending is not None
        self.answer(self.pending, ok=ok)

    @precondition(lambda self: self.stopping)
    @rule(data=st.data(), killed=st.booleans())
    def a_stopped_child_ends(self, data: st.DataObject, killed: bool) -> None:  # noqa: FBT001
        incarnation = data.draw(st.sampled_from(sorted(self.stopping)))
        self.report_exit(incarnation, "failure" if killed else "shutdown")

    @precondition(lambda self: self.alive)
    @rule(
        data=st.data(),
        reason=st.sampled_from(["normal", "shutdown", "failure", "failure"]),
    )
    def a_child_ends_on_its_own(self, data: st.DataObject, reason: str) -> None:
        incarnation = data.draw(st.sampled_from(sorted(self.alive)))
        self.report_exit(incarnation, reason)
        self.catch_up(data)

    @precondition(lambda self: self.timers)
    @rule(data=st.data())
    def a_timer_runs_out(self, data: st.DataObject) -> None:
        timer = data.draw(st.sampled_from(sorted(self.timers)))
        model_timer = self.timers.pop(timer)
        self.apply(lambda core: core.timer_fired(timer), ("timer", model_timer))
        self.catch_up(data)

    @rule(seconds=st.sampled_from([0.125, 0.5, 1.0, 2.5, 6.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.model.now += nanos(seconds)

    # ----- the API -----

    def new_call(self) -> int:
        self.calls += 1
        return self.calls

    def some_child_id(self, data: st.DataObject) -> ChildId:
        """Mostly a child the supervisor has, sometimes one it does not."""
        assert self.core is not None
        known = [child[0] for child in self.core.which_children()]
        if known and data.draw(st.sampled_from([True, True, False]), label="known"):
            return data.draw(st.sampled_from(known), label="child id")
        if self.simple and data.draw(st.booleans(), label="a number"):
            return data.draw(
                st.integers(0, self.model.next_dynamic + 1), label="number"
            )
        return data.draw(child_ids, label="child id")

    @precondition(lambda self: not self.simple)
    @rule(data=st.data())
    def start_child(self, data: st.DataObject) -> None:
        spec = data.draw(st.sampled_from(NAMES).flatmap(child_specs))
        call = self.new_call()
        self.apply(
            lambda core: core.start_child(call, spec),  # type: ignore[arg-type]
            ("call", call, "start_child", spec),
        )
        self.catch_up(data)

    @precondition(lambda self: self.simple)
    @rule(data=st.data())
    def start_dynamic_child(self, data: st.DataObject) -> None:
        assert self.core is not None
        call = self.new_call()
        number, core_actions = self.core.start_dynamic_child(call)
        model_number, model_actions = self.model.start_dynamic(call)
        assert number == model_number
        self.compare(core_actions, model_actions)
        self.catch_up(data)

    @rule(data=st.data(), what=st.sampled_from(["terminate", "restart", "delete"]))
    def child_call(self, data: st.DataObject, what: str) -> None:
        child_id = self.some_child_id(data)
        call = self.new_call()
        self.apply(
            lambda core: getattr(core, f"{what}_child")(call, child_id),
            ("call", call, what, child_id),
        )
        self.catch_up(data)

    @rule(data=st.data(), now=st.sampled_from([False] * 4 + [True]))
    def shutdown(self, data: st.DataObject, now: bool) -> None:  # noqa: FBT001
        """Now and then the supervisor's own supervisor stops it."""
        if now:
            self.apply(lambda core: core.shutdown(), ("shutdown",))
            self.catch_up(data)


# A failure is reported as found, not shrunk: shrinking these machines takes
# minutes, past the test's timeout. PYKKA_RS_SHRINK=1 shrinks it, and the
# printed @reproduce_failure blob replays a failure from CI.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
if os.environ.get("PYKKA_RS_SHRINK"):
    PHASES.append(Phase.shrink)

SupervisorMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=60,
    deadline=None,
    database=None,
    phases=PHASES,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_core_decides_as_otps_supervisor = SupervisorMachine.TestCase


# ----- the comparison can fail -----


class StopsInStartOrder(OtpModel):
    """A wrong model: a group restart stops its children oldest first."""

    def stop_order(self, group: list[Child]) -> list[Child]:
        return group


class IgnoresTheWindow(OtpModel):
    """A wrong model: restarts never leave the intensity window."""

    def add_restart(self) -> bool:
        self.restarts.append(self.now)
        return len(self.restarts) <= self.max_restarts


@pytest.mark.parametrize("wrong", [StopsInStartOrder, IgnoresTheWindow])
def test_the_state_machine_tells_a_wrong_model_apart(wrong: type[OtpModel]) -> None:
    """The comparison has teeth: a model one rule off fails it (with a
    fixed sequence of examples, so this test cannot flake)."""
    machine = type(
        f"{wrong.__name__}Machine", (SupervisorMachine,), {"model_class": wrong}
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=300,
                stateful_step_count=60,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )

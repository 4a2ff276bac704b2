"""`simpleSystemBase`: every actor runs in the caller's thread, synchronously.

`tell()` delivers the message and everything it sets off before returning;
`ask()` and `listen()` run deliveries until a message for the caller
arrives, then return it. Wakeups fire only while the caller is inside
`tell()`, `ask()` or `listen()`, and `listen()` sleeps until the next one
falls due when nothing else is pending. That makes tests of actor logic
deterministic, as with Thespian's base of the same name.

A queue of pending sends with one lock is all it takes; there is no
pykka_rs actor underneath, which is what makes this base fast.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ._cell import Cell
from ._create import actor_class, check_capabilities, new_actor
from ._messages import (
    ActorAddress,
    ChildActorExited,
    DeadEnvelope,
    WakeupMessage,
    for_the_system,
)
from .timing import timePeriodSeconds

if TYPE_CHECKING:
    from ._actor import Actor

logger = logging.getLogger("Thespian")


class SimpleCell(Cell):
    """An actor of the synchronous base."""

    def __init__(
        self,
        base: SimpleBase,
        instance: Actor,
        address: ActorAddress,
        parent: ActorAddress | None,
        global_name: str | None,
    ) -> None:
        super().__init__(instance, address, parent, global_name)
        self.base = base

    def send(self, target: ActorAddress, msg: Any) -> None:
        self.base.post(self.address, msg, target)

    def create(
        self,
        actor_class: Any,
        requirements: dict[str, Any] | None,
        global_name: str | None,
        source_hash: str | None,
    ) -> ActorAddress:
        return self.base.create(
            actor_class, requirements, global_name, source_hash, parent=self
        )

    def wakeup_after(self, period: Any, payload: Any) -> None:
        self.base.add_wakeup(self.address, period, payload)

    def handle_dead_letters(self, *, enable: bool) -> None:
        self.base.handle_dead_letters(self.address, enable=enable)

    def update_capability(self, name: str, value: Any) -> None:
        self.base.update_capability(name, value)

    def system_shutdown(self) -> None:
        self.base.shutdown()

    def dead_letter(self, target: ActorAddress, msg: Any, sender: ActorAddress) -> None:
        self.base.dead_letter(target, msg, sender)

    def finish(self) -> None:
        self.base.forget(self)
        if self.parent is not None:
            self.base.post(self.address, ChildActorExited(self.address), self.parent)


class SimpleBase:
    """The state of one synchronous actor system (see the module docstring)."""

    name = "simpleSystemBase"

    def __init__(self, capabilities: dict[str, Any]) -> None:
        self.capabilities = capabilities
        self._lock = threading.RLock()
        self._pending: deque[tuple[ActorAddress, Any, ActorAddress]] = deque()
        self._cells: dict[ActorAddress, SimpleCell] = {}
        self._inboxes: dict[ActorAddress, queue.SimpleQueue[Any]] = {}
        self._global_names: dict[str, ActorAddress] = {}
        self._dead_letter_handlers: list[ActorAddress] = []
        self._wakeups: list[tuple[float, int, ActorAddress, Any, Any]] = []
        self._numbers = itertools.count(1)
        self.system_address = ActorAddress("/ActorSys")
        self.external = self.new_inbox()
        self.closed = False

    # Addresses and inboxes of the callers outside the system.

    def new_inbox(self) -> ActorAddress:
        """A new address whose messages a caller outside the system collects."""
        address = ActorAddress(f"/External~{next(self._numbers)}")
        self._inboxes[address] = queue.SimpleQueue()
        return address

    def drop_inbox(self, address: ActorAddress) -> None:
        """Forget a caller's inbox; later messages to it are dead letters."""
        self._inboxes.pop(address, None)

    # Making and forgetting actors.

    def create(
        self,
        spec: Any,
        requirements: dict[str, Any] | None,
        global_name: str | None,
        source_hash: str | None,
        parent: SimpleCell | None,
    ) -> ActorAddress:
        """Make an actor (or find the one registered as `global_name`).

        A top-level actor that cannot be made raises; a child that cannot
        be made is reported to its parent with `ChildActorExited`.
        """
        with self._lock:
            if global_name is not None and global_name in self._global_names:
                return self._global_names[global_name]
            address = ActorAddress(f"/A~{next(self._numbers)}")
            try:
                cls = actor_class(spec, source_hash)
                check_capabilities(cls, self.capabilities, requirements)
                instance = new_actor(cls, self.capabilities, requirements)
            except Exception:
                if parent is None:
                    raise
                logger.warning(
                    "Could not create child Actor %s of %s",
                    spec,
                    parent.address,
                    exc_info=True,
                )
                parent.children.append(address)
                self.post(address, ChildActorExited(address), parent.address)
                return address
            parent_address = parent.address if parent is not None else None
            cell = SimpleCell(self, instance, address, parent_address, global_name)
            self._cells[address] = cell
            if parent is not None:
                parent.children.append(address)
            if global_name is not None:
                self._global_names[global_name] = address
            return address

    def forget(self, cell: SimpleCell) -> None:
        """An actor has exited: drop its registrations."""
        self._cells.pop(cell.address, None)
        if cell.address in self._dead_letter_handlers:
            self._dead_letter_handlers.remove(cell.address)
        if (
            cell.global_name is not None
            and self._global_names.get(cell.global_name) == cell.address
        ):
            del self._global_names[cell.global_name]

    # Sending and delivering.

    def post(self, sender: ActorAddress, msg: Any, target: ActorAddress) -> None:
        """Queue a message; it is delivered by the running (or next) `run()`."""
        self._pending.append((sender, msg, target))

    def run(self, inbox: ActorAddress | None = None) -> None:
        """Deliver pending messages until none are left (or `inbox` has one)."""
        with self._lock:
            waiting = self._inboxes.get(inbox) if inbox is not None else None
            self._realize_wakeups()
            while self._pending:
                self._realize_wakeups()
                sender, msg, target = self._pending.popleft()
                self._deliver(sender, msg, target)
                if waiting is not None and not waiting.empty():
                    return

    def _deliver(self, sender: ActorAddress, msg: Any, target: ActorAddress) -> None:
        cell = self._cells.get(target)
        if cell is not None:
            cell.deliver(msg, sender)
            return
        inbox = self._inboxes.get(target)
        if inbox is not None:
            if not for_the_system(msg):
                inbox.put(msg)
            return
        self.dead_letter(target, msg, sender)

    def dead_letter(self, target: ActorAddress, msg: Any, sender: ActorAddress) -> None:
        """Hand a message for a gone actor to every dead letter handler."""
        if isinstance(msg, DeadEnvelope) or target == self.system_address:
            return  # never a dead letter about a dead letter
        for handler in self._dead_letter_handlers:
            self.post(sender, DeadEnvelope(target, msg), handler)

    def handle_dead_letters(self, address: ActorAddress, *, enable: bool) -> None:
        """Make `address` the dead letter handler, or (not enabled) stop it being one.

        As in Thespian, the latest actor to register is the one handler.
        """
        if enable:
            self._dead_letter_handlers[:] = [address]
        elif address in self._dead_letter_handlers:
            self._dead_letter_handlers.remove(address)

    def update_capability(self, name: str, value: Any) -> None:
        """Set (None: remove) a capability."""
        if value is None:
            self.capabilities.pop(name, None)
        else:
            self.capabilities[name] = value

    # Wakeups.

    def add_wakeup(self, target: ActorAddress, period: Any, payload: Any) -> None:
        """Deliver `WakeupMessage(period, payload)` to `target` after `period`."""
        seconds = timePeriodSeconds(period) or 0.0
        heapq.heappush(
            self._wakeups,
            (time.monotonic() + seconds, next(self._numbers), target, period, payload),
        )

    def _realize_wakeups(self) -> None:
        now = time.monotonic()
        while self._wakeups and self._wakeups[0][0] <= now:
            _, _, target, period, payload = heapq.heappop(self._wakeups)
            self.post(target, WakeupMessage(period, payload), target)

    # What callers outside the system do.

    def tell(self, target: ActorAddress, msg: Any, inbox: ActorAddress) -> None:
        """Send from outside, and deliver everything that sets off."""
        with self._lock:
            self._realize_wakeups()
            self.post(inbox, msg, target)
            self.run()

    def ask(
        self, target: ActorAddress, msg: Any, timeout: Any, inbox: ActorAddress
    ) -> Any:
        """Send from outside; the first message that comes back, or None."""
        with self._lock:
            self._realize_wakeups()
            self.post(inbox, msg, target)
        return self.listen(timeout, inbox)

    def listen(self, timeout: Any, inbox: ActorAddress) -> Any:
        """The first message for `inbox`, running deliveries and wakeups meanwhile."""
        seconds = timePeriodSeconds(timeout)
        deadline = None if seconds is None else time.monotonic() + seconds
        waiting = self._inboxes[inbox]
        while True:
            with self._lock:
                self.run(inbox)
                if not waiting.empty():
                    return waiting.get()
                due = self._wakeups[0][0] if self._wakeups else None
            if inbox != self.external and (
                due is None or (deadline is not None and due > deadline)
            ):
                # A private inbox: another thread may still run deliveries.
                return self._wait_private(waiting, deadline)
            if due is None or (deadline is not None and due > deadline):
                return None
            time.sleep(max(0.0, due - time.monotonic()))

    @staticmethod
    def _wait_private(waiting: queue.SimpleQueue[Any], deadline: float | None) -> Any:
        try:
            return waiting.get(
                timeout=None
                if deadline is None
                else max(0.0, deadline - time.monotonic())
            )
        except queue.Empty:
            return None

    def shutdown(self) -> None:
        """Every actor exits at once; pending messages and wakeups are dropped."""
        with self._lock:
            self.closed = True
            self._pending.clear()
            self._wakeups.clear()
            self._cells.clear()
            self._global_names.clear()
            self._dead_letter_handlers.clear()

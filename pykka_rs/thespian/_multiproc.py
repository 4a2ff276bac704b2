"""The `multiproc*Base` system bases: Thespian actors on pykka_rs process workers.

Each Thespian actor is a pykka_rs `ProcessActor` (`_Host`) holding the
actor object; many share each worker process, as all process actors do,
so `pykka_rs.stats()` lists them and a worker that dies is replaced. A
Thespian address wraps the host's `ActorRef`, which pickles and works from
any process. A message travels as `(msg, sender)` in a plain `tell()`.

One administrator per system (`_Admin`, a thread actor in the process that
made the system) makes every actor, so global names, capabilities and the
dead letter handlers have one home and need no locks. It watches each actor
it makes with `pykka_rs.monitor`, and has the parent watch it too: the
parent's `ChildActorExited` thus comes however the child ended, even when
its worker process was killed. The caller outside the system receives
through `_Inbox`, a thread actor of its own process.

Thespian's multiprocTCPBase and multiprocUDPBase are networked; here all
three names run the same way, on one machine with no listener of our own
(see docs/thespian.md for what that leaves out).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pykka_rs
from pykka_rs import (
    ActorDeadError,
    ActorExit,
    ActorRef,
    ProcessActor,
    ThreadingActor,
    Timeout,
)

from ._cell import Cell
from ._create import actor_class, check_capabilities, new_actor
from ._messages import (
    ActorAddress,
    ActorExitRequest,
    ChildActorExited,
    DeadEnvelope,
    WakeupMessage,
    for_the_system,
    from_the_wire,
    on_the_wire,
)
from .timing import timePeriodSeconds

if TYPE_CHECKING:
    from ._actor import Actor

logger = logging.getLogger("Thespian")

# How long a shutdown waits for every actor to handle its ActorExitRequest.
SHUTDOWN_WAIT = 10.0

# How long a caller's tell of an ActorExitRequest waits for the actor to handle it.
EXIT_WAIT = 1.0


def post(
    target: ActorAddress, msg: Any, sender: ActorAddress, admin: ActorRef[Any]
) -> None:
    """Send `msg` to `target`; to the dead letter handlers if it has exited."""
    ref = target.addressDetails
    if isinstance(ref, ActorRef):
        try:
            ref.tell((msg, on_the_wire(sender)))
        except ActorDeadError:
            pass
        else:
            return
    with contextlib.suppress(ActorDeadError):  # the whole system is gone
        admin.tell(_DeadLetter(target, msg, sender))


def dead_address() -> ActorAddress:
    """The address of an actor that could not be made: all it gets is dead letters."""
    return ActorAddress(f"dead:{uuid.uuid4()}")


# The administrator's requests.


@dataclass(frozen=True, slots=True)
class _Create:
    spec: Any
    requirements: dict[str, Any] | None
    global_name: str | None
    source_hash: str | None
    parent: ActorAddress | None


@dataclass(frozen=True, slots=True)
class _DeadLetter:
    target: ActorAddress
    msg: Any
    sender: ActorAddress


@dataclass(frozen=True, slots=True)
class _DeadLetters:
    address: ActorAddress
    enable: bool


@dataclass(frozen=True, slots=True)
class _Released:
    address: ActorAddress


@dataclass(frozen=True, slots=True)
class _UpdateCapability:
    name: str
    value: Any


class _Capabilities:
    pass


class _Shutdown:
    pass


class _Live:
    pass


class HostCell(Cell):
    """A Thespian actor inside its `_Host`."""

    def __init__(
        self,
        host: _Host,
        instance: Actor,
        parent: ActorAddress | None,
        global_name: str | None,
        admin: ActorRef[Any],
    ) -> None:
        super().__init__(instance, ActorAddress(host.actor_ref), parent, global_name)
        self.host = host
        self.admin = admin
        self.timers: set[threading.Timer] = set()
        # While handling a caller's ask: the caller, and the first message
        # sent back to it, which goes back as the ask's reply.
        self.asker: ActorAddress | None = None
        self.reply: tuple[Any, ...] = ()

    def send(self, target: ActorAddress, msg: Any) -> None:
        if self.asker is not None and target == self.asker:
            self.asker = None
            self.reply = (msg,)
            return
        post(target, msg, self.address, self.admin)

    def answer(self, msg: Any, sender: ActorAddress) -> tuple[Any, ...]:
        """Deliver a caller's ask; `(reply,)` if the actor sent one back at once.

        The caller's `ask()` waits on the reply of pykka_rs's own ask, which
        is far quicker than a message to the caller's inbox and back.
        """
        self.asker, self.reply = sender, ()
        try:
            self.deliver(msg, sender)
        finally:
            self.asker = None
        reply, self.reply = self.reply, ()
        return reply

    def create(
        self,
        actor_class: Any,
        requirements: dict[str, Any] | None,
        global_name: str | None,
        source_hash: str | None,
    ) -> ActorAddress:
        request = _Create(
            actor_class, requirements, global_name, source_hash, self.address
        )
        address: ActorAddress
        try:
            address, made = self.admin.ask(request, block=True)
        except Exception:
            logger.warning(
                "Could not create child Actor %s of %s",
                actor_class,
                self.address,
                exc_info=True,
            )
            address, made = dead_address(), True
            self.host.actor_ref.tell((ChildActorExited(address), address))
        if made:
            self.children.append(address)
        return address

    def wakeup_after(self, period: Any, payload: Any) -> None:
        timer = threading.Timer(
            timePeriodSeconds(period) or 0.0, self._wake, (period, payload)
        )
        timer.daemon = True
        self.timers.add(timer)
        timer.start()

    def _wake(self, period: Any, payload: Any) -> None:
        self.timers.discard(threading.current_thread())
        with contextlib.suppress(ActorDeadError):
            self.host.actor_ref.tell((WakeupMessage(period, payload), self.address))

    def handle_dead_letters(self, *, enable: bool) -> None:
        self.admin.ask(_DeadLetters(self.address, enable), block=True)

    def update_capability(self, name: str, value: Any) -> None:
        self.admin.ask(_UpdateCapability(name, value), block=True)

    def system_shutdown(self) -> None:
        self.admin.tell(_Shutdown())

    def dead_letter(self, target: ActorAddress, msg: Any, sender: ActorAddress) -> None:
        if isinstance(msg, ActorExitRequest | ChildActorExited):
            return  # late news for an actor that has already gone
        with contextlib.suppress(ActorDeadError):
            self.admin.tell(_DeadLetter(target, msg, sender))

    def finish(self) -> None:
        for timer in list(self.timers):
            timer.cancel()
        with contextlib.suppress(ActorDeadError):
            self.admin.tell(_Released(self.address))
        # The parent hears at once; its monitor of this actor, which comes
        # after the stop, then finds the child already gone and says nothing.
        if self.parent is not None and isinstance(self.parent.addressDetails, ActorRef):
            post(self.parent, ChildActorExited(self.address), self.address, self.admin)
        # Stop at once, not after what is queued: from now on a sender's
        # tell fails, and the sender hands its message to the dead letters.
        # (Messages already queued are counted in pykka_rs's warning.)
        self.host._stop()  # noqa: SLF001  # pykka_rs's own actor, from its own package


class _Host(ProcessActor):
    """The pykka_rs process actor that hosts one Thespian actor."""

    def __init__(  # noqa: PLR0913, PLR0917  # what start() carries to the worker
        self,
        cls: type[Actor],
        requirements: dict[str, Any] | None,
        capabilities: dict[str, Any],
        parent: ActorAddress | None,
        global_name: str | None,
        admin: ActorRef[Any],
    ) -> None:
        super().__init__()
        # Listed in pykka_rs.stats() and top by the Thespian actor's class.
        self._listed_as = cls.__name__
        instance = new_actor(cls, capabilities, requirements)
        self.cell = HostCell(self, instance, parent, global_name, admin)

    def on_receive(self, message: Any) -> Any:
        if type(message) is tuple:
            sender = from_the_wire(message[1])
            if len(message) == 3:  # a caller's ask: (msg, sender, True)
                return self.cell.answer(message[0], sender)
            self.cell.deliver(message[0], sender)
        elif isinstance(message, ActorExit):
            # A child that ended without saying so (its worker died, say).
            child = ActorAddress(message.actor_ref)
            if child in self.cell.children:
                self.cell.deliver(ChildActorExited(child), child)
        return None

    def on_stop(self) -> None:
        for timer in list(self.cell.timers):
            timer.cancel()


class _Admin(ThreadingActor):
    """Makes every actor of one system and keeps the system-wide registrations."""

    use_daemon_thread = True

    def __init__(self, capabilities: dict[str, Any]) -> None:
        super().__init__()
        self.capabilities = capabilities
        self.global_names: dict[str, ActorAddress] = {}
        self.dead_letter_handlers: list[ActorAddress] = []
        self.live: dict[str, ActorRef[Any]] = {}
        self.closing = False
        self.all_gone = threading.Event()

    def on_receive(self, message: Any) -> Any:  # noqa: C901, PLR0912
        if isinstance(message, _DeadLetter):
            self._dead_letter(message)
        elif isinstance(message, ActorExit):
            self.live.pop(message.actor_ref.actor_urn, None)
            self._release(ActorAddress(message.actor_ref))
            if self.closing and not self.live:
                self.all_gone.set()
        elif isinstance(message, _Create):
            return self._create(message)
        elif isinstance(message, _Released):
            self._release(message.address)
        elif isinstance(message, _DeadLetters):
            # As in Thespian, the latest actor to register is the one handler.
            if message.enable:
                self.dead_letter_handlers[:] = [message.address]
            elif message.address in self.dead_letter_handlers:
                self.dead_letter_handlers.remove(message.address)
        elif isinstance(message, _Capabilities):
            return dict(self.capabilities)
        elif isinstance(message, _UpdateCapability):
            if message.value is None:
                self.capabilities.pop(message.name, None)
            else:
                self.capabilities[message.name] = message.value
        elif isinstance(message, _Shutdown):
            return self._shutdown()
        elif isinstance(message, _Live):
            return list(self.live.values())
        return None

    def _create(self, request: _Create) -> tuple[ActorAddress, bool]:
        if request.global_name is not None and request.global_name in self.global_names:
            return self.global_names[request.global_name], False
        cls = actor_class(request.spec, request.source_hash)
        check_capabilities(cls, self.capabilities, request.requirements)
        ref = _Host.start(
            cls,
            request.requirements,
            dict(self.capabilities),
            request.parent,
            request.global_name,
            self.actor_ref,
        )
        address = ActorAddress(ref)
        self.live[ref.actor_urn] = ref
        pykka_rs.monitor(ref, self.actor_ref)
        parent = request.parent.addressDetails if request.parent is not None else None
        if isinstance(parent, ActorRef):
            pykka_rs.monitor(ref, parent)
        if request.global_name is not None:
            self.global_names[request.global_name] = address
        return address, True

    def _release(self, address: ActorAddress) -> None:
        if address in self.dead_letter_handlers:
            self.dead_letter_handlers.remove(address)
        for name, named in list(self.global_names.items()):
            if named == address:
                del self.global_names[name]

    def _dead_letter(self, letter: _DeadLetter) -> None:
        if isinstance(letter.msg, DeadEnvelope):
            return  # never a dead letter about a dead letter
        for handler in list(self.dead_letter_handlers):
            post(
                handler,
                DeadEnvelope(letter.target, letter.msg),
                letter.sender,
                self.actor_ref,
            )

    def _shutdown(self) -> threading.Event:
        self.closing = True
        if not self.live:
            self.all_gone.set()
        for ref in list(self.live.values()):
            with contextlib.suppress(ActorDeadError):
                ref.tell((ActorExitRequest(), ActorAddress(self.actor_ref)))
        return self.all_gone


def _late(future: Any, messages: queue.SimpleQueue[Any]) -> None:
    """Put the reply of an ask that timed out in the caller's inbox, if one comes."""
    with contextlib.suppress(ActorDeadError):
        reply = future.get()
        if reply and not for_the_system(reply[0]):
            messages.put(reply[0])


class _Inbox(ThreadingActor):
    """Where a caller outside the system receives: `listen()` reads `messages`."""

    use_daemon_thread = True

    def __init__(self, messages: queue.SimpleQueue[Any]) -> None:
        super().__init__()
        self.messages = messages

    def on_receive(self, message: Any) -> Any:
        if type(message) is tuple and not for_the_system(message[0]):
            self.messages.put(message[0])
        return None


class ProcessBase:
    """The state of one system on process workers, in the process that made it."""

    def __init__(self, name: str, capabilities: dict[str, Any]) -> None:
        self.name = name
        self.capabilities = capabilities
        self.admin = _Admin.start(capabilities)
        self.system_address = ActorAddress(self.admin)
        self.closed = False
        self._inboxes: dict[
            ActorAddress, tuple[ActorRef[Any], queue.SimpleQueue[Any]]
        ] = {}
        self.external = self.new_inbox()

    def new_inbox(self) -> ActorAddress:
        """A new address whose messages a caller outside the system collects."""
        messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
        ref = _Inbox.start(messages)
        address = ActorAddress(ref)
        self._inboxes[address] = (ref, messages)
        return address

    def drop_inbox(self, address: ActorAddress) -> None:
        """Stop a caller's inbox; later messages to it are dead letters."""
        ref, _ = self._inboxes.pop(address)
        ref.stop()

    def create(
        self,
        spec: Any,
        requirements: dict[str, Any] | None,
        global_name: str | None,
        source_hash: str | None,
    ) -> ActorAddress:
        """Make a top-level actor (or find the one registered as `global_name`)."""
        request = _Create(spec, requirements, global_name, source_hash, None)
        address: ActorAddress = self.admin.ask(request, block=True)[0]
        return address

    def tell(self, target: ActorAddress, msg: Any, inbox: ActorAddress) -> None:
        """Send from outside.

        An `ActorExitRequest` returns once the actor has handled it (or after
        `EXIT_WAIT`): what the caller sends next then finds the actor gone,
        and its parent told, as on the synchronous base.
        """
        ref = target.addressDetails
        if not isinstance(msg, ActorExitRequest) or not isinstance(ref, ActorRef):
            post(target, msg, inbox, self.admin)
            return
        _, messages = self._inboxes[inbox]
        try:
            future = ref.ask((msg, on_the_wire(inbox), True), block=False)
        except ActorDeadError:
            return  # gone already: nothing to ask to exit
        try:
            reply = future.get(timeout=EXIT_WAIT)
        except Timeout:
            late = threading.Thread(target=_late, args=(future, messages), daemon=True)
            late.start()
            return
        except ActorDeadError:
            return
        if reply and not for_the_system(reply[0]):
            messages.put(reply[0])

    def ask(
        self, target: ActorAddress, msg: Any, timeout: Any, inbox: ActorAddress
    ) -> Any:
        """Send from outside; the first message that comes back, or None.

        With nothing waiting in the caller's inbox, the message goes as a
        pykka_rs ask: an actor that answers its sender at once answers
        through the ask's reply. Otherwise, and for any other answer, the
        caller's inbox is read as `listen()` does.
        """
        _, messages = self._inboxes[inbox]
        ref = target.addressDetails
        if not messages.empty() or not isinstance(ref, ActorRef):
            post(target, msg, inbox, self.admin)
            return self.listen(timeout, inbox)
        seconds = timePeriodSeconds(timeout)
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            future = ref.ask((msg, on_the_wire(inbox), True), block=False)
        except ActorDeadError:
            post(target, msg, inbox, self.admin)  # a dead letter
            return self.listen(timeout, inbox)
        try:
            reply = future.get(timeout=seconds)
        except Timeout:
            # Whatever comes later goes to the inbox, for the next listen().
            late = threading.Thread(target=_late, args=(future, messages), daemon=True)
            late.start()
            return None
        except ActorDeadError:
            reply = ()
        if reply and not for_the_system(reply[0]):
            return reply[0]
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.listen(left, inbox)

    def listen(self, timeout: Any, inbox: ActorAddress) -> Any:
        """The first message for `inbox` within `timeout` (None: no limit), or None."""
        _, messages = self._inboxes[inbox]
        try:
            return messages.get(timeout=timePeriodSeconds(timeout))
        except queue.Empty:
            return None

    def update_capability(self, name: str, value: Any) -> None:
        """Set (None: remove) a capability."""
        self.admin.ask(_UpdateCapability(name, value), block=True)

    def handle_dead_letters(self, address: ActorAddress, *, enable: bool) -> None:
        """Register or unregister a dead letter handler."""
        self.admin.ask(_DeadLetters(address, enable=enable), block=True)

    def shutdown(self) -> None:
        """Every actor handles an `ActorExitRequest` and stops; then the system ends."""
        if self.closed:
            return
        self.closed = True
        try:
            all_gone = self.admin.ask(_Shutdown(), block=True)
        except ActorDeadError:
            all_gone = None
        if all_gone is not None and not all_gone.wait(SHUTDOWN_WAIT):
            logger.warning(
                "Actors still running %.0f s after the shutdown began; stopping them",
                SHUTDOWN_WAIT,
            )
            for ref in self.admin.ask(_Live(), block=True):
                ref.stop(block=False)
        for address in list(self._inboxes):
            self.drop_inbox(address)
        self.admin.stop()

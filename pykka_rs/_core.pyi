"""The Rust core of pykka_rs (`rust/py/`). Private: use the `pykka_rs` package."""

from collections.abc import Callable, Sequence
from typing import Any, Literal, Required, Self, TypeAlias, TypedDict, final

from pykka_rs._envelope import Envelope

__all__ = [
    "MAX_SHARED_BUFFERS",
    "SHARED_MIN_BYTES",
    "ActorThread",
    "BufferWriter",
    "Channel",
    "Event",
    "FakeClock",
    "Mailbox",
    "Pool",
    "Relay",
    "RemoteMailbox",
    "SharedBuffer",
    "Slot",
    "SupervisorCore",
    "_panic",
    "announce_exit",
    "announce_registered",
    "announce_unregistered",
    "await_exit",
    "catch_up",
    "clear_dead_letters",
    "control_barrier",
    "dead_letters",
    "disown",
    "disowned",
    "gather_stats",
    "join_pool",
    "keep_dead_letters",
    "last_dead_letter",
    "leave_pool",
    "link_interpreter",
    "local_future",
    "local_stats",
    "log_levels",
    "message_limit",
    "metrics",
    "newer_dead_letters",
    "next_control",
    "next_seq",
    "place",
    "process",
    "registered",
    "reply",
    "request",
    "run_actor_loop",
    "send_log",
    "set_log_levels",
    "set_message_limit",
    "set_metrics",
    "set_spin",
    "shutdown_worker",
    "spawn_actor",
    "spin",
    "subscribe",
    "unwatch",
    "watch",
    "withdraw",
]

@final
class Event:
    """A flag threads can wait for, with the methods of `threading.Event`.

    An actor's `actor_stopped` is one of these; its mailbox refuses messages
    once it is set. Waiting releases the GIL.
    """

    def __init__(self) -> None: ...
    def is_set(self) -> bool:
        """Return True if and only if the flag is set."""
    def set(self) -> None:
        """Set the flag and wake every thread waiting for it."""
    def clear(self) -> None:
        """Reset the flag."""
    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or `timeout` seconds pass; return the flag."""

@final
class Slot:
    """The state of one `ThreadingFuture`: a value, an exception or a get hook, set once.

    Waiting releases the GIL and checks for signals between slices.
    """

    def __init__(self) -> None: ...
    def set(self, value: Any) -> bool:
        """Store `value`; return False if the slot already holds something."""
    def set_exception(self, kind: Any, value: Any, traceback: Any) -> bool:
        """Store an exception as `(type, value, traceback)`; return False if the slot already holds something."""
    def set_hook(self, hook: Any) -> bool:
        """Store a get hook, called with the timeout on the first `get()`; return False if the slot already holds something."""
    def done(self) -> bool:
        """Whether the slot holds something."""
    def get(self, timeout: float | None = None) -> Any:
        """Wait for the slot, then return its value, raise its exception or run its get hook."""
    def add_done_callback(self, callback: Any) -> None:
        """Call `callback()` once the slot holds something."""
    def export(self) -> tuple[int, int]:
        """Let other processes read this slot; return its address `(process, number)`."""

@final
class Channel:
    """A bounded channel of Python objects, in this process.

    `send` waits while the channel is full, `recv` while it is empty, both
    with the GIL released; `close` refuses further sends and lets receivers
    take what is queued first.
    """

    def __new__(cls, capacity: int, name: str = "") -> Channel: ...
    @property
    def capacity(self) -> int:
        """The most items the channel holds."""
    @property
    def name(self) -> str:
        """What the channel is called."""
    @property
    def number(self) -> int:
        """The channel's number in this process."""
    @property
    def closed(self) -> bool:
        """Whether the channel was closed."""
    def __len__(self) -> int: ...
    def send(self, item: Any, timeout: float | None = None) -> None:
        """Queue `item`, waiting while the channel is full.

        Waits up to `timeout` seconds (forever if None). Raise `Timeout` if
        it stays full, `ChannelClosed` if it is closed.
        """
    def try_send(self, item: Any) -> None:
        """Queue `item` if there is room now.

        Raise `ChannelFull` if not, `ChannelClosed` if the channel is closed.
        """
    def recv(self, timeout: float | None = None) -> Any:
        """Take the next item, waiting while the channel is empty.

        Waits up to `timeout` seconds (forever if None). Raise `Timeout` if
        it stays empty, `ChannelClosed` once it is closed and empty.
        """
    def try_recv(self) -> Any:
        """Take the next item if one is queued.

        Raise `ChannelEmpty` if not, `ChannelClosed` once the channel is
        closed and empty.
        """
    def close(self) -> bool:
        """Close the channel; return whether it was open."""
    def when_readable(self, callback: Callable[[], object]) -> None:
        """Call `callback()` once an item is queued or the channel is closed.

        Now if so already, else on the thread that makes it so.
        """
    def when_writable(self, callback: Callable[[], object]) -> None:
        """Call `callback()` once there is room or the channel is closed.

        Now if so already, else on the thread that makes it so.
        """
    def record(self) -> dict[str, Any]:
        """The channel's counters.

        `name`, `capacity`, `waiting`, `sent`, `received`, `high_water`, `closed`.
        """

@final
class Mailbox:
    """An actor's inbox: a queue of envelopes, unbounded unless `set_bound()` bounds it, closed by the actor's stopped flag."""

    def __init__(self) -> None: ...
    def set_bound(self, capacity: int, overflow: str) -> None:
        """Bound the mailbox to `capacity` messages; `overflow` ("block", "fail", "drop") says what a send to it when full does."""
    @property
    def bound(self) -> tuple[int, str] | None:
        """`(capacity, overflow)` if the mailbox is bounded, else None."""
    @property
    def stopped(self) -> Event:
        """The actor's stopped flag; once it is set, the mailbox refuses messages."""
    @property
    def label(self) -> str:
        """How errors name the actor."""
    @label.setter
    def label(self, label: str) -> None: ...
    @property
    def exported(self) -> int | None:
        """The mailbox's number in this process if other processes can reach it (see `export`), else None."""
    def export(self) -> tuple[int, int]:
        """Let other processes send to this mailbox; return its address `(process, number)`."""
    def put(self, envelope: Envelope[Any]) -> None:
        """Queue an `Envelope`."""
    def get(self) -> Envelope[Any]:
        """Take the next `Envelope`, waiting as long as it takes."""
    def empty(self) -> bool:
        """Whether no message is waiting."""
    def qsize(self) -> int:
        """How many messages are waiting."""
    def __len__(self) -> int: ...
    def tell(self, message: Any) -> None:
        """Queue `message` with no reply."""
    def ask(self, message: Any, future: Any) -> None:
        """Queue `message` with `future` for the reply."""
    def ask_blocking(self, message: Any, timeout: float | None = None) -> Any:
        """Queue `message` and wait for the reply."""
    def drain(self) -> list[Envelope[Any]]:
        """Take every envelope left after the actor stopped."""
    def stats(self) -> dict[str, int | None]:
        """The mailbox's counters now, read from atomics without waiting on the actor.

        Keys: waiting, sent, processed, failed, dropped, high_water, and the
        handling times: busy_nanos (all), timed and timed_nanos (those timed
        one by one), p50_nanos, p90_nanos, p99_nanos (None before the first).
        """
    def enroll(self, class_name: str, urn: str, supervisor: str | None = None) -> None:
        """List this mailbox's actor in this process's statistics until it stops."""

@final
class RemoteMailbox:
    """The inbox of an actor in another process: `tell`, `ask` and `put` send to it."""

    def __new__(cls, process: int, actor: int) -> Self: ...
    @property
    def stopped(self) -> Event:
        """The actor's stopped flag, as far as this process knows."""
    @property
    def label(self) -> str:
        """How errors name the actor."""
    @label.setter
    def label(self, label: str) -> None: ...
    @property
    def confirmed(self) -> bool:
        """Whether a send waits until the actor's process has queued the message."""
    @confirmed.setter
    def confirmed(self, confirmed: bool) -> None: ...
    def export(self) -> tuple[int, int]:
        """The actor's address, `(process, number)`."""
    def tell(self, message: Any) -> None:
        """Send `message` with no reply."""
    def ask(self, message: Any, future: Any) -> None:
        """Send `message` with `future` for the reply."""
    def ask_blocking(self, message: Any, timeout: float | None = None) -> Any:
        """Send `message` and wait for the reply."""
    def put(self, envelope: Envelope[Any]) -> None:
        """Send an `Envelope`'s message, answered to its `reply_to`."""
    def get(self) -> Envelope[Any]:
        """Not possible: raises TypeError; only the actor's own process takes its messages."""
    def empty(self) -> bool:
        """Not known here: only the actor's own process sees its queue."""
    def waiting(self) -> int | None:
        """The messages waiting, as its worker last pushed it to this process (the parent).

        None in a worker, and before the worker's first report.
        """
    def stats(self) -> tuple[float, dict[str, int | None]] | None:
        """The counters its worker last pushed to this process (the parent), and their age in seconds.

        None in a worker, and before the worker's first report.
        """

@final
class Relay:
    """The inbox of a supervised actor of another process: messages go through it to the mailbox of the actor's current run; while the actor restarts (its worker died), it holds them, in order.

    Only its supervisor points it elsewhere (`redirect`), and closes it once
    the actor will not run again; then its `stopped` flag is set.
    """

    def __init__(self) -> None: ...
    @property
    def confirmed(self) -> bool:
        """Whether a send waits until the actor's mailbox has queued the message."""
    @confirmed.setter
    def confirmed(self, confirmed: bool) -> None: ...
    @property
    def stopped(self) -> Event:
        """Set once the relay is closed: its actor will not run again."""
    @property
    def label(self) -> str:
        """How errors name the actor, e.g. `"MyActor (urn:uuid:...)"`."""
    @label.setter
    def label(self, label: str) -> None: ...
    @property
    def target(self) -> tuple[int, int] | None:
        """The mailbox messages go to now, `(process, number)`, or None while the relay holds them."""
    @property
    def held(self) -> int:
        """How many messages the relay holds."""
    @property
    def exported(self) -> int | None:
        """The relay's number in this process if other processes can reach it, else None."""
    def export(self) -> tuple[int, int]:
        """Let other processes send to this relay; return `(process, number)`, its address for them."""
    def redirect(self, process: int, number: int) -> None:
        """Pass messages to mailbox `number` of process `process` from now on, first those held, in order."""
    def hold(self) -> None:
        """Hold messages until the next `redirect`."""
    def close(self) -> int:
        """Close the relay for good; return how many told messages it held, which are dropped."""
    def tell(self, message: Any) -> None:
        """Send `message` with no reply."""
    def ask(self, message: Any, future: Any) -> None:
        """Send `message` with `future` for the reply."""
    def ask_blocking(self, message: Any, timeout: float | None = None) -> Any:
        """Send `message` and wait for the reply; return it or raise the actor's exception."""
    def put(self, envelope: Envelope[Any]) -> None:
        """Send an `Envelope`'s message, answered to its `reply_to`."""
    def get(self) -> Envelope[Any]:
        """Not possible: the actor's own process takes its messages."""
    def empty(self) -> bool:
        """Not known here: the actor's own process sees its queue."""

@final
class Pool:
    """The parent's worker processes: starting them, keeping every seat filled, placing actors on them, shutting them down."""

    def __new__(cls, size: int, tmpdir: str) -> Self: ...
    @property
    def size(self) -> int:
        """The number of seats."""
    @property
    def socket_path(self) -> str:
        """The socket workers connect to."""
    @property
    def secret(self) -> bytes:
        """The secret workers must prove they hold."""
    @property
    def closed(self) -> bool:
        """Whether the pool was shut down."""
    def start(
        self,
        python: str,
        args: list[str],
        bootstrap: bytes,
        start_patience: float,
        heartbeat_timeout: float | None = None,
    ) -> None:
        """Start a worker in every seat, and keep every seat filled."""
    def wait_ready(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every seat to have a worker."""
    def wait_for_worker(self, seat: int | None, timeout: float) -> int | None:
        """The process number of the worker in `seat`, or of the least busy worker."""
    def spawn_actor(
        self,
        process: int,
        payload: bytes,
        label: str,
        timeout: float | None = None,
        *,
        count: bool = True,
    ) -> Any:
        """Ask worker `process` to make an actor; return its number there."""
    def kill(self, process: int, why: str) -> None:
        """Kill worker `process` (SIGKILL) now, `why` being the cause its death is reported with."""
    def workers(self) -> list[dict[str, int]]:
        """The workers that are up, as dicts: seat, process, pid, actors, waiting, restarts."""
    def shutdown(self, patience: float) -> list[tuple[int, int, list[bytes]]]:
        """Ask every worker to stop and exit; kill those still running after `patience` seconds."""

@final
class ActorThread:
    """Marks the calling thread as the actor of `mailbox` while the `with` block runs."""

    def __new__(cls, mailbox: Mailbox) -> Self: ...
    def __enter__(self) -> None: ...
    def __exit__(self, kind: object, value: object, traceback: object) -> None: ...

SHARED_MIN_BYTES: int
"""Buffers from this size up travel beside the pickle, in shared memory."""
MAX_SHARED_BUFFERS: int
"""The most shared buffers one message may carry."""

@final
class BufferWriter:
    """A memfd being filled with one buffer, before it is sealed and sent."""

    def __new__(cls, size: int) -> Self:
        """A new, empty memfd for `size` bytes; `OSError` if none can be made."""
    def writer_fd(self) -> int:
        """A new descriptor of the memfd, to write with `os.write`; the caller closes it."""
    def seal(self) -> SharedBuffer:
        """Seal the memfd once it holds exactly `size` bytes, as a `SharedBuffer`.

        Raise `ValueError` if it holds another number.
        """

@final
class SharedBuffer:
    """A sealed buffer in shared memory, beside a message's pickle.

    Its memory goes with the last descriptor of it, in whichever process.
    """

    def read(self, *, writable: bool = False) -> bytes | bytearray:
        """A copy of the buffer: a `bytearray` if `writable`, else `bytes`."""
    def fileno(self) -> int:
        """The memfd's descriptor, open while this object lives, for `os.pread`."""
    def __len__(self) -> int: ...

_ChildId: TypeAlias = str | int
_Shutdown: TypeAlias = float | Literal["brutal_kill", "infinity"]
_Action: TypeAlias = (
    tuple[Literal["start"], _ChildId, int]
    | tuple[Literal["stop"], _ChildId, int, _Shutdown]
    | tuple[Literal["schedule"], int, float]
    | tuple[Literal["reply"], int, Literal[True], tuple[_ChildId, int] | None]
    | tuple[Literal["reply"], int, Literal[False], tuple[str, str]]
    | tuple[Literal["ready"]]
    | tuple[Literal["escalate"], str, _ChildId, str]
    | tuple[Literal["stopped"]]
)

class _ChildSpec(TypedDict, total=False):
    id: Required[str]
    restart: Literal["permanent", "transient", "temporary"]
    shutdown: _Shutdown
    kind: Literal["worker", "supervisor"]

class _Backoff(TypedDict, total=False):
    min: Required[float]
    max: Required[float]
    jitter: float
    reset_after: float | None

class _ChildCounts(TypedDict):
    specs: int
    active: int
    supervisors: int
    workers: int

@final
class FakeClock:
    """A clock that moves only when told to, for driving a `SupervisorCore` in tests without sleeping. Starts at 0."""

    def __init__(self) -> None: ...
    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (zero or more)."""
    def now(self) -> float:
        """The time on the clock, in seconds."""

@final
class SupervisorCore:
    """The deciding half of an OTP supervisor: feed it events, carry out the actions it returns, in order.

    Every method that changes something returns a list of actions, tuples
    whose first item names them: `("start", id, incarnation)`,
    `("stop", id, incarnation, shutdown)`, `("schedule", timer, seconds)`,
    `("reply", call, True, None | (id, incarnation))`,
    `("reply", call, False, (code, message))`, `("ready",)`,
    `("escalate", code, id, message)` and `("stopped",)`. Answer each start
    with `started` or `start_failed`, report each child's end with `exited`,
    and call `timer_fired` when a scheduled timer runs out. A child's id is
    its spec's id (a str), or for a `simple_one_for_one` supervisor the
    number `start_dynamic_child` gave it.
    """

    def __new__(
        cls,
        strategy: Literal[
            "one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"
        ] = "one_for_one",
        children: Sequence[_ChildSpec] = ...,
        *,
        max_restarts: int = 1,
        within: float = 5.0,
        backoff: _Backoff | None = None,
        clock: FakeClock | None = None,
        seed: int | None = None,
    ) -> Self: ...
    @property
    def strategy(self) -> str:
        """The strategy's name, e.g. `"one_for_one"`."""
    @property
    def phase(
        self,
    ) -> Literal["created", "starting", "running", "terminating", "terminated"]:
        """Where the supervisor is in its life."""
    @property
    def busy(self) -> bool:
        """Whether it waits for a start's outcome or a stop's exit; events and calls queue meanwhile."""
    def start(self) -> list[_Action]:
        """Start the children in order; the actions end with `("ready",)`, or with `("escalate", ...)` if a child fails to start."""
    def started(self, incarnation: int) -> list[_Action]:
        """The start of `incarnation` succeeded."""
    def start_failed(self, incarnation: int, reason: str) -> list[_Action]:
        """The start of `incarnation` failed, for `reason`."""
    def exited(
        self,
        incarnation: int,
        reason: Literal["normal", "shutdown", "failure"],
        detail: str = "",
    ) -> list[_Action]:
        """`incarnation` has ended: `reason` is `"normal"`, `"shutdown"` or `"failure"` (with `detail` saying what failed)."""
    def timer_fired(self, timer: int) -> list[_Action]:
        """The timer of a `("schedule", timer, seconds)` action has run out."""
    def shutdown(self) -> list[_Action]:
        """Stop every child in reverse start order; the actions end with `("stopped",)`."""
    def start_child(self, call: int, spec: _ChildSpec) -> list[_Action]:
        """Add a child from `spec` and start it; answered by a reply to `call`."""
    def start_dynamic_child(self, call: int) -> tuple[int, list[_Action]]:
        """Start a new child of a `simple_one_for_one` supervisor; return its number and the actions."""
    def terminate_child(self, call: int, id: _ChildId) -> list[_Action]:  # noqa: A002
        """Stop child `id`; keep its spec unless it is temporary or dynamic."""
    def restart_child(self, call: int, id: _ChildId) -> list[_Action]:  # noqa: A002
        """Start child `id`, which must not be running."""
    def delete_child(self, call: int, id: _ChildId) -> list[_Action]:  # noqa: A002
        """Forget child `id`, which must not be running."""
    def which_children(
        self,
    ) -> list[
        tuple[
            _ChildId,
            int | Literal["restarting"] | None,
            Literal["worker", "supervisor"],
        ]
    ]:
        """Every child in start order, as `(id, state, kind)`: `state` is the running incarnation, `"restarting"` or None."""
    def count_children(self) -> _ChildCounts:
        """The counts: `specs`, `active`, `supervisors`, `workers`."""
    def child_spec(self, id: _ChildId) -> _ChildSpec | None:  # noqa: A002
        """Child `id`'s spec as a dict with every key (a dynamic child's is the template), or None."""

def run_actor_loop(actor: Any, mailbox: Mailbox, until: Event | None = None) -> None:
    """Run `actor`'s message loop on the calling thread until the actor stops, or until `until` is found set between two messages."""

def process() -> int:
    """This process's number in its system: 0 for the parent, 1 and up for workers."""

def join_pool(
    process: int, socket_path: str, secret: bytes, parent_pid: int, orphan_grace: float
) -> None:
    """Make this process worker `process` of the pool listening at `socket_path`."""

def leave_pool() -> None:
    """Worker, about to exit: write what is queued for the parent and close the link."""

def next_control(timeout: float) -> tuple[Any, ...] | None:
    """Wait up to `timeout` seconds for the next piece of work queued for Python."""

def catch_up() -> None:
    """Handle every frame other processes have sent this one so far."""

def control_barrier() -> Event:
    """An Event set once everything queued for `next_control()` before it is handled."""

def reply(to: tuple[int, int], ok: bool, payload: bytes) -> None:
    """Answer the future `(process, number)` with a pickled value or exception."""

def subscribe(process: int, number: int) -> Slot:
    """A slot that receives the value of future `number` of process `process`."""

def local_future(number: int) -> Slot | None:
    """The slot this process exported as `number`, if it still exists."""

def send_log(payload: bytes) -> None:
    """Worker: send a log record's pickled fields to the parent."""

def set_log_levels(table: bytes) -> None:
    """Parent: its loggers' levels are now `table`.

    Every worker gets it ahead of anything sent after this call.
    """

def log_levels(known: int) -> tuple[int, bytes] | None:
    """The parent's latest logger levels as `(version, table)`.

    None while they are still version `known` (0: none yet).
    """

def request(payload: bytes) -> Slot:
    """Worker: send the parent a pickled request; return a slot for its answer."""

def announce_registered(number: int, payload: bytes) -> None:
    """Worker: tell the parent that local actor `number` is registered."""

def announce_unregistered(number: int) -> None:
    """Worker: tell the parent that local actor `number` left the registry."""

def watch(
    process: int, number: int
) -> (
    tuple[Literal["watching"], int]
    | tuple[Literal["exited"], str, bytes]
    | tuple[Literal["died"], str]
):
    """Watch actor `number` of process `process` for its end."""

def unwatch(token: int) -> bool:
    """Cancel a watch; return whether it was still waiting."""

def announce_exit(number: int, reason: str, payload: bytes) -> None:
    """Announce that local actor `number` ended, to the watches of every process."""

def withdraw(process: int, number: int) -> bool:
    """Parent: take actor `number` of worker `process` out of the registry."""

def registered() -> list[tuple[int, int, int, bytes]]:
    """Parent: the registered actors of the workers, as `(seq, process, number, payload)`."""

def next_seq() -> int:
    """A number that orders a registration here among those of the workers."""

def disown() -> None:
    """In a process just forked from a process of a system: leave the inherited links alone."""

def disowned() -> bool:
    """Whether this process is a fork that left its system's links alone."""

def link_interpreter() -> int:
    """Parent: a new worker number and an in-memory channel for a subinterpreter to claim."""

def place(processes: list[int]) -> int | None:
    """Parent: of the worker numbers `processes`, the one to place the next actor on."""

def spawn_actor(
    process: int, payload: bytes, label: str, timeout: float | None = None
) -> int:
    """Parent: ask worker `process` to make an actor; return its number there."""

def shutdown_worker(process: int) -> None:
    """Parent: ask worker `process` to stop its actors and end."""

def await_exit(process: int, timeout: float) -> list[bytes] | None:
    """Parent: wait for worker `process` to end; kill (cut off) it after `timeout` seconds."""

def set_message_limit(limit: int) -> None:
    """Set the largest message, in pickled bytes, this process sends or accepts."""

def message_limit() -> int:
    """The largest message, in pickled bytes, this process sends or accepts."""

def set_spin(seconds: float) -> None:
    """Set how long a waiting thread spins before it sleeps, in seconds; 0 turns spinning off."""

def spin() -> float:
    """How long a waiting thread spins before it sleeps, in seconds."""

def dead_letters() -> list[tuple[str, str, str, float]]:
    """The messages of this process that reached no actor, oldest first: `(receiver, message, reason, time)`."""

def last_dead_letter() -> int:
    """The number of the latest dead letter of this process (0 before any)."""

def newer_dead_letters(
    after: int, timeout: float
) -> tuple[int, list[tuple[str, str, str, float]]]:
    """Wait up to `timeout` seconds for dead letters newer than number `after`; return `(latest, letters)`."""

def keep_dead_letters(count: int) -> None:
    """Keep at most `count` dead letters from now on."""

def clear_dead_letters() -> None:
    """Forget the dead letters kept so far; the count in `stats()` stays."""

def local_stats() -> dict[str, Any]:
    """This process's statistics: process, usage, dead_letters and actors."""

def gather_stats(process: int) -> Slot:
    """Parent: ask worker `process` for its statistics; the slot receives them."""

def set_metrics(on: bool) -> None:
    """Turn the recording of handling times, outcomes and peaks on or off in this process."""

def metrics() -> bool:
    """Whether this process records handling times, outcomes and peaks."""

def _panic(message: str) -> None:
    """Panic inside the core with `message`."""

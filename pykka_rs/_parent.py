"""The pool of worker processes, as the parent process runs it.

The Rust core starts the workers, keeps every seat filled (a worker that
dies or hangs is replaced, after a backoff if it keeps failing) and routes
the messages. This module gives it what only Python knows (how to start an
interpreter like this one, what a worker must import); what the core
queues for Python (the workers' log records, their requests, the pool's
events) is done by the servant in `_control.py`, while any pool runs.
"""

from __future__ import annotations

import logging
import multiprocessing.spawn
import multiprocessing.util
import os
import pickle
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pykka_rs import _control as control
from pykka_rs import _core
from pykka_rs._logs import mirror_levels
from pykka_rs._pickling import PROTOCOL, dumps
from pykka_rs._remote import rebuild_ref
from pykka_rs._span import label
from pykka_rs._system import identity as system_identity

if TYPE_CHECKING:
    from pykka_rs import Actor, ActorRef

logger = logging.getLogger("pykka_rs.pool")

# How long a new worker may take to start and connect.
STARTUP_PATIENCE = 60.0

# How long start() waits for the worker's log records to be emitted here.
LOG_PATIENCE = 1.0

# How long, past the shutdown grace, a worker may take to exit before it is killed.
EXIT_MARGIN = 1.0


def worker_command() -> tuple[str, list[str]]:
    """How to start a worker: as multiprocessing's spawn starts a child.

    The same interpreter with the same flags (`-P`, `-I`, `-X ...`), and
    pykka_rs imported from where this process imported it, not from wherever
    the worker's own `sys.path` would find one first; the bootstrap then
    gives the worker this process's `sys.path`.
    """
    home = str(Path(__file__).resolve().parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {home!r}); "
        "from pykka_rs._worker import main; main()"
    )
    flags = multiprocessing.util._args_from_interpreter_flags()  # type: ignore[attr-defined]  # noqa: SLF001 (as spawn does)
    python = multiprocessing.spawn.get_executable() or sys.executable
    return os.fsdecode(python), [*flags, "-c", code]


class Parent:
    """The pool as the parent process runs it."""

    def __init__(
        self, size: int, *, shutdown_grace: float, heartbeat_timeout: float | None
    ) -> None:
        self.core = _core.Pool(size, tempfile.gettempdir())
        self.closing = False
        self.shutdown_grace = shutdown_grace
        try:
            from pykka_rs._process import preparation as prepare  # noqa: PLC0415 (import cycle)

            preparation = prepare()
            bootstrap = pickle.dumps(
                {
                    "socket": str(self.core.socket_path),
                    "secret": bytes(self.core.secret),
                    "parent": os.getpid(),
                    "preparation": preparation,
                    "spin": _core.spin(),
                    "metrics": _core.metrics(),
                    "message_limit": _core.message_limit(),
                    "shutdown_grace": shutdown_grace,
                    "system": system_identity(),
                },
                protocol=PROTOCOL,
            )
            python, args = worker_command()
            # Workers send only the log records this process would take.
            mirror_levels()
            control.join(
                "process",
                self.start,
                waiting={"supervised": self.start_supervised, "direct": self.direct},
                kill=self.kill,
            )
            self.core.start(
                python, args, bootstrap, STARTUP_PATIENCE, heartbeat_timeout
            )
            if not self.core.wait_ready(STARTUP_PATIENCE):
                msg = f"workers did not connect within {STARTUP_PATIENCE} seconds"
                raise RuntimeError(msg)  # noqa: TRY301 (cleaned up below, as any failure)
        except BaseException:
            # Ctrl-C or a failed start: leave no worker behind.
            self.closing = True
            self.core.shutdown(0.0)
            control.leave("process")
            raise

    def start(
        self,
        cls: type[Actor],
        seat: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ActorRef[Any]:
        urn = uuid.uuid4().urn
        payload = dumps((cls, args, kwargs, urn))
        process = self._choose(seat)
        number = self.core.spawn_actor(process, payload, f"{cls.__name__} ({urn})")
        if not control.serving():
            # The worker sent its log records ("Starting ...") before the
            # reply; emit them before start() returns, as a thread actor's are.
            _core.control_barrier().wait(LOG_PATIENCE)
        return rebuild_ref(process, number, urn, cls)

    def start_supervised(
        self,
        cls: type[Actor],
        process: int | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        context: dict[str, Any],
    ) -> tuple[int, int]:
        """Start a run of a supervised actor; return its mailbox's address."""
        payload = dumps(("supervised", cls, args, kwargs, context))
        if process is None:
            process = self._choose(None)
        label = str(context["ref"])
        number = self.core.spawn_actor(
            process, payload, label, count=context["reuse"] is None
        )
        if not control.serving():
            _core.control_barrier().wait(LOG_PATIENCE)
        return process, number

    def direct(self, process: int, directive: tuple[Any, ...]) -> Any:
        """Have worker `process` carry out a supervisor's directive."""
        return self.core.spawn_actor(
            process, dumps(directive), f"worker process {process}", count=False
        )

    def kill(self, process: int, why: str) -> None:
        """Kill worker `process`; its death is reported as `why`."""
        self.core.kill(process, why)

    def _choose(self, seat: int | None) -> int:
        """The process for the next actor, waiting while workers restart."""
        process = self.core.wait_for_worker(seat, STARTUP_PATIENCE)
        if process is None:
            msg = (
                f"no worker process came up within {STARTUP_PATIENCE} seconds "
                "to host the actor; the pool's log records say why"
            )
            raise RuntimeError(msg)
        return process

    def shutdown(self) -> None:
        """Stop every worker's actors and end the workers.

        A worker whose actors have not all stopped within the shutdown grace
        (one busy with a long message, say) is killed, with a warning that
        names the actors it still had.
        """
        killed = self.core.shutdown(self.shutdown_grace + EXIT_MARGIN)
        self.closing = True
        for process, pid, actors in killed:
            names = ", ".join(label(actor) for actor in actors) or "no registered actor"
            logger.warning(
                f"pykka_rs worker process {process} (pid {pid}) did not stop within "
                f"{self.shutdown_grace} seconds of the shutdown and was killed; "
                f"still running: {names}"
            )
        control.leave("process")

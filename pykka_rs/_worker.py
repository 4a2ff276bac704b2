"""A worker process: `main()`, which the pool starts in a fresh interpreter.

It reads its bootstrap from standard input (its number, the pool's socket
and token, and multiprocessing's spawn preparation data: sys.path, the
working directory, the main module), joins the pool, sends its log records
to the parent, and then makes the actors the parent asks for until it is
told to shut down or loses the parent.
"""

from __future__ import annotations

import logging
import multiprocessing.spawn
import os
import pickle
import shutil
import sys
from pathlib import Path
from typing import Any

from pykka_rs import _core
from pykka_rs._actor import Actor, assigned_urn
from pykka_rs._logs import ForwardHandler
from pykka_rs._pickling import dump_error, dumps, loads
from pykka_rs._process import become_worker
from pykka_rs._registry import ActorRegistry
from pykka_rs._remote import remember

logger = logging.getLogger("pykka_rs.worker")

# How long stopping the actors may take before the worker exits anyway; the
# parent kills a worker that takes longer than two seconds in all.
STOP_PATIENCE = 1.5


def spawn(reply: tuple[int, int], payload: bytes) -> None:
    """Make the actor the parent asked for, and answer with its number."""
    try:
        cls, args, kwargs, urn = loads(payload)
        with assigned_urn(urn):
            # Actor.start itself: ProcessActor.start would ask the pool again.
            ref = Actor.start.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]
        address = ref.actor_inbox.export()
        remember(address, ref)
        _core.reply(reply, True, dumps(address[1]))  # noqa: FBT003
    except BaseException as exc:  # noqa: BLE001 (the parent raises it)
        _core.reply(reply, False, dump_error(exc))  # noqa: FBT003


def stop_actors() -> None:
    """Stop this worker's actors, the last started first."""
    try:
        ActorRegistry.stop_all(timeout=STOP_PATIENCE)
    except Exception:
        logger.exception("not every actor stopped cleanly")


def serve(socket_path: str) -> None:
    """Handle the parent's requests until told to stop."""
    while True:
        item = _core.next_control(1.0)
        if item is None:
            continue
        kind = item[0]
        if kind == "spawn":
            spawn(item[1], item[2])
        elif kind == "dead_letter":
            logging.getLogger("pykka").warning(item[1])
        elif kind == "shutdown":
            stop_actors()
            return
        elif kind == "parent_lost":
            stop_actors()
            # The parent died without cleaning up: its private directory and
            # socket are left to its workers.
            shutil.rmtree(Path(socket_path).parent, ignore_errors=True)
            return


def main() -> None:
    bootstrap: dict[str, Any] = pickle.load(sys.stdin.buffer)  # noqa: S301 (our parent)
    # Standard input was only for the bootstrap; actors must not read the pipe.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Before the main module runs: an unguarded ProcessActor.start() in it
    # must fail, not start a pool of its own in every worker.
    side = become_worker()
    multiprocessing.spawn.prepare(bootstrap["preparation"])
    _core.set_spin(bootstrap["spin"])
    _core.join_pool(bootstrap["process"], bootstrap["socket"], bootstrap["token"])
    side.bootstrapping = False
    root = logging.getLogger()
    root.handlers[:] = [ForwardHandler()]
    root.setLevel(logging.NOTSET)
    serve(bootstrap["socket"])
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Actors' non-daemon threads have stopped or get no more time.
    os._exit(0)

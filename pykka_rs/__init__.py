"""Pykka's actor API on a Rust core.

`import pykka_rs as pykka` runs existing Pykka code unchanged.
"""

import logging as _logging

from pykka_rs._exceptions import ActorDeadError, RemoteError, Timeout
from pykka_rs._future import Future, get_all
from pykka_rs._proxy import ActorProxy, CallableProxy, traversable
from pykka_rs._ref import ActorRef
from pykka_rs._registry import ActorRegistry

# These import the names above, so they come last, in this order.
from pykka_rs._actor import Actor  # isort:skip
from pykka_rs._threading import ThreadingActor, ThreadingFuture  # isort:skip
from pykka_rs._process import ProcessActor, configure  # isort:skip
from pykka_rs._monitor import ActorExit, LinkError, Monitor, link, monitor, unlink  # isort:skip
from pykka_rs._supervisor import Backoff, ChildSpec, Supervisor, SupervisorError  # isort:skip

__all__ = [
    "Actor",
    "ActorDeadError",
    "ActorExit",
    "ActorProxy",
    "ActorRef",
    "ActorRegistry",
    "Backoff",
    "CallableProxy",
    "ChildSpec",
    "Future",
    "LinkError",
    "Monitor",
    "ProcessActor",
    "RemoteError",
    "Supervisor",
    "SupervisorError",
    "ThreadingActor",
    "ThreadingFuture",
    "Timeout",
    "configure",
    "get_all",
    "link",
    "monitor",
    "traversable",
    "unlink",
]

# Pykka's log records go to the "pykka" logger, quiet (as Pykka's) until the
# application configures logging. Those of "pykka_rs.*" (a worker died, a
# worker was killed at exit) get no handler: until logging is configured,
# Python's last resort prints their warnings and errors to stderr, so a
# failure of the process system is never silent.
_logging.getLogger("pykka").addHandler(_logging.NullHandler())

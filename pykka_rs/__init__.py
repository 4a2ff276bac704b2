"""Pykka's actor API on a Rust core.

`import pykka_rs as pykka` runs existing Pykka code unchanged.
"""

import logging as _logging

# First: in a subinterpreter, pykka_rs._core is a stand-in (see _select.py).
from pykka_rs import _select  # noqa: F401  # isort:skip
from pykka_rs._dead_letters import (
    DeadLetter,
    dead_letters,
    keep_dead_letters,
    on_dead_letter,
)
from pykka_rs._endpoint import StatsServer, serve_stats
from pykka_rs._exceptions import (
    ActorDeadError,
    ChannelClosed,
    ChannelEmpty,
    ChannelFull,
    MailboxFull,
    RemoteError,
    Timeout,
)
from pykka_rs._future import Future, get_all
from pykka_rs._prometheus import MetricsServer, StatsCollector, serve_metrics
from pykka_rs._proxy import ActorProxy, CallableProxy, traversable
from pykka_rs._ref import ActorRef
from pykka_rs._registry import ActorRegistry
from pykka_rs._stats import ActorStats, ChannelStats, SystemStats, WorkerStats, stats
from pykka_rs._top import top

# These import the names above, so they come last, in this order.
from pykka_rs._actor import Actor  # isort:skip
from pykka_rs._threading import ThreadingActor, ThreadingFuture  # isort:skip
from pykka_rs._process import ProcessActor, configure  # isort:skip
from pykka_rs._interpreters import InterpreterActor  # isort:skip
from pykka_rs._monitor import ActorExit, LinkError, Monitor, link, monitor, unlink  # isort:skip
from pykka_rs._supervisor import Backoff, ChildSpec, Supervisor, SupervisorError  # isort:skip
from pykka_rs._channel import Channel  # isort:skip

__all__ = [
    "Actor",
    "ActorDeadError",
    "ActorExit",
    "ActorProxy",
    "ActorRef",
    "ActorRegistry",
    "ActorStats",
    "Backoff",
    "CallableProxy",
    "Channel",
    "ChannelClosed",
    "ChannelEmpty",
    "ChannelFull",
    "ChannelStats",
    "ChildSpec",
    "DeadLetter",
    "Future",
    "InterpreterActor",
    "LinkError",
    "MailboxFull",
    "MetricsServer",
    "Monitor",
    "ProcessActor",
    "RemoteError",
    "StatsCollector",
    "StatsServer",
    "Supervisor",
    "SupervisorError",
    "SystemStats",
    "ThreadingActor",
    "ThreadingFuture",
    "Timeout",
    "WorkerStats",
    "configure",
    "dead_letters",
    "get_all",
    "keep_dead_letters",
    "link",
    "monitor",
    "on_dead_letter",
    "serve_metrics",
    "serve_stats",
    "stats",
    "top",
    "traversable",
    "unlink",
]

# Pykka's log records go to the "pykka" logger, quiet (as Pykka's) until the
# application configures logging. Those of "pykka_rs.*" (a worker died, a
# worker was killed at exit) get no handler: until logging is configured,
# Python's last resort prints their warnings and errors to stderr, so a
# failure of the process system is never silent.
_logging.getLogger("pykka").addHandler(_logging.NullHandler())

"""Which pykka_rs system this process belongs to.

A system is one program: the process that imported pykka_rs first and the
worker processes its pool starts. Addresses of actors and futures name a
process by its number in the system (0 for the parent, 1 and up for
workers), so they mean something only inside their own system: every
program's parent is process 0. Refs, proxies and futures therefore pickle
with the identity of their system, and unpickling compares it with this
process's identity (`pykka_rs._remote`).

The identity is 64 random bits, drawn when pykka_rs is imported; a worker
adopts its parent's from its bootstrap (`pykka_rs._worker.main`). A child
made with `os.fork()` is not a worker of any pool, so it draws a new one:
what its parent pickled is foreign to it.

Rejected: the pool's token or socket path, which change each time the pool
restarts (refs of thread actors outlive the pool), and the parent's process
id, which the operating system reuses.
"""

from __future__ import annotations

import os

__all__ = ["adopt", "identity"]


def _fresh() -> str:
    # Not `secrets`: it imports hashlib, which breaks the teardown of an
    # isolated subinterpreter on CPython 3.12, where this module loads too.
    return os.urandom(8).hex()


_identity = _fresh()


def identity() -> str:
    """This process's system, as 16 hexadecimal digits."""
    return _identity


def adopt(system: str) -> None:
    """Join the system `system` (a worker takes its parent's identity).

    Raises:
        TypeError: if `system` is not a string
    """
    global _identity  # noqa: PLW0603
    if not isinstance(system, str):
        msg = f"a system identity is a str, not {type(system).__name__}"
        raise TypeError(msg)
    _identity = system


def _renew() -> None:
    """Become a system of its own (a forked child)."""
    global _identity  # noqa: PLW0603
    _identity = _fresh()


os.register_at_fork(after_in_child=_renew)

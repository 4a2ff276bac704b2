"""The peers a benchmark compares, one module each, all with the same interface.

A peer module has `CASES: dict[str, Callable[[int], float]]`: each case runs
`loops` iterations of one operation and returns the seconds they took (the
shape of Pykka's own benchmark functions). `measure.py` imports one peer in
a fresh interpreter, so peers never share a process.
"""


class Unavailable(Exception):  # noqa: N818 (a state, not an error of ours)
    """Raised by a peer that cannot run on this machine; the message says why.

    `measure.py` reports it, and the report shows the peer's cells as n/a with
    the reason, instead of failing the whole run.
    """

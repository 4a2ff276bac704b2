"""The peers a benchmark compares, one module each, all with the same interface.

A peer module has `CASES: dict[str, Callable[[int], float]]`: each case runs
`loops` iterations of one operation and returns the seconds they took (the
shape of Pykka's own benchmark functions). `measure.py` imports one peer in
a fresh interpreter, so peers never share a process.
"""

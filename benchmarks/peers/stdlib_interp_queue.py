"""The standard library's interpreter queues: a round trip to a subinterpreter.

`concurrent.interpreters` (CPython 3.14 and later): the main interpreter puts
a message on one queue, a subinterpreter running a loop on a thread of its
own takes it and puts it on another, and the main interpreter takes it
back. `Queue.get()` polls, sleeping 10 ms between looks.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from peers import Unavailable

try:
    from concurrent import interpreters  # type: ignore[attr-defined, unused-ignore]
except ImportError:
    msg = "concurrent.interpreters needs CPython 3.14 or later"
    raise Unavailable(msg) from None

ECHO = """
while True:
    message = requests.get()
    if message is None:
        break
    replies.put(message)
"""


@functools.cache
def echo() -> tuple[Any, Any]:
    requests, replies = interpreters.create_queue(), interpreters.create_queue()
    interpreter = interpreters.create()
    interpreter.prepare_main(requests=requests, replies=replies)
    threading.Thread(target=interpreter.exec, args=(ECHO,), daemon=True).start()
    requests.put("warm")
    replies.get()
    return requests, replies


def bench_ask(loops: int) -> tuple[float, float]:
    requests, replies = echo()
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(loops):
        requests.put("ping")
        replies.get()
    elapsed = time.perf_counter() - start
    return elapsed, time.process_time() - cpu


NAME = "concurrent.interpreters queues"
CASES = {"ask": bench_ask}

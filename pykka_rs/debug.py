"""Debug helpers."""

import logging
import sys
import threading
import traceback
from typing import Any

__all__ = ["log_thread_tracebacks"]


logger = logging.getLogger("pykka")


def log_thread_tracebacks(*_args: Any, **_kwargs: Any) -> None:
    """Log the current stack of every thread, at `CRITICAL` level.

    Handy for finding out where actors deadlock. It takes any arguments, so it
    can be a signal handler:

        import logging
        import signal

        import pykka_rs.debug

        logging.basicConfig(level=logging.DEBUG)
        signal.signal(signal.SIGUSR1, pykka_rs.debug.log_thread_tracebacks)

    and then `kill -SIGUSR1 <pid>` logs every thread's stack.

    Python runs signal handlers in the main thread only, so it must register
    the handler and be free to run it. A main thread blocked in
    `Future.get()` is free to: pykka_rs waits in slices of 50 ms and runs
    pending signal handlers between them.
    """
    thread_names = {t.ident: t.name for t in threading.enumerate()}

    for ident, frame in sys._current_frames().items():  # noqa: SLF001
        name = thread_names.get(ident, "?")
        stack = "".join(traceback.format_stack(frame))
        logger.critical(f"Current state of {name} (ident: {ident}):\n{stack}")

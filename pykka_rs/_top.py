"""The live view: every mailbox of a system, deepest first, refreshed in place.

Drawn with `rich` (the optional extra `pykka_rs[top]`): a line about the
system, a table of the worker processes, a table of the actors sorted
by messages waiting, then by how many they handle per second, and, when
there are channels, a table of them, fullest first. Rates come from two
snapshots in a row. Ctrl-C ends it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from pykka_rs._stats import ActorStats, ChannelStats, SystemStats, stats

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console, RenderableType


def _rich() -> None:
    try:
        import rich  # noqa: F401, PLC0415 (optional: only the live view needs it)
    except ImportError as exc:
        msg = (
            "the live view needs the rich package: "
            "pip install 'pykka_rs[top]' (or pip install rich)"
        )
        raise ImportError(msg) from exc


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f}ms"
    return f"{seconds:.2f}s"


def _bytes(count: int | None) -> str:
    if count is None:
        return "-"
    return f"{count / (1 << 20):.1f}MiB"


def _where(process: int) -> str:
    return "main" if process == 0 else f"w{process}"


def _rate(now: float, then: float | None, seconds: float) -> float | None:
    if then is None or seconds <= 0:
        return None
    return max(0.0, now - then) / seconds


def render(
    now: SystemStats, before: SystemStats | None, rows: int = 50
) -> RenderableType:
    """The screen for snapshot `now`, with rates since `before`.

    Args:
        now: the latest snapshot
        before: the one before it, for rates; None for the first screen
        rows: the most actors to list

    Returns:
        what to draw
    """
    from rich.console import Group  # noqa: PLC0415 (optional dependency)
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    seconds = 0.0 if before is None else now.taken_at - before.taken_at
    was: dict[str, ActorStats] = {}
    cpu_was: dict[int, float] = {}
    if before is not None:
        was = {actor.actor_urn: actor for actor in before.actors}
        cpu_was = {worker.pid: worker.cpu_seconds for worker in before.workers}
        cpu_was[before.pid] = before.cpu_seconds

    waiting = sum(actor.waiting for actor in now.actors)
    header = Text.assemble(
        ("pykka_rs top", "bold"),
        f"  pid {now.pid}  {len(now.actors)} actors  {len(now.workers)} workers  ",
        (f"{waiting} waiting", "bold yellow" if waiting else ""),
        f"  dead letters {now.dead_letters}  ",
        "metrics on" if now.metrics else ("metrics off", "red"),
        f"  {time.strftime('%H:%M:%S', time.localtime(now.taken_at))}",
    )

    processes = Table(box=None, pad_edge=False)
    for column in (
        "proc",
        "pid",
        "seat",
        "cpu",
        "rss",
        "actors",
        "waiting",
        "restarts",
    ):
        processes.add_column(column, justify="right" if column != "proc" else "left")

    def cpu(pid: int, total: float) -> str:
        rate = _rate(total, cpu_was.get(pid), seconds)
        return f"{total:.1f}s" if rate is None else f"{rate * 100:.0f}%"

    mine = [a for a in now.actors if a.process == 0]
    processes.add_row(
        "main",
        str(now.pid),
        "-",
        cpu(now.pid, now.cpu_seconds),
        _bytes(now.rss_bytes),
        str(len(mine)),
        str(sum(a.waiting for a in mine)),
        "-",
    )
    for worker in now.workers:
        processes.add_row(
            _where(worker.process),
            str(worker.pid),
            str(worker.seat),
            cpu(worker.pid, worker.cpu_seconds),
            _bytes(worker.rss_bytes),
            str(worker.actors),
            str(worker.waiting),
            str(worker.restarts),
        )

    actors = Table(expand=False)
    for column, justify in [
        ("actor", "left"),
        ("urn", "left"),
        ("proc", "left"),
        ("waiting", "right"),
        ("peak", "right"),
        ("handled", "right"),
        ("per s", "right"),
        ("failed", "right"),
        ("p50", "right"),
        ("p99", "right"),
        ("busy", "right"),
    ]:
        actors.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]

    def per_second(actor: ActorStats) -> float:
        old = was.get(actor.actor_urn)
        rate = _rate(
            actor.handled + actor.failed,
            None if old is None else old.handled + old.failed,
            seconds,
        )
        return rate or 0.0

    ranked = sorted(now.actors, key=lambda a: (-a.waiting, -per_second(a), a.actor_urn))
    for actor in ranked[:rows]:
        old = was.get(actor.actor_urn)
        busy = _rate(actor.busy, None if old is None else old.busy, seconds)
        actors.add_row(
            actor.actor_class,
            actor.actor_urn.rsplit(":", 1)[-1][:8],
            _where(actor.process),
            Text(str(actor.waiting), style="bold yellow" if actor.waiting else ""),
            str(actor.high_water),
            str(actor.handled),
            "-" if old is None else f"{per_second(actor):.0f}",
            Text(str(actor.failed), style="red" if actor.failed else ""),
            _duration(actor.p50),
            _duration(actor.p99),
            "-" if busy is None else f"{busy * 100:.0f}%",
        )
    hidden = len(ranked) - rows
    parts: list[RenderableType] = [header, processes, actors]
    if hidden > 0:
        parts.append(Text(f"... and {hidden} more actors"))
    if now.channels:
        parts.append(_channels(now, before, seconds))
    return Group(*parts)


def _channels(
    now: SystemStats, before: SystemStats | None, seconds: float
) -> RenderableType:
    """The channels, fullest first, with the items received per second."""
    from rich.table import Table  # noqa: PLC0415 (optional dependency)
    from rich.text import Text  # noqa: PLC0415

    was: dict[tuple[int, str], ChannelStats] = {}
    if before is not None:
        was = {(c.process, c.name): c for c in before.channels}
    table = Table(expand=False)
    for column, justify in [
        ("channel", "left"),
        ("proc", "left"),
        ("waiting", "right"),
        ("capacity", "right"),
        ("peak", "right"),
        ("sent", "right"),
        ("received", "right"),
        ("per s", "right"),
        ("state", "left"),
    ]:
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    ranked = sorted(now.channels, key=lambda c: (-c.waiting / c.capacity, c.name))
    for channel in ranked:
        old = was.get((channel.process, channel.name))
        rate = _rate(channel.received, None if old is None else old.received, seconds)
        full = channel.waiting >= channel.capacity
        table.add_row(
            channel.name,
            _where(channel.process),
            Text(str(channel.waiting), style="bold yellow" if full else ""),
            str(channel.capacity),
            str(channel.high_water),
            str(channel.sent),
            str(channel.received),
            "-" if rate is None else f"{rate:.0f}",
            "closed" if channel.closed else "open",
        )
    return table


def run(
    source: Callable[[], SystemStats],
    *,
    interval: float = 1.0,
    duration: float | None = None,
    until: threading.Event | None = None,
    console: Console | None = None,
) -> None:
    """Draw snapshots from `source` every `interval` seconds until Ctrl-C.

    Stops after `duration` seconds if given, or once `until` is set, after
    a last screen. Ctrl-C ends it quietly.
    """
    from rich.console import Console  # noqa: PLC0415 (optional dependency)
    from rich.live import Live  # noqa: PLC0415

    if console is None:
        console = Console()
        if not console.is_terminal:
            # Printed to a file or a pipe: as wide as a table needs.
            console = Console(width=140)
    before: SystemStats | None = None
    deadline = None if duration is None else time.monotonic() + duration
    try:
        with Live(console=console, auto_refresh=False, screen=False) as live:
            while True:
                now = source()
                rows = max(5, live.console.size.height - len(now.workers) - 10)
                live.update(render(now, before, rows), refresh=True)
                before = now
                left = interval
                if deadline is not None:
                    left = min(left, deadline - time.monotonic())
                    if left <= 0:
                        break
                if until is None:
                    time.sleep(left)
                elif until.wait(left):
                    live.update(render(source(), before, rows), refresh=True)
                    break
    except KeyboardInterrupt:
        pass
    if not console.is_terminal:
        console.line()  # Live ends its last screen with a newline only in a terminal


def _check_arguments(
    interval: float, duration: float | None, until: threading.Event | None = None
) -> None:
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        msg = f"interval must be a number of seconds, not {type(interval).__name__}"
        raise TypeError(msg)
    if not interval > 0:
        msg = f"interval must be more than 0 seconds, not {interval}"
        raise ValueError(msg)
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int | float):
            msg = f"duration must be a number of seconds, not {type(duration).__name__}"
            raise TypeError(msg)
        if not duration >= 0:
            msg = f"duration must be a non-negative number of seconds, not {duration}"
            raise ValueError(msg)
    if until is not None and not isinstance(until, threading.Event):
        msg = f"until must be a threading.Event, not {type(until).__name__}"
        raise TypeError(msg)


def top(
    *,
    interval: float = 1.0,
    duration: float | None = None,
    until: threading.Event | None = None,
) -> None:
    """Show every mailbox of this program live in the terminal, deepest first.

    Blocks the calling thread, redrawing `stats()` every `interval` seconds,
    until Ctrl-C or, if given, for `duration` seconds or until `until` is
    set (say by the thread whose work is being watched). Needs the `rich`
    package (`pip install 'pykka_rs[top]'`). To watch a program from another
    terminal instead, call `serve_stats()` in it and run
    `python -m pykka_rs top`.

    Args:
        interval: seconds between two screens
        duration: seconds to run, or None until Ctrl-C
        until: an event that ends the view, after a last screen, once set

    Raises:
        ImportError: if `rich` is not installed
        ValueError: for an interval of 0 or less, or a negative duration
        TypeError: for an interval or duration that is not a number, or an
            `until` that is not a threading.Event
    """
    _check_arguments(interval, duration, until)
    _rich()
    run(stats, interval=interval, duration=duration, until=until)

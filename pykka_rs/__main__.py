"""`python -m pykka_rs top|stats`: watch a running pykka_rs program.

The program must serve its statistics (`pykka_rs.serve_stats()`); these
commands find its socket by process id, or take the only program of this
user that serves one.

    python -m pykka_rs top [--pid PID | --socket PATH] [--interval S] [--duration S]
    python -m pykka_rs stats [--pid PID | --socket PATH]

`top` shows every mailbox live, deepest first, until Ctrl-C; `stats` prints
one snapshot as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pykka_rs._endpoint import directory, fetch, serving, socket_path


def _target(args: argparse.Namespace) -> Path:
    if args.socket is not None:
        return Path(args.socket)
    if args.pid is not None:
        return socket_path(args.pid)
    found = serving()
    if len(found) == 1:
        return found[0]
    if not found:
        msg = (
            f"no pykka_rs program of this user serves its stats (in {directory()}); "
            "call pykka_rs.serve_stats() in the program"
        )
    else:
        pids = ", ".join(path.stem for path in found)
        msg = (
            f"several pykka_rs programs serve their stats (pids {pids}); "
            "choose one with --pid"
        )
    raise SystemExit(msg)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pykka_rs",
        description=(
            "Watch the actors of a running pykka_rs program that calls serve_stats()."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in [
        ("top", "show every mailbox live, deepest first (Ctrl-C quits)"),
        ("stats", "print one snapshot as JSON"),
    ]:
        command = commands.add_parser(name, help=text, description=text)
        where = command.add_mutually_exclusive_group()
        where.add_argument("--pid", type=int, help="the program's process id")
        where.add_argument("--socket", help="the socket the program serves on")
        if name == "top":
            command.add_argument(
                "--interval",
                type=float,
                default=1.0,
                help="seconds between screens (1)",
            )
            command.add_argument(
                "--duration", type=float, help="stop after this many seconds"
            )
    args = parser.parse_args(argv)
    path = _target(args)
    try:
        first = fetch(path)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read the stats served at {path}: {exc}") from exc
    if args.command == "stats":
        json.dump(first.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    from pykka_rs._top import _check_arguments, _rich, run  # noqa: PLC0415 (needs rich)

    try:
        _check_arguments(args.interval, args.duration)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    _rich()
    run(lambda: fetch(path), interval=args.interval, duration=args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())

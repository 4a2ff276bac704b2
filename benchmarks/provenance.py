"""Where a benchmark's figures come from, and where they go.

What every report in docs/benchmarks.md says of itself (the machine and the
commit), and how a report replaces its section there.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    """The CPUs, kernel and Python the figures were measured on."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} x {cpu}, Linux {platform.release()}, "
        f"CPython {platform.python_version()}"
    )


def commit() -> str:
    """The checkout's commit, marked if it has changes not committed."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "an unknown commit"
    return f"commit {head}" + (" with changes" if dirty else "")


def percentile(values: list[float], fraction: float) -> float:
    """The value `fraction` of the way up the sorted `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def write_section(path: Path, name: str, text: str) -> None:
    """Put `text` between `<!-- bench:NAME:begin -->` and its end in `path`.

    Raises:
        SystemExit: if `path` has no such section
    """
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    document = path.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(document):
        msg = f"{path} has no {begin} ... {end} section"
        raise SystemExit(msg)
    path.write_text(pattern.sub(lambda _: f"{begin}\n{text}\n{end}", document))

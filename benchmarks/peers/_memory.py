"""Memory of processes, as the kernel counts it for each (PSS)."""

from __future__ import annotations

from pathlib import Path


def pss(pids: list[int]) -> int:
    """The proportional set size of `pids`, in bytes: what they use, with
    pages shared between processes divided among them (a shared library
    counts once in total, not once per process)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total

"""The programs in examples/ run and print what they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-P", str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_demo_counts_words_through_actors() -> None:
    out = run("demo.py")
    assert "Reader tells each line to a counter:" in out
    assert re.search(r"Tally-\d+ got \d+ words from counter-\d", out)
    top = out.split("Most common words:")[1].split()
    assert top[:2] == ["a", "5"]
    # The live view's screen: the tally handled one message per line.
    screen = out.split("Their mailboxes:")[1]
    assert re.search(r"│ Tally\s*│[^│]*│ main\s*│\s*0\s*│[^│]*│\s*6\s*│", screen), (
        screen
    )
    assert len(re.findall(r"│ Counter\s*│", screen)) == 3, screen


def test_cpu_parallel_reports_both_kinds_of_actor() -> None:
    out = run("cpu_parallel.py", "20000")
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0].startswith("Counting primes below 20,000 with")
    for label in ("thread actors", "process actors"):
        (line,) = [line for line in lines if line.startswith(label)]
        timings = rf"{label}: 1 actor +[\d.]+ s, \d+ actors +[\d.]+ s, speedup +[\d.]+x"
        assert re.fullmatch(rf"{timings} \(2,262 primes\)", line), line


def test_supervised_pool_survives_a_killed_worker_and_shows_the_speedup() -> None:
    out = run("supervised_pool.py", "40000")
    lines = [line.strip() for line in out.splitlines()]
    assert re.fullmatch(
        r"Counting primes below 40,000 on \d+ supervised actors \(\d+ CPUs\):", lines[0]
    )
    (killed,) = [line for line in lines if line.startswith("killed worker process")]
    pid = killed.split()[3]
    (restart,) = [line for line in lines if line.startswith("restarted:")]
    assert "restarts ProcessCruncher" in restart
    assert f"(pid {pid}) killed by SIGKILL" in restart
    (processes,) = [line for line in lines if line.startswith("process actors:")]
    lost = r"\(\d+ slices lost with the worker, sent again\)"
    assert re.fullmatch(rf"process actors: 4,203 primes in [\d.]+ s {lost}", processes)
    (threads,) = [line for line in lines if line.startswith("thread actors:")]
    assert re.fullmatch(r"thread actors: +4,203 primes in [\d.]+ s", threads)
    assert re.fullmatch(
        r"speedup of process actors over thread actors: [\d.]+x", lines[-1]
    )


def test_supervised_pool_with_top_draws_the_crunchers_before_they_stop() -> None:
    # Not a terminal: rich prints the last screen only, drawn once the work
    # is done and before the pool stops.
    out = run("supervised_pool.py", "--top", "40000")
    lines = [line.strip() for line in out.splitlines()]
    (header,) = [line for line in lines if line.startswith("pykka_rs top")]
    assert re.search(r"\b\d+ actors\s+\d+ workers", header)
    crunchers = [line for line in lines if line.startswith("│ ProcessCruncher")]
    assert len(crunchers) == os.cpu_count()
    assert any(line.startswith("│ Supervisor") for line in lines)
    (processes,) = [line for line in lines if line.startswith("process actors:")]
    assert processes.startswith("process actors: 4,203 primes in")
    assert re.fullmatch(
        r"speedup of process actors over thread actors: [\d.]+x", lines[-1]
    )


def test_channel_pipeline_counts_every_slice_once() -> None:
    out = run("channel_pipeline.py", "40000")
    assert "primes below 40000: 4203" in out
    assert "checked against a count made here: right" in out
    jobs = re.search(r"jobs: sent 20, received 20, at most (\d+) of (\d+) waiting", out)
    assert jobs is not None, out
    assert int(jobs.group(1)) <= int(jobs.group(2))

"""What supervision costs: restarts, and messages to supervised actors.

Usage:
    python benchmarks/supervision.py [--rounds N] [--kills K] [--write FILE]

Measures, in one run, side by side:

- **thread restart**: a supervised thread actor crashes (a tell whose
  handler raises) with a message queued behind the crash; the time from the
  crash (taken in the handler, just before it raises) to the next run
  handling that message (taken in its handler). Many crashes in one process.
- **process restart**: the worker process of a supervised process actor is
  killed with SIGKILL; the time from the kill to the next run handling a
  message (taken in its handler, in another process: both clocks are the
  system's monotonic clock). The message is sent again each time it is lost
  with the dead worker. Each kill in a fresh interpreter with a fresh pool,
  so no kill finds the pool still replacing the last one: with a spare
  worker (the child restarts on it while the pool replaces the dead one),
  and without one (the child waits for the replacement). The time until
  the pool has replaced the dead worker is reported too.
- **tell and ask**: to a supervised actor and to an unsupervised one of the
  same class, thread actors and process actors, interleaved within each
  round in one process; the ratio is the median over rounds of the
  supervised time over the unsupervised, within each round.

Targets (issue 7): a thread restart <= 1 ms median; a process restart <= 100
ms median, worker replacement included; supervised tell and ask within 5% of
unsupervised. `--write FILE` replaces the section of FILE between
`<!-- bench:supervision:begin -->` and `<!-- bench:supervision:end -->`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# --- The actors (imported by workers from this file, as __mp_main__) ----------

import pykka_rs as pykka  # noqa: E402 (after the docstring and constants)

sys.path.insert(0, str(HERE))
from provenance import commit, machine, percentile, write_section  # noqa: E402


class Crasher(pykka.ThreadingActor):
    """Crashes when told to, noting when; notes when it handles the next message."""

    crashed_at = 0.0

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            type(self).crashed_at = time.perf_counter()
            msg = "crash"
            raise RuntimeError(msg)
        return time.perf_counter()


class Echo(pykka.ThreadingActor):
    def on_receive(self, message: Any) -> Any:
        return message


class ProcessEcho(pykka.ProcessActor):
    def on_receive(self, message: Any) -> Any:
        if message == "when":
            return (time.monotonic(), os.getpid())
        return message


# --- Samples, each in a fresh interpreter -----------------------------------------


def sample_thread_restarts(count: int) -> list[float]:
    """Seconds from crash to the next run's first message, `count` times."""
    sup = pykka.Supervisor.start(
        [pykka.ChildSpec(Crasher)], max_restarts=count + 1, within=3600.0
    )
    ref = sup.proxy().get_child("Crasher").get()
    ref.ask("warm up")
    latencies = []
    for _ in range(count):
        ref.tell("crash")
        handled_at = ref.ask("next")
        latencies.append(handled_at - Crasher.crashed_at)
    sup.stop()
    return latencies


def sample_process_restart(workers: int) -> list[float]:
    """[seconds from a worker's kill to the restarted child's first message,
    seconds until the pool has replaced the worker]."""
    pykka.configure(workers=workers)
    sup = pykka.Supervisor.start(
        [pykka.ChildSpec(ProcessEcho)], max_restarts=5, within=60.0
    )
    ref = sup.proxy().get_child("ProcessEcho").get()
    _, pid = ref.ask("when")
    for _ in range(100):  # warm both ends of the path
        ref.ask("ping")
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    while True:
        try:
            handled_at, new_pid = ref.ask("when", timeout=30)
            break
        except pykka.ActorDeadError:
            continue  # lost with the dead worker: send it again
    assert new_pid != pid
    while True:
        up = pykka._process.workers()  # noqa: SLF001
        if len(up) == workers and all(w["pid"] != pid for w in up):
            replaced_at = time.monotonic()
            break
        time.sleep(0.001)
    pykka.ActorRegistry.stop_all()
    return [handled_at - killed_at, replaced_at - killed_at]


def per_message(ref: pykka.ActorRef[Any], case: str, seconds: float) -> float:
    """Seconds per `tell` (one ask at the end waits for them) or per `ask`."""
    loops, elapsed = 100, 0.0
    while elapsed < seconds:
        started = time.perf_counter()
        if case == "tell":
            for n in range(loops):
                ref.tell(n)
            ref.ask("done")
        else:
            for n in range(loops):
                ref.ask(n)
        elapsed = time.perf_counter() - started
        if elapsed < seconds:
            loops *= 2
    return elapsed / loops


def sample_messages(rounds: int, seconds: float) -> dict[str, list[float]]:
    """Per-message seconds of each (kind, supervision, case), per round."""
    pykka.configure(workers=2)
    sup = pykka.Supervisor.start(
        [pykka.ChildSpec(Echo), pykka.ChildSpec(ProcessEcho)], max_restarts=0
    )
    refs = {
        ("thread", "unsupervised"): Echo.start(),
        ("thread", "supervised"): sup.proxy().get_child("Echo").get(),
        ("process", "unsupervised"): ProcessEcho.start(),
        ("process", "supervised"): sup.proxy().get_child("ProcessEcho").get(),
    }
    results: dict[str, list[float]] = {}
    order = list(refs)
    for round_number in range(rounds):
        # Alternate who goes first, so neither always runs on a warmer machine.
        for key in order if round_number % 2 == 0 else order[::-1]:
            for case in ("tell", "ask"):
                name = f"{key[0]}/{key[1]}/{case}"
                results.setdefault(name, []).append(
                    per_message(refs[key], case, seconds)
                )
    pykka.ActorRegistry.stop_all()
    return results


def run_sample(*args: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-P", str(Path(__file__)), "--sample", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        msg = f"sample {args} failed:\n{result.stderr}"
        raise RuntimeError(msg)
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- The report -----------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


def met(ok: bool) -> str:  # noqa: FBT001
    return "met" if ok else "**not met**"


def restart_rows(
    thread: list[float], spare: list[list[float]], alone: list[list[float]]
) -> list[str]:
    rows = [
        "| Restart | Samples | Median | 90th percentile | Target |",
        "|---|---|---|---|---|",
    ]
    median = statistics.median(thread)
    rows.append(
        f"| thread actor, crash to next message | {len(thread)} | {ms(median)}"
        f" | {ms(percentile(thread, 0.9))} | <= 1 ms: {met(median <= 0.001)} |"
    )
    for label, samples in (
        ("process actor, worker killed (pool with a spare worker)", spare),
        ("process actor, worker killed (pool of one worker)", alone),
    ):
        restarts = [s[0] for s in samples]
        median = statistics.median(restarts)
        rows.append(
            f"| {label}, kill to next message | {len(samples)} | {ms(median)}"
            f" | {ms(percentile(restarts, 0.9))} | <= 100 ms: {met(median <= 0.1)} |"
        )
        replaced = [s[1] for s in samples]
        rows.append(
            f"| {label}, kill to the dead worker replaced | {len(samples)}"
            f" | {ms(statistics.median(replaced))}"
            f" | {ms(percentile(replaced, 0.9))} | (reported) |"
        )
    return rows


def message_rows(results: dict[str, list[float]]) -> list[str]:
    rows = [
        "| Actor | Case | Unsupervised | Supervised | Ratio | Target |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("thread", "process"):
        for case in ("tell", "ask"):
            plain = results[f"{kind}/unsupervised/{case}"]
            supervised = results[f"{kind}/supervised/{case}"]
            pairs = zip(supervised, plain, strict=True)
            ratio = statistics.median(s / p for s, p in pairs)
            rows.append(
                f"| {kind} | {case} | {us(statistics.median(plain))}"
                f" | {us(statistics.median(supervised))} | {ratio:.3f}x"
                f" | within 5%: {met(ratio <= 1.05)} |"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--kills", type=int, default=15)
    parser.add_argument("--restarts", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--sample", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sample:
        kind, *rest = args.sample
        if kind == "thread":
            print(json.dumps(sample_thread_restarts(int(rest[0]))))
        elif kind == "process":
            print(json.dumps(sample_process_restart(int(rest[0]))))
        else:
            print(json.dumps(sample_messages(int(rest[0]), float(rest[1]))))
        return

    command = "python benchmarks/supervision.py " + shlex.join(sys.argv[1:])
    when = dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print("tell and ask...", file=sys.stderr)
    messages = run_sample("messages", str(args.rounds), str(args.seconds))
    print("thread restarts...", file=sys.stderr)
    thread = run_sample("thread", str(args.restarts))
    spare, alone = [], []
    for n in range(args.kills):
        print(f"process restarts, kill {n + 1} of {args.kills}...", file=sys.stderr)
        spare.append(run_sample("process", "2"))
        alone.append(run_sample("process", "1"))
    lines = [
        "### Supervision: restarts, and messages to supervised actors",
        "",
        (
            f"Measured {when} on {machine()}, at {commit()}, with"
            f" `{command.strip()}`: {args.restarts} thread restarts in one"
            f" process; {args.kills} worker kills of each kind, each in a fresh"
            f" interpreter and pool; {args.rounds} rounds of tell and ask, each"
            f" case about {args.seconds} s per round."
        ),
        "",
        *restart_rows(thread, spare, alone),
        "",
        *message_rows(messages),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "supervision", text)


if __name__ == "__main__":
    main()

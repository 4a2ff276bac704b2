"""Run pykka_rs side by side with its peers and report the ratios.

Usage:
    python benchmarks/run.py [--suite NAME] [--rounds N] [--seconds S]
                             [--pinned] [--write FILE]

Each measurement runs in a fresh interpreter (`measure.py`). Within a round
every case is measured for every peer, one after the other, so drift on a
shared machine hits all peers alike; the report gives the median over all
rounds and the ratio of each peer to the baseline (the suite's first peer).
Targets live here, not in the tests: the report says which are met. A peer
without a case shows n/a there; a peer that cannot run on this machine
(`peers.Unavailable`) shows n/a everywhere, and the report says why.

Suites: "pykka" (Pykka's own cases), "process" (process actors against other
ways to talk across processes), "large" (a 10 MB message to a process actor
and back, against a multiprocessing.Pipe and a memcpy), "cpu" (CPU-bound
work on 1 actor, then split over one actor per core: the report gives each
peer's speedup), "metrics"
(pykka_rs with metrics on against metrics off, and the cost of reading them),
"interpreter" (interpreter actors against process actors, bare processes and
the standard library's interpreter queues: round trips with their CPU time, a
10 MB message, CPU-bound speedup and memory per worker; CPython 3.12 or later,
and 3.14 for the queues), "thespian" and "thespian-simple" (pykka_rs.thespian
against Thespian 4.0.1 on multiprocQueueBase, with memory per actor, and on
simpleSystemBase).

`--pinned` measures a second time with every process pinned to one CPU (the
way Pykka's own benchmark README recommends for stable numbers); the default
run uses every CPU, as programs do. `--write FILE` replaces the suite's
section in FILE (between `<!-- bench:NAME:begin -->` and `<!-- ...:end -->`)
with the tables, the machine and the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

sys.path.insert(0, str(HERE))
from provenance import commit, machine, write_section  # noqa: E402

K = os.cpu_count() or 1

SECONDS = "seconds"
"""`Target(against=SECONDS)`: the bound is on the peer's median time itself."""


@dataclass(frozen=True)
class Target:
    """The most `peer` may take relative to `against`, e.g. 0.5 = twice as fast.

    `peer` defaults to the suite's first peer after the baseline, `against`
    to the baseline: those targets show in the table's columns, the others
    in a list below it.
    """

    max_ratio: float
    text: str
    against: str | None = None
    peer: str | None = None


@dataclass(frozen=True)
class Speedup:
    """Report each peer's time on case `one` over its time on case `many`."""

    one: str
    many: str
    unit: str  # what one loop of the cases is
    targets: dict[str, tuple[float, float, str]]  # peer -> (lowest, highest, text)
    # peer -> (other peer, least fraction of the other's speedup, text)
    relative: dict[str, tuple[str, float, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Memory:
    """Memory per worker of each peer's pool of `workers`; `peer` at most
    `max_ratio` of `against`'s."""

    workers: int
    peer: str
    against: str
    max_ratio: float
    text: str
    # What `workers` counts: a pool's workers, or (Thespian) actors.
    unit: str = "worker"


@dataclass(frozen=True)
class Suite:
    title: str
    baseline: str
    peers: dict[str, str]  # module in peers/ -> name in the table
    cases: list[str]
    targets: dict[str, list[Target]] = field(default_factory=dict)
    speedup: Speedup | None = None  # report speedups for its two cases
    memory: Memory | None = None  # also measure memory per worker
    seconds: float = 0.2  # length of one sample, unless --seconds says


SUITES = {
    "pykka": Suite(
        title="Pykka's own benchmark cases: pykka_rs thread actors against Pykka 4.5.0",
        baseline="pykka",
        peers={"pykka": "Pykka 4.5.0", "pykka_rs_threads": "pykka_rs threads"},
        cases=[
            "tell",
            "ask",
            "proxy_call",
            "proxy_attr",
            "proxy_traversable_call",
            "proxy_traversable_attr",
            "start_stop",
        ],
        targets={
            "tell": [Target(1 / 3, "throughput >= 3x")],
            "ask": [Target(0.5, "time <= 0.5x")],
            "proxy_call": [Target(0.5, "time <= 0.5x")],
            "proxy_attr": [Target(0.5, "time <= 0.5x")],
            "start_stop": [Target(1.0, "time <= 1x")],
        },
    ),
    "process": Suite(
        title=(
            "Across processes: pykka_rs process actors against pykka_rs thread"
            " actors, multiprocessing, Thespian and Ray"
        ),
        baseline="pykka_rs_threads",
        peers={
            "pykka_rs_threads": "pykka_rs threads",
            "pykka_rs_process": "pykka_rs processes",
            "mp_pipe": "multiprocessing.Pipe",
            "mp_queue": "multiprocessing.Queue",
            "thespian_queue": "Thespian multiprocQueueBase",
            "ray_actors": "Ray",
        },
        cases=["ask", "tell", "start"],
        targets={
            "ask": [
                Target(3.0, "time <= 3x"),
                Target(1.0, "time <= 1x", against="mp_pipe"),
                Target(0.1, "10x faster", against="thespian_queue"),
                Target(0.1, "10x faster", against="ray_actors"),
            ],
            "tell": [Target(1 / 3, "throughput >= 3x", against="mp_queue")],
            "start": [Target(0.002, "median <= 2 ms (warm pool)", against=SECONDS)],
        },
    ),
    "large": Suite(
        title=(
            "A 10 MB message to a process actor and back: shared memory against"
            " multiprocessing.Pipe and a memcpy"
        ),
        baseline="mp_pipe",
        peers={
            "mp_pipe": "multiprocessing.Pipe",
            "pykka_rs_process": "pykka_rs processes",
            "memcpy": "memcpy (the floor)",
        },
        cases=["bytes_10mb"],
        targets={
            "bytes_10mb": [Target(0.5, "throughput >= 2x")],
        },
    ),
    "metrics": Suite(
        title="The cost of metrics: pykka_rs with metrics on against metrics off",
        baseline="pykka_rs_metrics_off",
        peers={
            "pykka_rs_metrics_off": "metrics off",
            "pykka_rs_metrics_on": "metrics on",
        },
        cases=[
            "tell",
            "ask",
            "tell_process",
            "depth",
            "depth_process",
            "stats_actor",
            "stats_system",
        ],
        targets={
            "tell": [Target(1 / 0.95, "throughput within 5%")],
            "tell_process": [Target(1 / 0.95, "throughput within 5%")],
            "depth": [
                Target(1e-6, "median < 1 µs", against=SECONDS),
                Target(
                    1e-6, "median < 1 µs", against=SECONDS, peer="pykka_rs_metrics_off"
                ),
            ],
        },
    ),
    "cpu": Suite(
        title=f"CPU-bound Python code on 1 actor, then split over {K} actors",
        baseline="pykka",
        peers={
            "pykka_rs_process": "pykka_rs processes",
            "pykka_rs_threads": "pykka_rs threads",
            "pykka": "Pykka 4.5.0",
            "mp_pool": "multiprocessing.Pool (no actors)",
        },
        cases=["cpu_1", "cpu_k"],
        speedup=Speedup(
            one="cpu_1",
            many="cpu_k",
            unit="10,000 iterations",
            targets={
                "pykka_rs_process": (0.9 * K, math.inf, f"speedup >= {0.9 * K:g}x"),
                "pykka": (0.8, 1.25, "near 1x (the GIL)"),
            },
        ),
        seconds=0.3,
    ),
    "interpreter": Suite(
        title=(
            "Interpreter actors against process actors, bare processes and the"
            " standard library's interpreter queues"
        ),
        baseline="pykka_rs_process",
        peers={
            "pykka_rs_process": "pykka_rs processes",
            "pykka_rs_interp": "pykka_rs interpreters",
            "stdlib_interp_queue": "concurrent.interpreters queues",
            "mp_pool": "multiprocessing.Pool (no actors)",
        },
        cases=["ask", "bytes_10mb", "cpu_1", "cpu_k"],
        targets={
            "ask": [
                Target(0.5, "time <= 0.5x"),
                Target(1 / 200, "200x faster", against="stdlib_interp_queue"),
            ],
            "bytes_10mb": [Target(10e6 / 3e9, ">= 3 GB/s", against=SECONDS)],
        },
        speedup=Speedup(
            one="cpu_1",
            many="cpu_k",
            unit="10,000 iterations",
            targets={},
            relative={
                "pykka_rs_interp": (
                    "mp_pool",
                    0.95,
                    ">= 0.95 of multiprocessing.Pool's",
                )
            },
        ),
        memory=Memory(
            workers=K,
            peer="pykka_rs_interp",
            against="pykka_rs_process",
            max_ratio=1 / 3,
            text="<= 1/3 of a process worker's",
        ),
        seconds=0.3,
    ),
    "thespian": Suite(
        title=(
            "Thespian's API: pykka_rs.thespian against Thespian 4.0.1, both on"
            " multiprocQueueBase (actors in other processes)"
        ),
        baseline="thespian_queue",
        peers={
            "thespian_queue": "Thespian multiprocQueueBase",
            "pykka_rs_thespian_queue": "pykka_rs.thespian multiprocQueueBase",
        },
        cases=["ask", "tell"],
        targets={
            "ask": [Target(1 / 20, "20x faster")],
            "tell": [Target(1 / 20, "throughput >= 20x")],
        },
        memory=Memory(
            workers=20,
            peer="pykka_rs_thespian_queue",
            against="thespian_queue",
            max_ratio=1 / 50,
            text="<= 1/50 of Thespian's",
            unit="actor",
        ),
    ),
    "thespian-simple": Suite(
        title=(
            "Thespian's API: pykka_rs.thespian against Thespian 4.0.1, both on"
            " simpleSystemBase (every actor in the caller's thread)"
        ),
        baseline="thespian_simple",
        peers={
            "thespian_simple": "Thespian simpleSystemBase",
            "pykka_rs_thespian_simple": "pykka_rs.thespian simpleSystemBase",
        },
        cases=["ask", "tell"],
        targets={
            "ask": [Target(1 / 3, "3x faster")],
            "tell": [Target(1 / 3, "throughput >= 3x")],
        },
    ),
}


class PeerUnavailable(Exception):  # noqa: N818 (a state, not a failure)
    """A peer that cannot run on this machine; the message says why."""


def measure(
    peer: str, case: str, seconds: float, repeats: int, cpu: int | None
) -> list[float] | dict[str, list[float]] | None:
    """Seconds per loop of each repeat, or None if the peer has no such case.

    A case that measures CPU time too gives `{"wall": [...], "cpu": [...]}`.

    Raises:
        PeerUnavailable: if the peer cannot run here
    """
    command = [
        sys.executable,
        "-P",
        str(HERE / "measure.py"),
        peer,
        case,
        str(seconds),
        str(repeats),
    ]
    if cpu is not None:
        command.append(str(cpu))
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        msg = f"{peer}/{case} failed:\n{result.stderr}"
        raise RuntimeError(msg)
    samples: list[float] | dict[str, Any] | None = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    if isinstance(samples, dict) and "unavailable" in samples:
        raise PeerUnavailable(samples["unavailable"])
    return samples


# case -> peer -> rounds -> samples; a round's list is empty where nothing ran
Samples = dict[str, dict[str, list[list[float]]]]


def run_suite(
    suite: Suite, rounds: int, seconds: float, cpu: int | None
) -> tuple[Samples, dict[str, str]]:
    """The samples, and the peers that could not run, with the reason.

    CPU time per loop, for the cases that measure it, goes in under the
    case's name with ":cpu" appended.
    """
    samples: Samples = {c: {p: [] for p in suite.peers} for c in suite.cases}
    for case in suite.cases:
        samples[f"{case}:cpu"] = {p: [] for p in suite.peers}
    unavailable: dict[str, str] = {}
    missing: set[tuple[str, str]] = set()
    for round_no in range(rounds):
        for case in suite.cases:
            # Alternate the first peer: neither always runs on a warmer machine.
            peers = (
                list(suite.peers) if round_no % 2 == 0 else list(reversed(suite.peers))
            )
            for peer in peers:
                result = None
                if peer not in unavailable and (peer, case) not in missing:
                    try:
                        result = measure(peer, case, seconds, 3, cpu)
                    except PeerUnavailable as exc:
                        unavailable[peer] = str(exc)
                    if result is None:
                        missing.add((peer, case))
                if isinstance(result, dict):
                    samples[f"{case}:cpu"][peer].append(result["cpu"])
                    result = result["wall"]
                samples[case][peer].append(result or [])
        print(f"  round {round_no + 1}/{rounds} done", file=sys.stderr)
    if suite.memory is not None:
        samples["memory"] = measure_memory(suite.memory, cpu, unavailable)
    return samples, unavailable


def measure_memory(
    memory: Memory, cpu: int | None, unavailable: dict[str, str]
) -> dict[str, list[list[float]]]:
    """Bytes per worker of the two peers the memory target compares."""
    taken: dict[str, list[list[float]]] = {}
    for peer in (memory.peer, memory.against):
        try:
            per_worker = measure(peer, f"memory:{memory.workers}", 0, 1, cpu)
        except PeerUnavailable as exc:
            unavailable[peer] = str(exc)
            continue
        if isinstance(per_worker, list):
            taken[peer] = [per_worker]
    return taken


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    micros = seconds * 1e6
    return f"{micros:.2f} µs" if micros < 100 else f"{micros:.0f} µs"


def fmt_ratio(ratio: float | None, digits: int = 3) -> str:
    return "n/a" if ratio is None else f"{ratio:.{digits}f}x"


def median(rounds: list[list[float]]) -> float | None:
    """The median of all samples of all rounds."""
    flat = [s for r in rounds for s in r]
    return statistics.median(flat) if flat else None


def paired_ratio(ours: list[list[float]], baseline: list[list[float]]) -> float | None:
    """The median over rounds of each round's ratio: the machine's drift
    between rounds cancels out, since both peers ran in the same round."""
    ratios = [
        statistics.median(o) / statistics.median(b)
        for o, b in zip(ours, baseline, strict=True)
        if o and b
    ]
    return statistics.median(ratios) if ratios else None


def judge(value: float | None, low: float, high: float) -> str:
    if value is None:
        return "**n/a**"
    return "yes" if low <= value <= high else "**no**"


def unavailable_notes(suite: Suite, unavailable: dict[str, str]) -> list[str]:
    return [
        f"- {suite.peers[p]}: unavailable here, so n/a: {why}"
        for p, why in unavailable.items()
    ]


def table(
    suite: Suite, samples: Samples, unavailable: dict[str, str]
) -> tuple[str, list[str]]:
    """Medians and ratios to the baseline; targets between other peers below."""
    others = [p for p in suite.peers if p != suite.baseline]
    cases = [
        case
        for case in suite.cases
        if suite.speedup is None or case not in {suite.speedup.one, suite.speedup.many}
    ]
    if not cases:
        return "", []
    head = ["case", *(f"{suite.peers[p]} (median)" for p in suite.peers)]
    head += [f"{suite.peers[p]} / {suite.peers[suite.baseline]}" for p in others]
    head += ["target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    below = []
    missed = []
    for case in cases:
        ratios = [
            paired_ratio(samples[case][p], samples[case][suite.baseline])
            for p in others
        ]
        cpu = samples.get(f"{case}:cpu", {})
        row = [
            case,
            *(
                fmt_time(median(samples[case][p]))
                + (
                    f" ({fmt_time(median(cpu[p]))} CPU)"
                    if cpu.get(p) and any(cpu[p])
                    else ""
                )
                for p in suite.peers
            ),
        ]
        row += [fmt_ratio(r) for r in ratios]
        in_table = ["", ""]
        for target in suite.targets.get(case, []):
            peer = target.peer or others[0]
            against = target.against or suite.baseline
            if against == SECONDS:
                value = median(samples[case][peer])
                shown = f"median {fmt_time(value)}"
            else:
                value = paired_ratio(samples[case][peer], samples[case][against])
                names = f"{suite.peers[peer]} / {suite.peers[against]}"
                shown = f"{names} = {fmt_ratio(value)}"
            met = judge(value, -math.inf, target.max_ratio)
            if peer == others[0] and against == suite.baseline:
                in_table = [target.text, met]
                missed += [case] if met != "yes" else []
            else:
                below.append(f"- {case}: {shown}; target {target.text}: {met}")
                missed += [f"{case} ({target.text}: {shown})"] if met != "yes" else []
        lines.append("| " + " | ".join([*row, *in_table]) + " |")
    if below:
        lines += ["", "Targets between other peers:", "", *below]
    notes = unavailable_notes(suite, unavailable)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines), missed


def speedup_table(
    suite: Suite, samples: Samples, unavailable: dict[str, str]
) -> tuple[str, list[str]]:
    """Per peer: time on one actor, on many, and the speedup between them."""
    assert suite.speedup is not None
    one, many = suite.speedup.one, suite.speedup.many
    head = [
        "peer",
        f"{one} (median per {suite.speedup.unit})",
        f"{many} (median per {suite.speedup.unit})",
        f"speedup ({one} / {many})",
        "target",
        "met",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    missed = []
    for peer, name in suite.peers.items():
        # Paired per round, as ratios to a baseline are.
        speedup = paired_ratio(samples[one][peer], samples[many][peer])
        row = [name, fmt_time(median(samples[one][peer]))]
        row += [fmt_time(median(samples[many][peer])), fmt_ratio(speedup, 2)]
        if peer in suite.speedup.relative:
            other, fraction, text = suite.speedup.relative[peer]
            theirs = paired_ratio(samples[one][other], samples[many][other])
            share = None if speedup is None or not theirs else speedup / theirs
            met = judge(share, fraction, math.inf)
            text = f"{text} ({fmt_ratio(share, 2)} of it)"
            if met != "yes":
                missed.append(f"{name} ({text})")
            row += [text, met]
        elif peer in suite.speedup.targets:
            low, high, text = suite.speedup.targets[peer]
            met = judge(speedup, low, high)
            if met != "yes":
                missed.append(f"{name} ({text}: {fmt_ratio(speedup, 2)})")
            row += [text, met]
        else:
            row += ["", ""]
        lines.append("| " + " | ".join(row) + " |")
    notes = unavailable_notes(suite, unavailable)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines), missed


def memory_table(suite: Suite, samples: Samples) -> tuple[str, list[str]]:
    """Memory per worker, measured as the kernel's PSS."""
    assert suite.memory is not None
    memory = suite.memory
    taken = samples.get("memory", {})
    values = {p: median(taken.get(p, [])) for p in (memory.peer, memory.against)}
    title = (
        f"Memory per worker, pools of {memory.workers} (PSS, after one actor each):"
        if memory.unit == "worker"
        else f"Memory per {memory.unit}, {memory.workers} of them after "
        f"{memory.workers} others (PSS, every process):"
    )
    lines = [
        title,
        "",
        f"| peer | memory per {memory.unit} | target | met |",
        "|---|---|---|---|",
    ]
    ours, theirs = values[memory.peer], values[memory.against]
    ratio = None if ours is None or not theirs else ours / theirs
    met = judge(ratio, -math.inf, memory.max_ratio)
    for peer, value in values.items():
        shown = "n/a" if value is None else f"{value / 1e6:.2f} MB"
        target = (
            [f"{memory.text} ({fmt_ratio(ratio)})", met]
            if peer == memory.peer
            else ["", ""]
        )
        lines.append("| " + " | ".join([suite.peers[peer], shown, *target]) + " |")
    return "\n".join(lines), [] if met == "yes" else [f"memory ({memory.text})"]


def report(
    suite: Suite, samples: Samples, unavailable: dict[str, str]
) -> tuple[str, list[str]]:
    """The suite's tables: ratios, speedups and memory, as it measures them."""
    parts, missed = [], []
    text, lost = table(suite, samples, unavailable)
    if text:
        parts.append(text)
        missed += lost
    if suite.speedup is not None:
        text, lost = speedup_table(suite, samples, {} if parts else unavailable)
        parts.append(text)
        missed += lost
    if suite.memory is not None:
        text, lost = memory_table(suite, samples)
        parts.append(text)
        missed += lost
    return "\n\n".join(parts), missed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", choices=sorted(SUITES), default="pykka")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--seconds", type=float, help="length of one sample (default: the suite's)"
    )
    parser.add_argument(
        "--pinned", action="store_true", help="also measure pinned to one CPU"
    )
    parser.add_argument(
        "--write", type=Path, help="update this markdown file's section"
    )
    parser.add_argument("--cases", nargs="+", help="only these cases")
    args = parser.parse_args()
    suite = SUITES[args.suite]
    seconds = args.seconds or suite.seconds
    if args.cases:
        suite = dataclasses.replace(
            suite, cases=[c for c in suite.cases if c in args.cases]
        )

    modes: list[tuple[str, int | None]] = [("Every CPU (default)", None)]
    if args.pinned:
        modes.append(("Pinned to one CPU", min(os.sched_getaffinity(0))))

    command = "python benchmarks/run.py " + shlex.join(sys.argv[1:])
    when = dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"### {suite.title}",
        "",
        (
            f"Measured {when} on {machine()}, at {commit()}, with"
            f" `{command.strip()}`:"
            f" {args.rounds} rounds, 3 samples of about {seconds} s"
            " per peer, case and round. Times are medians of all samples;"
            " a ratio is the median over rounds of the ratio within each round."
        ),
        "",
    ]
    all_missed: dict[str, list[str]] = {}
    results = {}
    for label, cpu in modes:
        print(f"{suite.title}, {label}:", file=sys.stderr)
        samples, unavailable = run_suite(suite, args.rounds, seconds, cpu)
        results[label] = samples
        if unavailable:
            results[f"{label}: unavailable"] = unavailable
        text, missed = report(suite, samples, unavailable)
        all_missed[label] = missed
        out += [f"**{label}**", "", text, ""]

    text = "\n".join(out)
    print(text)
    cache = Path(os.environ.get("PYKKA_RS_CACHE", REPO / ".cache")) / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"{args.suite}.json").write_text(json.dumps(results, indent=1))
    for label, missed in all_missed.items():
        if missed:
            print(f"targets missed ({label}): {', '.join(missed)}", file=sys.stderr)

    if args.write:
        write_section(args.write, args.suite, text)


if __name__ == "__main__":
    main()

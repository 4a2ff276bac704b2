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
ways to talk across processes), "cpu" (CPU-bound work on 1 actor, then split
over one actor per core: the report gives each peer's speedup), "metrics"
(pykka_rs with metrics on against metrics off, and the cost of reading them).

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
import platform
import re
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


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


@dataclass(frozen=True)
class Suite:
    title: str
    baseline: str
    peers: dict[str, str]  # module in peers/ -> name in the table
    cases: list[str]
    targets: dict[str, list[Target]] = field(default_factory=dict)
    speedup: Speedup | None = None  # report speedups instead of ratios
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
}


class PeerUnavailable(Exception):  # noqa: N818 (a state, not a failure)
    """A peer that cannot run on this machine; the message says why."""


def measure(
    peer: str, case: str, seconds: float, repeats: int, cpu: int | None
) -> list[float] | None:
    """Seconds per loop of each repeat, or None if the peer has no such case.

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
    samples: list[float] | dict[str, str] | None = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    if isinstance(samples, dict):
        raise PeerUnavailable(samples["unavailable"])
    return samples


# case -> peer -> rounds -> samples; a round's list is empty where nothing ran
Samples = dict[str, dict[str, list[list[float]]]]


def run_suite(
    suite: Suite, rounds: int, seconds: float, cpu: int | None
) -> tuple[Samples, dict[str, str]]:
    """The samples, and the peers that could not run, with the reason."""
    samples: Samples = {c: {p: [] for p in suite.peers} for c in suite.cases}
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
                samples[case][peer].append(result or [])
        print(f"  round {round_no + 1}/{rounds} done", file=sys.stderr)
    return samples, unavailable


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
    head = ["case", *(f"{suite.peers[p]} (median)" for p in suite.peers)]
    head += [f"{suite.peers[p]} / {suite.peers[suite.baseline]}" for p in others]
    head += ["target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    below = []
    missed = []
    for case in suite.cases:
        ratios = [
            paired_ratio(samples[case][p], samples[case][suite.baseline])
            for p in others
        ]
        row = [case, *(fmt_time(median(samples[case][p])) for p in suite.peers)]
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
        if peer in suite.speedup.targets:
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


def machine() -> str:
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
    report = speedup_table if suite.speedup else table
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
            f"Measured {when} on {machine()}, with `{command.strip()}`:"
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
        begin, end = (
            f"<!-- bench:{args.suite}:begin -->",
            f"<!-- bench:{args.suite}:end -->",
        )
        doc = args.write.read_text()
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(doc):
            msg = f"{args.write} has no {begin} ... {end} section"
            raise SystemExit(msg)
        args.write.write_text(pattern.sub(lambda _: f"{begin}\n{text}\n{end}", doc))


if __name__ == "__main__":
    main()

"""Run pykka_rs side by side with its peers and report the ratios.

Usage:
    python benchmarks/run.py [--suite NAME] [--rounds N] [--seconds S]
                             [--pinned] [--write FILE]

Each measurement runs in a fresh interpreter (`measure.py`). Within a round
every case is measured for every peer, one after the other, so drift on a
shared machine hits all peers alike; the report gives the median over all
rounds and the ratio of each peer to the baseline (the suite's first peer).
Targets live here, not in the tests: the report says which are met.

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


@dataclass(frozen=True)
class Target:
    """The most a case may take relative to the baseline, e.g. 0.5 = twice as fast."""

    max_ratio: float
    text: str


@dataclass(frozen=True)
class Suite:
    title: str
    baseline: str
    peers: dict[str, str]  # module in peers/ -> name in the table
    cases: list[str]
    targets: dict[str, Target] = field(default_factory=dict)


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
            "tell": Target(1 / 3, "throughput >= 3x"),
            "ask": Target(0.5, "time <= 0.5x"),
            "proxy_call": Target(0.5, "time <= 0.5x"),
            "proxy_attr": Target(0.5, "time <= 0.5x"),
            "start_stop": Target(1.0, "time <= 1x"),
        },
    ),
}


def measure(
    peer: str, case: str, seconds: float, repeats: int, cpu: int | None
) -> list[float]:
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
    samples: list[float] = json.loads(result.stdout.strip().splitlines()[-1])
    return samples


Samples = dict[str, dict[str, list[list[float]]]]  # case -> peer -> rounds -> samples


def run_suite(suite: Suite, rounds: int, seconds: float, cpu: int | None) -> Samples:
    samples: Samples = {c: {p: [] for p in suite.peers} for c in suite.cases}
    for round_no in range(rounds):
        for case in suite.cases:
            # Alternate the first peer: neither always runs on a warmer machine.
            peers = (
                list(suite.peers) if round_no % 2 == 0 else list(reversed(suite.peers))
            )
            for peer in peers:
                samples[case][peer].append(measure(peer, case, seconds, 3, cpu))
        print(f"  round {round_no + 1}/{rounds} done", file=sys.stderr)
    return samples


def fmt_time(seconds: float) -> str:
    micros = seconds * 1e6
    return f"{micros:.2f} µs" if micros < 100 else f"{micros:.0f} µs"


def paired_ratio(ours: list[list[float]], baseline: list[list[float]]) -> float:
    """The median over rounds of each round's ratio: the machine's drift
    between rounds cancels out, since both peers ran in the same round."""
    return statistics.median(
        statistics.median(o) / statistics.median(b)
        for o, b in zip(ours, baseline, strict=True)
    )


def table(suite: Suite, samples: Samples) -> tuple[str, list[str]]:
    others = [p for p in suite.peers if p != suite.baseline]
    head = ["case", *(f"{suite.peers[p]} (median)" for p in suite.peers)]
    head += [f"{suite.peers[p]} / {suite.peers[suite.baseline]}" for p in others]
    head += ["target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    missed = []
    for case in suite.cases:
        medians = {
            p: statistics.median(s for r in samples[case][p] for s in r)
            for p in suite.peers
        }
        ratios = [
            paired_ratio(samples[case][p], samples[case][suite.baseline])
            for p in others
        ]
        target = suite.targets.get(case)
        met = (
            ""
            if target is None
            else ("yes" if ratios[0] <= target.max_ratio else "**no**")
        )
        if met == "**no**":
            missed.append(case)
        row = [case, *(fmt_time(medians[p]) for p in suite.peers)]
        row += [f"{r:.3f}x" for r in ratios]
        row += ["" if target is None else target.text, met]
        lines.append("| " + " | ".join(row) + " |")
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
        "--seconds", type=float, default=0.2, help="length of one sample"
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
            f" {args.rounds} rounds, 3 samples of about {args.seconds} s"
            " per peer, case and round. Times are medians of all samples;"
            " a ratio is the median over rounds of the ratio within each round."
        ),
        "",
    ]
    all_missed: dict[str, list[str]] = {}
    results = {}
    for label, cpu in modes:
        print(f"{suite.title}, {label}:", file=sys.stderr)
        samples = run_suite(suite, args.rounds, args.seconds, cpu)
        results[label] = samples
        text, missed = table(suite, samples)
        all_missed[label] = missed
        out += [f"**{label}**", "", text, ""]

    report = "\n".join(out)
    print(report)
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
        args.write.write_text(pattern.sub(lambda _: f"{begin}\n{report}\n{end}", doc))


if __name__ == "__main__":
    main()

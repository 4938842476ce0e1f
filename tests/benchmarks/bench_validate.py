"""Whole-command time and peak memory of ``branching validate`` (and ``stats``, ``--deep``).

Run from the repository root::

    python -m tests.benchmarks.bench_validate            # 5 runs of each case
    python -m tests.benchmarks.bench_validate --runs 9 --baseline /path/to/other/checkout

Each case runs ``python -m branching ...`` as a fresh process, as a writer would on every save,
so interpreter start-up and imports are included. Wall time is measured around the process and
CPU time (user + system) and peak resident memory come from ``os.wait4`` (the child's own
``rusage``); CPU time is less sensitive than wall time to other load on the machine. The machine is
shared and noisy: the table gives the median and the range of several runs, and cases are
interleaved run by run so that load changes hit all of them alike.

Targets (issue 2): The Intercept (24,700 nodes, 55,209 choices) under 1 s; a generated story
with 100,000 nodes and 300,000 choices under 4 s and 700 MB. Figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERCEPT = "corpus/the-intercept/the-intercept.story.json"


@dataclass
class Case:
    name: str
    args: list[str]
    cwd: Path = ROOT
    limit_s: float | None = None
    limit_mb: float | None = None
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    megabytes: list[float] = field(default_factory=list)


def run_once(case: Case) -> None:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "branching", *case.args],
        cwd=case.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{case.name}: exit status {process.returncode}")
    case.seconds.append(elapsed)
    case.cpu.append(usage.ru_utime + usage.ru_stime)
    case.megabytes.append(usage.ru_maxrss / 1024)  # kilobytes on Linux


def find_intercept() -> Path | None:
    for shared in (ROOT.parent / "shared", ROOT.parents[1] / "shared", Path("/work/shared")):
        if (shared / INTERCEPT).exists():
            return shared / INTERCEPT
    return None


def with_blocks(source: Path, target: Path) -> None:
    """The Intercept with a plural, a conditional and a cycle at the end of every text (and
    the variables they read): the cost of checking text that changes, 24,700 distinct texts."""
    import json

    story = json.loads(source.read_text(encoding="utf-8"))
    story["variables"] = {"hours": 2, "door_open": False}
    for node in story["nodes"].values():
        node["text"] = node.get("text", "") + (
            " {hours, plural, one {# hour} other {# hours}} left."
            " {door_open: The door stands open.|The door is shut.} The clock {&ticks|tocks}."
        )
    target.write_text(json.dumps(story, ensure_ascii=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--choices-per-node", type=float, default=3.0)
    parser.add_argument(
        "--baseline", type=Path, help="another checkout to time the same validate cases in"
    )
    parser.add_argument("--no-extras", action="store_true", help="only the validate targets")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    big = work / f"generated-{args.nodes}.json"
    started = time.perf_counter()
    # In a child process: Linux carries a parent's peak memory into children it forks, so a
    # benchmark process holding the story would inflate every measured peak.
    subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.storygen", str(big), "--nodes", str(args.nodes),
         "--choices-per-node", str(args.choices_per_node), "--seed", "1"],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    print(
        f"generated {args.nodes:,} nodes x {args.choices_per_node:g} choices, "
        f"{big.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s"
    )

    cases = [Case("start-up (`branching --version`)", ["--version"])]
    intercept = find_intercept()
    blocks: Path | None = None
    if intercept is not None:
        cases.append(Case("validate The Intercept", ["validate", str(intercept)], limit_s=1.0))
        blocks = work / "intercept-blocks.json"
        with_blocks(intercept, blocks)
        cases.append(
            Case("validate The Intercept, blocks in every text", ["validate", str(blocks)])
        )
    else:
        print("The Intercept is not beside the repository: skipped")
    cases.append(
        Case(
            f"validate generated {args.nodes // 1000}k",
            ["validate", str(big)],
            limit_s=4.0,
            limit_mb=700,
        )
    )
    if args.baseline is not None:
        for case in list(cases[1:]):
            cases.append(Case(f"{case.name} (baseline)", case.args, cwd=args.baseline))
    if not args.no_extras:
        if intercept is not None:
            cases.append(
                Case("validate --deep The Intercept", ["validate", "--deep", str(intercept)])
            )
            cases.append(Case("stats The Intercept", ["stats", str(intercept)]))
        cases.append(
            Case(
                f"validate --deep generated {args.nodes // 1000}k", ["validate", "--deep", str(big)]
            )
        )
        cases.append(Case(f"stats generated {args.nodes // 1000}k", ["stats", str(big)]))

    for number in range(args.runs):
        for case in cases:
            run_once(case)
        print(f"run {number + 1}/{args.runs} done")

    print()
    print("| Case | Median time | Range | Median CPU time | Median peak memory | Target |")
    print("|---|---|---|---|---|---|")
    failed = False
    for case in cases:
        seconds = statistics.median(case.seconds)
        megabytes = statistics.median(case.megabytes)
        target = []
        if case.limit_s is not None:
            target.append(f"< {case.limit_s:g} s")
            failed |= seconds >= case.limit_s
        if case.limit_mb is not None:
            target.append(f"< {case.limit_mb:g} MB")
            failed |= megabytes >= case.limit_mb
        verdict = ""
        if target:
            ok = (case.limit_s is None or seconds < case.limit_s) and (
                case.limit_mb is None or megabytes < case.limit_mb
            )
            verdict = ("met: " if ok else "MISSED: ") + ", ".join(target)
        print(
            f"| {case.name} | {seconds:.2f} s | {min(case.seconds):.2f}–{max(case.seconds):.2f} s "
            f"| {statistics.median(case.cpu):.2f} s | {megabytes:.0f} MB | {verdict} |"
        )
    big.unlink()
    if blocks is not None:
        blocks.unlink()
    work.rmdir()
    if failed:
        print("\nsome targets were missed (on a loaded machine, run again to compare)")


if __name__ == "__main__":
    main()

"""Report speed at scale: 1,000,000 playthroughs, about 10 M choices, in at most 1 s; the
report on one experiment (Whiteout's ``flag-stakes``) in at most 1 s too.

Run: ``python -m tests.benchmarks.bench_report [PLAYTHROUGHS]`` (or
``python -m pytest tests/benchmarks/bench_report.py -s``). ``BENCH_DIR`` chooses where the log
goes (default: the system temp directory); an existing log of the right size is reused, so
the report timings can be re-run without simulating again.

1. Builds the log with the simulator through the real engine and the bulk writer (the demo
   story Whiteout, seed 1, 2% quit and 1% rewind rate per choice point, start times over 30
   days) and records its throughput.
2. Times the report as a producer gets it, in-process and through the CLI (a new Python
   process that loads the story, opens the log, reads the roll-ups and renders): JSON and
   table, all dates and a 7-day range; median of several runs.
3. For scale, times one plain SQL ``GROUP BY`` over the raw events (per-node choice counts),
   the cost the roll-ups avoid, and checks the roll-ups against a full rebuild.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "stories" / "demo.json"
SEED = 1
DAYS = 30
EXPERIMENT = "flag-stakes"


def build(path: Path, playthroughs: int) -> dict[str, float]:
    from analytics.simulate import SimulationOptions, simulate
    from branching.log import ChoiceLog
    from branching.story.loader import read_story

    story = read_story(STORY)
    options = SimulationOptions(
        playthroughs, seed=SEED, quit_rate=0.02, rewind_rate=0.01, days=DAYS, end_time=1.8e9
    )
    started = time.perf_counter()
    done = [0]

    def progress(n: int) -> None:
        if n - done[0] >= 50_000 or n == playthroughs:
            done[0] = n
            rate = n / (time.perf_counter() - started)
            print(f"  {n:,} playthroughs, {rate:,.0f}/s", file=sys.stderr, flush=True)

    with ChoiceLog.open(path, durable=False) as log, log.bulk_writer() as writer:
        log.conn.execute("PRAGMA cache_size = -262144")  # as `branching simulate` does
        result = simulate(story, options, writer, progress=progress)
    seconds = time.perf_counter() - started
    choices = 0
    with ChoiceLog.open(path) as log:
        (choices,) = log.conn.execute(
            "SELECT count(*) FROM events WHERE kind = 'choice'"
        ).fetchone()
    return {
        "seconds": seconds,
        "playthroughs": result.playthroughs,
        "events": result.events,
        "choices": choices,
        "playthroughs_per_s": result.playthroughs / seconds,
        "events_per_s": result.events / seconds,
    }


def _median(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def time_reports(path: Path, runs: int = 7) -> dict[str, float]:
    from rich.console import Console

    from analytics.render.jsonout import render_json
    from analytics.render.table import print_table
    from analytics.report import Selection
    from analytics.source import load_report
    from branching.log import ChoiceLog
    from branching.story.loader import read_story

    story = read_story(STORY)
    figures: dict[str, float] = {}
    last_day = dt.datetime.fromtimestamp(1.8e9, dt.UTC).date()
    week = Selection(story.id, (story.version,), None, last_day - dt.timedelta(days=6), last_day)
    with ChoiceLog.open(path, readonly=True) as log:
        for name, selection in (("all", Selection(story.id, (story.version,))), ("7 days", week)):

            def as_json(selection: Selection = selection) -> None:
                render_json(load_report(log.conn, story, selection, top=10))

            def as_table(selection: Selection = selection) -> None:
                report = load_report(log.conn, story, selection, top=10)
                print_table(report, Console(file=io.StringIO(), width=120), top=10)

            figures[f"in-process json, {name}"] = _median(as_json, runs)
            figures[f"in-process table, {name}"] = _median(as_table, runs)

        def experiment() -> None:
            render_json(load_report(log.conn, story, Selection(story.id), experiment=EXPERIMENT))

        figures["in-process json, experiment"] = _median(experiment, runs)
    for fmt in ("json", "table"):
        command = [
            sys.executable, "-m", "branching", "report", str(STORY), "--db", str(path),
            "--format", fmt, "-o", os.devnull,
        ]  # fmt: skip

        def cli(command: list[str] = command) -> None:
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)

        figures[f"CLI {fmt}, all"] = _median(cli, max(3, runs // 2))
    command = [
        sys.executable, "-m", "branching", "report", str(STORY), "--db", str(path),
        "--experiment", EXPERIMENT, "--format", "json", "-o", os.devnull,
    ]  # fmt: skip
    figures["CLI json, --experiment"] = _median(
        lambda: subprocess.run(command, cwd=ROOT, check=True, capture_output=True),
        max(3, runs // 2),
    )
    return figures


def time_raw(path: Path) -> dict[str, float]:
    from branching.log import ChoiceLog
    from branching.log.rollups import differences, rebuild_rollups, snapshot

    with ChoiceLog.open(path) as log:
        began = time.perf_counter()
        log.conn.execute(
            "SELECT node, choice, count(*) FROM events WHERE kind = 'choice' GROUP BY node, choice"
        ).fetchall()
        group_by = time.perf_counter() - began
        before = snapshot(log.conn)
        began = time.perf_counter()
        with log.write_transaction() as conn:
            rebuild_rollups(conn)
        rebuild = time.perf_counter() - began
        assert not differences(before, snapshot(log.conn)), "roll-ups differ from a rebuild"
    return {"raw GROUP BY (choice counts only)": group_by, "rebuild-rollups": rebuild}


def main(playthroughs: int) -> None:
    where = Path(os.environ.get("BENCH_DIR", tempfile.gettempdir()))
    path = where / f"bench-report-{playthroughs}.db"
    existing = 0
    if path.exists():
        from branching.log import ChoiceLog

        with ChoiceLog.open(path, readonly=True) as log:
            (existing,) = log.conn.execute("SELECT count(*) FROM playthroughs").fetchone()
    if existing != playthroughs:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        print(f"Simulating {playthroughs:,} playthroughs into {path} ...", file=sys.stderr)
        built = build(path, playthroughs)
        print(
            f"simulate: {built['playthroughs']:,.0f} playthroughs, {built['events']:,.0f} events "
            f"({built['choices']:,.0f} choices) in {built['seconds']:,.0f} s: "
            f"{built['playthroughs_per_s']:,.0f} playthroughs/s, "
            f"{built['events_per_s']:,.0f} events/s"
        )
    size = sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )
    print(f"log: {path} ({size / 2**20:,.0f} MB)")
    for name, seconds in time_reports(path).items():
        print(f"report {name:<28} {seconds * 1000:8.0f} ms (median)")
    if os.environ.get("BENCH_SKIP_RAW") != "1":
        for name, seconds in time_raw(path).items():
            print(f"{name:<35} {seconds:8.1f} s")


def test_report_speed() -> None:
    main(int(os.environ.get("BENCH_PLAYTHROUGHS", "100000")))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

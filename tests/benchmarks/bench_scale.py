"""The report past one machine: DuckDB and Spark over an export folder, timed (docs/scale.md).

Run on demand, never beside the full suite:

    python -m tests.benchmarks.bench_scale FOLDER --engine duckdb [--story stories/demo.json]
    python -m tests.benchmarks.bench_scale FOLDER --engine spark

Build FOLDER first: simulate a log, ``branching log export`` it, then replicate it with
``python -m tests.benchmarks.scale_data BASE FOLDER --replicas 24`` (about 100 million events
from a 200,000-playthrough simulation). Each run is the whole report as a producer gets it, a
new process through the CLI (``report --format json``): wall time, CPU time of the process and
its engine threads, and peak resident memory (a JVM's too, for Spark: its children count).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_report(folder: Path, engine: str, story: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "branching", "report", str(story), "--engine", engine,
         "--events", str(folder), "--format", "json", "--all-versions"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    load = os.getloadavg()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    doc = json.loads(result.stdout)
    return {
        "wall_s": round(wall, 1),
        "load_after": [round(x, 2) for x in load],
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "peak_rss_gb": round(after.ru_maxrss / 1024 / 1024, 2),
        "playthroughs": doc["playthroughs"]["started"],
        "visits": sum(n["visits"] for n in doc["nodes"]),
    }


def phases(folder: Path, engine: str, story_path: Path) -> dict[str, Any]:
    """CPU time (all threads of this process) of each part of the report, in one process, and
    of each relation kept and each query (``cpu_by_query``, CPU seconds, largest first)."""
    from analytics.report import Selection
    from branching.story.loader import load_story
    from branching.warehouse.engines import open_engine
    from branching.warehouse.layout import check_folder
    from branching.warehouse.metrics import compute_tally, experiment_counts

    story = load_story(story_path).story
    assert story is not None
    found: dict[str, Any] = {}
    by_query: dict[str, float] = {}
    last = time.process_time()

    def lap(name: str) -> None:
        nonlocal last
        now = time.process_time()
        found[name] = round(now - last, 2)
        last = now

    check_folder(folder)
    lap("check_folder")
    opened = open_engine(engine, folder)
    keep, rows = opened.keep, opened.rows

    def timed_keep(name: str, sql: str) -> None:
        started = time.process_time()
        keep(name, sql)
        by_query[f"keep {name}"] = by_query.get(f"keep {name}", 0) + time.process_time() - started

    def timed_rows(sql: str) -> list[tuple[Any, ...]]:
        started = time.process_time()
        found_rows = rows(sql)
        name = " ".join(sql.split())[:48]
        by_query[name] = by_query.get(name, 0) + time.process_time() - started
        return found_rows

    opened.keep, opened.rows = timed_keep, timed_rows  # type: ignore[method-assign]
    lap("open")
    info = compute_tally(opened, Selection(story.id), top=20)
    lap("tally")
    found.update({f"tally_wall_{k}": v for k, v in info.timings.items()})
    found["batches_from_facts"], found["batches_from_events"] = info.from_facts, info.from_events
    for experiment in story.experiments:
        experiment_counts(opened, story.id, experiment, None)
        lap(f"experiment {experiment}")
    opened.close()
    found["cpu_by_query"] = {
        k: round(v, 2) for k, v in sorted(by_query.items(), key=lambda kv: -kv[1]) if v >= 0.05
    }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--story", type=Path, default=ROOT / "stories" / "demo.json")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--phases", action="store_true", help="CPU time of each part, in process")
    args = parser.parse_args()
    if args.phases:
        print(json.dumps(phases(args.folder, args.engine, args.story)), flush=True)
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    for i in range(args.runs):
        print(
            json.dumps({"run": i, **run_report(args.folder, args.engine, args.story)}), flush=True
        )


if __name__ == "__main__":
    main()

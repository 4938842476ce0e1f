"""``branching simulate`` end to end on every core (issue 15: at least 100,000 events/s on 2 cores).

Run: ``python -m tests.benchmarks.bench_simulate [ROUNDS [PLAYTHROUGHS]]`` (default 5 rounds of
40,000 playthroughs of the demo story, about 950,000 events), or
``python -m pytest tests/benchmarks/bench_simulate.py -s``.

Each round runs the whole command in a new process, ``--workers 1`` then ``--workers N`` for
every N up to the usable cores, into a fresh log, and times it from start to exit: start-up,
loading the story, the workers, every event and roll-up committed. The figure is the log's
events (rows in ``events``) divided by that time; it prints the median per worker count and
the ratio of each to ``--workers 1`` in the same run, with the machine's load average, since
the machine is shared and the wall clock goes with what else runs on it.

Then the cost per event in CPU time, which shifts much less with load, measured in this
process with 2 workers: CPU microseconds per event spent playing (in the workers) and writing
(this process: receiving the blocks, the SQLite inserts and the roll-ups). From them, the rate
two cores of our own would give: 2 / (play + write) events per second, as long as the writer
alone stays under one core.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"
TARGET = 100_000


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_once(folder: Path, workers: int, playthroughs: int) -> tuple[float, int]:
    """One whole command: (wall seconds, events logged)."""
    db = folder / f"w{workers}-{time.monotonic_ns()}.db"
    args = [sys.executable, "-m", "branching", "simulate", str(DEMO), "-n", str(playthroughs),
            "--seed", "1", "--days", "30", "--workers", str(workers), "--db", str(db)]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    with sqlite3.connect(db) as conn:
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
    for path in folder.glob(db.name + "*"):
        path.unlink()
    return wall, int(events)


def host_seconds() -> float:
    """CPU seconds of a 10,000,000-step Python loop: how fast this host is. Hosts of the same
    "2-core machine" have differed up to twelve-fold (0.17 to 2.0 s), so figures taken on different
    days compare only with this next to them."""
    start = time.process_time()
    i = 0
    while i < 10_000_000:
        i += 1
    return time.process_time() - start


def cpu_costs(folder: Path, playthroughs: int) -> tuple[float, float, int]:
    """(play, write) CPU microseconds per event for an in-process run with 2 workers."""
    from analytics.simulate import SimulationOptions, simulate
    from branching.log import ChoiceLog
    from branching.story.loader import read_story

    story = read_story(DEMO, "simulated")
    options = SimulationOptions(playthroughs=playthroughs, seed=1, quit_rate=0.02, days=30)
    own = resource.getrusage(resource.RUSAGE_SELF)
    with ChoiceLog.open(folder / "cpu.db", durable=False) as log, log.bulk_writer() as writer:
        log.conn.execute("PRAGMA cache_size = -262144")  # as the command does
        result = simulate(story, options, writer, workers=2)
    after = resource.getrusage(resource.RUSAGE_SELF)
    write = (after.ru_utime - own.ru_utime) + (after.ru_stime - own.ru_stime)
    per_event = 1e6 / result.events
    return result.play_cpu_seconds * per_event, write * per_event, result.events


def main(rounds: int = 5, playthroughs: int = 40_000) -> dict[int, float]:
    counts = sorted({1, *range(2, cores() + 1)})
    walls: dict[int, list[float]] = {n: [] for n in counts}
    costs = []
    events = 0
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for n in counts:  # alternate, so a busy spell hits every count alike
                loads.append(os.getloadavg()[0])
                wall, events = run_once(Path(tmp), n, playthroughs)
                walls[n].append(wall)
            costs.append(cpu_costs(Path(tmp), playthroughs))
            for path in Path(tmp).glob("cpu.db*"):
                path.unlink()
    rates = {n: events / statistics.median(walls[n]) for n in counts}
    print(
        f"\nsimulate, demo story, {playthroughs:,} playthroughs ({events:,} events), "
        f"{rounds} rounds, {cores()} cores, load average {min(loads):.1f}-{max(loads):.1f}, "
        f"host: a 10,000,000-step loop in {host_seconds():.2f} s of CPU:"
    )
    for n in counts:
        ratio = rates[n] / rates[1]
        print(
            f"  --workers {n}: {rates[n]:>9,.0f} events/s (median of {rounds}; "
            f"{min(walls[n]):.1f}-{max(walls[n]):.1f} s), x{ratio:.2f} of --workers 1"
        )
    play = statistics.median(c[0] for c in costs)
    write = statistics.median(c[1] for c in costs)
    print(
        f"  CPU per event (median of {rounds}): play {play:.1f} us in the workers, write "
        f"{write:.1f} us in the writer; two cores of our own: {2e6 / (play + write):,.0f} "
        f"events/s (writer alone: {1e6 / write:,.0f})"
    )
    return rates


def test_simulate_on_every_core() -> None:
    rates = main(rounds=3, playthroughs=20_000)
    best = max(rates.values())
    # On a shared machine the wall clock is only as good as the cores we get: the check is
    # that more workers help; the 100,000 target is read from the printed figures.
    if cores() >= 2:
        assert best > rates[1] * 1.3, rates
    print(f"  target {TARGET:,} events/s: {'met' if best >= TARGET else 'NOT met'} here")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

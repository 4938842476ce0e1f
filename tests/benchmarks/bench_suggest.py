"""What a viewer waits for at an ending: reading the runs and ranking the suggestions.

Run: ``python -m tests.benchmarks.bench_suggest [PLAYTHROUGHS]`` (default 50,000; or
``python -m pytest tests/benchmarks/bench_suggest.py -s``, smaller). Simulates that many
playthroughs of the demo story Whiteout (2,000 viewers, so viewers come back), then, for
viewers who reached an ending, times what the ending screen does: read the story's latest runs
(``story_runs``, at most ``MAX_RUNS``) and rank the suggestions (``suggestions_for``). Prints
the median and the slowest, in CPU seconds and wall seconds, with the load average.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"


def main(playthroughs: int = 50_000, endings: int = 7) -> dict[str, float]:
    from analytics.simulate import SimulationOptions, simulate
    from branching.commands._audience import suggestions_for
    from branching.log import ChoiceLog
    from branching.log.runs import MAX_RUNS, story_runs
    from branching.play.engine import Session
    from branching.story.loader import read_story

    story = read_story(DEMO, "simulated")
    options = SimulationOptions(playthroughs=playthroughs, seed=1, days=30, viewers=2_000)
    cpu: list[float] = []
    wall: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "suggest.db"
        with ChoiceLog.open(path, durable=False) as log, log.bulk_writer() as writer:
            simulate(story, options, writer, workers=1)
        with ChoiceLog.open(path, readonly=True) as log:
            runs = log.conn.execute("SELECT count(*) FROM rollup_runs").fetchone()[0]
            for viewer in [f"sim-1-{i}" for i in range(endings)]:
                session = Session(story)
                while session.status != "ended":
                    session.choose(session.available_choices()[-1].id)
                started, started_cpu = time.perf_counter(), time.process_time()
                suggestions_for(session, story_runs(log.conn, story.id), viewer)
                cpu.append(time.process_time() - started_cpu)
                wall.append(time.perf_counter() - started)
    result = {
        "runs in the log": float(runs),
        "runs read": float(min(runs, MAX_RUNS)),
        "median cpu s": statistics.median(cpu),
        "slowest cpu s": max(cpu),
        "median wall s": statistics.median(wall),
        "load average": os.getloadavg()[0],
    }
    for name, value in result.items():
        print(f"{name:>16}: {value:,.3f}")
    return result


def test_suggestions_at_an_ending() -> None:
    main(3_000, endings=3)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))

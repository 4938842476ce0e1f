"""Bulk-write throughput of the choice log (issue 4: at least 100,000 events/s on 2 cores).

Run: ``python -m tests.benchmarks.bench_log_bulk [ROUNDS [PLAYTHROUGHS]]`` (or
``python -m pytest tests/benchmarks -s``).
Writes simulated playthroughs of a 12-step story through ``ChoiceLog.bulk_writer`` into a fresh
file, several rounds, and prints the median events per second for each way of feeding it,
by wall-clock time and by the process's CPU time. Event objects are built before timing
starts: the figure is the log's cost, not the simulator's. On a quiet machine the two agree
(with ``synchronous=NORMAL`` the disk waits are negligible); when other jobs share the two
cores the wall figure drops with them, so the pytest check uses the CPU figure.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from branching.log import ChoiceLog
from branching.play.events import ChoiceMade, EndingReached, Event, NodeEntered, PlaythroughInfo

STEPS = 12  # choices per playthrough: 12 choices + 13 entries + 1 ending = 26 events


def make_playthroughs(n: int) -> list[tuple[PlaythroughInfo, list[tuple[float, Event]]]]:
    out = []
    t0 = 1_750_000_000.0
    for i in range(n):
        info = PlaythroughInfo(
            uuid.uuid4().hex, "bench", "1", "hash", f"sim-{i % 500}", "A" if i % 2 else "B"
        )
        events: list[tuple[float, Event]] = [(t0, NodeEntered("n0"))]
        t = t0
        for step in range(STEPS):
            # A choice where the viewer is (log check replays the sequence).
            here, there = events[-1][1].node, f"n{step + 1}-{i % 3}"  # type: ignore[union-attr]
            t += 2.5
            events.append((t, ChoiceMade(here, f"c{i % 3}", there, 2500, i % 7 == 0)))
            events.append((t, NodeEntered(there)))
        events.append((t, EndingReached(events[-1][1].node, "End", "good")))  # type: ignore[union-attr]
        out.append((info, events))
        t0 += 1
    return out


Data = list[tuple[PlaythroughInfo, list[tuple[float, Event]]]]


def run_whole(path: Path, data: Data, batch_size: int) -> tuple[float, float]:
    with ChoiceLog.open(path) as log:
        start, cpu = time.perf_counter(), time.process_time()
        with log.bulk_writer(batch_size=batch_size) as writer:
            for info, events in data:
                writer.write_playthrough(info, events)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert writer.events_written == sum(len(e) for _, e in data)
    return writer.events_written / elapsed, writer.events_written / cpu


def run_incremental(path: Path, data: Data, batch_size: int) -> tuple[float, float]:
    with ChoiceLog.open(path) as log:
        start, cpu = time.perf_counter(), time.process_time()
        with log.bulk_writer(batch_size=batch_size) as writer:
            # 50 playthroughs interleaved, as a simulator stepping many viewers at once.
            for lo in range(0, len(data), 50):
                group = data[lo : lo + 50]
                for info, events in group:
                    writer.start(info, at=events[0][0])
                for k in range(len(group[0][1])):
                    for info, events in group:
                        at, event = events[k]
                        writer.record(info.playthrough_id, event, at=at)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return writer.events_written / elapsed, writer.events_written / cpu


def main(rounds: int = 5, playthroughs: int = 20_000) -> dict[str, tuple[float, float]]:
    data = make_playthroughs(playthroughs)
    total = sum(len(e) for _, e in data)
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name, fn, batch in (
                ("write_playthrough, batch 20,000", run_whole, 20_000),
                ("write_playthrough, batch 2,000", run_whole, 2_000),
                ("start/record interleaved, batch 20,000", run_incremental, 20_000),
            ):
                path = Path(tmp) / f"{r}-{batch}-{fn.__name__}.db"
                results.setdefault(name, []).append(fn(path, data, batch))
    print(f"{playthroughs:,} playthroughs, {total:,} events per run, {rounds} rounds (median):")
    medians = {
        name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for name, v in results.items()
    }
    for name, (wall, cpu) in medians.items():
        print(f"  {name:<40} {wall:>10,.0f} events/s wall, {cpu:>10,.0f} events/s CPU")
    return medians


def test_bulk_write_throughput() -> None:
    medians = main(rounds=3)
    assert medians["write_playthrough, batch 20,000"][1] >= 100_000


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

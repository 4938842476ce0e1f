"""Live-play costs of the choice log: one durable commit per event, and merging.

Run: ``python -m tests.benchmarks.bench_log_live`` (or ``python -m pytest tests/benchmarks -s``).
Prints the median and 99th-percentile time of ``record()`` with ``synchronous=FULL`` (what a
viewer waits for between a choice and the next passage), with ``NORMAL`` for comparison,
and the events per second of ``branching log merge``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from branching.log import ChoiceLog, merge_into
from branching.play.events import ChoiceMade, NodeEntered
from tests.benchmarks.bench_log_bulk import make_playthroughs
from tests.log.helpers import info


def _latencies(record: object, n: int) -> list[float]:
    out = []
    for i in range(n):
        event = NodeEntered(f"n{i}") if i % 2 else ChoiceMade(f"n{i}", "go", f"n{i + 1}", 900)
        start = time.perf_counter()
        record(event)  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"median {statistics.median(values):.2f} ms, p99 {p99:.2f} ms"


def main(events: int = 2000) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for durable in (True, False):
            with ChoiceLog.open(Path(tmp) / f"live-{durable}.db", durable=durable) as log:
                recorder = log.start_playthrough(info())
                values = _latencies(recorder.record, events)
            name = f"record(), synchronous={'FULL' if durable else 'NORMAL'}"
            results[name] = statistics.median(values)
            print(f"{name:<40} {_summary(values)}")

        source = Path(tmp) / "source.db"
        data = make_playthroughs(20_000)
        with ChoiceLog.open(source) as log, log.bulk_writer() as writer:
            for who, steps in data:
                writer.write_playthrough(who, steps)
        rates = []
        for r in range(3):
            with ChoiceLog.open(Path(tmp) / f"merged-{r}.db") as target:
                start = time.perf_counter()
                stats = merge_into(target, source)
                rates.append(stats.events_added / (time.perf_counter() - start))
                start = time.perf_counter()
                again = merge_into(target, source)
                assert again.events_added == 0
                idle = time.perf_counter() - start
        results["merge events/s"] = statistics.median(rates)
        print(
            f"{'merge into an empty log':<40} {statistics.median(rates):,.0f} events/s "
            f"({stats.events_added:,} events); merging it again: {idle:.2f} s, adds nothing"
        )
    return results


def test_live_costs() -> None:
    results = main(events=500)
    assert results["record(), synchronous=FULL"] < 50  # ms: far below a viewer's reaction


if __name__ == "__main__":
    main()

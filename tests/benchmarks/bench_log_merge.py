"""Throughput of ``branching log merge`` on a log of about a million events.

Run: ``python -m tests.benchmarks.bench_log_merge [ROUNDS [PLAYTHROUGHS]]``.
Builds a source of PLAYTHROUGHS (default 40,000) simulated playthroughs of 26 events, then,
ROUNDS times: merges it into a fresh log (events/s), merges it again (adds nothing), and merges
a second source of the same size into that now full log (events/s). The whole merge is one
write transaction, so the ``-wal`` file grows to about the size of what is written; its size
just after the commit is printed too (the peak, as long as it is under the 64 MB trim).
Medians over the rounds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from branching.log import ChoiceLog, merge_all, open_sources
from tests.benchmarks.bench_log_bulk import make_playthroughs


def _source(path: Path, playthroughs: int) -> int:
    data = make_playthroughs(playthroughs)
    with ChoiceLog.open(path) as log, log.bulk_writer() as writer:
        for who, steps in data:
            writer.write_playthrough(who, steps)
    return sum(len(steps) for _, steps in data)


def _merge(target: ChoiceLog, source: Path) -> tuple[float, int, int]:
    """Seconds, events added and the ``-wal`` file's size just after the commit."""
    wal = Path(f"{target.path}-wal")
    with open_sources([source]) as sources:
        start = time.perf_counter()
        (stats,) = merge_all(target, sources)
        elapsed = time.perf_counter() - start
    peak = wal.stat().st_size if wal.exists() else 0
    return elapsed, stats.events_added, peak


def main(rounds: int = 3, playthroughs: int = 40_000) -> dict[str, float]:
    fresh, idle, onto, wal_peak = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.db", Path(tmp) / "b.db"
        events = _source(a, playthroughs)
        _source(b, playthroughs)
        for r in range(rounds):
            out = Path(tmp) / f"merged-{r}.db"
            with ChoiceLog.open(out, durable=False) as target:
                seconds, added, peak = _merge(target, a)
                assert added == events
                fresh.append(added / seconds)
                wal_peak.append(peak)
                seconds, added, _ = _merge(target, a)
                assert added == 0
                idle.append(seconds)
                seconds, added, _ = _merge(target, b)
                assert added == events
                onto.append(added / seconds)
            out.unlink()
    results = {
        "into an empty log, events/s": statistics.median(fresh),
        "the same log again, s": statistics.median(idle),
        "onto a log already holding it, events/s": statistics.median(onto),
        "-wal file after the commit, MB": statistics.median(wal_peak) / 1e6,
    }
    print(f"source: {playthroughs:,} playthroughs, {events:,} events; median of {rounds}")
    for name, value in results.items():
        print(f"  {name:<42} {value:,.1f}")
    return results


def test_merge_throughput() -> None:
    results = main(rounds=1, playthroughs=4000)
    assert results["into an empty log, events/s"] > 20_000


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))

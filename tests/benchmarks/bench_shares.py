"""Reading one node's choice shares from the log, as the players do after every choice.

Run: ``python -m tests.benchmarks.bench_shares [PLAYTHROUGHS]`` (default 200,000; or
``python -m pytest tests/benchmarks/bench_shares.py -s``, smaller). Builds a log of that many
playthroughs of a generated story (one viewer each, 12 choices), then reads the shares of
random nodes by index (``branching.log.shares.node_shares``) and prints the median and 99th
percentile of a read. The issue's bound for a share read is 5 ms.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from branching.log import ChoiceLog
from branching.log.shares import node_shares
from tests.benchmarks.bench_log_bulk import STEPS, make_playthroughs


def main(playthroughs: int = 200_000, reads: int = 2000) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shares.db"
        # One viewer per playthrough, as with strangers: the most units per node.
        data = [
            (replace(info, viewer=f"viewer-{i}"), events)
            for i, (info, events) in enumerate(make_playthroughs(playthroughs))
        ]
        with ChoiceLog.open(path) as log, log.bulk_writer() as writer:
            for info, events in data:
                writer.write_playthrough(info, events)
        with ChoiceLog.open(path, readonly=True) as log:
            units = log.conn.execute("SELECT count(*) FROM share_units").fetchone()[0]
            rng = random.Random(1)
            nodes = [f"n{rng.randrange(STEPS)}" for _ in range(reads)]
            times = []
            for node in nodes:
                start = time.perf_counter()
                shares = node_shares(log.conn, "bench", node)
                times.append((time.perf_counter() - start) * 1000)
                assert sum(shares.values()) > 0
            ordered = sorted(times)
            results["median ms"] = statistics.median(times)
            results["p99 ms"] = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{playthroughs:,} playthroughs, {units:,} (viewer, node) units: one node's shares in "
        f"median {results['median ms']:.3f} ms, p99 {results['p99 ms']:.3f} ms "
        f"({reads:,} reads)"
    )
    return results


def test_a_share_read_takes_under_5_ms() -> None:
    results = main(playthroughs=5_000, reads=500)
    assert results["p99 ms"] < 5


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))

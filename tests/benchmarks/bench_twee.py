"""How fast Twee export and import are on The Intercept (24,700 nodes); run on demand.

    python tests/benchmarks/bench_twee.py
    python -m pytest tests/benchmarks/bench_twee.py -s

Exports the story, then imports the Twee it wrote; each figure is the median of 3 rounds in one
run, as wall-clock and CPU seconds (CPU time is steadier on a busy machine). Figures are in
docs/performance.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: use this checkout's packages
    sys.path.insert(0, str(ROOT))

from branching.story.loader import read_story  # noqa: E402
from branching.twee import export_twee, import_twee  # noqa: E402

# shared/corpus sits beside the repository (CI) or beside the folder of worktrees.
CORPUS = next(
    (p / "shared" / "corpus" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()),
    ROOT.parent / "shared" / "corpus",
)
INTERCEPT = CORPUS / "the-intercept" / "the-intercept.story.json"
ROUNDS = 3

T = TypeVar("T")


def median_time(run: Callable[[], T], rounds: int = ROUNDS) -> tuple[float, float, T]:
    """Median wall-clock and CPU seconds of ``rounds`` calls, and the last call's result."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), result


def measure(path: Path = INTERCEPT) -> dict[str, float]:
    """Export ``path`` to Twee and import the result; median seconds of each, and sizes."""
    story = read_story(path)
    export_s, export_cpu, text = median_time(lambda: export_twee(story))
    import_s, import_cpu, result = median_time(lambda: import_twee([("intercept.twee", text)]))
    assert result.story is not None, [p.format() for p in result.errors][:5]
    assert len(result.story["nodes"]) == len(story.nodes)
    return {
        "nodes": len(story.nodes),
        "twee_bytes": len(text.encode()),
        "export_s": export_s,
        "export_cpu": export_cpu,
        "import_s": import_s,
        "import_cpu": import_cpu,
    }


def report(figures: dict[str, float]) -> str:
    return (
        f"The Intercept, {figures['nodes']:,.0f} nodes, {figures['twee_bytes'] / 1e6:.1f} MB of "
        f"Twee: export {figures['export_s']:.2f} s (CPU {figures['export_cpu']:.2f} s), "
        f"import {figures['import_s']:.2f} s (CPU {figures['import_cpu']:.2f} s); "
        f"medians of {ROUNDS}"
    )


def test_twee_export_import_speed() -> None:
    import pytest

    if not INTERCEPT.exists():
        pytest.skip(f"{INTERCEPT} not available")
    print("\n" + report(measure()))


if __name__ == "__main__":
    print(report(measure()))

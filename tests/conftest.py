"""Benchmarks (tests/benchmarks) run only when asked for by path, never in the default run."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path == BENCHMARKS or BENCHMARKS in collection_path.parents:
        asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
        if not any(path == BENCHMARKS or BENCHMARKS in path.parents for path in asked):
            return True
    return None

"""Benchmarks (tests/benchmarks) run only when asked for by path, never in the default run;
every test gets a home folder of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path == BENCHMARKS or BENCHMARKS in collection_path.parents:
        asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
        if not any(path == BENCHMARKS or BENCHMARKS in path.parents for path in asked):
            return True
    return None


@pytest.fixture(autouse=True)
def _own_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test keeps saves, viewer ids and logs in a folder of its own, never in the user's
    (a test that plays would otherwise resume, or clobber, whatever the last run saved).
    Tests that need a particular home set ``BRANCHING_HOME`` themselves."""
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("BRANCHING_DB", raising=False)
    monkeypatch.delenv("BRANCHING_VIEWER", raising=False)


@pytest.fixture(autouse=True)
def _players_speak_english() -> Iterator[None]:
    """The players' language is process-wide (``branching play --lang fr`` run in-process sets
    it): every test starts, and leaves, in English."""
    from branching.play.i18n import use_language

    use_language(None)
    yield
    use_language(None)

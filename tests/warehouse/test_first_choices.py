"""Pre-aggregated first choices: each batch's exposed playthroughs' first choice at each node,
written once at export, so an experiment joins its units with a few rows per playthrough instead
of their events. The report stays ``--db``'s to the byte with them, without them (an older
export), with both kinds of batch in one folder, and with superseded snapshots."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from branching.warehouse.engines import DuckDBEngine, batch_tables
from branching.warehouse.layout import pre_aggregated_files
from branching.warehouse.metrics import experiment_counts
from tests.warehouse.test_commands import run, same_report
from tests.warehouse.test_facts import DAMAGES, damage_pre_aggregated

STORY = Path(__file__).resolve().parents[2] / "stories" / "demo.json"
#: Returning viewers (several playthroughs each: the first exposed one is the unit), rewinds
#: (a node chosen at twice: the first pick counts), quits (units without every choice).
SIMULATE = ["--seed", "5", "--viewers", "150", "--rewind-rate", "0.1", "--quit-rate", "0.05"]


def _report(*args: Any) -> str:
    result = run("report", STORY, "--format", "json", "--all-versions", *args)
    assert result.exit_code == 0, result.output
    return result.output


def _engine_report(folder: Path, engine: str = "duckdb") -> str:
    return _report("--engine", engine, "--events", folder)


def _earlier_snapshot(db: Path, partial: Path) -> None:
    """``partial``: ``db`` as an export made while a third of its playthroughs were half
    played (open, their later events and exposures not logged yet)."""
    shutil.copyfile(db, partial)
    con = sqlite3.connect(partial)
    with con:
        cut = "SELECT pk, event_count / 2 AS n FROM playthroughs WHERE pk % 3 = 0"
        for table in ("events", "exposures"):
            con.execute(
                f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM ({cut}) AS c "
                f"WHERE c.pk = {table}.playthrough AND {table}.seq >= c.n)"
            )
        con.execute(
            "UPDATE playthroughs SET event_count = event_count / 2, status = 'open', "
            "ending = NULL, ending_kind = NULL, ended_at = NULL WHERE pk % 3 = 0"
        )
    con.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str]:
    """A simulated log of the demo story (with its experiment), its export, and an export that
    holds an earlier snapshot of a third of its playthroughs (batch 1), superseded by the
    playthroughs that went on (batch 2); with the ``--db`` report they must all give."""
    base = tmp_path_factory.mktemp("first-choices")
    db, partial = base / "log.db", base / "partial.db"
    simulated = run("simulate", STORY, "-n", "400", *SIMULATE, "--db", db)
    assert simulated.exit_code == 0, simulated.output
    _earlier_snapshot(db, partial)
    folder, growing = base / "events", base / "growing"
    for source, target in ((db, folder), (partial, growing), (db, growing)):
        result = run("log", "export", "--db", source, "--format", "parquet", "-o", target)
        assert result.exit_code == 0 and "Exported" in result.output, result.output
    want = _report("--db", db)
    assert json.loads(want)["experiments"][0]["viewers"] > 100
    return db, folder, growing, want


def test_each_batch_gets_its_first_choices_and_the_experiment_reads_no_events(
    logs: tuple[Path, Path, Path, str],
) -> None:
    _, folder, _, want = logs
    import pyarrow.parquet as pq

    (path,) = pre_aggregated_files(folder, "first_choices").values()

    rows = pq.read_table(path).num_rows
    exposed = pq.ParquetDataset(folder / "exposures").read(columns=["playthrough_id"]).num_rows
    assert exposed < rows < exposed * 12  # a few rows per exposure, not its events
    same_report(want, _engine_report(folder))

    kept: list[str] = []

    class Recording(DuckDBEngine):
        def keep(self, name: str, sql: str) -> None:
            kept.append(sql)
            super().keep(name, sql)

    engine = Recording(folder)
    try:
        counts = experiment_counts(engine, "whiteout", "flag-stakes", None)
    finally:
        engine.close()
    assert sum(c[("exposed", "", "")] for c in counts.values()) > 100
    assert kept and not any("events AS e" in sql for sql in kept)


def test_an_older_export_without_them_gives_the_same_report_and_is_upgraded(
    logs: tuple[Path, Path, Path, str], tmp_path: Path
) -> None:
    db, folder, _, want = logs
    older = tmp_path / "older"
    shutil.copytree(folder, older)
    (batch, path), = pre_aggregated_files(older, "first_choices").items()  # fmt: skip
    written = path.read_bytes()
    shutil.rmtree(older / "first_choices")  # as exported before first choices were written
    same_report(want, _engine_report(older))  # from the events

    upgraded = run("log", "export", "--db", db, "--format", "parquet", "-o", older)
    assert upgraded.exit_code == 0, upgraded.output
    assert "Added the pre-aggregated counts of 1 older batch" in upgraded.output
    assert pre_aggregated_files(older, "first_choices")[batch].read_bytes() == written
    assert (older / "facts").is_dir()  # its facts were there and stay as they were
    same_report(want, _engine_report(older))


def test_superseded_snapshots_with_and_without_first_choices(
    logs: tuple[Path, Path, Path, str], tmp_path: Path
) -> None:
    """Batch 1 holds half-played snapshots that batch 2 supersedes; the units are the winning
    snapshots, in both batches. Every mix of batches with and without first choices counts the
    same viewers as ``--db``."""
    _, _, growing, want = logs
    batches = sorted(pre_aggregated_files(growing, "first_choices"))
    assert len(batches) == 2
    same_report(want, _engine_report(growing))
    for dropped in ([batches[0]], [batches[1]], batches):
        mixed = tmp_path / "-".join(b[-4:] for b in dropped)
        shutil.copytree(growing, mixed)
        for batch in dropped:
            pre_aggregated_files(mixed, "first_choices")[batch].unlink()
        same_report(want, _engine_report(mixed))


def test_spark_reads_first_choices_and_events_alike(
    logs: tuple[Path, Path, Path, str], tmp_path: Path, spark: Any
) -> None:
    _, _, growing, want = logs
    same_report(want, _engine_report(growing, "spark"))
    mixed = tmp_path / "mixed"
    shutil.copytree(growing, mixed)
    latest = max(pre_aggregated_files(mixed, "first_choices"))
    pre_aggregated_files(mixed, "first_choices")[latest].unlink()
    same_report(want, _engine_report(mixed, "spark"))


def test_duckdb_and_sqlite_write_the_same_first_choices(
    logs: tuple[Path, Path, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export computes them on DuckDB, or on SQLite where DuckDB is not installed."""
    import branching.warehouse.engines as engines

    _, folder, _, _ = logs
    (batch,) = pre_aggregated_files(folder, "first_choices")
    from_duckdb = batch_tables(folder, batch, ("first_choices",))["first_choices"]

    def missing(*args: Any, **kwargs: Any) -> None:
        raise engines.EngineMissing("not installed")

    monkeypatch.setattr(engines, "DuckDBEngine", missing)
    from_sqlite = batch_tables(folder, batch, ("first_choices",))["first_choices"]
    assert from_duckdb.schema == from_sqlite.schema
    assert from_duckdb.to_pylist() == from_sqlite.to_pylist()
    assert from_duckdb.num_rows > 400


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_damaged_first_choices_file_is_refused_with_the_file_named(
    logs: tuple[Path, Path, Path, str], tmp_path: Path, kind: str
) -> None:
    db, folder, _, _ = logs
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    damage_pre_aggregated(kind, damaged, "first_choices")
    for args in (
        ["report", STORY, "--engine", "duckdb", "--events", damaged],
        ["log", "export", "--db", db, "--format", "parquet", "-o", damaged],
    ):
        result = run(*args)
        assert result.exit_code == 2, (kind, args, result.output)
        assert "first_choices" in result.output and "damaged" in result.output
        assert "Traceback" not in result.output
        assert "\x1b" not in result.output and "\x07" not in result.output

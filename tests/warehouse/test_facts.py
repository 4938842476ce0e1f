"""Pre-aggregated facts and languages on the engines: each batch's counts are written once at
export by the one definition, summed at report time, and the report stays ``--db``'s to the
byte, whatever mix of batches with and without facts, superseded snapshots or languages the
folder holds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from branching.log import ChoiceLog
from branching.play.events import PlaythroughInfo
from branching.warehouse.engines import DuckDBEngine, SQLiteEngine, batch_facts
from branching.warehouse.export import export_log
from branching.warehouse.layout import PRE_AGGREGATED, facts_files, pre_aggregated_files
from branching.warehouse.metrics import compute_tally
from tests.analytics import scripted
from tests.warehouse.helpers import SELECTIONS, grow, rollup_tally, scripted_log, ts
from tests.warehouse.test_commands import run, same_report

#: Languages given to the scripted playthroughs in turn: a tag, a regional variant, another
#: spelling of it, and none (logged before languages were).
LANGUAGES = ("en", "fr", "fr-CA", None, "FR_ca")


def _languages_log(log: ChoiceLog) -> None:
    """The scripted playthroughs and edge cases, shown in several languages."""
    for origin in ("live", "simulated", "imported"):
        with log.bulk_writer(origin=origin) as writer:
            for i, p in enumerate(scripted.playthroughs()):
                if p.origin != origin:
                    continue
                writer.write_playthrough(
                    PlaythroughInfo(
                        p.playthrough_id, p.story_id, p.story_version, p.story_hash, p.viewer,
                        p.variant, LANGUAGES[i % len(LANGUAGES)],
                    ),
                    [(ts(p.day, i + 1), e) for i, e in enumerate(p.events)],
                    started_at=ts(p.day),
                )  # fmt: skip


def _tallies(log: ChoiceLog, folder: Path, make: Any) -> None:
    engine = make(folder)
    try:
        for name, selection in SELECTIONS.items():
            got = compute_tally(engine, selection, top=None)
            assert got.tally == rollup_tally(log, selection, None), name
    finally:
        engine.close()


def test_each_batch_gets_its_facts_and_the_report_reads_them(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    with ChoiceLog.open(":memory:") as log:
        scripted_log(log)
        first = export_log(log.conn, folder, source="a")
        assert set(facts_files(folder)) == {first.batch}
        engine = DuckDBEngine(folder)
        info = compute_tally(engine, SELECTIONS["everything"], top=None)
        engine.close()
        assert (info.from_facts, info.from_events) == (1, 0)  # no event read
        _tallies(log, folder, DuckDBEngine)
        _tallies(log, folder, SQLiteEngine)


def test_duckdb_and_sqlite_write_the_same_facts(tmp_path: Path) -> None:
    """The export computes facts on DuckDB, or on SQLite where DuckDB is not installed: the
    same SQL transpiled, the same rows."""
    folder = tmp_path / "x"
    with ChoiceLog.open(":memory:") as log:
        scripted_log(log)
        batch = export_log(log.conn, folder, source="a").batch
    from_duckdb = batch_facts(folder, batch)
    import branching.warehouse.engines as engines

    real = engines.DuckDBEngine

    class NoDuckDB:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise engines.EngineMissing("not installed")

    engines.DuckDBEngine = NoDuckDB  # type: ignore[assignment,misc]
    try:
        from_sqlite = batch_facts(folder, batch)
    finally:
        engines.DuckDBEngine = real  # type: ignore[misc]

    def rows(table: Any) -> list[tuple[Any, ...]]:
        return sorted(
            (tuple(r.values()) for r in table.to_pylist()), key=lambda r: tuple(map(str, r))
        )

    assert from_duckdb.schema == from_sqlite.schema
    assert rows(from_duckdb) == rows(from_sqlite) and len(rows(from_duckdb)) > 20


def test_superseded_snapshots_and_batches_without_facts_still_count_once(
    tmp_path: Path,
) -> None:
    """Batch 1 holds snapshots that batch 2 supersedes (read from its events); a copy of the
    folder loses one batch's facts (an older export): the counts stay the roll-ups'."""
    folder = tmp_path / "x"
    with ChoiceLog.open(":memory:") as log:
        scripted_log(log)
        first = export_log(log.conn, folder, source="a").batch
        grow(log)
        second = export_log(log.conn, folder, source="a").batch
        engine = DuckDBEngine(folder)
        info = compute_tally(engine, SELECTIONS["everything"], top=None)
        engine.close()
        assert info.superseded == 2
        assert (info.from_facts, info.from_events) == (1, 1)  # batch 1 is read raw
        _tallies(log, folder, DuckDBEngine)

        mixed = tmp_path / "mixed"
        shutil.copytree(folder, mixed)
        facts_files(mixed)[second].unlink()
        assert set(facts_files(mixed)) == {first}
        _tallies(log, mixed, DuckDBEngine)
        _tallies(log, mixed, SQLiteEngine)


def test_exporting_into_an_older_folder_adds_the_missing_facts(tmp_path: Path) -> None:
    db, folder, story = tmp_path / "log.db", tmp_path / "x", tmp_path / "caves.json"
    story.write_text(json.dumps(scripted.STORY_DATA), encoding="utf-8")
    with ChoiceLog.open(db) as log:
        scripted_log(log)
    assert run("log", "export", "--db", db, "--format", "parquet", "-o", folder).exit_code == 0
    (batch, path), = facts_files(folder).items()  # fmt: skip
    written = path.read_bytes()
    shutil.rmtree(folder / "facts")  # as exported before facts were written
    old = run("report", story, "--engine", "duckdb", "--events", folder, "--format", "json")
    want = run("report", story, "--db", db, "--format", "json")
    assert old.exit_code == 0, old.output
    same_report(want.output, old.output)  # computed from the events

    upgraded = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert upgraded.exit_code == 0, upgraded.output
    assert "Added the pre-aggregated counts of 1 older batch" in upgraded.output
    assert "Nothing new to export" in upgraded.output
    assert facts_files(folder)[batch].read_bytes() == written
    again = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert "Added" not in again.output


@pytest.fixture(scope="module")
def languages_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("languages")
    db, folder, story = base / "log.db", base / "events", base / "caves.json"
    story.write_text(json.dumps(scripted.STORY_DATA), encoding="utf-8")
    with ChoiceLog.open(db) as log:
        _languages_log(log)
    assert run("log", "export", "--db", db, "--format", "parquet", "-o", folder).exit_code == 0
    return db, folder, story


LANGUAGE_ARGS = [
    ["--all-versions"],
    ["--all-versions", "--lang", "fr"],
    ["--all-versions", "--lang", "fr-ca"],
    ["--all-versions", "--lang", "EN", "--origin", "live"],
    ["--since", "2026-11-02", "--lang", "fr_CA"],
]


@pytest.mark.parametrize("args", LANGUAGE_ARGS, ids=lambda a: " ".join(a))
def test_languages_and_lang_give_the_same_report_on_duckdb(
    languages_folder: tuple[Path, Path, Path], args: list[str]
) -> None:
    db, folder, story = languages_folder
    want = run("report", story, "--db", db, "--format", "json", *args)
    got = run("report", story, "--engine", "duckdb", "--events", folder, "--format", "json", *args)
    assert want.exit_code == 0, want.output
    assert got.exit_code == 0, got.output
    same_report(want.output, got.output)
    doc = json.loads(got.output)
    if "--lang" not in args:  # several languages: shares side by side
        assert len(doc["languages"]) >= 3
        assert any(c["by_language"] for n in doc["nodes"] for c in n["choices"])


def test_a_language_nobody_played_in_is_empty_on_every_engine(
    languages_folder: tuple[Path, Path, Path],
) -> None:
    db, folder, story = languages_folder
    want = run("report", story, "--db", db, "--lang", "de")
    got = run("report", story, "--engine", "duckdb", "--events", folder, "--lang", "de")
    assert want.exit_code == got.exit_code == 1
    assert "language de" in got.output and "Traceback" not in got.output


def test_languages_on_spark(languages_folder: tuple[Path, Path, Path], spark: Any) -> None:
    db, folder, story = languages_folder
    for args in (LANGUAGE_ARGS[0], LANGUAGE_ARGS[2]):
        want = run("report", story, "--db", db, "--format", "json", *args)
        got = run("report", story, "--engine", "spark", "--events", folder, "--format", "json",
                  *args)  # fmt: skip
        assert got.exit_code == 0, got.output
        same_report(want.output, got.output)


DAMAGES = [
    "wrong schema", "another batch's rows", "bad name", "a folder as a file",
    "the table is a file", "another table's file", "not parquet",
]  # fmt: skip


def damage_pre_aggregated(kind: str, folder: Path, table: str = "facts") -> None:
    """Damage the first file of a pre-aggregated table (``facts``, ``first_choices``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = next(iter(pre_aggregated_files(folder, table).values()))
    if kind == "wrong schema":
        pq.write_table(pa.table({"export_batch": [1]}), path)
    elif kind == "another batch's rows":
        rows = pq.read_table(path)
        others = pa.array(["other\x1b[2J"] * rows.num_rows, type=pa.string())
        pq.write_table(rows.set_column(rows.num_columns - 1, "export_batch", others), path)
    elif kind == "bad name":
        path.rename(path.with_name("part-a b\x07.parquet"))
    elif kind == "a folder as a file":
        (folder / table / "part-x.parquet").mkdir()
    elif kind == "the table is a file":
        shutil.rmtree(folder / table)
        (folder / table).write_text("x")
    elif kind == "another table's file":
        other = next(t for t in PRE_AGGREGATED if t != table)
        shutil.copyfile(next(iter(pre_aggregated_files(folder, other).values())), path)
    elif kind == "not parquet":
        path.write_bytes(b"PAR1 not really")
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_damaged_facts_file_is_refused_with_the_file_named(
    languages_folder: tuple[Path, Path, Path], tmp_path: Path, kind: str
) -> None:
    db, folder, story = languages_folder
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    damage_pre_aggregated(kind, damaged)
    for args in (
        ["report", story, "--engine", "duckdb", "--events", damaged],
        ["log", "export", "--db", db, "--format", "parquet", "-o", damaged],
    ):
        result = run(*args)
        assert result.exit_code == 2, (kind, args, result.output)
        assert "facts" in result.output and "damaged" in result.output
        assert "Traceback" not in result.output
        assert "\x1b" not in result.output and "\x07" not in result.output


def test_spark_reads_facts_superseded_batches_and_older_batches(tmp_path: Path, spark: Any) -> None:
    """Spark over a folder with a superseded snapshot and a batch without facts, with and
    without languages to tell apart (the plain and the joined reads of events)."""
    from branching.warehouse.engines import SparkEngine

    folder = tmp_path / "x"
    with ChoiceLog.open(":memory:") as log:
        scripted_log(log)
        export_log(log.conn, folder, source="a")
        grow(log)
        second = export_log(log.conn, folder, source="a").batch
        facts_files(folder)[second].unlink()
        engine = SparkEngine(folder, spark=spark)
        try:
            for name in ("everything", "no version"):
                got = compute_tally(engine, SELECTIONS[name], top=None)
                assert got.tally == rollup_tally(log, SELECTIONS[name], None), name
                # Batch 2 has no facts; batch 1 holds superseded snapshots of version 1 only.
                assert got.from_events == (2 if name == "everything" else 1), name
        finally:
            engine.close()

"""One definition of each count, every engine: the roll-ups, SQLite, DuckDB and Spark agree.

The roll-ups are the log's incremental tables; the others run the SQL of
:mod:`branching.warehouse.metrics` over what ``branching log export`` wrote from the same raw
events, through re-exports, a second machine, duplicated exports and a crashed one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from branching.log import ChoiceLog
from branching.warehouse import export as exporter
from branching.warehouse.engines import DuckDBEngine, SQLiteEngine
from branching.warehouse.export import export_log
from branching.warehouse.metrics import compute_tally, every_query, transpile
from tests.warehouse.helpers import SELECTIONS, grow, info, rollup_tally, scripted_log, ts


def _listing(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


def _check(log: ChoiceLog, folder: Path, engines: dict[str, Any]) -> None:
    for engine_name, make in engines.items():
        engine = make(folder)
        for name, selection in SELECTIONS.items():
            for top in (None, 3):
                got = compute_tally(engine, selection, top=top)
                assert got.tally == rollup_tally(log, selection, top), (
                    f"{engine_name} / {name} / top {top}"
                )
        engine.close()


def test_the_rollups_equal_the_one_definition_over_the_raw_events(tmp_path: Path) -> None:
    """The SQL, transpiled to SQLite, over a log's raw events gives the roll-ups' tally."""
    with ChoiceLog.open(":memory:") as log:
        scripted_log(log)
        export_log(log.conn, tmp_path / "x", source="a")
        _check(log, tmp_path / "x", {"sqlite": SQLiteEngine})
        grow(log)
        export_log(log.conn, tmp_path / "x", source="a")
        _check(log, tmp_path / "x", {"sqlite": SQLiteEngine})


def test_exports_from_many_machines_count_each_playthrough_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, a_path, b_path = tmp_path / "folder", tmp_path / "a.db", tmp_path / "b.db"
    engines = {"duckdb": DuckDBEngine, "sqlite": SQLiteEngine}
    with ChoiceLog.open(a_path) as a:
        scripted_log(a)
        first = export_log(a.conn, folder, source="machine-a")
        assert first.playthroughs == 14 and first.events > 40
        _check(a, folder, engines)

        before = _listing(folder)
        assert export_log(a.conn, folder, source="machine-a").playthroughs == 0
        assert _listing(folder) == before, "exporting nothing new wrote files"
    shutil.copy(a_path, b_path)  # machine B holds a copy of A's log from before A went on

    with ChoiceLog.open(a_path) as a:
        grow(a)
        again = export_log(a.conn, folder, source="machine-a")
        assert again.playthroughs == 2  # only the two that went on
        _check(a, folder, engines)

    with ChoiceLog.open(b_path) as b, b.bulk_writer(origin="live") as w:
        for i in range(5):
            w.write_playthrough(
                info(f"b-{i}", f"vb{i % 2}"),
                [(ts("2026-11-07", 1), _enter("hall")), (ts("2026-11-07", 2), _quit("hall"))],
                started_at=ts("2026-11-07"),
            )
    # B exports everything into its own folder, blind to A's exports (its stale copies of A's
    # playthroughs included); the folders are then combined, as a bucket sync would.
    elsewhere = tmp_path / "b-folder"
    with ChoiceLog.open(b_path) as b:
        assert export_log(b.conn, elsewhere, source="machine-b").playthroughs == 19
    for path in elsewhere.rglob("*.parquet"):
        target = folder / path.relative_to(elsewhere)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)

    merged = tmp_path / "merged.db"
    with ChoiceLog.open(merged) as m:
        from branching.log import merge_all, open_sources

        with open_sources([a_path, b_path], output=merged) as sources:
            merge_all(m, sources)
        _check(m, folder, engines)

        # A crash after the data files, before the commit row: nothing of it is counted.
        with ChoiceLog.open(a_path) as a, a.bulk_writer(origin="live") as w:
            w.write_playthrough(
                info("crashed", "vc"), [(ts("2026-11-08", 1), _enter("hall"))],
                started_at=ts("2026-11-08"),
            )  # fmt: skip
        real_replace = exporter.os.replace

        def crash(src: Any, dst: Any) -> None:
            if "commits" in str(dst):
                raise KeyboardInterrupt("killed before the commit")
            real_replace(src, dst)

        monkeypatch.setattr(exporter.os, "replace", crash)
        with ChoiceLog.open(a_path) as a, pytest.raises(KeyboardInterrupt):
            export_log(a.conn, folder, source="machine-a")
        monkeypatch.undo()
        _check(m, folder, engines)
        assert not list(folder.rglob(".*.tmp")), "temporary files left behind"

        with ChoiceLog.open(a_path) as a:  # the retry writes the same batch and commits it
            assert export_log(a.conn, folder, source="machine-a").playthroughs == 1
        with open_sources([a_path], output=merged) as sources:
            merge_all(m, sources)
        _check(m, folder, engines)


def _enter(node: str) -> Any:
    from branching.play.events import NodeEntered

    return NodeEntered(node)


def _quit(node: str) -> Any:
    from branching.play.events import Quit

    return Quit(node)


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "sqlite"])
def test_every_definition_transpiles(dialect: str) -> None:
    for name, sql in every_query(SELECTIONS["odd version"]).items():
        text = transpile(sql, dialect)
        assert "SELECT" in text.upper(), name

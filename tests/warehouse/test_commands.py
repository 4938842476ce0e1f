"""``branching log export`` and ``branching report --engine duckdb|spark --events`` as a data
engineer uses them: the same JSON as ``--db``, and every hostile folder refused with a message."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.log import ChoiceLog
from tests.analytics import scripted
from tests.analytics.test_experiment_report import _cliff_file
from tests.warehouse.helpers import scripted_log

#: The fields that name the source and the time the report was made: the only ones allowed to
#: differ between engines.
SOURCE_FIELDS = ("generated_at", "source")


def run(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def same_report(a: str, b: str) -> None:
    left, right = json.loads(a), json.loads(b)
    for doc in (left, right):
        for key in SOURCE_FIELDS:
            doc.pop(key)
    assert left == right


@pytest.fixture(scope="module")
def scripted_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A log of the scripted playthroughs and edge cases, its export, and the story file."""
    base = tmp_path_factory.mktemp("scripted")
    db, folder, story = base / "log.db", base / "events", base / "caves.json"
    story.write_text(json.dumps(scripted.STORY_DATA), encoding="utf-8")
    with ChoiceLog.open(db) as log:
        scripted_log(log)
    result = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert result.exit_code == 0, result.output
    assert "Exported 14 playthroughs" in result.output
    again = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert again.exit_code == 0 and "Nothing new to export" in again.output
    return db, folder, story


REPORT_ARGS = [
    [],
    ["--all-versions"],
    ["--origin", "imported", "--all-versions"],
    ["--since", "2026-11-02", "--until", "2026-11-04", "--top", "2"],
    ["--variant", "A", "--all-versions"],
]


@pytest.mark.parametrize("args", REPORT_ARGS, ids=lambda a: " ".join(a) or "default")
def test_duckdb_gives_the_same_report_as_the_log(
    scripted_folder: tuple[Path, Path, Path], args: list[str]
) -> None:
    db, folder, story = scripted_folder
    want = run("report", story, "--db", db, "--format", "json", *args)
    got = run("report", story, "--engine", "duckdb", "--events", folder, "--format", "json", *args)
    assert want.exit_code == 0, want.output
    assert got.exit_code == 0, got.output
    same_report(want.output, got.output)


def test_an_empty_selection_says_what_the_folder_holds(
    scripted_folder: tuple[Path, Path, Path],
) -> None:
    _, folder, story = scripted_folder
    got = run("report", story, "--engine", "duckdb", "--events", folder, "--version", "9")
    assert got.exit_code == 1
    assert "No playthroughs of 'caves'" in got.output and "Traceback" not in got.output


def test_experiments_are_the_same_on_every_engine(tmp_path: Path, spark: Any) -> None:
    story, db, folder = _cliff_file(tmp_path), tmp_path / "log.db", tmp_path / "events"
    simulated = run(
        "simulate", story, "-n", "400", "--seed", "7", "--db", db,
        "--plant", "wording=new,edge,jump,1.5", "--quit-rate", "0.05",
    )  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    assert run("log", "export", "--db", db, "--format", "parquet", "-o", folder).exit_code == 0
    want = run("report", story, "--db", db, "--experiment", "wording", "--format", "json")
    assert want.exit_code == 0, want.output
    assert json.loads(want.output)["experiments"][0]["viewers"] > 300
    for engine in ("duckdb", "spark"):
        got = run("report", story, "--engine", engine, "--events", folder, "--experiment",
                  "wording", "--format", "json")  # fmt: skip
        assert got.exit_code == 0, got.output
        same_report(want.output, got.output)


def test_spark_gives_the_same_report_as_the_log(
    scripted_folder: tuple[Path, Path, Path], spark: Any
) -> None:
    db, folder, story = scripted_folder
    for args in (REPORT_ARGS[1], REPORT_ARGS[3]):  # Spark is slow to start each query: two
        want = run("report", story, "--db", db, "--format", "json", *args)
        got = run("report", story, "--engine", "spark", "--events", folder, "--format", "json",
                  *args)  # fmt: skip
        assert got.exit_code == 0, got.output
        same_report(want.output, got.output)


# --- Hostile folders and command lines -----------------------------------------------------------


def _copy(folder: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(folder, to)
    return to


def _one_data_file(folder: Path, table: str = "events") -> Path:
    return next(p for p in (folder / table).rglob("*.parquet"))


def _write_parquet(path: Path, columns: dict[str, list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def _damage(kind: str, folder: Path) -> None:
    if kind == "wrong schema":
        _write_parquet(_one_data_file(folder).with_name("part-x.parquet"), {"playthrough_id": [1]})
    elif kind == "extra column":
        import pyarrow.parquet as pq

        path = _one_data_file(folder, "playthroughs")
        table = pq.read_table(path)
        pq.write_table(table.append_column("extra\x1b[2J", [[0] * table.num_rows]), path)
    elif kind == "not parquet":
        _one_data_file(folder).write_bytes(b"PAR1 this is not a Parquet file")
    elif kind == "bad date":
        path = _one_data_file(folder)
        bad = path.parent.with_name("date=yesterday\x07")
        path.parent.rename(bad)
    elif kind == "wrong depth":
        _write_parquet(folder / "events" / "stray.parquet", {"a": [1]})
    elif kind == "bad partition key":
        path = _one_data_file(folder)
        path.parents[2].rename(path.parents[2].with_name("story=caves"))
    elif kind == "commits is a file":
        import shutil

        shutil.rmtree(folder / "commits")
        (folder / "commits").write_text("x")
    elif kind == "bad commit":
        _write_parquet(folder / "commits" / "part-x.parquet", {"export_batch": [1]})
    elif kind == "events is a file":
        import shutil

        shutil.rmtree(folder / "events")
        (folder / "events").write_text("x")
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    ["wrong schema", "extra column", "not parquet", "bad date", "wrong depth",
     "bad partition key", "commits is a file", "bad commit", "events is a file"],
)  # fmt: skip
def test_a_damaged_folder_is_refused_with_the_file_named(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path, kind: str
) -> None:
    db, folder, story = scripted_folder
    damaged = _copy(folder, tmp_path / "damaged")
    _damage(kind, damaged)
    for args in (
        ["report", story, "--engine", "duckdb", "--events", damaged],
        ["log", "export", "--db", db, "--format", "parquet", "-o", damaged],
    ):
        result = run(*args)
        assert result.exit_code == 2, (kind, args, result.output)
        assert "Traceback" not in result.output and "\x1b" not in result.output
        assert "\x07" not in result.output
        assert str(damaged) in result.output or "damaged" in result.output, result.output


def test_a_damaged_data_page_is_named_by_report_and_export(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The footer is sound, so the folder check passes and the engine fails mid-query naming
    no file: the command finds the file and names it (exit 2), and export does not take the
    failed read for a failed write."""
    import pyarrow.parquet as pq

    db, folder, story = scripted_folder
    damaged = _copy(folder, tmp_path / "damaged")
    path = _one_data_file(damaged, "playthroughs")
    pq.write_table(pq.read_table(path), path, compression="zstd", use_dictionary=False)
    group = pq.read_metadata(path).row_group(0)
    data = bytearray(path.read_bytes())
    for j in range(group.num_columns):  # every column's first data page header
        page = group.column(j).data_page_offset
        data[page : page + 12] = b"\x5a" * 12
    path.write_bytes(bytes(data))
    for args in (
        ["report", story, "--engine", "duckdb", "--events", damaged, "--all-versions"],
        ["log", "export", "--db", db, "--format", "parquet", "-o", damaged],
    ):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert path.name in result.output and "cannot be decoded" in result.output, result.output
        assert "Cannot write" not in result.output and "Traceback" not in result.output


def test_extra_files_are_left_alone(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """What object stores and other tools leave beside data: markers, notes, temporary files."""
    db, folder, story = scripted_folder
    busy = _copy(folder, tmp_path / "busy")
    (busy / "README.txt").write_text("exported nightly")
    (busy / "events" / "_SUCCESS").write_text("")
    (_one_data_file(busy).parent / ".part-9.parquet.tmp").write_bytes(b"half")
    (_one_data_file(busy).parent / ".DS_Store").write_bytes(b"\0")
    want = run("report", story, "--db", db, "--format", "json")
    got = run("report", story, "--engine", "duckdb", "--events", busy, "--format", "json")
    assert got.exit_code == 0, got.output
    same_report(want.output, got.output)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--engine", "duckdb"], 2, "--events DIR"),
        (["--events", "X"], 2, "--engine duckdb"),
        (["--engine", "duckdb", "--events", "s3://bucket/events"], 2, "only --engine spark"),
        (["--engine", "duckdb", "--events", "missing"], 2, "no such folder"),
        (["--engine", "duckdb", "--events", "caves.json"], 2, "not a folder"),
        (["--engine", "duckdb", "--events", "."], 2, "not an export folder"),
        (["--engine", "duckdb", "--events", "X", "--exact"], 2, "--exact"),
        (["--engine", "duckdb", "--events", "X", "--db", "log.db"], 2, "--db names a SQLite log"),
    ],
)
def test_report_command_lines_that_cannot_work(
    scripted_folder: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    says: str,
) -> None:
    _, folder, story = scripted_folder
    monkeypatch.chdir(story.parent)
    if "X" in args:
        args = [str(folder) if a == "X" else a for a in args]
    result = run("report", story, *args)
    assert result.exit_code == code, result.output
    assert says in result.output and "Traceback" not in result.output


def test_export_refuses_what_it_cannot_write(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    db, _, _ = scripted_folder
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert run("log", "export", "--db", db, "--format", "parquet", "-o", a_file).exit_code == 2
    unset = run("log", "export", "--db", db, "--format", "parquet", "-o", "")  # -o "$UNSET"
    assert unset.exit_code == 2 and "name is empty" in unset.output
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    result = run("log", "export", "--db", db, "--format", "parquet", "-o", foreign)
    assert result.exit_code == 2 and "not an export folder" in result.output
    missing = run(
        "log", "export", "--db", tmp_path / "none.db", "--format", "parquet", "-o", foreign
    )
    assert missing.exit_code == 1 and "No choice log" in missing.output
    empty = tmp_path / "touched.db"
    empty.touch()
    result = run("log", "export", "--db", empty, "--format", "parquet", "-o", tmp_path / "e")
    assert result.exit_code == 1 and "it is empty: not a choice log" in result.output, result.output
    assert empty.stat().st_size == 0 and not (tmp_path / "e").exists()
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        result = run("log", "export", "--db", db, "--format", "parquet", "-o", locked / "x")
        assert result.exit_code == 1 and "Cannot write" in result.output


def test_ctrl_c_during_an_export_says_nothing_was_committed(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import branching.warehouse.export as export_module

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "export_log", interrupted)
    db, _, _ = scripted_folder
    result = run("log", "export", "--db", db, "--format", "parquet", "-o", tmp_path / "x")
    assert result.exit_code == 130
    assert "Interrupted: nothing of this export was committed" in result.output


def test_duckdb_gives_ctrl_c_back_as_an_interrupt() -> None:
    """DuckDB turns Ctrl-C into an error of its own; the command line must not take it for a
    damaged folder (exit 2) but say "Interrupted." (exit 130)."""
    from branching.warehouse.engines import _ctrl_c

    with pytest.raises(KeyboardInterrupt), _ctrl_c():
        raise RuntimeError("Query interrupted")
    with pytest.raises(RuntimeError, match="something else"), _ctrl_c():
        raise RuntimeError("something else")


def test_a_spark_url_to_nothing_is_a_message(spark: Any, tmp_path: Path) -> None:
    story = tmp_path / "caves.json"
    story.write_text(json.dumps(scripted.STORY_DATA), encoding="utf-8")
    missing = (tmp_path / "nothing-here").as_uri()
    result = run("report", story, "--engine", "spark", "--events", missing, "--format", "json")
    assert result.exit_code == 2, result.output
    assert "spark could not read" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("made_by", ["this version", "an older version"])
def test_a_first_export_cut_short_is_resumed(
    scripted_folder: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    made_by: str,
) -> None:
    """Ctrl-C (or a crash) after the data files are in place but before the commit: readers
    see no batch, and exporting again finishes the job instead of refusing the folder."""
    import branching.warehouse.export as export_module

    db, _, story = scripted_folder
    out = tmp_path / "first"

    def cut_short(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(export_module, "write_pre_aggregated", cut_short)
        with ChoiceLog.open(db, readonly=True) as log, pytest.raises(KeyboardInterrupt):
            export_module.export_log(log.conn, out, source="vm")
    assert list((out / "events").rglob("*.parquet")), "the data files were in place"
    if made_by == "an older version":  # which made commits/ only with the first commit
        (out / "commits").rmdir()
    else:
        empty = run("report", story, "--engine", "duckdb", "--events", out)
        assert empty.exit_code == 1 and "Traceback" not in empty.output, empty.output
    resumed = run("log", "export", "--db", db, "--format", "parquet", "-o", out)
    assert resumed.exit_code == 0 and "Exported 14 playthroughs" in resumed.output
    want = run("report", story, "--db", db, "--format", "json")
    got = run("report", story, "--engine", "duckdb", "--events", out, "--format", "json")
    assert got.exit_code == 0, got.output
    same_report(want.output, got.output)


@pytest.mark.slow
def test_a_simulated_audience_of_100000_gives_the_same_report(
    tmp_path_factory: pytest.TempPathFactory, spark: Any
) -> None:
    """100,000 simulated playthroughs: the log's report and DuckDB's and Spark's over its export.

    Generated once per session; each step's time is printed (pytest -s shows it)."""
    base = tmp_path_factory.mktemp("audience")
    db, folder, story = base / "log.db", base / "events", base / "caves.json"
    story.write_text(json.dumps(scripted.STORY_DATA), encoding="utf-8")
    timings: dict[str, float] = {}

    def timed(name: str, *args: Any) -> Result:
        started = time.perf_counter()
        result = run(*args)
        timings[name] = round(time.perf_counter() - started, 1)
        assert result.exit_code == 0, result.output
        return result

    timed("simulate", "simulate", story, "-n", "100000", "--seed", "11", "--db", db)
    timed("export", "log", "export", "--db", db, "--format", "parquet", "-o", folder)
    want = timed("report --db", "report", story, "--db", db, "--format", "json")
    assert json.loads(want.output)["playthroughs"]["started"] == 100_000
    for engine in ("duckdb", "spark"):
        got = timed(f"report --engine {engine}", "report", story, "--engine", engine,
                    "--events", folder, "--format", "json")  # fmt: skip
        same_report(want.output, got.output)
    print("100,000 playthroughs, seconds per step:", timings)


@pytest.mark.parametrize(("engine", "package"), [("duckdb", "duckdb"), ("spark", "pyspark")])
def test_a_missing_engine_says_how_to_install_it(
    scripted_folder: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
    package: str,
) -> None:
    import sys

    _, folder, story = scripted_folder
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    result = run("report", story, "--engine", engine, "--events", folder)
    assert result.exit_code == 2
    assert f"pip install 'branching[{engine}]'" in result.output


def test_without_java_spark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from branching.warehouse import engines

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "apt-get install -y default-jre-headless" in (engines.java_missing() or "")
    monkeypatch.setattr(engines, "_SPARK", None)
    with pytest.raises(engines.EngineMissing, match="Java 17"):
        engines.spark_session()


def test_playthroughs_held_twice_count_once_in_the_note_on_simulated_ones(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Two machines export the same log (viewers' and simulated playthroughs) into one folder:
    the report keeps the viewers', and says how many simulated playthroughs it left out, each
    counted once, as ``--db`` does."""
    db, _, story = scripted_folder
    log = tmp_path / "log.db"
    log.write_bytes(db.read_bytes())
    simulated = run("simulate", story, "-n", 12, "--seed", 3, "--db", log, "--workers", 1)
    assert simulated.exit_code == 0, simulated.output
    folder, elsewhere = tmp_path / "folder", tmp_path / "elsewhere"
    for source, target in (("machine-a", folder), ("machine-b", elsewhere)):
        exported = run("log", "export", "--db", log, "--format", "parquet", "-o", target,
                       "--source", source)  # fmt: skip
        assert exported.exit_code == 0, exported.output
    for path in elsewhere.rglob("*.parquet"):
        (folder / path.relative_to(elsewhere)).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.relative_to(elsewhere)).write_bytes(path.read_bytes())
    want = run("report", story, "--db", log, "--format", "json")
    got = run("report", story, "--engine", "duckdb", "--events", folder, "--format", "json")
    assert got.exit_code == 0, got.output
    same_report(want.output, got.output)
    assert "12 simulated playthroughs are left out" in " ".join(json.loads(got.output)["notes"])


@pytest.mark.parametrize("n", [-1_000_000, 2**63 - 1])
def test_impossible_counts_are_refused_by_both_kinds_of_report(
    scripted_folder: tuple[Path, Path, Path], tmp_path: Path, n: int
) -> None:
    """Damaged roll-ups or facts: a traceback deep in the statistics (negative counts), or a
    report of 46 quintillion choices with shares near 1e-17 (huge ones)."""
    import shutil
    import sqlite3

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    db, folder, story = scripted_folder
    damaged_db = tmp_path / "log.db"
    with sqlite3.connect(db) as source, sqlite3.connect(damaged_db) as target:
        source.backup(target)
        target.execute("UPDATE rollup_choices SET explicit = ?", (n,))
    result = run("report", story, "--db", damaged_db, "--all-versions")
    assert result.exit_code == 1, result.output
    # Huge counts can also overflow SQLite's sums: "could not be read", with the same advice.
    assert "rebuild-rollups" in result.output and "Traceback" not in result.output

    damaged = _copy(folder, tmp_path / "events")
    for part in (damaged / "facts").glob("*.parquet"):
        table = pq.read_table(part)
        choices = pc.equal(table["kind"], "choice")
        column = table.schema.get_field_index("n")
        table = table.set_column(column, "n", pc.if_else(choices, n, table["n"]))
        shutil.copystat(part, part)
        pq.write_table(table, part)
    result = run("report", story, "--engine", "duckdb", "--events", damaged, "--all-versions")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "impossible counts" in result.output or "could not read" in result.output
    assert run("report", story, "--db", db, "--all-versions").exit_code == 0

"""``branching log export`` on a log holding values it cannot write as they are (a log merged
from another machine or edited by hand): one located message, exit 1, the folder left exactly
as it was (still readable, same report), and the next export works once the row is fixed."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.log import ChoiceLog
from branching.play.events import ChoiceMade, NodeEntered, Quit, Rewound
from branching.warehouse.layout import schema
from branching.warehouse.values import ValueRefused, to_arrow
from tests.analytics import scripted
from tests.warehouse.helpers import info, scripted_log, ts


def run(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _report(story: Path, folder: Path) -> dict[str, Any]:
    result = run("report", story, "--engine", "duckdb", "--events", folder, "--format", "json")
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.output)
    doc.pop("generated_at")
    return doc


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones included), files by content."""
    return {
        str(p.relative_to(folder)): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        )
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A log of the scripted playthroughs, its export, and the story file."""
    base = tmp_path_factory.mktemp("hostile")
    db, folder, story = base / "log.db", base / "events", base / "caves.json"
    story.write_text(json.dumps(scripted.STORY_DATA), encoding="utf-8")
    with ChoiceLog.open(db) as log:
        scripted_log(log)
    result = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert result.exit_code == 0, result.output
    return db, folder, story


HOSTILE = "hostile-1"


def _add_playthroughs(db: Path) -> None:
    """A sound newcomer, and the playthrough the cases damage: seq 0 enter, 1 choice, 2 enter,
    3 rewind, 4 enter, 5 quit."""
    with ChoiceLog.open(db) as log, log.bulk_writer(origin="live") as w:
        w.write_playthrough(
            info("newcomer", "vn"),
            [(ts("2026-11-07", 1), NodeEntered("hall"))],
            started_at=ts("2026-11-07"),
        )
        w.write_playthrough(
            info(HOSTILE, "vh"),
            [
                (ts("2026-11-07", 1), NodeEntered("hall")),
                (ts("2026-11-07", 2), ChoiceMade("hall", "left", "cave", 100)),
                (ts("2026-11-07", 3), NodeEntered("cave")),
                (ts("2026-11-07", 4), Rewound("cave", "hall", 0)),
                (ts("2026-11-07", 5), NodeEntered("hall")),
                (ts("2026-11-07", 6), Quit("hall")),
            ],
            started_at=ts("2026-11-07"),
        )


_PT = f"(SELECT pk FROM playthroughs WHERE id = '{HOSTILE}')"
_EV = f"UPDATE events SET {{}} WHERE playthrough = {_PT} AND seq = {{}}"
_ROW = f"UPDATE playthroughs SET {{}} WHERE id = '{HOSTILE}'"

#: kind -> (the damage, then what the message must say: table, event, column, what is wrong)
CASES = {
    "infinite time": (_EV.format("at = 9e999", 2), "events", 2, "at", "invalid time (inf)"),
    "minus infinity": (_EV.format("at = -9e999", 4), "events", 4, "at", "invalid time (-inf)"),
    "past year 9999": (_EV.format("at = 1e20", 1), "events", 1, "at", "invalid time (1e+20)"),
    "before 1970": (_EV.format("at = -1.0", 0), "events", 0, "at", "before 1970"),
    "start time": (_ROW.format("started_at = 9e999"), "playthroughs", None, "started_at",
                   "invalid time (inf)"),
    "end time": (_ROW.format("ended_at = -1e300"), "playthroughs", None, "ended_at",
                 "invalid time (-1e+300)"),
    "seq past 32 bits": (_EV.format("seq = 4294967296", 5), "events", 4294967296, "seq",
                         "32-bit"),
    "step past 32 bits": (_EV.format("step = 2147483648", 3), "events", 3, "step", "32-bit"),
    "count past 32 bits": (_ROW.format("event_count = 1099511627776"), "playthroughs", None,
                           "event_count", "32-bit"),
    "timed_out not 0 or 1": (_EV.format("timed_out = 2", 1), "events", 1, "timed_out",
                             "is 2, not 0 or 1"),
    "viewer not UTF-8": (_ROW.format("viewer = CAST(x'76eda080' AS TEXT)"), "playthroughs",
                         None, "viewer", "not UTF-8 text (v\\xed\\xa0\\x80)"),
    "node not UTF-8": (_EV.format("node = CAST(x'68616cff' AS TEXT)", 4), "events", 4, "node",
                       "not UTF-8 text (hal\\xff)"),
    "line break in a node": (_EV.format("node = 'ha' || char(10) || 'll'", 4), "events", 4,
                             "node", "line break"),
    "empty story id": (_ROW.format("story_id = ''"), "playthroughs", None, "story_id",
                       "reads back as no value"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(CASES))
def test_a_value_export_cannot_write_stops_it_and_leaves_the_folder_as_it_was(
    exported: tuple[Path, Path, Path], tmp_path: Path, kind: str
) -> None:
    source, original, story = exported
    damage, table, seq, column, what = CASES[kind]
    db, folder = tmp_path / "log.db", tmp_path / "events"
    shutil.copyfile(source, db)
    shutil.copytree(original, folder)
    _add_playthroughs(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute(damage).rowcount == 1
    conn.close()
    before, report = _snapshot(folder), _report(story, folder)

    result = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    message = result.output
    assert message.count("Error:") == 1, message
    where = f"table {table}, playthrough {HOSTILE}" + (f", event {seq}" if seq is not None else "")
    assert f"{where}, column {column}: " in message, message
    assert what in message, message
    assert "`branching log check`" in message and "leave the playthrough out" in message
    assert _snapshot(folder) == before, "the refused export changed the folder"
    assert _report(story, folder) == report

    # Leave the playthrough out: the next export adds the rest.
    with sqlite3.connect(db) as conn:
        for sql in (
            f"DELETE FROM events WHERE playthrough = {_PT}",
            f"DELETE FROM playthroughs WHERE id = '{HOSTILE}'",
        ):
            conn.execute(sql)
    conn.close()
    again = run("log", "export", "--db", db, "--format", "parquet", "-o", folder)
    assert again.exit_code == 0, again.output
    assert "Exported 1 playthrough and 1 event" in again.output
    assert run("log", "rebuild-rollups", "--db", db).exit_code == 0  # rows deleted by hand
    want = run("report", story, "--db", db, "--format", "json")
    assert want.exit_code == 0, want.output
    got, wanted = _report(story, folder), json.loads(want.output)
    for doc in (got, wanted):
        doc.pop("source")
        doc.pop("generated_at", None)
    assert got == wanted


def test_a_refused_first_export_leaves_no_folder(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Into a new folder, nested: no commits/, no partition folders, no parents are left."""
    source, _, _ = exported
    db = tmp_path / "log.db"
    shutil.copyfile(source, db)
    _add_playthroughs(db)
    with sqlite3.connect(db) as conn:
        conn.execute(_EV.format("at = 9e999", 5))
    conn.close()
    out = tmp_path / "new" / "export"
    result = run("log", "export", "--db", db, "--format", "parquet", "-o", out)
    assert result.exit_code == 1 and "column at: is invalid time (inf)" in result.output
    assert not (tmp_path / "new").exists()


def test_files_already_written_for_the_batch_are_removed(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Small files: the events of earlier playthroughs are already in temporary files when the
    bad value is met; none of them, nor their folders, stay."""
    from branching.warehouse.export import export_log

    source, original, _ = exported
    db, folder = tmp_path / "log.db", tmp_path / "events"
    shutil.copyfile(source, db)
    shutil.copytree(original, folder)
    _add_playthroughs(db)
    with sqlite3.connect(db) as conn:
        conn.execute(_ROW.format("ended_at = 9e999"))
    conn.close()
    before = _snapshot(folder)
    with ChoiceLog.open(db, readonly=True) as log, pytest.raises(ValueRefused) as refused:
        export_log(log.conn, folder, source="vm", max_rows_per_file=1)
    assert refused.value.column == "ended_at" and refused.value.playthrough == HOSTILE
    assert _snapshot(folder) == before


def _events(**columns: list[Any]) -> dict[str, list[Any]]:
    """Two events' columns as the export buffers them, with ``columns`` replaced."""
    values: dict[str, list[Any]] = {name: [None, None] for name in schema("events").names}
    values.update(
        playthrough_id=["p1", "p2"], seq=[0, 1], at=[1.0, 2.0], kind=["enter", "enter"],
        node=["a", "b"], visit=[True, True], first_visit=[True, True], origin=["live"] * 2,
        export_batch=["b", "b"],
    )  # fmt: skip
    values.update(columns)
    return values


@pytest.mark.parametrize(
    ("columns", "where", "what"),
    [
        ({"at": [1.0, float("nan")]}, "table events, playthrough p2, event 1, column at",
         "invalid time (nan)"),
        ({"at": [1.0, "yesterday"]}, "column at", "not a time"),
        ({"at": [True, 1.0]}, "playthrough p1, event 0, column at", "not a time"),
        ({"seq": [0, 1.5]}, "event 1.5, column seq", "is 1.5, not an integer"),
        ({"seq": [0, "1"]}, "column seq", "is '1', not an integer"),
        ({"decision_ms": [None, 2**70]}, "column decision_ms", "64-bit"),
        ({"decision_ms": [None, -(2**64)]}, "column decision_ms", "64-bit"),
        ({"node": ["a", 7]}, "event 1, column node", "is 7, not text"),
        ({"node": ["a", "b\ud800"]}, "event 1, column node", "lone surrogate"),
        ({"timed_out": [None, -1]}, "column timed_out", "not 0 or 1"),
        ({"variant": [None, 5]}, "table playthroughs, playthrough p2, column variant",
         "not text"),
        ({"playthrough_id": ["p1", "p\udcff"]}, "playthrough p\\udcff", "lone surrogate"),
    ],
)  # fmt: skip
def test_values_of_the_wrong_type_or_size_are_named(
    columns: dict[str, list[Any]], where: str, what: str
) -> None:
    """What a STRICT log cannot hold, but a damaged one might hand over: checked all the same."""
    with pytest.raises(ValueRefused) as refused:
        to_arrow("events", _events(**columns), schema("events"))
    assert where in str(refused.value) and what in str(refused.value), str(refused.value)


def test_sound_values_convert_as_before() -> None:
    """Times become microseconds rounded half to even, as ``round`` does; 0/1 become booleans."""
    seconds = [1_700_000_000.1234565, 0.0000015]
    table = to_arrow("events", _events(at=seconds, timed_out=[1, None]), schema("events"))
    micros = table.column("at").cast("int64").to_pylist()
    assert micros == [round(s * 1_000_000) for s in seconds]
    assert table.column("timed_out").to_pylist() == [True, None]

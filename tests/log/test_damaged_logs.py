"""Merge and repair commands on damaged logs, and paths SQLite must never be given."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from branching.log import ChoiceLog
from branching.play.events import ChoiceMade, NodeEntered, Quit
from tests.log.helpers import PATH_WITH_REWIND, info, quit_path, record_all, rows, run_cli


def _log(path: Path, count: int = 3) -> list[str]:
    ids = []
    with ChoiceLog.open(path) as log:
        for i in range(count):
            who = info(viewer=f"v{i}")
            record_all(log.start_playthrough(who), PATH_WITH_REWIND if i % 2 else quit_path())
            ids.append(who.playthrough_id)
    return ids


def _beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_merge_leaves_out_orphan_events_and_says_so(tmp_path: Path) -> None:
    """Events whose playthrough row is gone (``log check`` reports them) crashed the merge."""
    source, out = tmp_path / "orphans.db", tmp_path / "all.db"
    ids = _log(source)
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM playthroughs WHERE id = ?", (ids[1],))  # the middle one
    checked = run_cli("log", "check", "--db", str(source))
    assert checked.returncode == 1 and "orphan events" in checked.stderr
    merged = run_cli("log", "merge", str(source), "-o", str(out))
    assert merged.returncode == 1, merged.stderr
    assert "Traceback" not in merged.stderr
    assert "8 events of playthroughs that are not in it left out" in merged.stderr
    assert "2 playthroughs and 8 events added" in merged.stdout
    assert sorted(r[0] for r in rows(out, "SELECT id FROM playthroughs")) == sorted(
        [ids[0], ids[2]]
    )
    assert run_cli("log", "check", "--db", str(out)).returncode == 0


def test_merge_leaves_nothing_beside_its_sources(tmp_path: Path) -> None:
    a, out = tmp_path / "a.db", tmp_path / "all.db"
    _log(a)
    assert _beside(a) == ["a.db"]  # closed cleanly: no -wal, no -shm
    before = a.read_bytes()
    result = run_cli("log", "merge", str(a), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _beside(a) == ["a.db"]
    assert a.read_bytes() == before


def test_every_read_only_command_leaves_nothing_beside_the_log(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    ids = _log(db)
    for args in [
        ["log", "info"],
        ["log", "list"],
        ["log", "show", ids[0]],
        ["log", "check"],
        ["viewer", "export", "v0"],
        ["report", str(Path(__file__).parents[1] / "fixtures" / "lantern.json")],
    ]:
        result = run_cli(*args, "--db", str(db))
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert _beside(db) == ["a.db"], args


def test_merge_reports_a_conflict_between_logs_of_the_same_length(tmp_path: Path) -> None:
    """The same playthrough id and the same number of events, but not the same events."""
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    who = info()
    for path, turn in ((a, "left"), (b, "right")):
        with ChoiceLog.open(path) as log:
            record_all(
                log.start_playthrough(who),
                [NodeEntered("start"), ChoiceMade("start", turn, turn, 5), NodeEntered(turn)],
            )
    result = run_cli("log", "merge", str(a), str(b), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"1 conflicting (kept as in output: {who.playthrough_id})" in result.stdout
    assert rows(out, "SELECT choice FROM events WHERE kind = 'choice'") == [("left",)]
    # A shorter copy that disagrees is a conflict too, not "already present".
    c = tmp_path / "c.db"
    with ChoiceLog.open(c) as log:
        record_all(log.start_playthrough(who), [NodeEntered("elsewhere")])
    shorter = run_cli("log", "merge", str(c), "-o", str(out))
    assert "1 conflicting" in shorter.stdout and "0 already present" in shorter.stdout


def test_merge_replays_a_source_row_that_disagrees_with_its_events(tmp_path: Path) -> None:
    source, out = tmp_path / "a.db", tmp_path / "all.db"
    ids = _log(source, 1)
    with sqlite3.connect(source) as conn:
        conn.execute("UPDATE playthroughs SET status = 'completed', last_node = 'nowhere'")
    assert run_cli("log", "merge", str(source), "-o", str(out)).returncode == 0
    assert rows(out, "SELECT id, status, last_node FROM playthroughs") == [(ids[0], "quit", "hall")]
    assert run_cli("log", "check", "--db", str(out)).returncode == 0


def test_merge_leaves_out_a_playthrough_whose_events_are_not_numbered_in_order(
    tmp_path: Path,
) -> None:
    source, out = tmp_path / "a.db", tmp_path / "all.db"
    ids = _log(source, 2)
    with sqlite3.connect(source) as conn:
        (pk,) = conn.execute("SELECT pk FROM playthroughs WHERE id = ?", (ids[0],)).fetchone()
        conn.execute("DELETE FROM events WHERE playthrough = ? AND seq = 1", (pk,))
    result = run_cli("log", "merge", str(source), "-o", str(out))
    assert result.returncode == 1
    assert f"playthrough {ids[0]}: its events are not numbered 0, 1, 2" in result.stderr
    assert rows(out, "SELECT id FROM playthroughs") == [(ids[1],)]


@pytest.mark.parametrize("damage", ["drop", "alter", "view"])
def test_rebuild_rollups_check_reports_a_missing_or_altered_table(
    tmp_path: Path, damage: str
) -> None:
    db = tmp_path / "a.db"
    _log(db)
    with sqlite3.connect(db) as conn:
        if damage == "drop":
            conn.execute("DROP TABLE rollup_paths")
        elif damage == "alter":
            conn.execute("ALTER TABLE rollup_nodes DROP COLUMN t61")
        else:
            conn.execute("DROP TABLE rollup_viewers")
            conn.execute("CREATE VIEW rollup_viewers AS SELECT 1 AS cohort")
    checked = run_cli("log", "rebuild-rollups", "--check", "--db", str(db))
    assert checked.returncode == 1, checked.stderr
    assert "Traceback" not in checked.stderr
    assert "The roll-ups of" in checked.stderr and "are damaged" in checked.stderr
    assert "Run `branching log rebuild-rollups` to repair them" in checked.stderr
    rebuilt = run_cli("log", "rebuild-rollups", "--db", str(db))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "recreated" in rebuilt.stdout
    again = run_cli("log", "rebuild-rollups", "--check", "--db", str(db))
    assert again.returncode == 0 and "match the raw events" in again.stdout
    lantern = Path(__file__).parents[1] / "fixtures" / "lantern.json"
    report = run_cli("report", str(lantern), "--db", str(db))
    assert "Traceback" not in report.stderr


def test_a_roll_up_table_sqlite_cannot_read_is_a_message(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _log(db)
    with sqlite3.connect(db) as conn:
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'rollup_paths'"
        ).fetchone()
    data = bytearray(db.read_bytes())
    data[(root - 1) * 4096 : root * 4096] = b"\xff" * 4096
    db.write_bytes(bytes(data))
    for args in (["--check"], []):
        result = run_cli("log", "rebuild-rollups", *args, "--db", str(db))
        assert result.returncode == 1
        assert "damaged" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["log", "info"],
        ["log", "list"],
        ["log", "check"],
        ["viewer", "export", "v0"],
        ["viewer", "forget", "v0", "--yes"],
        ["log", "rebuild-rollups"],
        ["simulate", "stories/demo.json", "-n", "1"],
    ],
)
def test_a_device_is_refused_before_sqlite_touches_it(command: list[str]) -> None:
    """SQLite created /dev/null-journal beside the device, even for `log info`."""
    journal = Path("/dev/null-journal")
    existed = journal.exists()
    try:
        result = run_cli(*command, "--db", "/dev/null")
        assert result.returncode == 1, result.stdout
        assert "it is not a regular file" in result.stderr
        assert journal.exists() == existed
    finally:
        if journal.exists() and not existed:
            journal.unlink()  # what the old code left behind


def test_a_device_as_merge_output_is_refused() -> None:
    result = run_cli("log", "merge", "/dev/null", "-o", "/dev/null")
    assert result.returncode == 1 and "not a regular file" in result.stderr


def test_a_quit_then_resumed_playthrough_is_a_possible_sequence(tmp_path: Path) -> None:
    """More events after a quit (a resumed save) are fine for `log check`."""
    with ChoiceLog.open(tmp_path / "a.db") as log:
        record_all(
            log.start_playthrough(info()),
            [*quit_path(), ChoiceMade("hall", "on", "cave", 5), NodeEntered("cave"), Quit("cave")],
        )
        assert log.check() == []


def test_log_check_counts_every_problem_and_lists_the_first_twenty(tmp_path: Path) -> None:
    db = tmp_path / "many.db"
    with ChoiceLog.open(db) as log:
        for _ in range(25):
            record_all(log.start_playthrough(info()), [NodeEntered("a"), NodeEntered("b")])
    result = run_cli("log", "check", "--db", str(db))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 22 and lines[20] == "... and 5 more problem(s)"
    assert lines[-1] == f"Error: 25 problem(s) found in {db}"

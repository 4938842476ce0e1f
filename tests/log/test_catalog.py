"""A log whose tables were altered (by hand, by another program) is refused when it is opened.

A view where a table should be, a table that is not STRICT, columns added or removed, foreign
keys changed or a trigger would otherwise crash a read half-way or, worse, change what every
write does. Derived tables (the roll-ups) are ``log rebuild-rollups``' business, not the open's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from branching.log import ChoiceLog
from tests.log.helpers import info, log_at_version, quit_path, record_all, rows, run_cli

EVENTS_LOOSE = """
ALTER TABLE events RENAME TO old_events;
CREATE TABLE events (
    playthrough INTEGER, seq INTEGER, at REAL, kind TEXT, node TEXT, choice TEXT, target TEXT,
    decision_ms INTEGER, timed_out INTEGER, step INTEGER, detail TEXT, ending_kind TEXT,
    PRIMARY KEY (playthrough, seq)
);
INSERT INTO events SELECT * FROM old_events;
DROP TABLE old_events;
"""

DAMAGE = {
    "a view for a table": (
        "DROP TABLE events; CREATE VIEW events AS SELECT 1 AS playthrough",
        "'events' is a view, not a table",
    ),
    "a loose table": (EVENTS_LOOSE, "the table 'events' is not STRICT"),
    "an extra column": (
        "ALTER TABLE playthroughs ADD COLUMN note TEXT",
        "the table 'playthroughs' has unknown column(s) 'note'",
    ),
    "a missing column": (
        "ALTER TABLE playthroughs DROP COLUMN language",
        "the table 'playthroughs' has no column 'language'",
    ),
    "a missing table": ("DROP TABLE exposures", "the table 'exposures' is missing"),
    "a trigger": (
        "CREATE TRIGGER wipe AFTER INSERT ON events BEGIN DELETE FROM playthroughs; END",
        "it has a trigger 'wipe' on 'events', and branching creates none",
    ),
}


def _edit(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(sql)
    finally:
        conn.close()  # closed here, so its checkpoint is not taken for a write of ours


def _log(path: Path) -> str:
    with ChoiceLog.open(path) as log:
        who = info()
        record_all(log.start_playthrough(who), quit_path())
    return who.playthrough_id


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_log_with_altered_tables_is_refused_by_readers_writers_and_merge(
    tmp_path: Path, damage: str
) -> None:
    db, out = tmp_path / "edited.db", tmp_path / "all.db"
    _log(db)
    sql, reason = DAMAGE[damage]
    _edit(db, sql)
    before = db.read_bytes()
    for args in (
        ["log", "check", "--db", str(db)],
        ["log", "list", "--db", str(db)],
        ["simulate", "stories/demo.json", "-n", "2", "--seed", "1", "--db", str(db)],
        ["log", "merge", str(db), "-o", str(out)],
    ):
        result = run_cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        assert f"cannot use the choice log '{db}'" in result.stderr.lower(), (args, result.stderr)
        assert "its tables are not as branching creates them" in result.stderr
        assert reason in result.stderr, (args, result.stderr)
    assert db.read_bytes() == before  # nothing written into it, even by simulate
    assert not out.exists()


def test_a_trigger_never_runs_inside_a_write(tmp_path: Path) -> None:
    """Before, `simulate` wrote through a trigger that deleted every playthrough."""
    db = tmp_path / "edited.db"
    first = _log(db)
    _edit(db, DAMAGE["a trigger"][0])
    run_cli("simulate", "stories/demo.json", "-n", "2", "--db", str(db))
    assert rows(db, "SELECT id FROM playthroughs") == [(first,)]


def test_missing_roll_ups_are_left_to_rebuild_rollups(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _log(db)
    _edit(db, "DROP TABLE rollup_nodes")
    assert run_cli("log", "check", "--db", str(db)).returncode == 0
    assert run_cli("log", "rebuild-rollups", "--db", str(db)).returncode == 0


@pytest.mark.parametrize("version", [1, 4, 6])
def test_older_logs_are_checked_against_their_own_version(tmp_path: Path, version: int) -> None:
    db = tmp_path / "old.db"
    log_at_version(db, version)
    ChoiceLog.open(db).close()  # upgraded, not refused
    old = tmp_path / "edited.db"
    log_at_version(old, version)
    _edit(old, "ALTER TABLE events ADD COLUMN mood TEXT")
    result = run_cli("log", "check", "--db", str(old))
    assert result.returncode == 1
    assert "the table 'events' has unknown column(s) 'mood'" in result.stderr

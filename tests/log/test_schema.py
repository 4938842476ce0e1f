"""Schema: explicit tables and indexes, versions, upgrades on open, newer logs refused."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from branching.log import ChoiceLog, LogOutdated, LogTooNew, LogUnavailable
from branching.log.schema import APPLICATION_ID, LOG_SCHEMA, SCHEMA_VERSION, migrate
from branching.play.events import ChoiceMade, EndingReached, NodeEntered
from tests.log.helpers import info, log_at_version, quit_path, record_all, rows, start_worker


def test_a_fresh_log_has_every_table_index_and_version_before_any_row(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    ChoiceLog.open(db).close()
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "PRAGMA application_id") == [(APPLICATION_ID,)]
    assert rows(db, "SELECT name FROM _sqlite_migrations ORDER BY id") == [
        (name,) for name in LOG_SCHEMA.names
    ]
    sql = dict(rows(db, "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
    assert "STRICT" in sql["playthroughs"] and "STRICT" in sql["events"]
    assert "WITHOUT ROWID" in sql["events"]
    assert {"playthroughs_by_viewer", "playthroughs_by_story", "playthrough_events"} <= set(sql)
    assert rows(db, "SELECT count(*) FROM events") == [(0,)]


def test_types_and_enumerations_are_enforced(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with ChoiceLog.open(db) as log:
        log.start_playthrough(info())
        with pytest.raises(sqlite3.IntegrityError):
            log.conn.execute("UPDATE playthroughs SET status = 'paused'")
        with pytest.raises(sqlite3.IntegrityError):
            log.conn.execute("UPDATE playthroughs SET event_count = 'many'")
        with pytest.raises(sqlite3.IntegrityError):
            log.conn.execute(
                "INSERT INTO events (playthrough, seq, at, kind, node) "
                "VALUES (1, 0, 0, 'jump', 'a')"
            )


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_older_log_is_upgraded_on_open_and_keeps_its_data(tmp_path: Path, version: int) -> None:
    db = tmp_path / "old.db"
    log_at_version(db, version)
    with ChoiceLog.open(db) as log:
        assert log.migrated_from == version
        assert log.schema_version == SCHEMA_VERSION
        assert [e.event for e in log.events("old-1")] == [
            NodeEntered("start"),
            ChoiceMade("start", "go", "hall", 700),
        ]
        recorder = log.resume_playthrough("old-1")
        recorder.record(NodeEntered("hall"))
        recorder.record(EndingReached("hall", None, "good"))
        assert log.check() == []
    assert rows(db, "SELECT count(*) FROM _sqlite_migrations") == [(SCHEMA_VERSION,)]
    with ChoiceLog.open(db) as again:
        assert again.migrated_from is None


def test_an_older_log_opened_read_only_asks_for_an_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    log_at_version(db, 1)
    with pytest.raises(LogOutdated, match="older version of branching"):
        ChoiceLog.open(db, readonly=True)


@pytest.mark.parametrize("how", ["user_version", "unknown migration"])
def test_a_newer_log_is_refused_and_left_untouched(tmp_path: Path, how: str) -> None:
    db = tmp_path / "new.db"
    with ChoiceLog.open(db) as log:
        record_all(log.start_playthrough(info()), quit_path())
    conn = sqlite3.connect(db, isolation_level=None)
    if how == "user_version":
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('branching-log', 'm999_from_the_future', 'later')"
        )
    conn.close()
    before = db.read_bytes()
    with pytest.raises(LogTooNew, match=r"newer version of branching.*upgrade branching"):
        ChoiceLog.open(db)
    assert db.read_bytes() == before


def test_another_applications_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "theirs.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(LogUnavailable, match=r"not a branching choice log.*invoices"):
        ChoiceLog.open(db)
    assert db.read_bytes() == before
    assert not Path(str(db) + "-wal").exists()


def test_migrate_runs_only_what_is_pending(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    db = Database(conn)
    assert migrate(db) == 0
    assert migrate(db) == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone() == (SCHEMA_VERSION,)


@pytest.mark.slow
def test_eight_processes_opening_a_fresh_log_at_once_all_succeed(tmp_path: Path) -> None:
    for attempt in range(3):
        db = tmp_path / f"race-{attempt}.db"
        at = str(time.time() + 1.5)  # all open at this moment, after their imports
        procs = [start_worker("open", str(db), at) for _ in range(8)]
        results = [p.communicate(timeout=60) for p in procs]
        failed = [err for (_, err), p in zip(results, procs, strict=True) if p.returncode]
        failures = "\n".join(failed)
        assert [p.returncode for p in procs] == [0] * 8, failures
        assert [out.strip() for out, _ in results] == [str(SCHEMA_VERSION)] * 8
        assert rows(db, "SELECT count(*) FROM _sqlite_migrations") == [(SCHEMA_VERSION,)]

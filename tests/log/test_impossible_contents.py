"""`log check` names contents no player writes, and `log merge` leaves them out.

Each damage below is one a hand edit or another program could leave in a log: the STRICT
tables accept it, yet no player could have written it. `log check` must name the playthrough
and the event; `log merge` must not copy the playthrough into its output.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.log import ChoiceLog
from tests.log.helpers import PATH_WITH_REWIND, FakeClock, info, quit_path, record_all, rows

#: (SQL run on the damaged playthrough's key, what `log check` says about it).
DAMAGE = {
    "time going backwards": (
        "UPDATE events SET at = at - 100 WHERE playthrough = ? AND seq = 2",
        "event 2 is at 2023-11-14 22:11:",
        "its times go backwards",
    ),
    "time before 1970": (
        "UPDATE events SET at = -86400.0 WHERE playthrough = ? AND seq = 3",
        "event 3 is at 1969-12-31 00:00:00, before 1970",
        "",
    ),
    "negative decision time": (
        "UPDATE events SET decision_ms = -5 WHERE playthrough = ? AND seq = 1",
        "event 1 took -5 ms to decide (not 0 to a year)",
        "",
    ),
    "absurd decision time": (
        "UPDATE events SET decision_ms = 9223372036854775807 WHERE playthrough = ? AND seq = 1",
        "event 1 took 9223372036854775807 ms to decide",
        "",
    ),
    "timed_out not 0 or 1": (
        "UPDATE events SET timed_out = 7 WHERE playthrough = ? AND seq = 1",
        "event 1 has timed_out 7 (not 0 or 1)",
        "",
    ),
    "a choice without target": (
        "UPDATE events SET target = NULL WHERE playthrough = ? AND seq = 1",
        "event 1 (choice) has no target",
        "",
    ),
    "an entry with a choice": (
        "UPDATE events SET choice = 'x' WHERE playthrough = ? AND seq = 0",
        "event 0 (enter) has a choice ('x')",
        "",
    ),
    "an unknown ending kind": (
        "UPDATE events SET ending_kind = 'meh' WHERE playthrough = ? AND kind = 'ending'",
        "event 7 reaches an ending of unknown kind 'meh'",
        "",
    ),
    "a negative rewind step": (
        "UPDATE events SET step = -2 WHERE playthrough = ? AND kind = 'rewind'",
        "event 3 goes back -2 steps (not a count)",
        "",
    ),
}


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BRANCHING_DB", raising=False)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _log(path: Path) -> tuple[str, str]:
    """A sound playthrough (with a rewind and an ending) to damage, and a sound one to keep;
    the first starts at 2023-11-14 22:13:20 and its events follow 1.5 s apart."""
    with ChoiceLog.open(path, clock=FakeClock()) as log:
        damaged, kept = info(viewer="a"), info(viewer="b")
        record_all(log.start_playthrough(damaged), PATH_WITH_REWIND)
        record_all(log.start_playthrough(kept), quit_path())
    return damaged.playthrough_id, kept.playthrough_id


def _damage(path: Path, playthrough_id: str, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        (pk,) = conn.execute(
            "SELECT pk FROM playthroughs WHERE id = ?", (playthrough_id,)
        ).fetchone()
        assert conn.execute(sql, (pk,)).rowcount == 1
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("damage", DAMAGE)
def test_log_check_names_the_playthrough_and_event(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "a.db"
    damaged, _ = _log(db)
    assert invoke("log", "check", "--db", str(db)).exit_code == 0
    sql, said, also = DAMAGE[damage]
    _damage(db, damaged, sql)
    result = invoke("log", "check", "--db", str(db))
    assert result.exit_code == 1, result.output
    assert f"playthrough {damaged}: {said}" in result.stderr, result.stderr
    assert also in result.stderr


@pytest.mark.parametrize("damage", DAMAGE)
def test_merge_leaves_out_what_log_check_calls_impossible(tmp_path: Path, damage: str) -> None:
    source, out = tmp_path / "a.db", tmp_path / "all.db"
    damaged, kept = _log(source)
    sql, said, _ = DAMAGE[damage]
    _damage(source, damaged, sql)
    result = invoke("log", "merge", str(source), "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "1 playthrough left out, not merged" in result.stderr
    assert f"playthrough {damaged}: {said}" in result.stderr
    assert rows(out, "SELECT id FROM playthroughs") == [(kept,)]
    assert invoke("log", "check", "--db", str(out)).exit_code == 0


def test_a_playthrough_that_ended_before_it_started_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    damaged, _ = _log(db)
    _damage(db, damaged, "UPDATE playthroughs SET ended_at = started_at - 60 WHERE pk = ?")
    result = invoke("log", "check", "--db", str(db))
    assert result.exit_code == 1
    assert f"playthrough {damaged}: it ended (2023-11-14 22:12:20) before it started" in (
        result.stderr
    )


def test_exposures_of_missing_playthroughs_or_at_no_entry_are_reported(tmp_path: Path) -> None:
    db, out = tmp_path / "a.db", tmp_path / "all.db"
    damaged, kept = _log(db)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        (pk,) = conn.execute("SELECT pk FROM playthroughs WHERE id = ?", (damaged,)).fetchone()
        insert = "INSERT INTO exposures VALUES (?, ?, ?, ?, ?, 1700000000.0)"
        conn.execute(insert, (pk, "wording", "b", "hall", 1))  # event 1 is a choice
        conn.execute(insert, (999, "wording", "a", "start", 0))
        conn.commit()
    finally:
        conn.close()
    result = invoke("log", "check", "--db", str(db))
    assert result.exit_code == 1
    assert (
        f"playthrough {damaged}: its exposure to experiment 'wording' (arm 'b') is at 'hall', "
        "but event 1 is not an entry into it"
    ) in result.stderr
    assert "1 experiment exposure(s) of playthrough key 999, which is not in the log" in (
        result.stderr
    )
    merged = invoke("log", "merge", str(db), "-o", str(out))
    assert merged.exit_code == 1
    assert rows(out, "SELECT id FROM playthroughs") == [(kept,)]


def test_a_clock_stepping_back_during_play_keeps_the_times_in_order(tmp_path: Path) -> None:
    """NTP may set the wall clock back mid-playthrough: the log must not then hold a
    playthrough `log check` calls impossible."""
    readings = iter([1_700_000_100.0, 1_700_000_101.0, 1_700_000_050.0, 1_700_000_060.0,
                     1_700_000_102.0])  # fmt: skip
    db = tmp_path / "a.db"
    with ChoiceLog.open(db, clock=lambda: next(readings)) as log:
        record_all(log.start_playthrough(info()), quit_path())
    assert rows(db, "SELECT at FROM events ORDER BY seq") == [
        (1_700_000_101.0,),
        (1_700_000_101.0,),  # stamped at the last event's time, not 50 s earlier
        (1_700_000_101.0,),
        (1_700_000_102.0,),
    ]
    assert invoke("log", "check", "--db", str(db)).exit_code == 0


def test_text_that_is_not_utf8_is_named_not_a_bare_sqlite_error(tmp_path: Path) -> None:
    """Python's sqlite3 cannot read such text at all: `log check` must still say where it is
    (with its bytes escaped, never raw on the terminal) instead of SQLite's decoding error."""
    db = tmp_path / "a.db"
    damaged, kept = _log(db)
    _damage(
        db,
        damaged,
        "UPDATE events SET node = CAST(x'ff1b41' AS TEXT) WHERE playthrough = ? AND seq = 0",
    )
    _damage(db, kept, "UPDATE playthroughs SET viewer = CAST(x'c3' AS TEXT) WHERE pk = ?")
    result = invoke("log", "check", "--db", str(db))
    assert result.exit_code == 1, result.output
    assert f"playthrough {damaged}: event 0: its node is not UTF-8 text (\\xff\\x1bA)" in (
        result.stderr
    )
    assert f"playthrough {kept}: its viewer is not UTF-8 text (\\xc3)" in result.stderr
    assert "\x1b" not in result.stderr
    assert "2 problem(s) found" in result.stderr

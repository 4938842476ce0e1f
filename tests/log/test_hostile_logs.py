"""Logs are untrusted input: strings with control characters, and times from a broken clock.

A log may come from another machine (``log merge``) or be edited by hand. Every command that
shows it must neither send a control character to the terminal or a file nor crash on a time
``datetime`` cannot show; ``log check`` must say what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.log import ChoiceLog
from branching.play.events import ChoiceMade, EndingReached, Failed, NodeEntered, Rewound
from branching.story.loader import read_story
from tests.log.helpers import ROOT, info, quit_path, record_all

LANTERN = ROOT / "tests" / "fixtures" / "lantern.json"
#: An escape sequence that retitles the terminal, BEL, and a C1 CSI (colours everything red).
HOSTILE = "\x1b]2;pwned\x07\x9b31m"
#: Raw control characters a terminal or spreadsheet would act on (newline and tab are text).
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BRANCHING_DB", raising=False)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _hostile_log(path: Path) -> str:
    """A log of the lantern story whose every stored string holds control characters."""
    story = read_story(LANTERN)
    who = info(
        viewer=f"ann{HOSTILE}",
        story=story.id,
        story_version=f"1{HOSTILE}",
        story_hash=story.content_hash,
        variant=f"B{HOSTILE}",
    )
    odd = f"hall{HOSTILE}"
    with ChoiceLog.open(path) as log:
        record_all(
            log.start_playthrough(who),
            [
                NodeEntered("hall"),
                ChoiceMade("hall", f"go{HOSTILE}", odd, 700),
                NodeEntered(odd),
                Rewound(odd, "hall", 0),
                ChoiceMade("hall", "bridge", "bridge", 900),
                NodeEntered("bridge"),
                ChoiceMade("bridge", "jump", "river", 400),
                NodeEntered("river"),
                Failed("river", f"fault {HOSTILE}"),
            ],
        )
        who2 = info(story=story.id, story_hash=story.content_hash, story_version="1")
        record_all(
            log.start_playthrough(who2),
            [
                NodeEntered("hall"),
                ChoiceMade("hall", f"go{HOSTILE}", odd, 700),
                NodeEntered(odd),
                EndingReached(odd, f"The end {HOSTILE}", "good"),
            ],
        )
    return who.playthrough_id


def _assert_clean(text: str, where: str) -> None:
    found = RAW_CONTROL.search(text)
    assert found is None, f"raw {found.group()!r} in {where}: {text[:400]!r}"


def test_the_csv_report_escapes_ids_from_the_log(tmp_path: Path) -> None:
    """Node and choice ids only the log knows go to the terminal and to the files as ``\\x1b``."""
    db = tmp_path / "hostile.db"
    _hostile_log(db)
    args = ["report", str(LANTERN), "--db", str(db), "--format", "csv", "--all-versions"]
    shown = invoke(*args)
    assert shown.exit_code == 0, shown.output
    _assert_clean(shown.stdout, "csv on stdout")
    assert "hall\\x1b]2;pwned\\x07\\x9b31m" in shown.stdout
    out = tmp_path / "report.csv"
    written = invoke(*args, "-o", str(out))
    assert written.exit_code == 0, written.output
    for name in ("report-nodes.csv", "report-choices.csv"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        _assert_clean(text, name)
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert any("\\x1b]2;pwned" in cell for cell in cells), name


def test_every_command_that_shows_a_log_shows_it_without_control_characters(
    tmp_path: Path,
) -> None:
    """The class: every output path (terminal lines, JSON, CSV, HTML, messages) of every
    command that reads a log."""
    db = tmp_path / "hostile.db"
    pid = _hostile_log(db)
    report = ["report", str(LANTERN), "--db", str(db), "--all-versions"]
    runs = {
        "log show": ["log", "show", pid, "--db", str(db)],
        "log list": ["log", "list", "--db", str(db)],
        "log info": ["log", "info", "--db", str(db)],
        "log info --json": ["log", "info", "--db", str(db), "--json"],
        "log check": ["log", "check", "--db", str(db)],
        "log check --story": ["log", "check", "--db", str(db), "--story", str(LANTERN)],
        "report table": report,
        "report json": [*report, "--format", "json"],
        "report csv": [*report, "--format", "csv"],
        "report html": [*report, "--format", "html"],
        "report --exact": [*report, "--exact"],
        "report --variant": [*report, "--variant", f"B{HOSTILE}"],
        "rebuild-rollups": ["log", "rebuild-rollups", "--db", str(db), "--check"],
        "merge": ["log", "merge", str(db), "-o", str(tmp_path / f"all{HOSTILE}.db")],
        "show, unknown id": ["log", "show", f"zz{HOSTILE}zz", "--db", str(db)],
        "check, damaged path": ["log", "check", "--db", str(tmp_path / f"no{HOSTILE}" / "x.db")],
    }
    for name, args in runs.items():
        result = invoke(*args)
        assert "Traceback" not in result.output, (name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), name
        _assert_clean(result.stdout, f"{name} (stdout)")
        _assert_clean(result.stderr, f"{name} (stderr)")
    exported = invoke("log", "show", pid, "--db", str(db))
    assert "fault \\x1b]2;pwned\\x07\\x9b31m" in exported.stdout
    data = json.loads(invoke(*report, "--format", "json").stdout)
    assert any(n["id"] == f"hall{HOSTILE}" for n in data["nodes"])  # the same value, escaped


def test_a_file_name_with_control_characters_is_shown_escaped(tmp_path: Path) -> None:
    db = tmp_path / f"log{HOSTILE}.db"
    with ChoiceLog.open(db) as log:
        record_all(log.start_playthrough(info()), quit_path())
    ok = invoke("log", "check", "--db", str(db))
    assert ok.exit_code == 0 and "log\\x1b]2;pwned" in ok.stdout
    _assert_clean(ok.stdout, "log check")
    with ChoiceLog.open(db) as log:
        log.conn.execute("UPDATE playthroughs SET status = 'completed'")
    bad = invoke("log", "check", "--db", str(db))
    assert bad.exit_code == 1 and "problem(s) found in" in bad.stderr
    _assert_clean(bad.stderr, "log check's error")
    info_ = invoke("log", "info", "--db", str(db))
    _assert_clean(info_.stdout, "log info")


# --- Times from a broken clock ----------------------------------------------------------------

BROKEN_TIMES = [1e20, -1e20, float("inf"), float("-inf")]


def _log_with_times(path: Path) -> list[str]:
    """A log of the lantern story with sound playthroughs and ones from a broken clock."""
    story = read_story(LANTERN)
    ids = []
    with ChoiceLog.open(path) as log:
        for _ in range(2 + len(BROKEN_TIMES)):
            who = info(story=story.id, story_hash=story.content_hash, story_version="1")
            record_all(log.start_playthrough(who), quit_path())
            ids.append(who.playthrough_id)
        conn = log.conn
        for pid, bad in zip(ids[2:], BROKEN_TIMES, strict=True):
            (pk,) = conn.execute("SELECT pk FROM playthroughs WHERE id = ?", (pid,)).fetchone()
            conn.execute("UPDATE events SET at = ? WHERE playthrough = ? AND seq = 1", (bad, pk))
            conn.execute(
                "UPDATE playthroughs SET started_at = ?, updated_at = ? WHERE pk = ?",
                (bad, bad, pk),
            )
        # `simulate --days 1000000` wrote start times in the year -643.
        conn.execute("UPDATE playthroughs SET started_at = ? WHERE id = ?", (-82e9, ids[1]))
    # Their roll-ups as a rebuild files them (the shares keep each first decision's time).
    with ChoiceLog.open(path) as log, log.write_transaction() as conn:
        from branching.log.rollups import rebuild_rollups
        from branching.log.shares import rebuild_shares

        rebuild_rollups(conn)
        rebuild_shares(conn)
    return ids


def test_no_command_crashes_on_times_outside_the_calendar(tmp_path: Path) -> None:
    db = tmp_path / "clock.db"
    ids = _log_with_times(db)
    report = ["report", str(LANTERN), "--db", str(db), "--all-versions"]
    for args in [
        ["log", "show", ids[2], "--db", str(db)],
        ["log", "show", ids[5], "--db", str(db)],
        ["log", "list", "--db", str(db)],
        ["log", "info", "--db", str(db)],
        ["log", "info", "--db", str(db), "--json"],
        ["viewer", "export", "viewer-1", "--db", str(db)],
        report,
        [*report, "--exact"],
        [*report, "--since", "2000-01-01"],
        ["log", "rebuild-rollups", "--db", str(db), "--check"],
    ]:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
    shown = invoke("log", "show", ids[2], "--db", str(db)).stdout
    assert "started invalid time (1e+20)" in shown
    assert (
        "invalid time (-inf) to invalid time (inf)" in invoke("log", "info", "--db", str(db)).stdout
    )
    info_json = json.loads(invoke("log", "info", "--db", str(db), "--json").stdout)
    assert info_json["first_at"] is None and info_json["last_at"] is None  # -inf, inf
    exported = json.loads(invoke("viewer", "export", "viewer-1", "--db", str(db)).stdout)
    starts = {p["started_at"] for p in exported["playthroughs"]}
    assert "invalid time (inf)" in starts and "invalid time (-1e+20)" in starts


def test_start_times_in_the_year_minus_643_are_listed(tmp_path: Path) -> None:
    """What `simulate --days 1000000` wrote before the option was bounded."""
    db = tmp_path / "old.db"
    with ChoiceLog.open(db) as log:
        who = info()
        record_all(log.start_playthrough(who), quit_path())
        log.conn.execute("UPDATE playthroughs SET started_at = ?", (-82e9,))
    listed = invoke("log", "list", "--db", str(db))
    assert listed.exit_code == 0 and who.playthrough_id in listed.stdout
    shown = invoke("log", "info", "--db", str(db))
    assert shown.exit_code == 0
    assert "Activity:      invalid time (-82000000000.0) to 20" in shown.stdout


def test_log_check_reports_times_outside_the_calendar(tmp_path: Path) -> None:
    db = tmp_path / "clock.db"
    ids = _log_with_times(db)
    result = invoke("log", "check", "--db", str(db))
    assert result.exit_code == 1
    assert f"playthrough {ids[1]}: started_at is invalid time (-82000000000.0)" in result.stderr
    assert f"playthrough {ids[2]}: event 1 is at invalid time (1e+20)" in result.stderr
    assert f"playthrough {ids[4]}: started_at is invalid time (inf)" in result.stderr


def test_merge_leaves_out_playthroughs_from_a_broken_clock_and_says_so(tmp_path: Path) -> None:
    source, out = tmp_path / "clock.db", tmp_path / "all.db"
    ids = _log_with_times(source)
    result = invoke("log", "merge", str(source), "-o", str(out))
    assert result.exit_code == 1
    assert "5 playthroughs left out, not merged" in result.stderr
    assert f"playthrough {ids[1]}: it starts at invalid time (-82000000000.0)" in result.stderr
    assert "Everything else was merged" in result.stderr
    with sqlite3.connect(out) as conn:
        assert conn.execute("SELECT id FROM playthroughs").fetchall() == [(ids[0],)]
    assert invoke("log", "check", "--db", str(out)).exit_code == 0
    again = invoke("log", "merge", str(source), "-o", str(out))
    assert "0 playthroughs and 0 events added, 1 already present" in again.stdout


def test_the_log_never_stores_a_time_outside_the_calendar(tmp_path: Path) -> None:
    from branching.log import LogWriteError

    with ChoiceLog.open(tmp_path / "w.db") as log:
        with pytest.raises(LogWriteError, match="outside the years 1970 to 9999"):
            log.start_playthrough(info(), at=-82_000_000_000.0)
        recorder = log.start_playthrough(info(), at=1_700_000_000.0)
        with pytest.raises(LogWriteError, match=r"invalid time \(1e\+20\)"):
            recorder.record(NodeEntered("hall"), at=1e20)
        with pytest.raises(LogWriteError, match="outside the years"), log.bulk_writer() as bulk:
            bulk.write_playthrough(info(), [(float("inf"), NodeEntered("hall"))])
        assert log.check() == []

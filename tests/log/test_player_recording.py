"""The log as ``branching play`` uses it: ``open_recorder``, and real plays end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from branching.log import ChoiceLog, LogUnavailable, LogWriteError, open_recorder
from branching.play.events import ChoiceMade, NodeEntered, Quit
from tests.log.helpers import ROOT, info, rows

LANTERN = ROOT / "tests" / "fixtures" / "lantern.json"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BRANCHING_DB", raising=False)
    return tmp_path / "home"


def test_open_recorder_starts_then_continues_one_playthrough(home: Path) -> None:
    who = info()
    notices: list[str] = []
    first = open_recorder(who, notice=notices.append)
    assert first.path == home / "choices.db"  # BRANCHING_HOME holds everything
    first.record(NodeEntered("start"))
    first.close()
    second = open_recorder(who, notice=notices.append)  # a player resuming its save
    second.record(ChoiceMade("start", "go", "hall", 40))
    second.record(Quit("hall"))
    second.close()
    second.close()  # twice is harmless
    assert len(notices) == 1 and "--no-log" in notices[0] and who.viewer in notices[0]
    with ChoiceLog.open(home / "choices.db") as log:
        assert [e.seq for e in log.events(who.playthrough_id)] == [0, 1, 2]
        p = log.playthrough(who.playthrough_id)
        assert p is not None and p.status == "quit"


def test_open_recorder_works_from_any_thread(tmp_path: Path) -> None:
    who = info()
    recorder = open_recorder(who, db=tmp_path / "t.db")
    threads = [
        threading.Thread(target=recorder.record, args=(NodeEntered(f"n{i}"),)) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recorder.close()
    assert rows(tmp_path / "t.db", "SELECT count(*), max(seq) FROM events") == [(8, 7)]


def test_open_recorder_names_an_unusable_path(tmp_path: Path) -> None:
    with pytest.raises(LogUnavailable, match="does not exist"):
        open_recorder(info(), db=tmp_path / "missing" / "t.db")


def play(*args: str, stdin: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BRANCHING_HOME": str(home)}
    env.pop("BRANCHING_DB", None)
    env.pop("BRANCHING_VIEWER", None)
    return subprocess.run(
        [sys.executable, "-m", "branching", "play", str(LANTERN), "--plain", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_a_real_play_is_logged_and_a_resumed_one_continues(home: Path) -> None:
    first = play("--viewer", "ann", stdin="1\n2\n", home=home)  # EOF: quits, place saved
    assert first.returncode == 0, first.stderr
    db = home / "choices.db"
    assert rows(db, "SELECT viewer, status, last_node FROM playthroughs") == [
        ("ann", "quit", "bridge")
    ]
    second = play("--viewer", "ann", stdin="1\n", home=home)
    assert second.returncode == 0, second.stderr
    assert "The end: Across. A good ending." in second.stdout
    assert rows(db, "SELECT status, ending, ending_kind FROM playthroughs") == [
        ("completed", "far_side", "good")
    ]
    kinds = [k for (k,) in rows(db, "SELECT kind FROM events ORDER BY seq")]
    assert kinds[0] == "enter" and kinds[-1] == "ending" and "quit" in kinds
    with ChoiceLog.open(db) as log:
        assert log.check() == []


def test_no_log_writes_nothing_and_a_bad_db_is_a_message(home: Path, tmp_path: Path) -> None:
    quiet = play("--no-log", stdin="1\n1\n1\n", home=home)
    assert quiet.returncode == 0, quiet.stderr
    assert not (home / "choices.db").exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database at all\n" * 100)
    bad = play("--db", str(garbage), stdin="1\n", home=home)
    assert bad.returncode == 1
    assert "not an SQLite database" in bad.stderr and "--no-log" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_an_unusable_data_folder_stops_before_the_story(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("a file where the data folder should be")
    result = play(stdin="1\n", home=home)
    assert result.returncode == 1
    assert "is not a directory" in result.stderr and "--no-log" in result.stderr
    assert "The Hall" not in result.stdout  # nothing was shown
    assert "Traceback" not in result.stderr


def test_the_log_is_pseudonymous_and_says_so_once(home: Path) -> None:
    first = play(stdin="q\n", home=home)
    assert first.returncode == 0, first.stderr
    notices = [line for line in first.stderr.splitlines() if "choices are logged" in line]
    assert len(notices) == 1 and "--no-log" in notices[0]
    viewer_id = (home / "viewer-id").read_text().strip()
    assert viewer_id in notices[0]
    assert rows(home / "choices.db", "SELECT DISTINCT viewer FROM playthroughs") == [(viewer_id,)]
    again = play("--new", stdin="q\n", home=home)
    assert "choices are logged" not in again.stderr
    assert rows(home / "choices.db", "SELECT DISTINCT viewer FROM playthroughs") == [(viewer_id,)]


def test_a_save_copied_from_another_viewer_does_not_add_to_their_playthrough(
    home: Path,
) -> None:
    """Copied into dave's saves, carol's save went on with carol's playthrough: dave's choices
    were credited to carol (`viewer forget dave` could not erase them)."""
    first = play("--viewer", "carol", stdin="1\n", home=home)
    assert first.returncode == 0, first.stderr
    count = "SELECT viewer, event_count FROM playthroughs"
    (before,) = rows(home / "choices.db", count)
    saves = home / "saves"
    (saves / "dave").mkdir(parents=True)
    for save in (saves / "carol").iterdir():
        (saves / "dave" / save.name).write_bytes(save.read_bytes())
    second = play("--viewer", "dave", stdin="y\n1\n", home=home)
    assert second.returncode == 0, second.stderr
    assert "records that playthrough for another viewer" in second.stdout
    counts = dict(rows(home / "choices.db", count))
    assert counts["carol"] == before[1] and counts["dave"] > 0, counts


def test_open_recorder_never_continues_another_viewers_playthrough(tmp_path: Path) -> None:
    carol = info("carol")
    open_recorder(carol, db=tmp_path / "t.db").close()
    with pytest.raises(LogWriteError, match="another viewer"):
        open_recorder(info("dave", playthrough_id=carol.playthrough_id), db=tmp_path / "t.db")

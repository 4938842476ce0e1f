"""``branching log ...`` and ``branching viewer ...`` as a producer or viewer runs them."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.log import ChoiceLog
from branching.log.schema import SCHEMA_VERSION
from branching.play.events import ChoiceMade, Failed, NodeEntered
from tests.log.helpers import PATH_WITH_REWIND, ROOT, info, quit_path, record_all, rows, run_cli


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BRANCHING_DB", raising=False)
    monkeypatch.delenv("BRANCHING_HOME", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "choices.db"
    with ChoiceLog.open(path) as log:
        record_all(log.start_playthrough(info(playthrough_id="a" * 32)), PATH_WITH_REWIND)
        record_all(log.start_playthrough(info(viewer="v2", story="other")), quit_path())
        recorder = log.start_playthrough(info(viewer="v3", playthrough_id="b" * 32))
        recorder.record(NodeEntered("start"))
        recorder.record(Failed("start", "bad \x1b]2;pwned\x07 message"))
    return path


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def test_info_shows_path_schema_and_counts(db: Path) -> None:
    result = invoke("log", "info", "--db", str(db))
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{db} (from --db)" in out
    assert f"version {SCHEMA_VERSION}, WAL journal" in out
    assert "Playthroughs:  3 (open 0, completed 1, quit 1, failed 1)" in out
    assert "Events:        14" in out
    assert "Viewers:       3" in out
    data = json.loads(invoke("log", "info", "--db", str(db), "--json").output)
    assert data["events"] == 14 and data["by_status"]["failed"] == 1
    assert data["stories"][0] == {
        "story_id": "demo",
        "playthroughs": 2,
        "completed": 1,
        "events": 10,
    }


def test_info_without_a_log_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = invoke("log", "info")
    assert result.exit_code == 0
    assert "No choice log at" in result.output and "(default)" in result.output
    assert not (tmp_path / "data").exists()


def test_environment_variable_picks_the_log(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHING_DB", str(db))
    assert "(from $BRANCHING_DB)" in invoke("log", "info").output


def test_list_and_show(db: Path) -> None:
    listing = invoke("log", "list", "--db", str(db), "--status", "completed")
    assert listing.exit_code == 0
    assert listing.output.startswith("a" * 32) and "completed at cellar" in listing.output
    shown = invoke("log", "show", "aaaaaaa", "--db", str(db))
    assert shown.exit_code == 0, shown.output
    assert "rewind  hall << back to start (step 0)" in shown.output
    assert "choice  start -[right]-> cellar (timer default, 5000 ms)" in shown.output
    assert "Route: start > cellar" in shown.output
    missing = invoke("log", "show", "zzzzzzzz", "--db", str(db))
    assert missing.exit_code == 1 and "no playthrough" in missing.output


def test_stored_strings_cannot_drive_the_terminal(db: Path) -> None:
    shown = invoke("log", "show", "b" * 32, "--db", str(db))
    assert "\x1b" not in shown.output and "\x07" not in shown.output
    assert "bad \\x1b]2;pwned\\x07 message" in shown.output
    exported = invoke("viewer", "export", "v3", "--db", str(db))
    assert "\x1b" not in exported.output
    assert json.loads(exported.output)["playthroughs"][0]["failure"].startswith("bad \x1b]2;")


def test_check(db: Path) -> None:
    ok = invoke("log", "check", "--db", str(db))
    assert ok.exit_code == 0 and ok.output.startswith("OK:")
    with ChoiceLog.open(db) as log:
        log.conn.execute("DELETE FROM events WHERE seq = 2")
    broken = invoke("log", "check", "--db", str(db))
    assert broken.exit_code == 1
    assert "event_count 8 but 7 events" in broken.output


def test_export_prints_everything_about_a_viewer(db: Path, tmp_path: Path) -> None:
    result = invoke("viewer", "export", "viewer-1", "--db", str(db))
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [len(p["events"]) for p in data["playthroughs"]] == [8]
    assert data["playthroughs"][0]["events"][1]["decision_ms"] == 1800
    out = tmp_path / "me.json"
    to_file = invoke("viewer", "export", "viewer-1", "--db", str(db), "-o", str(out))
    assert "Wrote 1 playthrough(s)" in to_file.output
    assert json.loads(out.read_text()) | {"exported_at": None} == data | {"exported_at": None}


def test_export_defaults_to_this_user(db: Path) -> None:
    me = invoke("viewer", "id").output.split()[0]
    with ChoiceLog.open(db) as log:
        log.start_playthrough(info(viewer=me)).record(ChoiceMade("a", "b", "b", 5))
    data = json.loads(invoke("viewer", "export", "--db", str(db)).output)
    assert data["viewer"] == me and len(data["playthroughs"]) == 1


def test_forget_asks_then_deletes_and_counts(db: Path) -> None:
    declined = invoke("viewer", "forget", "viewer-1", "--db", str(db), input="n\n")
    assert declined.exit_code == 1
    assert "Delete 1 playthrough(s) and 8 event(s) of viewer viewer-1" in declined.output
    assert json.loads(invoke("viewer", "export", "viewer-1", "--db", str(db)).output)[
        "playthroughs"
    ]
    done = invoke("viewer", "forget", "viewer-1", "--db", str(db), "--yes")
    assert done.exit_code == 0
    assert "Forgot viewer viewer-1: deleted 1 playthrough(s) and 8 event(s)" in done.output
    after = json.loads(invoke("viewer", "export", "viewer-1", "--db", str(db)).output)
    assert after["playthroughs"] == []
    again = invoke("viewer", "forget", "viewer-1", "--db", str(db), "--yes")
    assert "Nothing stored about viewer viewer-1" in again.output
    assert "Playthroughs:  2" in invoke("log", "info", "--db", str(db)).output


def test_every_log_and_viewer_command_has_help() -> None:
    for group_name in ("log", "viewer"):
        group = main.commands[group_name]
        assert isinstance(group, click.Group) and group.help
        for name, command in group.commands.items():
            assert command.help, f"{group_name} {name} has no help"
            result = invoke(group_name, name, "--help")
            assert result.exit_code == 0 and "Usage:" in result.output


def test_the_real_cli_in_a_subprocess(db: Path) -> None:
    result = run_cli("viewer", "export", "v2", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["playthroughs"][0]["status"] == "quit"


def _columns(db: Path, table: str) -> list[str]:
    return [row[1] for row in rows(db, f"PRAGMA table_info({table})")]


def test_export_holds_every_column_of_the_viewers_rows(tmp_path: Path) -> None:
    """Every column the file holds for the viewer's playthroughs, events and exposures, read
    from the file itself: a column added to the log later cannot be left out of the export."""
    db = tmp_path / "fr.db"
    story = str(ROOT / "stories" / "demo.json")
    simulated = run_cli(
        "simulate", story, "-n", "6", "--viewers", "2", "--seed", "3", "--lang", "fr",
        "--db", str(db), "--workers", "1",
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    [(viewer, pk)] = rows(db, "SELECT viewer, pk FROM playthroughs ORDER BY started_at LIMIT 1")
    data = json.loads(invoke("viewer", "export", viewer, "--db", str(db)).output)
    first = data["playthroughs"][0]
    assert first["language"] == "fr"
    internal = {"pk", "playthrough"}  # this file's row numbers
    assert set(first) == set(_columns(db, "playthroughs")) - internal | {"events", "exposures"}
    stored = rows(db, "SELECT * FROM playthroughs WHERE pk = ?", (pk,))[0]
    for column, value in zip(_columns(db, "playthroughs"), stored, strict=True):
        if column not in internal and not column.endswith("_at"):
            assert first[column] == value, column
    # Events leave out their empty columns: every column with a value is there.
    held = rows(db, "SELECT * FROM events WHERE playthrough = ? ORDER BY seq", (pk,))
    assert [set(event) for event in first["events"]] == [
        {c for c, v in zip(_columns(db, "events"), row, strict=True) if v is not None} - internal
        for row in held
    ]
    assert (
        len(first["events"])
        == rows(db, "SELECT count(*) FROM events WHERE playthrough = ?", (pk,))[0][0]
    )
    assert first["exposures"], "the demo story's experiment exposes every playthrough"
    assert set(first["exposures"][0]) == set(_columns(db, "exposures")) - internal


def test_export_holds_the_viewers_saves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path))
    from branching.play.saves import SaveStore

    saves = SaveStore()
    saves.save("keeper", "ann", {"format": "x", "node": "door", "bad": "\x1b]2;pwned\x07"})
    saves.save("keeper", "bob", {"node": "elsewhere"})
    damaged = saves.path("lantern", "ann")
    damaged.write_text("{not json")
    result = invoke("viewer", "export", "ann", "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    exported = json.loads(result.output)["saves"]
    assert [Path(s["file"]).name for s in exported] == ["keeper.json", "lantern.json"]
    assert exported[0]["save"] == {"format": "x", "node": "door", "bad": "\x1b]2;pwned\x07"}
    assert "error" in exported[1] and "save" not in exported[1]
    # What forget deletes is what export shows.
    assert (
        invoke("viewer", "forget", "ann", "--yes", "--db", str(tmp_path / "none.db")).exit_code == 0
    )
    assert json.loads(invoke("viewer", "export", "ann").output)["saves"] == []

"""Where the log lives, who the viewer is, and the first-run notice."""

from __future__ import annotations

import threading
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from branching.commands._options import db_option, viewer_option
from branching.log.location import DbLocation, default_db_path, logging_notice, resolve_db
from branching.play.home import Viewer, resolve_viewer
from branching.story.untrusted import printable


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BRANCHING_DB", raising=False)
    monkeypatch.delenv("BRANCHING_HOME", raising=False)
    return tmp_path


def test_db_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_db_path() == tmp_path / "data" / "branching" / "choices.db"
    assert resolve_db() == DbLocation(default_db_path(), "default")
    monkeypatch.setenv("BRANCHING_DB", str(tmp_path / "env.db"))
    assert resolve_db() == DbLocation(tmp_path / "env.db", "env")
    assert resolve_db(tmp_path / "opt.db") == DbLocation(tmp_path / "opt.db", "option")
    monkeypatch.setenv("BRANCHING_DB", "")
    assert resolve_db("").source == "default"
    assert resolve_db("~/x.db").path == Path.home() / "x.db"
    assert resolve_db(environ={"BRANCHING_DB": "/e.db"}).path == Path("/e.db")


def test_the_db_option_gives_commands_a_resolved_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @click.command()
    @db_option
    @viewer_option
    def probe(db: DbLocation, viewer: str | None) -> None:
        click.echo(f"{db.source} {db.path} {viewer}")

    runner = CliRunner()
    assert runner.invoke(probe, []).output.startswith("default ")
    monkeypatch.setenv("BRANCHING_DB", "/from/env.db")
    assert runner.invoke(probe, []).output == "env /from/env.db None\n"
    result = runner.invoke(probe, ["--db", "/x.db", "--viewer", "kiosk-3"])
    assert result.output == "option /x.db kiosk-3\n"
    bad = runner.invoke(probe, ["--viewer", "has space"])
    assert bad.exit_code == 2 and "not a valid viewer id" in bad.output


def test_the_viewer_id_is_random_saved_and_reused(tmp_path: Path) -> None:
    first = resolve_viewer()
    assert first.source == "new" and len(first.id) == 16
    int(first.id, 16)  # hex: nothing derived from the person
    again = resolve_viewer()
    assert again == Viewer(first.id, "config")
    assert (tmp_path / "config" / "branching" / "viewer-id").read_text().strip() == first.id
    assert resolve_viewer("kiosk-3") == Viewer("kiosk-3", "option")
    with pytest.raises(ValueError, match="not a valid viewer id"):
        resolve_viewer("\x1b[31m")


def test_viewers_created_at_once_agree(tmp_path: Path) -> None:
    seen: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        seen.append(resolve_viewer().id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1


def test_an_unwritable_config_dir_gives_an_ephemeral_id(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    viewer = resolve_viewer(config=blocker / "branching")
    assert viewer.source == "ephemeral" and len(viewer.id) == 16


def test_the_notice_is_shown_once_per_log(tmp_path: Path) -> None:
    viewer = resolve_viewer()
    location = resolve_db()
    line = logging_notice(location, viewer)
    assert line is not None and "\n" not in line
    assert str(location.path) in line and "--no-log" in line and viewer.id in line
    assert logging_notice(location, viewer) is None
    other = resolve_db(tmp_path / "other.db")
    assert logging_notice(other, viewer) is not None
    # Cannot remember it: shown every time rather than never.
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert logging_notice(location, viewer, config=blocker / "x") is not None
    assert logging_notice(location, viewer, config=blocker / "x") is not None


def test_printable_shows_control_characters_instead_of_obeying_them() -> None:
    assert printable("a\x1b]2;TITLE\x07b\x9b") == "a\\x1b]2;TITLE\\x07b\\x9b"
    assert printable("tab\tand newline\nstay") == "tab\tand newline\nstay"


def test_branching_home_holds_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path / "portable"))
    assert resolve_db() == DbLocation(tmp_path / "portable" / "choices.db", "default")
    viewer = resolve_viewer()
    assert (tmp_path / "portable" / "viewer-id").read_text().strip() == viewer.id

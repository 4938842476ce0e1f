"""Saves on disk: one per (story, viewer), atomic, damaged files reported clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from branching.play.engine import ResumeError
from branching.play.home import data_dir, resolve_viewer
from branching.play.saves import SaveStore


def test_save_load_delete(tmp_path: Path) -> None:
    store = SaveStore(tmp_path)
    assert store.load("lantern", "ann") is None
    store.save("lantern", "ann", {"node": "hall", "text": "café"})
    assert store.load("lantern", "ann") == {"node": "hall", "text": "café"}
    assert store.load("lantern", "bob") is None
    assert store.load("other", "ann") is None
    store.save("lantern", "ann", {"node": "bridge"})
    assert store.load("lantern", "ann") == {"node": "bridge"}
    assert [p.name for p in (tmp_path / "ann").iterdir()] == ["lantern.json"]  # no temp files
    store.delete("lantern", "ann")
    store.delete("lantern", "ann")  # deleting twice is fine
    assert store.load("lantern", "ann") is None


def test_names_cannot_escape_the_saves_folder(tmp_path: Path) -> None:
    store = SaveStore(tmp_path / "saves")
    for viewer in ["../../etc", "a/b", "C:\\x", ".", "", "名前"]:
        path = store.path("story:1", viewer)
        assert path.parent.parent == tmp_path / "saves"
        store.save("story:1", viewer, {"v": viewer})
        assert store.load("story:1", viewer) == {"v": viewer}
    assert len(list((tmp_path / "saves").iterdir())) == 6


@pytest.mark.parametrize("content", ["{broken", "[1, 2]"])
def test_damaged_save_is_a_resume_error(tmp_path: Path, content: str) -> None:
    store = SaveStore(tmp_path)
    path = store.path("lantern", "ann")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(ResumeError, match="damaged"):
        store.load("lantern", "ann")


def test_home_and_viewer_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRANCHING_HOME", str(tmp_path))
    monkeypatch.setenv("BRANCHING_VIEWER", "zoe")
    assert data_dir() == tmp_path
    assert SaveStore().root == tmp_path / "saves"
    assert resolve_viewer().id == "zoe"
    monkeypatch.delenv("BRANCHING_HOME")
    assert data_dir().name == "branching"


# --- Saves are untrusted input ---------------------------------------------------------------

HOSTILE_SAVES = {
    "NaN": '{"format": "branching-save/1", "elapsed": NaN}',
    "Infinity": '{"format": "branching-save/1", "variables": {"gold": -Infinity}}',
    "1e400": '{"format": "branching-save/1", "elapsed": 1e400}',
    "5,000 digits": '{"format": "branching-save/1", "visits": {"hall": ' + "9" * 5000 + "}}",
    "deep": '{"format": "branching-save/1", "history": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "surrogate": '{"format": "branching-save/1", "node": "\\ud800"}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_SAVES))
def test_unusable_json_in_a_save_is_a_resume_error(tmp_path: Path, name: str) -> None:
    store = SaveStore(tmp_path)
    path = store.path("lantern", "ann")
    path.parent.mkdir(parents=True)
    path.write_text(HOSTILE_SAVES[name], encoding="utf-8")
    with pytest.raises(ResumeError, match="damaged") as error:
        store.load("lantern", "ann")
    assert len(str(error.value)) < 300  # nothing of the file is echoed at length


def test_a_save_that_never_ends_is_refused(tmp_path: Path) -> None:
    store = SaveStore(tmp_path)
    path = store.path("lantern", "ann")
    path.parent.mkdir(parents=True)
    path.symlink_to("/dev/zero")
    with pytest.raises(ResumeError, match=r"more than 128 MiB"):
        store.load("lantern", "ann")

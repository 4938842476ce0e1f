"""The player's helpers: saving on a background thread, and the endings-found file.
No Textual here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from branching.ui.services import BackgroundSaves, EndingsFile, MemorySaves


def test_background_saves_write_in_order() -> None:
    inner = MemorySaves()
    saves = BackgroundSaves(inner)
    for step in range(50):
        saves.save("story", "ann", {"step": step})
    assert saves.load("story", "ann") == {"step": 49}
    saves.save("story", "ann", {"step": 50})
    saves.delete("story", "ann")
    assert saves.load("story", "ann") is None
    saves.close()


def test_background_saves_keep_the_error_for_the_player() -> None:
    class Broken(MemorySaves):
        def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None:
            raise PermissionError("read-only folder")

    saves = BackgroundSaves(Broken())
    saves.save("story", "ann", {})
    saves.flush()
    assert isinstance(saves.error, PermissionError)
    saves.close()


def test_endings_file_counts_per_viewer_and_story(tmp_path: Path) -> None:
    endings = EndingsFile(tmp_path)
    assert endings("story", "ann") == set()
    endings.add("story", "ann", "lit")
    endings.add("story", "ann", "rocks")
    endings.add("story", "ann", "lit")
    assert endings("story", "ann") == {"lit", "rocks"}
    assert endings("story", "bob") == set()
    assert endings("other", "ann") == set()
    # A viewer name is never a path.
    endings.add("story", "../../x", "lit")
    assert all(tmp_path in p.parents for p in tmp_path.rglob("*.json"))


def test_a_damaged_endings_file_counts_as_none_found(tmp_path: Path) -> None:
    endings = EndingsFile(tmp_path)
    path = endings.path("story", "ann")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert endings("story", "ann") == set()
    endings.add("story", "ann", "lit")
    assert endings("story", "ann") == {"lit"}

"""The player's helpers: saving on a background thread, and the endings-found file.
No Textual here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from branching.play.profiles import FIRST_VISIT, ProfileStore, ViewerProfile
from branching.ui.services import BackgroundSaves, MemorySaves


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


def test_profiles_are_kept_per_viewer_and_story(tmp_path: Path) -> None:
    profiles = ProfileStore(tmp_path / "profiles")
    assert profiles.load("story", "ann") == FIRST_VISIT
    profiles.save("story", "ann", ViewerProfile({"met": True}, 2, "p2", frozenset({"lit"})))
    assert profiles.load("story", "ann").endings == {"lit"}
    assert profiles.load("story", "ann").values == {"met": True}
    assert profiles.load("story", "bob") == FIRST_VISIT
    assert profiles.load("other", "ann") == FIRST_VISIT
    # A viewer name is never a path.
    profiles.save("story", "../../x", FIRST_VISIT)
    assert all(tmp_path in p.parents for p in tmp_path.rglob("*.json"))


def test_endings_noted_before_profiles_existed_move_into_the_profile(tmp_path: Path) -> None:
    profiles = ProfileStore(tmp_path / "profiles")
    legacy = profiles.legacy_path("story", "ann")
    legacy.parent.mkdir(parents=True)
    legacy.write_text('["lit", "rocks"]', encoding="utf-8")
    kept = profiles.load("story", "ann")
    assert kept.endings == {"lit", "rocks"}
    profiles.save("story", "ann", kept)
    assert not legacy.exists()  # one record of the endings found, not two that can disagree
    assert profiles.load("story", "ann").endings == {"lit", "rocks"}

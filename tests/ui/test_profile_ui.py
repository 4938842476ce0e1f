"""The full-screen player and the viewer's profile: a returning viewer sees the story change,
the ending counts their playthroughs, and the profile is kept after every move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from branching.play.profiles import ProfileStore, ViewerProfile
from branching.story.loader import read_story
from branching.ui.services import MemoryProfiles

from .conftest import playing, screen_text, wait_for_text

DEMO = Path(__file__).resolve().parents[2] / "stories" / "demo.json"
# Walk on, scream his name, crawl to the edge, lower the rope, just hang on, don't let go.
TO_THE_FALL = ("3", "2", "1", "2", "3", "2")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_a_returning_viewer_sees_the_demo_change_and_the_ending_says_so(
    build: Any, size: tuple[int, int]
) -> None:
    story = read_story(DEMO)
    profiles = MemoryProfiles()
    first = build(story=story, profiles=profiles, viewer="ann", timers=False)
    async with playing(first, size, until="Day Two, 13:58") as pilot:
        shown = screen_text(first)
        assert "lived this afternoon before" not in shown and "Right there" not in shown
        await pilot.press(*TO_THE_FALL)
        shown = await wait_for_text(first, "The End")
        assert "You have found 1 of the story's 7 endings." in shown
    kept = profiles.load("whiteout", "ann")
    assert kept.playthroughs == 1 and kept.endings == {"end_fall"}

    again = build(story=story, profiles=profiles, viewer="ann", timers=False)
    async with playing(again, size, until="Day Two, 13:58") as pilot:
        shown = await wait_for_text(again, "Right there")
        assert "You have lived this" in shown  # first words, whatever the wrapping
        assert "4 “Jonah. Stop. Right there.”" in shown or "4. “Jonah. Stop. Right there.”" in shown
        await pilot.press(*TO_THE_FALL[:5])
        shown = await wait_for_text(again, "You know how it ends")
        await pilot.press("2")
        shown = await wait_for_text(again, "The End")
        assert "You have found 1 of the story's 7 endings in 2 playthroughs." in shown


async def test_the_profile_file_follows_every_move_and_going_back(
    build: Any, tmp_path: Path
) -> None:
    story = read_story(Path(__file__).resolve().parents[1] / "fixtures" / "keeper.json")
    profiles = ProfileStore(tmp_path)
    app = build(story=story, profiles=profiles, viewer="ann")
    async with playing(app, until="You knock.") as pilot:
        await pilot.press("1")
        await wait_for_text(app, "The keeper looks up.")
        await pilot.press("1")
        await wait_for_text(app, "The End")
        assert app.saves is not None
        app.saves.flush()
        assert profiles.load("keeper", "ann").values == {
            "key": True,
            "echo": " The keeper nods: you again.",
        }
        await pilot.press("1")  # back to the door: before the hall set anything
        await wait_for_text(app, "Went back")
        app.saves.flush()
        kept = profiles.load("keeper", "ann")
        assert kept.values == {"key": False, "echo": ""}
        assert kept.endings == {"out"}  # found for good


async def test_fresh_profile_plays_as_a_newcomer(build: Any) -> None:
    story = read_story(DEMO)
    veteran = ViewerProfile({"felt_the_crack": True}, 4, "old", frozenset({"end_fall"}))
    app = build(story=story, viewer_profile=veteran, timers=False)
    async with playing(app, until="Day Two, 13:58") as pilot:
        assert "Right there" in await wait_for_text(app, "Right there")
        await pilot.press("q")
    newcomer = build(story=story, timers=False, saves=None)  # as --fresh-profile builds it
    async with playing(newcomer, until="Day Two, 13:58"):
        assert "Right there" not in screen_text(newcomer)

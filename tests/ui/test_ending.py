"""The ending screen at the documented minimum (80x24) and larger: the whole ending readable,
the list of choice points whole, with what was chosen at each, and every key working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from branching.story.loader import read_story
from branching.ui.app import PlayerApp
from branching.ui.widgets.passage import Passage

from .conftest import screen_text, wait_for_text

DEMO = Path(__file__).resolve().parents[2] / "stories" / "demo.json"
#: Walk on, freeze, crawl to the edge, lower the rope, hang on, don't let go: The Long Fall.
TO_THE_LONG_FALL = [("3", "Recording"), ("3", "Crawl"), ("1", "Crevasse"), ("2", "count"),
                    ("2", "Two more metres"), ("2", "The End")]  # fmt: skip
SIZES = [(80, 24), (120, 36)]


async def _at_the_long_fall(app: PlayerApp) -> None:
    await wait_for_text(app, "Take your time")
    for key, then in TO_THE_LONG_FALL:
        await app.run_action(f"screen.choose({key})")
        await wait_for_text(app, then)
    await wait_for_text(app, "Rope Burn — you chose")


@pytest.fixture
def demo_app(build: Any) -> PlayerApp:
    app: PlayerApp = build(story=read_story(DEMO))
    return app


@pytest.mark.parametrize("size", SIZES)
async def test_the_whole_ending_and_the_whole_list_are_on_screen(
    demo_app: PlayerApp, size: tuple[int, int]
) -> None:
    async with demo_app.run_test(size=size):
        await _at_the_long_fall(demo_app)
        shown = screen_text(demo_app)
        passage = demo_app.screen.query_one(Passage)
        # The ending's last line is there without scrolling.
        assert passage.max_scroll_y == 0
        assert "It is the most-watched episode of the season." in shown
        # The list keeps both borders, and the latest point (highlighted) is in view.
        lines = shown.splitlines()
        top = next(i for i, line in enumerate(lines) if line.lstrip().startswith("╭"))
        bottom = next(i for i, line in enumerate(lines) if line.lstrip().startswith("╰"))
        points = demo_app.screen.query_one("#ending-points", OptionList)
        assert points.highlighted == points.option_count - 1 == 5
        assert any("6. Rope Burn — you chose “Don’t let go”" in line for line in lines[top:bottom])
        assert bottom < len(lines) - 1  # above the key bar
        # The ending's title once: the passage names it, the panel says the kind.
        assert shown.count("The Long Fall") == 1
        assert "The End — A bad ending" in shown
        assert "1-9 Go back" in shown


async def test_the_list_says_what_was_chosen_at_each_point(demo_app: PlayerApp) -> None:
    async with demo_app.run_test(size=(120, 36)):
        await _at_the_long_fall(demo_app)
        shown = screen_text(demo_app)
        for line in (
            "1. Last Light — Day Two, 13:58 — you chose “Walk on”",
            "2. Last Light — Day Two, 14:06 — you chose “Don’t move. The ice…”",
            "3. Still — you chose “Crawl to the edge”",
            "4. The Crevasse — you chose “Lower the rope”",
            "5. The Rope — you chose “Just hang on”",
        ):
            assert line in shown


@pytest.mark.parametrize("size", SIZES)
async def test_arrows_and_enter_go_back(demo_app: PlayerApp, size: tuple[int, int]) -> None:
    async with demo_app.run_test(size=size) as pilot:
        await _at_the_long_fall(demo_app)
        points = demo_app.screen.query_one("#ending-points", OptionList)
        assert points.has_focus
        await pilot.press("up", "up")
        assert points.highlighted == 3
        await pilot.pause()
        assert "4. The Crevasse" in screen_text(demo_app)  # the cursor stays in view
        await pilot.press("enter")
        shown = await wait_for_text(demo_app, "Went back to: The Crevasse")
        assert "2. Lower the rope" in shown


@pytest.mark.parametrize("size", SIZES)
async def test_number_keys_go_back_to_that_point(
    demo_app: PlayerApp, size: tuple[int, int]
) -> None:
    async with demo_app.run_test(size=size) as pilot:
        await _at_the_long_fall(demo_app)
        await pilot.press("2")  # listed, though scrolled out of view at 80x24
        shown = await wait_for_text(demo_app, "Went back to: Last Light — Day Two, 14:06")
        assert not demo_app.play_screen.at_ending
        assert "1. Dive for his pack strap" in shown


async def test_a_number_past_the_list_only_rings(demo_app: PlayerApp) -> None:
    async with demo_app.run_test(size=(80, 24)) as pilot:
        await _at_the_long_fall(demo_app)
        await pilot.press("9")
        await pilot.pause()
        assert demo_app.play_screen.at_ending


async def test_resizing_refits_the_ending(demo_app: PlayerApp) -> None:
    async with demo_app.run_test(size=(120, 36)) as pilot:
        await _at_the_long_fall(demo_app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        shown = screen_text(demo_app)
        assert demo_app.screen.query_one(Passage).max_scroll_y == 0
        assert "6. Rope Burn" in shown and "╰" in shown

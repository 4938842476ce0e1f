"""What others chose and what to explore next, in the full-screen player: the share under the
next passage, the suggestions on the ending screen (at 80x24 and 120x36), and x following one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from textual.widgets import OptionList

from branching.play.audience import AudienceView, Suggestion
from branching.play.engine import Session
from branching.ui.app import PlayerApp

from .conftest import playing, screen_text, wait_for_text

SHARES = {"shore": {"stairs": 10, "beach": 30, "home": 10}, "beach": {"coin": 18, "stairs": 1}}


def shares(node: str) -> Mapping[str, int]:
    return SHARES.get(node, {})


def suggest(session: Session) -> Sequence[Suggestion]:
    return [
        Suggestion(0, "shore", "stairs", "The Shore", "Climb the stairs",
                   "12 of the 40 viewers who also reached “The Coin” found “The Light” this way"),
    ]  # fmt: skip


def words(shown: str) -> str:
    """The screen as one line of words: borders gone, wrapped lines joined."""
    return " ".join(shown.replace("│", " ").split())


def audience(**kw: Any) -> AudienceView:
    return AudienceView(**{"shares": shares, "suggest": suggest, **kw})


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_shares_after_a_choice_and_suggestions_at_the_ending(
    build: Any, size: tuple[int, int]
) -> None:
    app: PlayerApp = build(audience=audience())
    async with playing(app, size=size):
        await app.run_action("screen.choose(2)")  # the beach
        shown = await wait_for_text(app, "60% of viewers chose this too")
        await app.run_action("screen.choose(1)")  # the coin: an ending
        shown = words(await wait_for_text(app, "What to explore next"))
        # Every line of the suggestion is on screen, and the share of each choice point.
        assert "x. Go back to “The Shore” and choose “Climb the stairs”" in shown
        assert "who also reached “The Coin” found “The Light” this way." in shown
        assert "Follow a suggestion: x." in shown
        assert "“Walk along the beach” (60% of viewers chose this too)" in shown
        # Only 19 viewers chose at the beach: no share for that point.
        assert shown.count("viewers chose this too") == 1
        points = app.screen.query_one("#ending-points", OptionList)
        assert points.highlighted == 1  # the first suggestion is under the cursor
        await app.run_action("screen.suggest('x')")
        shown = await wait_for_text(app, "the suggestion was 1")
        session = app.session
        assert session is not None and session.node_id == "shore" and not session.history
        choices = app.screen.query_one("#choices", OptionList)
        assert choices.highlighted == 0  # "stairs", the suggested choice


async def test_no_shares_unless_asked_and_no_suggestions_without_any(build: Any) -> None:
    app: PlayerApp = build(audience=AudienceView(suggest=lambda session: []))
    async with playing(app):
        await app.run_action("screen.choose(2)")
        await wait_for_text(app, "Something glints")
        await app.run_action("screen.choose(1)")
        shown = await wait_for_text(app, "The End")
        assert "viewers chose" not in shown and "explore" not in shown
        await app.run_action("screen.suggest('x')")  # nothing to follow: nothing happens
        assert app.session is not None and app.session.status == "ended"
        assert "Go back to a choice point: its number, or arrows and Enter." in screen_text(app)


async def test_a_higher_threshold_hides_the_share(build: Any) -> None:
    app: PlayerApp = build(audience=audience(min_viewers=60))
    async with playing(app):
        await app.run_action("screen.choose(2)")
        shown = await wait_for_text(app, "Something glints")
        assert "viewers chose" not in shown

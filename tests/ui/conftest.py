"""Fixtures for the Textual player's tests: stories, a fake clock, recorders and saves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from branching.play.events import MemoryRecorder
from branching.story.loader import read_story
from branching.story.model import Story
from branching.ui.app import PlayerApp, make_app
from branching.ui.services import MemorySaves

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def lighthouse() -> Story:
    return read_story(FIXTURES / "lighthouse.json")


@pytest.fixture
def hostile() -> Story:
    return read_story(FIXTURES / "hostile.json")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture
def saves() -> MemorySaves:
    return MemorySaves()


@pytest.fixture
def build(lighthouse: Story, clock: FakeClock, recorder: MemoryRecorder, saves: MemorySaves) -> Any:
    """``build(**overrides)``: the lighthouse player wired to the fake clock, recorder, saves."""

    def _build(**overrides: Any) -> PlayerApp:
        options: dict[str, Any] = {
            "viewer": "ada",
            "clock": clock,
            "recorder": recorder,
            "saves": saves,
        }
        options.update(overrides)
        story = options.pop("story", lighthouse)
        return make_app(story, **options)

    return _build


def screen_text(app: PlayerApp) -> str:
    """Everything the terminal shows now, as plain text lines."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def wait_for_text(app: PlayerApp, text: str, tries: int = 30) -> str:
    """The screen once ``text`` is on it; fails after ``tries`` rounds of message processing.

    No fixed sleeps: each round lets the app handle what is queued and lay out the screen.
    """
    pilot: Pilot[None] = Pilot(app)
    for _ in range(tries):
        await pilot.pause()  # first, so a layout in progress is finished
        shown = screen_text(app)
        if text in shown:
            return shown
    raise AssertionError(f"{text!r} never showed; the screen is:\n{screen_text(app)}")


@asynccontextmanager
async def playing(
    app: PlayerApp, size: tuple[int, int] = (80, 24), until: str = "Night has fallen"
) -> AsyncIterator[Pilot[None]]:
    """Run ``app`` headless; the pilot comes once ``until`` (of the first passage) shows."""
    async with app.run_test(size=size) as pilot:
        await wait_for_text(app, until)
        yield pilot


async def tick(app: PlayerApp, clock: FakeClock, seconds: float) -> None:
    """Let ``seconds`` pass on the fake clock, then redraw as the countdown's ticker would."""
    clock.advance(seconds)
    app.play_screen.refresh_timer()
    await Pilot(app).pause()

"""How the player looks: SVG snapshots at 80x24 and larger, and ``NO_COLOR``.

Update the snapshots after an intended change with ``python -m pytest tests/ui
--snapshot-update`` and look at the report before committing them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.pilot import Pilot

from branching.play.engine import Session

from .conftest import FakeClock, wait_for_text


async def _at_stairs(pilot: Pilot[None]) -> None:
    await wait_for_text(pilot.app, "Night has fallen")  # type: ignore[arg-type]
    await pilot.press("1")
    await wait_for_text(pilot.app, "hundred and twelve")  # type: ignore[arg-type]


def test_first_passage_80x24(build: Any, snap_compare: Any) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        await wait_for_text(pilot.app, "Night has fallen")  # type: ignore[arg-type]

    assert snap_compare(build(), terminal_size=(80, 24), run_before=ready)


def test_timed_choice_80x24(build: Any, clock: FakeClock, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _at_stairs(pilot)
        clock.advance(7.5)
        pilot.app.play_screen.refresh_timer()  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(build(), terminal_size=(80, 24), run_before=run_before)


def test_ending_80x24(build: Any, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for_text(pilot.app, "Night has fallen")  # type: ignore[arg-type]
        await pilot.press("2", "1")
        await wait_for_text(pilot.app, "The Beachcomber")  # type: ignore[arg-type]

    assert snap_compare(build(), terminal_size=(80, 24), run_before=run_before)


def test_long_ending_with_many_choice_points_80x24(build: Any, snap_compare: Any) -> None:
    """The ending's last line, the whole list and its highlighted last point, at 80x24."""
    from branching.story.loader import read_story

    from .test_ending import DEMO, TO_THE_LONG_FALL

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for_text(pilot.app, "Take your time")  # type: ignore[arg-type]
        for key, then in TO_THE_LONG_FALL:
            await pilot.press(key)
            await wait_for_text(pilot.app, then)  # type: ignore[arg-type]
        await wait_for_text(pilot.app, "Rope Burn — you chose")  # type: ignore[arg-type]

    app = build(story=read_story(DEMO))
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_timed_choice_with_help_open_120x36(build: Any, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _at_stairs(pilot)
        await pilot.press("question_mark")
        await wait_for_text(pilot.app, "Keys")  # type: ignore[arg-type]

    assert snap_compare(build(time_scale=2), terminal_size=(120, 36), run_before=run_before)


def test_resume_offer_120x36(
    build: Any, lighthouse: Any, clock: FakeClock, saves: Any, snap_compare: Any
) -> None:
    earlier = Session(lighthouse, clock=clock)
    earlier.choose("beach")
    earlier.quit()
    saves.save("lighthouse", "ada", earlier.to_json())

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for_text(pilot.app, "Welcome back")  # type: ignore[arg-type]

    assert snap_compare(build(), terminal_size=(120, 36), run_before=run_before)


_FILL = re.compile(r"fill: #([0-9a-f]{6})")


def _colours(svg: str) -> set[str]:
    return set(_FILL.findall(svg))


def _is_grey(hex_colour: str) -> bool:
    # A little slack: the SVG's own default text colour (Rich's theme) is #c5c8c6.
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return max(r, g, b) - min(r, g, b) <= 4


@pytest.mark.parametrize("no_color", [False, True])
async def test_no_color_turns_every_colour_grey(
    build: Any, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await _at_stairs(pilot)
        colours = _colours(app.export_screenshot())
    assert colours
    assert all(_is_grey(c) for c in colours) is no_color

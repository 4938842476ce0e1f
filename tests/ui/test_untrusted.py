"""Story text is untrusted: Textual/Rich markup in titles, text and labels shows as typed and
carries no actions; Markdown links are not opened; the app refuses actions a story must never
reach. The hostile story holds every markup form known to survive ``markup.escape()``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from branching.play.engine import Session
from branching.story.model import Story
from branching.ui.app import PlayerApp

from .conftest import playing, screen_text, wait_for_text

WIDE = (160, 40)

LITERALS = [
    "[bold]not bold[/bold]",
    "[@click=app.quit]quit[/]",
    "[ @click=app.bell]bell[/]",
    "[$text @click=app.screenshot('pwn.svg','/tmp')]shot[/]",
    "[/]",
    "[Bold]B[/Bold]",
]


@pytest.fixture
def app(build: Any, hostile: Story, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PlayerApp:
    monkeypatch.chdir(tmp_path)  # a screenshot action would write here
    player: PlayerApp = build(story=hostile)
    calls: list[str] = []
    monkeypatch.setattr(player, "bell", lambda: calls.append("bell"))
    monkeypatch.setattr(player, "open_url", lambda *a, **k: calls.append("open_url"))
    player.calls = calls  # type: ignore[attr-defined]
    return player


def click_actions(app: PlayerApp) -> set[str]:
    """Every ``@click`` action anywhere on the screen."""
    width, height = app.size
    actions: set[str] = set()
    for y in range(height):
        for x in range(width):
            action = app.screen.get_style_at(x, y).meta.get("@click")
            if action:
                actions.add(str(action))
    return actions


def find(app: PlayerApp, text: str) -> tuple[int, int]:
    for y, line in enumerate(screen_text(app).splitlines()):
        x = line.find(text)
        if x >= 0:
            return x, y
    raise AssertionError(f"{text!r} is not on the screen")


async def test_markup_in_story_text_shows_as_typed(app: PlayerApp) -> None:
    async with app.run_test(size=WIDE):
        shown = await wait_for_text(app, "Markup:")
        for literal in LITERALS:
            assert literal in shown
        assert "[b]Evil[/b] [@click=app.quit]Title[/]" in shown.splitlines()[0]  # header
        assert "[@click=app.quit]Start[/]" in shown  # passage title
        assert "1. [@click=app.quit]Go on[/]" in shown
        ring = (
            "[ @click=app.bell]Ring[/] [$text @click=app.screenshot('pwn.svg','/tmp')]snap[/] [/]"
        )
        assert "2. " + ring in shown


async def test_nothing_on_screen_is_clickable_and_links_open_nothing(
    app: PlayerApp, tmp_path: Path
) -> None:
    async with app.run_test(size=WIDE) as pilot:
        shown = await wait_for_text(app, "Markup:")
        # Links show their address, as text: no ``@click`` anywhere, no terminal hyperlink.
        assert "click me (https://example.com)" in shown
        assert "action (app.quit)" in shown
        assert click_actions(app) == set()
        for text in ("click me", "https://example.com", "action (app.quit)"):
            x, y = find(app, text)
            await pilot.click(offset=(x + 1, y))
        await pilot.pause()
        assert app.is_running
        assert app.calls == []  # type: ignore[attr-defined]


async def test_clicking_markup_in_text_does_nothing(app: PlayerApp, tmp_path: Path) -> None:
    async with playing(app, WIDE, until="Markup:") as pilot:
        for literal in LITERALS:
            x, y = find(app, literal)
            for dx in range(len(literal)):
                await pilot.click(offset=(x + dx, y))
        await pilot.pause()
        assert app.is_running
        assert app.calls == []  # type: ignore[attr-defined]
        assert list(tmp_path.iterdir()) == []
        assert list(Path("/tmp").glob("pwn.svg")) == []
        assert "Markup:" in screen_text(app)  # nothing was chosen either


async def test_the_app_refuses_actions_a_story_must_never_reach(
    app: PlayerApp, tmp_path: Path
) -> None:
    async with playing(app, WIDE, until="Markup:"):
        for action in (
            f"app.screenshot('pwn.svg', '{tmp_path}')",
            "app.quit",
            "app.bell",
            "app.simulate_key('q')",
            "app.suspend_process",
            "app.push_screen('x')",
            "app.notify('hi')",
            "screen.choose(1)",  # allowed on the play screen, but not from the app namespace
        ):
            await app.run_action(action)
        assert app.is_running
        assert list(tmp_path.iterdir()) == []
        assert app.calls == []  # type: ignore[attr-defined]
        assert "Markup:" in screen_text(app)


async def test_ending_and_history_show_markup_as_typed(app: PlayerApp) -> None:
    async with playing(app, WIDE, until="Markup:") as pilot:
        await pilot.press("1")
        shown = await wait_for_text(app, "The End")
        assert app.play_screen.at_ending
        assert "[@click=app.quit]Bad[/] [b]end[/b]" in shown
        assert "[@click=app.bell]End[/]" in shown
        assert "[@click=app.quit]bye[/]" in shown
        assert "1. [@click=app.quit]Start[/]" in shown
        assert click_actions(app) == set()
        await pilot.press("b")
        shown = await wait_for_text(app, "Went back to: [@click=app.quit]Start[/]")
        assert app.is_running


ESCAPE = "\x1b]2;pwned\x07"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda save: save["story"].update(id="other" + ESCAPE), id="story-id"),
        pytest.param(lambda save: save["variables"].update({ESCAPE: [1]}), id="variable-name"),
    ],
)
async def test_save_data_in_notices_carries_no_terminal_control(
    build: Any, lighthouse: Story, saves: Any, damage: Any
) -> None:
    state = Session(lighthouse).to_json()
    damage(state)
    saves.save("lighthouse", "ada", state)
    app = build()
    async with playing(app, WIDE):
        messages = [str(n.message) for n in app._notifications]
    assert any("cannot be continued" in m for m in messages)
    assert not any("\x1b" in m or "\x07" in m for m in messages)

"""The full-screen player in another language: accented and wide characters at 80x24."""

from __future__ import annotations

import json
from pathlib import Path

from rich.cells import cell_len

from branching.play.engine import Session
from branching.play.languages import choose_language
from branching.story.loader import load_story_bytes, read_story
from branching.ui.app import make_app
from branching.ui.widgets.passage import Passage
from tests.ui.conftest import FakeClock, screen_text, wait_for_text

DEMO = Path(__file__).resolve().parents[2] / "stories" / "demo.json"


def fits(shown: str, width: int = 80) -> None:
    lines = shown.splitlines()
    assert len(lines) == 24
    assert all(cell_len(line) <= width for line in lines), [
        line for line in lines if cell_len(line) > width
    ]


async def test_the_demo_in_french_shows_its_accents_at_80x24() -> None:
    story = read_story(DEMO)
    chosen = choose_language(story, DEMO, requested="fr", explicit=True)
    session = Session(
        story, clock=FakeClock(), language=chosen.language, translation=chosen.strings
    )
    app = make_app(story, session, viewer="ada")
    async with app.run_test(size=(80, 24)):
        shown = await wait_for_text(app, "Dernière Lumière")
        assert "Blanc total" in shown.splitlines()[0]
        assert "1. Demander à Jonah de s’encorder" in shown
        assert "3. Continuer à marcher" in shown
        fits(shown)


async def test_wide_characters_wrap_inside_the_screen() -> None:
    sentence = "吹雪が来る。小屋まではまだ遠い。" * 12
    story = load_story_bytes(
        json.dumps(
            {
                "format": "branching/1",
                "id": "yuki",
                "title": "Snow",
                "start": "a",
                "variables": {"n": 3},
                "nodes": {
                    "a": {
                        "title": "Storm",
                        "text": "Snow. {n, plural, one {# flare.} other {# flares.}}",
                        "choices": [{"id": "go", "label": "Go", "to": "b"}],
                    },
                    "b": {"text": "Hut.", "ending": True},
                },
            }
        ).encode()
    ).story
    assert story is not None
    translation = {
        "story/title": "雪",
        "node/a/title": "嵐の中で",
        "node/a/text": sentence + "{n, plural, other {信号弾は残り#本。}}",
        "node/a/choice/go/label": "小屋へ向かう",
    }
    session = Session(story, clock=FakeClock(), language="ja", translation=translation)
    app = make_app(story, session, viewer="ada")
    async with app.run_test(size=(80, 24)):
        shown = await wait_for_text(app, "嵐の中で")
        fits(shown)
        assert "1. 小屋へ向かう" in shown
        assert "信号弾は残り3本。" in "".join(screen_text(app).split())
        # Every character of the passage is on screen, in order, none cut at the edge.
        flat = "".join(line.strip("│ ▎▐▌▕") for line in shown.splitlines())
        assert "吹雪が来る。小屋まではまだ遠い。" * 3 in "".join(flat.split())


async def test_a_longer_translated_ending_stays_whole_at_80x24() -> None:
    # The French ending "Blanc total" after ten choice points wraps to more rows than the
    # passage shown before it; the list under it gives up rows, the passage never does.
    story = read_story(DEMO)
    chosen = choose_language(story, DEMO, requested="fr", explicit=True)
    session = Session(
        story, clock=FakeClock(), language=chosen.language, translation=chosen.strings
    )
    app = make_app(story, session, viewer="ada", timers=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(app, "Dernière Lumière")
        for _ in range(9):
            step = len(session.history)
            await app.run_action("screen.choose(1)")
            while len(session.history) == step:
                await pilot.pause(0.05)
        await wait_for_text(app, "Fermer les yeux")
        await app.run_action("screen.choose(5)")
        shown = await wait_for_text(app, "The End — A bad ending")
        passage = app.screen.query_one(Passage)
        assert passage.max_scroll_y == 0, shown
        # Whole, wherever it wraps (the width settles a frame later when a scrollbar goes).
        assert "Personne ne mentionne les prévisions." in " ".join(shown.split()), shown
        fits(shown)

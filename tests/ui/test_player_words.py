"""The full-screen player's own words: French around a French story at 80x24 (the footer, the
countdown, the dialogs, the ending and the resume offer), and nothing on screen that is neither
the story's words nor the catalog's (a pseudo-translation shows which)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from branching.play import i18n
from branching.play.engine import Session
from branching.play.languages import choose_language
from branching.story.loader import read_story
from branching.ui.app import PlayerApp, make_app
from tests.play.test_player_words import AUDIENCE, Pseudo, marked_story, untranslated
from tests.ui.conftest import FakeClock, wait_for_text
from tests.ui.test_languages import fits

DEMO = Path(__file__).resolve().parents[2] / "stories" / "demo.json"
#: Borders, scrollbars and button edges: not words.
FRAME = str.maketrans("", "", "│╭╮╰╯─━▁▂▃▄▅▆▇█▔▀▐▌▎▕")


@pytest.fixture
def french() -> Iterator[None]:
    with i18n.speaking("fr"):
        yield


def french_demo(*, resumed: bool = False) -> PlayerApp:
    story = read_story(DEMO)
    chosen = choose_language(story, DEMO, requested="fr", explicit=True)
    session = Session(
        story, clock=FakeClock(), language=chosen.language, translation=chosen.strings
    )
    return make_app(story, session, viewer="ada", resumed=resumed)


async def test_french_chrome_around_the_french_story(french: None) -> None:
    app = french_demo()
    async with app.run_test(size=(80, 24)) as pilot:
        shown = await wait_for_text(app, "Dernière Lumière")
        keys = ["1-9", "Choisir", "b", "Retour", "?", "Aide", "q", "Quitter"]
        assert shown.splitlines()[-1].split() == keys
        fits(shown)
        await pilot.press("question_mark")
        shown = await wait_for_text(app, "Touches")
        assert "Choix minutés" in shown and "Échap ferme cette aide." in shown
        assert "↑ ↓ Entrée" in shown and "prendre le choix de ce numéro" in shown
        fits(shown)
        await pilot.press("escape")
        await pilot.press("3")  # walk on: the crack, a timed choice
        shown = await wait_for_text(app, "Temps")
        assert "18\u00a0s" in shown and "(quand le temps est écoulé)" in shown
        fits(shown)
        await pilot.press("q")
        shown = await wait_for_text(app, "Quitter\u202f?")
        assert "Cette partie est terminée\u202f; rien n’est perdu." in shown  # nothing saved
        assert "Quitter (y)" in shown and "Rester (n)" in shown
        fits(shown)
        await pilot.press("n")
        for key in "113":  # dive for the strap, get up, dig a snow hole
            await pilot.press(key)
        await wait_for_text(app, "Fermer les yeux")
        await pilot.press("6")  # close your eyes: a bad ending
        shown = await wait_for_text(app, "Une mauvaise fin")
        assert "Fin — Une mauvaise fin" in shown
        assert "Vous avez trouvé 1 des 7 fins de cette histoire." in shown
        assert "Revenir à un choix\u00a0: son numéro, ou les flèches et Entrée." in shown
        assert "trou dans la neige — vous avez choisi «\u202fFermer les yeux. Juste" in shown
        assert shown.splitlines()[-1].split()[:4] == ["1-9", "Revenir", "r", "Recommencer"]
        fits(shown)


async def test_the_resume_offer_in_french(french: None) -> None:
    app = french_demo(resumed=True)
    async with app.run_test(size=(80, 24)):
        shown = await wait_for_text(app, "Bon retour")
        assert "Vous avez une partie inachevée de Blanc total." in shown
        assert "Reprendre (r)" in shown and "Recommencer (s)" in shown
        fits(shown)


def dialog_words(app: PlayerApp) -> str:
    """The words of the dialog on top (the screen behind it shows cut words around it)."""
    return "\n".join(str(widget.render()) for widget in app.screen.query("Static, Button"))


async def test_every_word_on_screen_comes_from_the_story_or_the_catalog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(i18n, "_active", Pseudo())
    story = marked_story()
    screens = []
    app = make_app(
        story, Session(story, clock=FakeClock()), viewer="ada", audience=AUDIENCE, resumed=True
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(app, "Welcome back")
        screens.append(dialog_words(app))
        await pilot.press("r")
        screens.append(await wait_for_text(app, "§Go down§"))  # the countdown and the keys
        await pilot.press("question_mark")
        await wait_for_text(app, "Keys")
        screens.append(dialog_words(app))
        await pilot.press("escape")
        await pilot.press("q")
        await wait_for_text(app, "Quit?")
        screens.append(dialog_words(app))
        await pilot.press("n")
        await pilot.press("1")
        screens.append(await wait_for_text(app, "viewers chose this too"))
        await pilot.press("2")
        screens.append(await wait_for_text(app, "What to explore next"))
        await pilot.press("x")
        screens.append(await wait_for_text(app, "Went back to"))
        screens = [screen.translate(FRAME) for screen in screens]
    first = ["⟦Welcome back⟧", "⟦Time⟧", "⟦Keys⟧", "⟦Quit?⟧"]
    for screen, shows in zip(screens[:4], first, strict=True):
        assert shows in screen
    assert untranslated("\n".join(screens)) == [], "\n".join(screens)

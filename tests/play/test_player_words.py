"""The plain player's own words are translated: every line it prints is either the story's
words or a string of the catalog (a pseudo-translation shows which), and ``--lang fr`` gives
French chrome around the French story."""

from __future__ import annotations

import gettext
import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from branching.play import i18n
from branching.play.audience import AudienceView, Reason, Suggestion, reason_words
from branching.play.engine import Session
from branching.play.plain_player import PlainPlayer, ask_yes_no
from branching.story.loader import load_story_bytes
from branching.story.model import Story
from tests.play.test_plain_player import ROOT, FakeClock, cli

DEMO = ROOT / "stories" / "demo.json"
#: Every string of the marked story is wrapped in these, every catalog string in ⟦ ⟧.
STORY_WORDS = re.compile(r"§[^§]*§", re.S)
CHROME_WORDS = re.compile(r"⟦[^⟦⟧]*⟧")


class Pseudo(gettext.NullTranslations):
    """A pseudo-translation: every catalog string comes out inside ⟦ ⟧."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(i18n, "_active", Pseudo())
    yield


def marked_story() -> Story:
    """A story whose every string is marked §...§, with a timer, an author and endings."""
    loaded = load_story_bytes(
        json.dumps(
            {
                "format": "branching/1",
                "id": "marked",
                "title": "§Title§",
                "author": "§Author§",
                "start": "hall",
                "nodes": {
                    "hall": {
                        "title": "§Hall§",
                        "text": "§The hall is dark.§",
                        "timer": {"seconds": 10, "default": "wait"},
                        "choices": [
                            {"id": "down", "label": "§Go down§", "to": "cellar"},
                            {"id": "wait", "label": "§Wait§", "to": "cellar"},
                        ],
                    },
                    "cellar": {
                        "title": "§Cellar§",
                        "text": "§A chest.§",
                        "choices": [
                            {"id": "open", "label": "§Open it§", "to": "gold"},
                            {"id": "leave", "label": "§Leave it§", "to": "dark"},
                        ],
                    },
                    "gold": {
                        "text": "§Gold!§",
                        "ending": {"title": "§Treasure§", "kind": "good"},
                    },
                    "dark": {"text": "§Dark.§", "ending": {"title": "§Dark§", "kind": "bad"}},
                },
            }
        ).encode()
    ).story
    assert loaded is not None
    return loaded


def suggest(session: Session) -> Sequence[Suggestion]:
    reason = reason_words(Reason("alike", "§Dark§", 3, 20, "§Treasure§"))
    return [Suggestion(1, "cellar", "leave", "§Cellar§", "§Leave it§", reason)]


AUDIENCE = AudienceView(
    shares=lambda node: {"down": 30, "wait": 10, "open": 5, "leave": 15},
    suggest=suggest,
    min_viewers=5,
)


def untranslated(out: str, typed: Sequence[str] = ()) -> list[str]:
    """Lines with words that are neither the story's nor the catalog's (what the viewer typed,
    echoed after the prompt, is left out)."""
    lines = [line for line in out.splitlines() if not line.startswith("> ")]
    rest = STORY_WORDS.sub(" ", "\n".join(lines))
    while CHROME_WORDS.search(rest):  # catalog strings inside catalog strings, inside out
        rest = CHROME_WORDS.sub(" ", rest)
    for word in typed:
        rest = rest.replace(word, " ")
    # A word of two letters or more (a lone letter is a key: "b", "q").
    return [line for line in rest.splitlines() if re.search(r"[A-Za-z]{2}", line)]


def test_every_word_of_the_plain_player_comes_from_the_catalog(pseudo: None) -> None:
    session = Session(marked_story(), clock=FakeClock())
    # A wrong key, nothing to go back to, the timer left to run out, a choice, the ending, a
    # suggestion followed, a wrong key there, back to the ending, a choice point, restart, quit.
    keys = "zz\nb\n\n2\nx\n1\n2\nzz\nr\n1\nb\nq\n"
    out = io.StringIO()
    code = PlainPlayer(session, io.StringIO(keys), out, saved=True, audience=AUDIENCE).run(
        resumed=True
    )
    shown = out.getvalue()
    assert code == 0
    for expected in ("⟦Time ran out: ", "⟦The end: ", "⟦What to explore next:⟧", "⟦You left"):
        assert expected in shown
    assert untranslated(shown) == []


def test_the_yes_no_question_is_translated(pseudo: None) -> None:
    out = io.StringIO()
    assert ask_yes_no("§Start again?§", io.StringIO("maybe\ny\n"), out) is True
    assert untranslated(out.getvalue(), typed=["maybe", "y"]) == []


def test_french_answers_a_yes_no_question() -> None:
    with i18n.speaking("fr"):
        out = io.StringIO()
        assert ask_yes_no("Recommencer ?", io.StringIO("peut-être\noui\n"), out) is True
        assert "[O/n]" in out.getvalue() and "Répondez o ou n" in out.getvalue()
        assert ask_yes_no("Recommencer ?", io.StringIO("n\n"), io.StringIO()) is False
        assert ask_yes_no("Recommencer ?", io.StringIO("y\n"), io.StringIO()) is True


def test_plain_play_in_french_speaks_french_to_the_end(tmp_path: Path) -> None:
    # Walk on, dive for the strap, get up, dig a snow hole, close your eyes: a bad ending.
    result = cli(
        str(DEMO), "--lang", "fr", "--plain", "--no-log",
        stdin="zz\n3\n1\n1\n3\n6\nzz\nq\n", home=tmp_path,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.startswith("Blanc total, par branching contributors")
    assert "Tapez un nombre de 1 à 3, r pour recommencer ou q pour quitter." in out
    assert "Fin\u00a0: Blanc total. Une mauvaise fin." in out
    assert "Vous avez trouvé 1 des 7 fins de cette histoire." in out
    assert "Revenir à un choix\u00a0:" in out
    assert "1. Dernière Lumière — Jour deux, 13 h 58\u00a0: vous avez choisi «\u202f" in out
    assert "Tapez un nombre de 1 à 5 pour y revenir, r pour recommencer ou q pour partir." in out
    assert out.rstrip().endswith("Fin.")
    for english in ("Type ", "You have found", "The end", "Go back", "you chose"):
        assert english not in out


def test_the_resume_and_goodbye_are_in_french(tmp_path: Path) -> None:
    first = cli(str(DEMO), "--lang", "fr", "--plain", "--no-log", stdin="3\nq\n", home=tmp_path)
    assert "Vous avez quitté l’histoire. Votre place est sauvegardée\u00a0: relancez-la" in (
        first.stdout
    )
    again = cli(str(DEMO), "--lang", "fr", "--plain", "--no-log", stdin="q\n", home=tmp_path)
    assert "Reprise de votre partie sauvegardée (tapez r pour recommencer)." in again.stdout


def test_a_language_without_a_player_catalog_keeps_english_chrome(tmp_path: Path) -> None:
    """German has no catalog of the players' words: the story's German (here: none, so
    English with the notice) and English chrome, and no error."""
    result = cli(str(DEMO), "--lang", "de", "--plain", "--no-log", stdin="q\n", home=tmp_path)
    assert result.returncode == 0
    assert "This story has no German translation" in result.stderr
    assert "You left the story." in result.stdout

"""Text that changes, as a viewer meets it: sequences across visits, going back, resuming,
shuffles fixed per playthrough, failing text, and translations string by string."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from branching.play.engine import SAVE_FORMAT, Session
from branching.play.events import Failed, MemoryRecorder
from branching.story.loader import load_story_bytes
from branching.story.model import Story

ROOT = Path(__file__).resolve().parents[2]

STORY: dict[str, Any] = {
    "format": "branching/1",
    "id": "clock",
    "title": "The Clock",
    "language": "en",
    "start": "room",
    "variables": {"coins": 0, "lit": False, "people": 2},
    "nodes": {
        "room": {
            "text": "The clock {&ticks|tocks}. {The cuckoo glares.|The cuckoo peeps.|Silence.} "
            "Today: {~moon|sun|ship|lamp}. {coins, plural, =0 {No coins.} one {# coin.} "
            "other {# coins.}} {lit: Bright.|Dark.}",
            "choices": [
                {
                    "id": "wind",
                    "label": "Wind it {&again|once more}",
                    "to": "room",
                    "set": {"coins": "coins + 1"},
                },
                {"id": "light", "label": "Light up", "to": "room", "set": {"lit": True}},
                {"id": "share", "label": "Share", "to": "share"},
                {"id": "leave", "label": "Leave", "to": "out"},
            ],
        },
        "share": {
            "text": "Each gets {coins / people}.",
            "set": {"people": "people - 1"},
            "choices": [{"label": "Again", "to": "share"}, {"label": "Leave", "to": "out"}],
        },
        "out": {"text": "Outside.", "ending": True},
    },
}


def story(data: dict[str, Any] | None = None) -> Story:
    result = load_story_bytes(json.dumps(data or STORY).encode())
    assert result.story is not None, result.problems
    return result.story


def play(session: Session, *choices: str) -> list[str]:
    shown = [session.text()]
    for choice in choices:
        session.choose(choice)
        shown.append(session.text())
    return shown


def test_sequences_move_on_with_each_visit_and_text_is_rendered_once_per_visit() -> None:
    session = Session(story(), clock=lambda: 0.0, playthrough_id="p1")
    first = session.text()
    assert session.text() == first  # asking again does not move anything on
    texts = play(session, "wind", "wind", "wind")
    assert [t.split(".")[0] for t in texts] == [
        "The clock ticks",
        "The clock tocks",
        "The clock ticks",
        "The clock tocks",
    ]
    assert "The cuckoo glares." in texts[0] and "Silence." in texts[3]
    assert "No coins." in texts[0] and "1 coin." in texts[1] and "3 coins." in texts[3]
    labels = [o.label for o in session.available_choices()]
    assert labels[0] in ("Wind it again", "Wind it once more")


def test_going_back_shows_exactly_the_same_words() -> None:
    session = Session(story(), clock=lambda: 0.0, playthrough_id="p2")
    texts = play(session, "wind", "wind")
    labels = [o.label for o in session.available_choices()]
    session.choose("wind")
    session.rewind()  # back to the third showing of the room
    assert session.text() == texts[2]
    assert [o.label for o in session.available_choices()] == labels
    session.rewind(0)
    assert session.text() == texts[0]


def test_a_save_resumes_with_the_same_words_and_then_moves_on() -> None:
    parsed = story()
    session = Session(parsed, clock=lambda: 0.0, playthrough_id="p3")
    play(session, "wind", "light")
    saved = json.loads(json.dumps(session.to_json()))
    assert saved["format"] == SAVE_FORMAT and saved["counters"]
    resumed = Session.from_json(parsed, saved, clock=lambda: 0.0)
    assert resumed.text() == session.text()
    assert [o.label for o in resumed.available_choices()] == [
        o.label for o in session.available_choices()
    ]
    session.choose("wind")
    resumed.choose("wind")
    assert resumed.text() == session.text()
    resumed.rewind(0)
    assert resumed.text().startswith("The clock ticks. The cuckoo glares.")


def test_saves_from_before_text_counters_still_resume() -> None:
    parsed = story()
    session = Session(parsed, clock=lambda: 0.0, playthrough_id="p4")
    play(session, "wind")
    old = session.to_json()
    old["format"] = "branching-save/1"
    del old["counters"]
    for point in old["history"]:
        del point["counters"]
    resumed = Session.from_json(parsed, old, clock=lambda: 0.0)
    assert resumed.status == "playing" and resumed.text().startswith("The clock ticks")


def test_a_shuffle_is_fixed_per_playthrough_and_differs_between_playthroughs() -> None:
    parsed = story()

    def shuffle_words(playthrough: str) -> list[str]:
        session = Session(parsed, clock=lambda: 0.0, playthrough_id=playthrough)
        return [t.split("Today: ")[1].split(".")[0] for t in play(session, *["wind"] * 7)]

    same = shuffle_words("fixed")
    assert shuffle_words("fixed") == same
    assert sorted(same[:4]) == ["lamp", "moon", "ship", "sun"]  # each once per round
    assert len({tuple(shuffle_words(f"other-{i}")) for i in range(12)}) > 3


def test_text_failing_on_real_values_fails_the_playthrough_with_its_place() -> None:
    recorder = MemoryRecorder()
    session = Session(story(), clock=lambda: 0.0, recorder=recorder)
    session.choose("share")
    assert session.status == "playing" and session.text() == "Each gets 0."
    session.choose("share")  # again: people is now 0 on entering: the text divides by zero
    assert session.status == "failed"
    assert "division by zero" in (session.fault or "") and "the text" in (session.fault or "")
    assert isinstance(recorder.events[-1], Failed)


def test_deep_validation_finds_the_failing_text() -> None:
    from branching.story.deep import explore

    found = explore(story())
    problem = next(p for p in found.problems if p.code == "deep-runtime-error")
    assert problem.path == "/nodes/share/text" and "division by zero" in problem.message
    assert problem.offset == len("Each gets ")


def test_translated_strings_are_shown_and_missing_ones_fall_back() -> None:
    translation = {
        "node/room/text": "L’horloge {&fait tic|fait tac}. {coins, plural, one {# pièce.} "
        "other {# pièces.}}",
        "node/room/choice/wind/label": "La remonter",
        "node/out/text": "Dehors.",
    }
    session = Session(story(), clock=lambda: 0.0, language="fr", translation=translation)
    assert session.language == "fr"
    assert session.text() == "L’horloge fait tic. 0 pièce."  # French: 0 is "one"
    labels = [o.label for o in session.available_choices()]
    assert labels[:2] == ["La remonter", "Light up"]  # untranslated: the story's words
    session.choose("leave")
    assert session.text() == "Dehors."


def test_the_simulator_meets_failing_text_as_a_fault(tmp_path: Path) -> None:
    from analytics.simulate import SimulationOptions, simulate

    result = simulate(story(), SimulationOptions(playthroughs=60, seed=3))
    assert result.failed and any("division by zero" in message for message in result.faults)


@pytest.mark.parametrize("lang", ["fr", None])
def test_the_demo_plays_in_french_and_english(lang: str | None) -> None:
    from branching.play.languages import choose_language
    from branching.story.loader import read_story

    demo = read_story(ROOT / "stories" / "demo.json")
    chosen = choose_language(demo, ROOT / "stories" / "demo.json", requested=lang, explicit=True)
    assert chosen.notices == []
    session = Session(demo, clock=lambda: 0.0, language=chosen.language, translation=chosen.strings)
    for choice in ("crack", "shout", "ledge", "storm_warning", "snow_hole"):
        session.choose(choice)
    text = session.text()
    if lang == "fr":
        assert session.title() == "Le trou dans la neige"
        assert "Il reste 2 fusées dans le tube." in text and "-9,5 °C" in text
        assert "quatre mètres plus bas dans la crevasse" in text
    else:
        assert "There are 2 flares left in the tube." in text and "-9.5 °C" in text
        assert "on a ledge four metres down the crevasse" in text


@pytest.mark.parametrize(
    ("arm", "label"),
    [
        ("plain", "Foncer vers le drapeau avant la tempête"),
        ("stakes", "Foncer vers le drapeau\u00a0: un quart de million à un kilomètre d’ici"),
    ],
)
def test_an_experiment_arm_shows_its_own_words_translated(arm: str, label: str) -> None:
    from branching.play.languages import choose_language
    from branching.story.loader import read_story

    demo = read_story(ROOT / "stories" / "demo.json")
    chosen = choose_language(demo, ROOT / "stories" / "demo.json", requested="fr", explicit=True)
    session = Session(
        demo,
        clock=lambda: 0.0,
        arms={"flag-stakes": arm},
        language=chosen.language,
        translation=chosen.strings,
    )
    for choice in ("crack", "grab", "storm_warning"):
        session.choose(choice)
    labels = [offer.label for offer in session.available_choices()]
    assert labels[:2] == ["Filer vers le refuge Neuf", label]

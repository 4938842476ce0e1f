"""Conditional and varying text from Twine's story formats becomes branching's text blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from branching.play.engine import Session
from branching.story.loader import load_story_bytes
from branching.twee import export_twee, import_files, import_twee

from .helpers import CORPUS, loaded


def start_text(source: str, story_format: str) -> tuple[str, list[str]]:
    result = import_twee([("t.twee", source)], story_format=story_format)
    assert result.story is not None, [p.message for p in result.problems]
    loaded(result.story)  # every imported story validates
    return result.story["nodes"]["start"]["text"], [p.message for p in result.problems]


def shown(story: dict[str, Any], **variables: Any) -> str:
    data = json.loads(json.dumps(story))
    data["variables"].update(variables)
    parsed = load_story_bytes(json.dumps(data).encode()).story
    assert parsed is not None
    return Session(parsed, clock=lambda: 0.0).text()


@pytest.mark.parametrize(
    ("source", "story_format", "expected"),
    [
        (
            ":: Start\n<<set $a to 1>>You are <<if $a gt 2>>rich<<elseif $a is 1>>getting by"
            "<<else>>poor<</if>>.",
            "sugarcube",
            "You are {a > 2: rich|{a == 1: getting by|poor}}.",
        ),
        (
            ":: Start\n(set: $lit to true)(if: $lit)[Warm light.](else:)[Dark.] "
            "(unless: $lit)[Cold.]",
            "harlowe",
            "{lit: Warm light.|Dark.} {not (lit): Cold.}",
        ),
        (
            ":: Start\nlit: true\n--\nThe room.\n[if lit]\nWarm | bright {x}.\n[else]\nDark.\n"
            "[continue]\nEnd.",
            "chapbook",
            "The room.\n{lit: Warm \\| bright {x}.|Dark.}\nEnd.",
        ),
        (
            ':: Start\nThe wind (either: "howls", "moans: low", "drops").',
            "harlowe",
            "The wind {~howls|moans: low|drops}.",
        ),
    ],
)
def test_conditional_and_varying_text_is_translated(
    source: str, story_format: str, expected: str
) -> None:
    text, messages = start_text(source, story_format)
    assert text == expected
    assert not any("always shown" in m for m in messages)


def test_translated_text_shows_what_the_story_format_would() -> None:
    source = (
        ":: Start\n<<set $gold to 5>>You have <<if $gold > 3>>plenty<<else>>little<</if>>.\n"
        "[[End]]\n\n:: End\nBye."
    )
    result = import_twee([("t.twee", source)], story_format="sugarcube")
    assert result.story is not None
    assert shown(result.story).startswith("You have plenty.")
    result.story["nodes"]["start"]["set"] = {"gold": 1}
    assert shown(result.story).startswith("You have little.")


def test_links_in_a_conditional_stay_conditional_choices_and_are_not_shown_as_text() -> None:
    text, _ = start_text(
        ":: Start\n<<set $k to true>><<if $k>>[[Open->Hall]]<<else>>It is locked.<</if>>\n\n"
        ":: Hall\nIn.",
        "sugarcube",
    )
    assert text == "{k: |It is locked.}"


def test_an_untranslatable_condition_keeps_the_text_and_says_so() -> None:
    text, messages = start_text(
        ":: Start\n<<if $bag.includes('key')>>You have the key.<</if>> Go.", "sugarcube"
    )
    assert text == "You have the key. Go."
    assert any(
        "kept and always shown (its condition could not be translated)" in m for m in messages
    )


def test_an_either_with_code_stays_untranslated() -> None:
    _, messages = start_text(":: Start\nA (either: $a, 'b') c.", "harlowe")
    assert any("dropped Harlowe macro (either:)" in m for m in messages)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus is not beside the repo")
def test_the_alchemist_market_keeps_its_conditional_text(tmp_path: Path) -> None:
    result = import_files([CORPUS / "sugarcube-i18n-alchemist" / "src"])
    assert result.story is not None
    loaded(result.story)


def test_imported_conditional_text_round_trips_through_export() -> None:
    source = (
        ":: Start\n<<set $a to 1>>You are <<if $a gt 2>>rich<<elseif $a is 1>>getting by"
        "<<else>>poor<</if>>. The wind <<if $a>>x<</if>>\n[[End]]\n\n:: End\nBye."
    )
    result = import_twee([("t.twee", source)], story_format="sugarcube")
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"].endswith("The wind x")  # `a` is no bool
    assert any("kept and always shown: it gives number" in p.message for p in result.problems)
    story = loaded(result.story).story
    assert story is not None
    again = import_twee([("t.twee", export_twee(story))])
    assert again.story == result.story

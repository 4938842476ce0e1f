"""``export twee --format``: what a Twine writer sees in each story format, and round trips."""

from __future__ import annotations

from typing import Any

import pytest

from branching.story.loader import read_story
from branching.story.model import Story
from branching.twee import (
    TWINE_FORMATS,
    export_story,
    export_twee,
    import_twee,
    parse_link,
    parse_twee,
)

from .helpers import ROOT, messages
from .test_roundtrip import TRICKY

BLOCKS: dict[str, Any] = {
    "format": "branching/1",
    "id": "blocks",
    "title": "Blocks",
    "language": "ru",
    "start": "hut",
    "variables": {"gold": 3, "lit": False, "mood": "calm", "flares": 2},
    "profile": {"seen": False},
    "nodes": {
        "hut": {
            "text": (
                "You have {gold} gold. {lit: The lamp is lit.|It is dark.}\n"
                "The wind {&howls|moans}. {first|second|always}. {!once|twice} {~a|b|c}\n"
                "{flares, plural, =0 {no flares} one {# flare} few {# flares!} other {# lots}}\n"
                "{mood, select, calm {Calm.} other {Not calm.}} {seen: Again?} {lit: {&x|y}}"
            ),
            "set": {"gold": "gold + 1"},
            "choices": [
                {
                    "label": "Light it",
                    "to": "hut",
                    "id": "light",
                    "if": "not lit",
                    "set": {"lit": True},
                },
                {"label": "Leave", "to": "out", "if": "gold >= 2 and mood == 'calm'"},
            ],
        },
        "out": {"text": "Out.", "ending": True},
    },
}

HOSTILE = '(if: true)[boom] <<run alert(1)>> [[x->y]] $gold _tmp [if true] --> `tick` """q"""'


def _roundtrip(data: dict[str, Any] | Story, story_format: str) -> tuple[str, dict[str, Any]]:
    story = data if isinstance(data, Story) else Story.model_validate(data)
    twee = export_twee(story, story_format=story_format)  # type: ignore[arg-type]
    result = import_twee([("story.twee", twee)])
    assert result.problems == [], [p.format() for p in result.problems]
    assert result.story is not None
    return twee, result.story


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
@pytest.mark.parametrize("name", ["tricky", "blocks", "demo", "tutorial"])
def test_every_format_round_trips_exactly(story_format: str, name: str) -> None:
    if name in ("demo", "tutorial"):
        story = read_story(ROOT / "stories" / f"{name}.json")
    else:
        story = Story.model_validate(TRICKY if name == "tricky" else BLOCKS)
    twee, back = _roundtrip(story, story_format)
    assert Story.model_validate(back).model_dump() == story.model_dump()
    assert export_twee(Story.model_validate(back), story_format=story_format) == twee  # type: ignore[arg-type]


def test_harlowe_writes_blocks_as_macros() -> None:
    twee = export_twee(Story.model_validate(BLOCKS), story_format="harlowe")
    assert '"format": "Harlowe"' in twee and '"format-version": "3.3.0"' in twee
    assert "You have (print: $gold) gold. (if: $lit)[The lamp is lit.](else:)[It is dark.]" in twee
    assert "(if: visits % 2 is 1)[howls](else:)[moans]" in twee
    assert "(if: visits is 1)[first](else-if: visits is 2)[second](else:)[always]" in twee
    assert "(if: visits is 1)[once](else-if: visits is 2)[twice]" in twee
    assert '(either: "a", "b", "c")' in twee
    # Russian plural rules from CLDR, =0 first; # is the number
    assert "(if: $flares is 0)[no flares](else-if: ((((abs: $flares) % 10) >= 2 and" in twee
    one = "(((abs: $flares) % 10) is 1 and (not (((abs: $flares) % 100) is 11)))"
    assert f"(else-if: {one})" in twee
    assert "[(print: $flares) flare]" in twee and "(else:)[(print: $flares) lots]" in twee
    assert '(if: $mood is "calm")[Calm.](else:)[Not calm.]' in twee
    assert "(set: $gold to ($gold + 1))" in twee
    assert '(if: (not $lit))[ (link-reveal-goto: "Light it", "hut")[(set: $lit to true)]' in twee
    # a space keeps the hook's "[" from reading as part of the link
    assert '(if: (($gold >= 2) and ($mood is "calm")))[ [[Leave->out]] <!-- branching:' in twee


def test_sugarcube_and_chapbook_write_blocks_in_their_notation() -> None:
    story = Story.model_validate(BLOCKS)
    sugar = export_twee(story, story_format="sugarcube")
    assert '"format": "SugarCube"' in sugar
    assert "<<print $gold>>" in sugar
    assert "<<if $lit>>The lamp is lit.<<else>>It is dark.<</if>>" in sugar
    assert "<<if visited() % 2 === 1>>howls<<else>>moans<</if>>" in sugar
    assert "<<set _shuffle1 to either(1, 2, 3)>>" in sugar
    assert '<<print Number($flares).toLocaleString("ru")>>' in sugar
    assert "<<set $gold to ($gold + 1)>>" in sugar
    assert '[["Light it"->hut][$lit to true]]' in sugar
    chapbook = export_twee(story, story_format="chapbook")
    assert '"format": "Chapbook"' in chapbook
    vars_section = chapbook.split(":: hut", 1)[1].split("\n--\n", 1)[0]
    assert "gold: (gold + 1)" in vars_section
    assert '(lit ? "The lamp is lit." : "It is dark.")' in vars_section
    assert "passage.visits" in vars_section
    assert "You have {gold} gold." in chapbook
    assert '[if ((gold >= 2) && (mood === "calm"))]\n[[Leave->out]]' in chapbook


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_untranslatable_blocks_are_kept_as_text_and_reported(story_format: str) -> None:
    result = export_story(Story.model_validate(BLOCKS), story_format=story_format)  # type: ignore[arg-type]
    messages = [note.format("s.twee") for note in result.notes]
    assert any("kept {seen: Again?} as text" in m and "profile" in m for m in messages)
    assert any("{&x|y}" in m and "sequence inside another block" in m for m in messages)
    assert all(m.startswith("s.twee:") and 'passage "hut"' in m for m in messages)


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_story_text_never_becomes_live_code(story_format: str) -> None:
    data = {
        "format": "branching/1",
        "id": "h",
        "title": "H",
        "start": "a",
        "variables": {"gold": 1},
        "nodes": {"a": {"text": HOSTILE + " {gold}", "ending": True}},
    }
    twee, back = _roundtrip(data, story_format)
    assert back["nodes"]["a"]["text"] == HOSTILE + " {gold}"
    passages, _ = parse_twee(twee)
    body = next(p.text for p in passages if p.name == "a").split("-->\n", 1)[1]
    # no "[[" is left for Twine's story map to draw as a link; "[" is a character reference
    assert "[[" not in body and "&#91;&#91;" in body
    if story_format == "harlowe":
        assert body.startswith(
            "`(if: true)`&#91;`boom] <<run alert(1)>> `&#91;&#91;`x->y]] $gold _tmp `&#91;"
            "`if true] --> `&#96;tick&#96; "
        )
        assert body.endswith(" (print: $gold)")
    elif story_format == "sugarcube":
        assert body.startswith(
            '"""(if: true)"""&#91;"""boom] <<run alert(1)>> """&#91;&#91;"""x->y]] $gold _tmp '
            '"""&#91;"""if true] --> `tick` """&quot;&quot;&quot;q&quot;&quot;&quot; '
        )
        assert body.endswith(" <<print $gold>>")
    else:
        assert "&lt;&lt;run" in body and "&#91;&#91;x-&gt;y&#93;&#93;" in body
        assert "<<" not in body and body.endswith(" {gold}")


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_hostile_labels_show_as_text(story_format: str) -> None:
    label = "alert(1) [[x]] <<run 1>> $gold"
    data = {
        "format": "branching/1",
        "id": "h",
        "title": "H",
        "start": "a",
        "variables": {"gold": 1},
        "nodes": {
            "a": {"text": "A.", "choices": [{"label": label, "to": "b"}]},
            "b": {"text": "B.", "ending": True},
        },
    }
    twee, back = _roundtrip(data, story_format)
    assert back["nodes"]["a"]["choices"][0]["label"] == label
    passages, _ = parse_twee(twee)
    body = next(p.text for p in passages if p.name == "a").split("-->\n", 1)[1]
    shown = {
        # Harlowe renders link text as markup: verbatim text in a (link-goto:) string
        "harlowe": '(link-goto: "alert(1) &#91;&#91;`x] ] <<run 1>> $gold`", "b")',
        # SugarCube evaluates link text: a string literal shows itself
        "sugarcube": '[["alert(1) \\u005b\\u005bx\\u005d \\u005d <<run 1>> $gold"->b]]',
        "chapbook": "[[alert(1) &#91;&#91;x&#93; &#93; &lt;&lt;run 1&gt;&gt; &#36;gold->b]]",
    }[story_format]
    assert body.startswith("A.\n\n" + shown), body
    # edited in Twine, the label is read from the link as the format shows it (a link cannot
    # hold "]]": Twine shows "] ]")
    edited = twee.replace("-->\nA.", "-->\nA, edited.")
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    shown_back = result.story["nodes"]["a"]["choices"][0]["label"]
    assert shown_back == label.replace("]]", "] ]"), messages(result)


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_a_writers_edit_in_twine_wins(story_format: str) -> None:
    story = Story.model_validate(BLOCKS)
    twee = export_twee(story, story_format=story_format)  # type: ignore[arg-type]
    passages, _ = parse_twee(twee)
    out = next(p for p in passages if p.name == "out")
    assert "Out." in out.text
    edited = twee.replace("-->\nOut.", "-->\nOut, and free.")
    assert edited != twee
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    assert result.story["nodes"]["out"]["text"] == "Out, and free."
    assert result.story["nodes"]["out"]["ending"] is True
    assert any("edited in Twine after export" in p.message for p in result.problems)
    # the untouched passages still come back exactly
    assert result.story["nodes"]["hut"]["text"] == BLOCKS["nodes"]["hut"]["text"]


def _corpus_stories() -> list[Any]:
    """Stories imported from the shared corpus's Twee (their text blocks come from Chapbook,
    SugarCube and Harlowe code), and every Extwee fixture that imports."""
    from branching.twee import TweeReadError, import_files

    from .helpers import CORPUS

    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="no shared corpus here"))]
    found: list[Any] = []
    paths = [
        CORPUS / "chapbook-cloak-of-darkness" / "cloak-of-darkness.twee",
        CORPUS / "sugarcube-i18n-alchemist" / "src",
        *sorted((CORPUS / "extwee-fixtures").rglob("*.tw*")),
    ]
    for path in paths:
        try:
            result = import_files([path])
        except TweeReadError:  # unreadable fixtures are other tests' business
            continue
        if result.story is not None:
            found.append(pytest.param(result.story, id=path.name))
    return found


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
@pytest.mark.parametrize("data", _corpus_stories())
def test_corpus_stories_round_trip_in_every_format(data: dict[str, Any], story_format: str) -> None:
    story = Story.model_validate(data)
    _, back = _roundtrip(story, story_format)
    assert Story.model_validate(back).model_dump() == story.model_dump()


@pytest.mark.parametrize("story_format", ["harlowe", "sugarcube"])
def test_an_edited_passage_reads_back_the_formats_code(story_format: str) -> None:
    """The writer changes a word in a passage full of text that changes: the import reads the
    format's code back (conditions, prints, sequences as visit counts, link conditions)."""
    twee = export_twee(Story.model_validate(BLOCKS), story_format=story_format)  # type: ignore[arg-type]
    at = twee.rindex(" gold. ")  # in the passage, not in its comment
    edited = twee[:at] + " gold coins. " + twee[at + len(" gold. ") :]
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    hut = result.story["nodes"]["hut"]
    assert hut["text"].startswith(
        "You have {gold} gold coins. {lit: The lamp is lit.|It is dark.}\n"
        'The wind {visits("hut") % 2 == 1: howls|moans}. '
        '{visits("hut") == 1: first|{visits("hut") == 2: second|always}}.'
    )
    assert hut["set"] == {"gold": "(gold + 1)"}
    leave = next(c for c in hut["choices"] if c["to"] == "out")
    assert leave["if"] == "((gold >= 2) and (mood == 'calm'))"
    light = next(c for c in hut["choices"] if c["to"] == "hut")
    assert light["set"] == {"lit": True} and light["id"] == "light"
    said = [p.message for p in result.problems]
    assert "the passage was edited in Twine after export" in said[0]
    # plurals come back as their branches, said so (branching has no absolute value)
    assert any("could not translate the condition" in m for m in said)


def test_an_edited_chapbook_passage_keeps_the_blocks_left_alone() -> None:
    """Chapbook's text that changes lives in vars-section JavaScript, which no importer reads:
    the blocks whose line the writer left as exported come back exactly; an edited one stays
    the writer's (and is reported)."""
    twee = export_twee(Story.model_validate(BLOCKS), story_format="chapbook")
    at = twee.rindex(" gold. ")
    edited = twee[:at] + " gold coins. " + twee[at + len(" gold. ") :]
    edited = edited.replace('"The lamp is lit." : "It is dark."', '"Lit!" : "Dark."', 1)
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    text = result.story["nodes"]["hut"]["text"]
    assert text.startswith("You have {gold} gold coins. {_text1}\nThe wind {&howls|moans}. ")
    assert "{flares, plural, =0 {no flares} one {# flare} few {# flares!} other {# lots}}" in text
    # the kept-as-text block shows as Chapbook showed it: its character references decoded
    assert text.endswith("{{seen: Again?}} {{lit: {{&x|y}}}}")
    said = [p.message for p in result.problems]
    assert any("could not translate the value" in m and "Lit!" in m for m in said)


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_character_references_in_prose_read_as_their_characters(story_format: str) -> None:
    """Twine's formats show &#91; as "["; a control character stays a reference."""
    from .helpers import imp

    title = {"harlowe": "Harlowe", "sugarcube": "SugarCube", "chapbook": "Chapbook"}
    twee = (
        ':: StoryData\n{"ifid": "D674C58C-DEFA-4F70-B7A2-27742230C0FC", '
        f'"format": "{title[story_format]}", "start": "A"}}\n\n'
        ":: A\nAT&amp;T &#91;1&#93; &#27;]2;x &copy\n"
    )
    result = imp(twee)
    assert result.story is not None
    assert result.story["nodes"]["a"]["text"] == "AT&T [1] &#27;]2;x &copy"


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_twines_story_map_sees_only_real_links(story_format: str) -> None:
    """Twine draws (and on editing, creates passages for) every [[...]] it finds in passage
    text: brackets in story text, labels, strings of conditions and effects never make one."""
    import re

    odd = "[[x->Nowhere]] ]] [["
    data = {
        "format": "branching/1",
        "id": "m",
        "title": "M",
        "start": "a",
        "variables": {"word": "a", "new": 1},
        "nodes": {
            "a": {
                "text": f"{odd} {{word == '{odd}': yes|no}} {{new}}",
                "set": {"word": f"'{odd}'", "new": 2},
                "choices": [
                    {"label": odd, "to": "b", "if": f"word != '{odd}'"},
                    {"label": "On", "to": "b", "id": "on", "set": {"word": f"'{odd}'"}},
                ],
            },
            "b": {"text": "B.", "ending": True},
        },
    }
    twee, back = _roundtrip(data, story_format)
    assert Story.model_validate(back).model_dump() == Story.model_validate(data).model_dump()
    names = {p.name for p in parse_twee(twee)[0]}
    for inner in re.findall(r"\[\[(.*?)\]\]", twee):  # as Twine reads links
        assert parse_link(inner).target in names, inner
    notes = export_story(Story.model_validate(data), story_format=story_format).notes  # type: ignore[arg-type]
    if story_format == "chapbook":  # "new" is a word of JavaScript
        assert any("new is a word of JavaScript" in n.message for n in notes)


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_an_edited_passage_keeps_its_id_timer_and_ending(story_format: str) -> None:
    """What the comment keeps on an edited passage (id, timer, ending, effects on the viewer's
    profile, which no format can write) is kept in every format, and the comment itself never
    becomes words a viewer reads."""
    data: dict[str, Any] = {
        "format": "branching/1",
        "id": "kept",
        "title": "Kept",
        "start": "a",
        "profile": {"seen": False},
        "nodes": {
            "a": {
                "title": "Start Here",
                "text": "Plain words.",
                "set": {"seen": True},
                "timer": {"seconds": 5, "default": "go"},
                "choices": [{"id": "go", "label": "Go", "to": "b", "set": {"seen": True}}],
            },
            "b": {"title": "The End", "text": "End.", "ending": {"title": "Fin", "kind": "good"}},
        },
    }
    twee = export_twee(Story.model_validate(data), story_format=story_format)  # type: ignore[arg-type]
    edited = twee.replace("-->\nPlain words.", "-->\nPlain edited words.").replace(
        "-->\nEnd.", "-->\nThe end, edited."
    )
    assert edited.count("edited") == 2
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    a, b = result.story["nodes"]["a"], result.story["nodes"]["b"]
    assert a["text"] == "Plain edited words."
    assert a["timer"] == {"seconds": 5, "default": "go"}
    assert a["choices"][0]["id"] == "go"
    assert a["set"] == {"seen": True} and a["choices"][0]["set"] == {"seen": True}
    assert b["text"] == "The end, edited."
    assert b["ending"] == {"title": "Fin", "kind": "good"}


def test_a_chapbook_comment_over_lines_is_not_shown() -> None:
    twee = (
        ':: StoryData\n{"format": "Chapbook"}\n\n'
        ":: Start\nOne.\n<!-- a note\nover lines -->Two.\n[[End]]\n\n:: End\nEnd."
    )
    result = import_twee([("t.twee", twee)])
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"] == "One.\nTwo."


@pytest.mark.parametrize("story_format", ["harlowe", "sugarcube"])
def test_an_edited_passage_reads_back_its_printed_expressions(story_format: str) -> None:
    data: dict[str, Any] = {
        "format": "branching/1",
        "id": "prints",
        "title": "Prints",
        "start": "a",
        "variables": {"gold": 3},
        "nodes": {
            "a": {
                "text": "Gold {gold}, doubled {gold * 2}, plus {gold + 1}.",
                "choices": [{"label": "Go", "to": "b"}],
            },
            "b": {"text": "End.", "ending": True},
        },
    }
    twee = export_twee(Story.model_validate(data), story_format=story_format)  # type: ignore[arg-type]
    at = twee.rindex("Gold ")
    edited = twee[:at] + "Gold: " + twee[at + len("Gold ") :]
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    assert (
        result.story["nodes"]["a"]["text"] == "Gold: {gold}, doubled {gold * 2}, plus {gold + 1}."
    )
    assert not any("print" in p.message for p in result.problems), messages(result)


LABELS: dict[str, Any] = {
    "format": "branching/1",
    "id": "labels",
    "title": "Labels",
    "start": "a",
    "nodes": {
        "a": {
            "text": "A.",
            "choices": [
                {"id": "c1", "label": "Open <!-- the door", "to": "b"},
                {"id": "c2", "label": "other", "to": "b"},
            ],
        },
        "b": {"text": "End.", "ending": True},
    },
}


@pytest.mark.parametrize("story_format", TWINE_FORMATS)
def test_a_label_opening_a_comment_round_trips(story_format: str) -> None:
    twee, back = _roundtrip(LABELS, story_format)
    assert back["nodes"]["a"]["choices"] == LABELS["nodes"]["a"]["choices"]
    # edited in Twine: the label is read from the link, as the writer sees it
    edited = twee.replace("-->\nA.", "-->\nA, edited.")
    assert edited != twee
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    labels = [c["label"] for c in result.story["nodes"]["a"]["choices"]]
    assert labels == ["Open <!-- the door", "other"], messages(result)


def test_a_comment_hiding_a_branching_comment_is_reported() -> None:
    """An export written before labels were escaped: its "<!--" hides a link's comment."""
    twee = export_twee(Story.model_validate(LABELS), story_format="harlowe")
    hidden = twee.replace("Open <!\u200b--", "Open <!--")
    assert hidden != twee
    result = import_twee([("story.twee", hidden)])
    said = messages(result)
    assert any("hides a branching comment" in m for m in said), said


@pytest.mark.parametrize("story_format", ["harlowe", "sugarcube"])
def test_an_edited_passage_reads_back_its_shuffles(story_format: str) -> None:
    """A shuffle is exported as a random pick and a chain on it; edited, it is a shuffle again."""
    data: dict[str, Any] = {
        "format": "branching/1",
        "id": "shuffles",
        "title": "Shuffles",
        "start": "hall",
        "variables": {"x": True},
        "nodes": {
            "hall": {"text": "Hall.", "choices": [{"label": "Out", "to": "out"}]},
            "out": {
                "text": "Weather: {~Snow|Sleet|Hail}. {~a {x: y}|b|c\nd}\nMore.",
                "ending": True,
            },
        },
    }
    twee = export_twee(Story.model_validate(data), story_format=story_format)  # type: ignore[arg-type]
    at = twee.rindex("More.")
    edited = twee[:at] + "More, edited." + twee[at + len("More.") :]
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    out = result.story["nodes"]["out"]["text"]
    assert out == "Weather: {~Snow|Sleet|Hail}. {~a {x: y}|b|c\nd}\nMore, edited."
    assert "variables" not in result.story or "_shuffle1" not in result.story["variables"]
    assert not any("either" in m or "_shuffle" in m for m in messages(result)), messages(result)

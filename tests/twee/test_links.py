"""Twine's link forms become choices; link-less passages become endings."""

from __future__ import annotations

import json

import pytest

from branching.story.loader import load_story_bytes
from branching.twee import parse_link

from .helpers import imp, loaded, messages

TARGETS = ":: Foyer\nA hall.\n:: Bar\nA bar.\n"


@pytest.mark.parametrize(
    ("link", "label", "target"),
    [
        ("[[Foyer]]", "Foyer", "foyer"),
        ("[[Go in->Foyer]]", "Go in", "foyer"),
        ("[[Foyer<-Go in]]", "Go in", "foyer"),
        ("[[Go in|Foyer]]", "Go in", "foyer"),
        # rightmost "->": the label may hold arrows
        ("[[a -> b->Foyer]]", "a -> b", "foyer"),
        # leftmost "<-": the label may hold arrows
        ("[[Foyer<-x <- y]]", "x <- y", "foyer"),
        # setter parts "][...]" are not part of the target
        ("[[Go in->Foyer][$x to 1]]", "Go in", "foyer"),
        ("[[Go in|Foyer][$x to 1]]", "Go in", "foyer"),
    ],
)
def test_link_forms_become_choices(link: str, label: str, target: str) -> None:
    result = imp(f":: Start\n{link}\n" + TARGETS, story_format="plain")
    story = result.story
    assert story is not None
    assert story["nodes"]["start"]["choices"] == [{"label": label, "to": target}]
    assert story["nodes"]["foyer"]["ending"] is True
    loaded(story)


def test_parse_link_matches_twine() -> None:
    assert parse_link("A->B->C").target == "C"
    assert parse_link("A<-B<-C").target == "A"
    assert parse_link("A|B|C").target == "C"
    assert parse_link("A->B|C").target == "B|C"  # "->" wins over "|"
    assert parse_link("label->http://x.org").external
    assert not parse_link("http").external


def test_external_links_stay_as_text() -> None:
    result = imp(":: Start\nRead [[the docs->https://example.org/a]] first.\n[[Foyer]]\n" + TARGETS)
    node = result.story["nodes"]["start"]  # type: ignore[index]
    assert node["text"] == "Read [the docs](https://example.org/a) first."
    assert node["choices"] == [{"label": "Foyer", "to": "foyer"}]


def test_links_inside_prose_keep_their_label_and_link_lines_become_the_choice_list() -> None:
    result = imp(
        ":: Start\nYou see the [[bright lights->Foyer]] ahead.\n\n**[[Begin->Bar]]** | [[Foyer]]\n"
        + TARGETS
    )
    node = result.story["nodes"]["start"]  # type: ignore[index]
    assert node["text"] == "You see the bright lights ahead."
    assert [c["label"] for c in node["choices"]] == ["bright lights", "Begin", "Foyer"]


def test_several_links_to_one_passage_get_distinct_choice_ids() -> None:
    result = imp(
        ":: Start\n[[north->Foyer]] [[south->Bar]] [[east->Bar]] [[west->Bar]] [[east->Foyer]]\n"
        + TARGETS
    )
    choices = result.story["nodes"]["start"]["choices"]  # type: ignore[index]
    assert [c.get("id") for c in choices] == [None, None, "east", "west", "east-2"] or [
        c.get("id") for c in choices
    ] == [None, None, "east", "west", "foyer-2"]
    loaded(result.story)


def test_links_to_missing_passages_make_no_choice_and_warn() -> None:
    result = imp(":: Start\n[[Go->Nowhere]]\n[[Foyer]]\n" + TARGETS)
    node = result.story["nodes"]["start"]  # type: ignore[index]
    assert node["choices"] == [{"label": "Foyer", "to": "foyer"}]
    assert any(
        't.twee:2: passage "Start": the link "Go" leads to "Nowhere", which does not exist' in m
        for m in messages(result)
    )
    loaded(result.story)


def test_passage_whose_only_link_is_missing_is_not_an_ending() -> None:
    """A passage that had a way on is never silently made an ending; the import says why."""
    result = imp(":: Start\nGo on.\n[[Next]]\n:: Next\nA door.\n[[Nowhere]]")
    assert result.story is not None
    node = result.story["nodes"]["next"]
    assert "ending" not in node and "choices" not in node
    said = [p.format() for p in result.unplayable]
    assert any('passage "Next"' in m and 'the link to "Nowhere"' in m for m in said), said
    # validate reports the node (the story is written so the writer can finish it).
    checked = load_story_bytes(json.dumps(result.story).encode(), "imported.json")
    assert [(p.code, p.node) for p in checked.errors] == [("no-choices", "next")]


def test_braces_in_prose_and_labels_are_escaped_for_interpolation() -> None:
    result = imp(":: Start\nA {curly} word.\n[[{odd}->Foyer]]\n" + TARGETS, story_format="plain")
    node = result.story["nodes"]["start"]  # type: ignore[index]
    assert node["text"] == "A {{curly}} word."
    assert node["choices"][0]["label"] == "{{odd}}"
    loaded(result.story)


def test_empty_link_target_is_reported() -> None:
    result = imp(":: Start\n[[->]]\nText")
    assert result.story is not None
    assert any("a link without a target" in m for m in messages(result))

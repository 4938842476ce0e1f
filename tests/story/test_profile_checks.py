"""``validate`` checks the profile like variables, and ``--deep`` plays returning viewers too."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from branching.story.deep import explore
from branching.story.expressions import (
    FIRST_TIME,
    ExpressionError,
    ViewerHistory,
    check,
    evaluate,
    parse,
)
from branching.story.loader import load_story_bytes
from branching.story.problems import Problem


def story(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "branching/1",
        "id": "s",
        "title": "S",
        "start": "hall",
        "variables": {"gold": 0},
        "profile": {"met": False, "name": ""},
        "nodes": {
            "hall": {
                "choices": [
                    {"label": "Out", "to": "out"},
                    {"label": "Back", "to": "back", "if": "playthroughs() > 0"},
                ]
            },
            "back": {"set": {"met": "true"}, "choices": [{"label": "Out", "to": "out"}]},
            "out": {"ending": True},
        },
    }
    data.update(changes)
    return data


def problems(data: dict[str, Any]) -> list[Problem]:
    return load_story_bytes(json.dumps(data).encode()).problems


def test_history_functions_parse_type_and_evaluate() -> None:
    expr = parse("playthroughs() > 1 and ending_seen('out') and endings_found() == 2")
    assert expr.endings == {"out"} and expr.calls == {
        "playthroughs",
        "ending_seen",
        "endings_found",
    }
    assert check(expr, {}) == "bool"
    viewer = ViewerHistory(2, frozenset({"out", "sea"}))
    assert evaluate(expr, {}, lambda node: 0, viewer) is True
    assert evaluate(expr, {}, lambda node: 0) is False  # a first-time viewer by default
    assert evaluate("endings_found() + 1", {}, lambda node: 0, FIRST_TIME) == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("ending_seen(out)", "ending_seen takes a quoted ending id"),
        ("playthroughs(3)", "playthroughs() takes nothing between its brackets"),
        ("playthroughs", "expected '('"),
        ("not playthroughs()", "not needs true or false, and playthroughs() is a number"),
        ("ending_seen('x') + 1", "'+' cannot add true/false"),
        ("lookup('x')", "the functions are visits(...), playthroughs(), endings_found()"),
    ],
)
def test_misused_history_functions_are_syntax_or_type_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        check(parse(source), {})


def test_a_sound_story_with_a_profile_has_no_problems() -> None:
    assert problems(story()) == []


def test_profile_names_are_checked_like_variables() -> None:
    data = story()
    data["nodes"]["hall"]["choices"][0]["if"] = "mett"
    data["nodes"]["back"]["set"] = {"met": "3", "name": "gold"}
    found = {(p.code, p.path): p.message for p in problems(data)}
    assert (
        'did you mean "met"? (or declare it in "variables" or "profile")'
        in found[("undefined-variable", "/nodes/hall/choices/0/if")]
    )
    assert (
        "gives a number, but true or false is needed"
        in found[("type-error", "/nodes/back/set/met")]
    )
    assert ("type-error", "/nodes/back/set/name") in found


def test_a_name_in_both_variables_and_profile_is_an_error_located_in_the_profile() -> None:
    found = problems(story(profile={"met": False, "name": "", "gold": 1}))
    assert [(p.code, p.path, p.line) for p in found] == [("profile-name-clash", "/profile/gold", 1)]
    assert "both a story variable and a profile name" in found[0].message


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("ou", 'ending_seen("ou") names no node; did you mean "out"?'),
        ("hall", 'ending_seen("hall") names a node that is not an ending'),
    ],
)
def test_ending_seen_must_name_an_ending(argument: str, message: str) -> None:
    data = story()
    data["nodes"]["hall"]["choices"][1]["if"] = f"ending_seen('{argument}')"
    [problem] = problems(data)
    assert problem.code == "unknown-ending"
    assert problem.path == "/nodes/hall/choices/1/if"
    assert message in problem.message


def test_a_profile_of_the_wrong_shape_is_a_schema_error() -> None:
    found = problems(story(profile={"met": [1]}))
    assert found and all(p.severity == "error" for p in found)
    assert any(p.path == "/profile/met" for p in found)


def test_deep_reaches_branches_only_returning_viewers_can_reach() -> None:
    loaded = load_story_bytes(json.dumps(story()).encode()).story
    assert loaded is not None
    result = explore(loaded)
    assert result.complete and result.problems == []
    assert "back" in result.reached


def test_deep_follows_profile_values_and_endings_into_later_playthroughs() -> None:
    data = story()
    data["nodes"]["hall"]["choices"][1]["if"] = "met and ending_seen('out')"
    data["nodes"]["hall"]["choices"].append({"label": "Meet", "to": "meet", "if": "not met"})
    data["nodes"]["meet"] = {"set": {"met": "true"}, "choices": [{"label": "Go", "to": "out"}]}
    loaded = load_story_bytes(json.dumps(data).encode()).story
    assert loaded is not None
    result = explore(loaded)
    assert result.problems == [] and "back" in result.reached


def test_deep_says_when_only_a_returning_viewer_meets_a_fault() -> None:
    data = story()
    data["nodes"]["back"]["set"] = {"met": "true", "gold": "1 / (playthroughs() - 1)"}
    loaded = load_story_bytes(json.dumps(data).encode()).story
    assert loaded is not None
    [fault] = explore(loaded).problems
    assert fault.code == "deep-runtime-error" and "division by zero" in fault.message
    assert "(plays again)" in fault.message
    assert "a returning viewer (1 earlier playthrough; endings found: none)" in fault.message


def test_a_story_without_a_profile_explores_as_before() -> None:
    data = story(profile={})
    data["nodes"]["hall"]["choices"].pop()
    del data["nodes"]["back"]
    loaded = load_story_bytes(json.dumps(data).encode()).story
    assert loaded is not None
    result = explore(loaded)
    assert result.states == 2  # hall and out: no second playthroughs to explore
    assert [p.code for p in result.problems] == []
